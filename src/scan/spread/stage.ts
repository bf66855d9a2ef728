/**
 * The cross-message chain-mail signal. A scan marks a message whose text has chain-letter
 * evidence with a spread candidate (fingerprints of that text, a hash of the sender, the date);
 * this stage, run where the counts live (the `kestrel scan` main thread, in input order, or each
 * worker of a cluster against Redis), asks how many different senders sent the same letter within
 * the window and, at `chainMail.spread.minSenders`, adds the `chain_mail.spread` finding. A letter
 * whose words alone fell short of the chain_mail threshold is reported when the spread lifts it.
 */
import { createHash } from 'node:crypto';
import { isRuleDisabled, type KestrelConfig } from '../../config/schema.js';
import { combineScores } from '../../lexicon/engine.js';
import { describedEvidence } from '../evidence.js';
import { verdictFor } from '../verdict.js';
import { chainFingerprints } from './fingerprint.js';
import type { SpreadTracker } from './tracker.js';
import type { AnalysedMessage, Finding } from '../types.js';
import type { PartySummary, ScanReport } from '../pipeline.js';

const CATEGORY = 'chain_mail';
const SPREAD_RULE = 'chain_mail.spread';
const POLICY = '000_84beb20efc1da5e6.txt 11.1';
/** The spread is strong evidence, but not enough alone: it needs some chain-letter words. */
const SPREAD_SCORE = 0.5;

/** What the spread stage needs from a scan; removed from the report before it is output. */
export interface SpreadCandidate {
  fingerprints: string[];
  /** SHA-256 of the sender's address, first 16 hex digits: counts distinct senders, identifies no one. */
  sender: string;
  /** The message's Date, milliseconds since the epoch, when it had a usable one. */
  at?: number;
  /** Chain findings below the category threshold, with their combined score (none when reported). */
  pending: Finding[];
  score: number;
  threshold: number;
  /** The subject and parties to show if the spread makes an unflagged message flagged. */
  subject: string;
  from?: PartySummary;
  recipients: PartySummary[];
}

export function spreadCandidate(
  message: AnalysedMessage,
  reported: readonly Finding[],
  unreported: readonly Finding[],
  threshold: number,
  /** Called only for a candidate: most messages have no chain text. */
  parties: () => { subject: string; from?: PartySummary; recipients: PartySummary[] },
): SpreadCandidate | undefined {
  if (!message.from) return undefined;
  const isReported = reported.some((f) => f.category === CATEGORY);
  const chain = (isReported ? reported : unreported).filter((f) => f.category === CATEGORY);
  const fingerprints = chainFingerprints(message, chain.flatMap((f) => f.evidence));
  if (fingerprints.length === 0) return undefined;
  const date = message.date ? Date.parse(message.date) : NaN;
  const pending = isReported ? [] : chain;
  return {
    fingerprints,
    sender: createHash('sha256').update(message.from.address).digest('hex').slice(0, 16),
    ...(Number.isFinite(date) ? { at: date } : {}),
    pending,
    score: combineScores(pending.map((f) => f.score)),
    threshold,
    ...parties(),
  };
}

/** The report with the spread applied and the candidate removed. Without a tracker (spread switched off) only the candidate goes. */
export async function applySpread<T extends ScanReport>(report: T, tracker: SpreadTracker | null, config: KestrelConfig, now = Date.now()): Promise<T> {
  const { spread: candidate, ...rest } = report;
  const plain = rest as T;
  if (!candidate || !tracker || isRuleDisabled(SPREAD_RULE, config.disableRules)) return plain;
  const settings = config.chainMail.spread;
  const windowMs = settings.windowHours * 3_600_000;
  const at = candidate.at !== undefined && candidate.at <= now ? candidate.at : now;
  const senders = await tracker.observe({ fingerprints: candidate.fingerprints, sender: candidate.sender, at }, windowMs);
  if (senders < settings.minSenders) return plain;
  const finding: Finding = {
    rule: SPREAD_RULE,
    description: `Near-identical chain text sent by ${senders} different senders within ${settings.windowHours} hours`,
    category: CATEGORY,
    severity: 'minor',
    score: SPREAD_SCORE,
    policy: POLICY,
    evidence: [describedEvidence('envelope', '', `${senders} senders in ${settings.windowHours} h`)],
  };
  const wasReported = candidate.pending.length === 0;
  if (!wasReported && combineScores([candidate.score, SPREAD_SCORE]) < candidate.threshold) return plain;
  const findings = [...plain.findings, ...candidate.pending, finding];
  const verdict = verdictFor(findings, config.routes);
  const parties = plain.flagged ? {} : { subject: candidate.subject, ...(candidate.from ? { from: candidate.from } : {}), recipients: candidate.recipients };
  return { ...plain, ...verdict, ...parties };
}
