/** The shape of a lexicon file (see lexicons/README.md). */
import { z } from 'zod';
import { SEVERITIES } from '../scan/types.js';

const severity = z.enum(SEVERITIES);
const terms = z.array(z.string().min(1)).min(1);
const side = z.enum(['before', 'after', 'either']).default('either');
const within = z.number().int().min(0).max(50);

export const CATEGORY_PATTERN = /^[a-z][a-z_]*(\.[a-z][a-z_]*)*$/;
const category = z.string().regex(CATEGORY_PATTERN, 'a category is lower-case words joined by dots, e.g. safety.self_harm');
/** A policy file and clause: `003_c7be022a1d032c68.txt 7.2.1`. */
const policy = z.string().regex(/^\S+\.txt(\s+\S.*)?$/, 'a policy is a policy file name, a space and the clause, e.g. "003_c7be022a1d032c68.txt 7.2.1"');

/** Look for the other phrase only in the match's own sentence, not the line before or a signature after. */
const sentence = z.boolean().default(false);
const requirement = z.strictObject({ terms, within, side, sentence });
const roles = z.array(z.enum(['staff', 'pupil', 'external'])).min(1);
/** Message facts a rule needs: grooming is about who writes to whom, not just the words. */
const when = z.strictObject({
  /** The sender's role is one of these. */
  from: roles.optional(),
  /** At least one recipient has one of these roles. */
  to: roles.optional(),
  direction: z.array(z.enum(['inbound', 'outbound', 'internal'])).min(1).optional(),
  /** The sender's domain is one of these or under one (`discord.com` covers `mail.discord.com`). */
  fromDomain: z.array(z.string().regex(/^[a-z0-9-]+(\.[a-z0-9-]+)+$/, 'a domain in lower case, e.g. discord.com')).min(1).optional(),
  /** The sender writes from a consumer mail domain (gmail.com, icloud.com, ...), or not. */
  fromPersonalDomain: z.boolean().optional(),
});
const exception = z.strictObject({ terms, within: within.default(0), side, sentence });
/** A name for a kind of context (reported_speech, lesson): the trust's config can set its severity. */
export const CONTEXT_NAME = /^[a-z][a-z0-9_]*$/;
const contextModifier = z
  .strictObject({
    terms,
    within,
    side,
    sentence,
    score: z.number().min(-1).max(1).default(0),
    severity: severity.optional(),
    as: z.string().regex(CONTEXT_NAME, 'a context name is lower-case words joined by _, e.g. reported_speech').optional(),
  })
  .refine((c) => c.score !== 0 || c.severity !== undefined || c.as !== undefined, 'a context entry must change the score or the severity, or be named with `as`');

export const ruleSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9_]+(\.[a-z0-9_]+)+$/, 'a rule id is dotted lower-case words, e.g. self_harm.intent'),
  description: z.string().min(1),
  severity,
  weight: z.number().gt(0).max(1).default(1),
  /** Count each different phrase once: a weak signal repeated ("love you" x4) is still one signal. */
  distinct: z.boolean().default(false),
  policy: policy.optional(),
  fields: z.array(z.enum(['subject', 'body', 'html', 'attachment'])).min(1).optional(),
  /** Only the sender's own words count: hits in quoted or forwarded history are dropped (who said it matters). */
  ownWords: z.boolean().default(false),
  when: when.optional(),
  terms,
  requires: z.array(requirement).default([]),
  except: z.array(exception).default([]),
  context: z.array(contextModifier).default([]),
  mustMatch: z.array(z.string().min(1)).min(1, 'every rule needs at least one mustMatch example'),
  mustNotMatch: z.array(z.string().min(1)).min(1, 'every rule needs at least one mustNotMatch example'),
});

const setName = z.string().regex(/^[a-z][a-z0-9_]*$/, 'a set name is lower-case words joined by _, e.g. reported_speech');

/** A file holds the rules of one category, or named term sets that any file's phrases use as `@name`, or both. */
export const lexiconFileSchema = z
  .strictObject({
    category: category.optional(),
    description: z.string().optional(),
    policy: policy.optional(),
    threshold: z.number().gt(0).max(1).default(0.5),
    rules: z.array(ruleSchema).min(1).optional(),
    sets: z.record(setName, terms).optional(),
  })
  .superRefine((file, ctx) => {
    if (!file.rules && !file.sets) ctx.addIssue({ code: 'custom', message: 'a lexicon file needs rules, sets, or both' });
    if (file.rules) {
      if (!file.category) ctx.addIssue({ code: 'custom', path: ['category'], message: 'required when the file has rules' });
      if (!file.policy) ctx.addIssue({ code: 'custom', path: ['policy'], message: 'required when the file has rules' });
    }
  });

export type LexiconRuleSource = z.infer<typeof ruleSchema>;
export type LexiconFileSource = z.infer<typeof lexiconFileSchema>;
export type Side = z.infer<typeof side>;
export type RuleCondition = z.infer<typeof when>;
