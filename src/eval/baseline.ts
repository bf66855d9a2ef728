/**
 * The comparison the README quotes: a well-known word-list matcher (obscenity's English dataset
 * with its recommended transformers) run over the same messages. It knows no categories, so a
 * match counts as `profanity` and as the `safety` family (a category matches any label it prefixes).
 */
import { englishDataset, englishRecommendedTransformers, RegExpMatcher } from 'obscenity';
import type { KestrelConfig } from '../config/schema.js';
import { parseMail } from '../scan/parse/parse.js';

export type BaselineMatcher = (raw: Buffer) => Promise<string[]>;

export function createBaseline(config: KestrelConfig): BaselineMatcher {
  const matcher = new RegExpMatcher({ ...englishDataset.build(), ...englishRecommendedTransformers });
  return async (raw) => {
    const mail = await parseMail(raw, config.scan);
    return mail.texts.some((field) => matcher.hasMatch(field.text)) ? ['profanity', 'safety'] : [];
  };
}
