import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/config/load.js';
import { ruleFlags, ruleMatches } from '../../src/lexicon/examples.js';
import { loadLexicon } from '../../src/scan/pipeline.js';

// Every rule shipped in lexicons/ carries its own examples; each runs here as a test.
const lexicon = loadLexicon(defaultConfig());

describe.each(lexicon.rules.map((rule) => [rule.id, rule] as const))('%s', (_id, rule) => {
  it.each(rule.mustMatch)('matches %j', (example) => {
    expect(ruleMatches(lexicon, rule, example)).toBe(true);
  });
  it.each(rule.mustNotMatch)('does not flag %j', (example) => {
    expect(ruleFlags(lexicon, rule, example)).toBe(false);
  });
});
