/**
 * What reviewers' decisions feed back into scanning: suppressions drop findings a reviewer judged
 * false positives, and while a targeted-monitoring authorisation is active the monitored account's
 * messages are kept, sealed, for review even when nothing is flagged (003_c7be022a1d032c68.txt
 * 7.1-7.2). Both lists are read from the store at most every 30 seconds, so scanning does not wait
 * on the database for every message.
 */
import PostalMime, { type Address, type Email } from 'postal-mime';
import type { Route } from '../config/schema.js';
import type { JournalEnvelope } from '../connect/types.js';
import type { CopyKeys } from '../copy/keys.js';
import type { TrustDirectory } from '../directory/directory.js';
import type { Logger } from '../log.js';
import type { KestrelMetrics } from '../ops/metrics.js';
import { splitEntity } from '../scan/parse/mime-header.js';
import type { ScanReport } from '../scan/pipeline.js';
import type { Direction, Finding } from '../scan/types.js';
import { verdictFor } from '../scan/verdict.js';
import { isActive, sealRetained, type AuthorisationStore } from './authorisations.js';
import type { Authorisation, Suppression } from './review-types.js';
import { normalisePhrase, type SuppressionStore } from './suppressions.js';

/** A report with suppressed findings dropped, and the findings each suppression dropped (id -> count). */
export interface Suppressed {
  report: ScanReport;
  hits: ReadonlyMap<number, number>;
}

/** One copy of a message that may be kept for targeted monitoring. */
export interface RetainRequest {
  raw: Buffer;
  key: string;
  /** The flag the message raised, if any. */
  flagId: number | null;
  envelope?: JournalEnvelope | undefined;
  /** The login of the mailbox it was found in (config accounts[].user): its owner is a party, named in a header or not. */
  mailbox?: string | undefined;
  /**
   * Its report; null for a copy of a message scanned before, which is not scanned again: its
   * direction and date come from its flag, or else from its headers.
   */
  report: ScanReport | null;
}

export interface ScanFeedback {
  /**
   * The report without findings an active suppression covers, its verdict recomputed. An urgent
   * finding (imminent risk to a child) is never dropped. A report left with no findings is clean,
   * and loses its parties and subject like any clean report. Nothing is counted yet: see countHits.
   */
  suppress(report: ScanReport): Promise<Suppressed>;
  /** Counts suppress's hits (metric and each suppression's hits): once, by whoever recorded the scan. */
  countHits(hits: ReadonlyMap<number, number>): Promise<void>;
  /**
   * Keeps the message under each active authorisation whose account is a party to it. Never
   * throws: a failure is logged (without addresses) and counted. Returns how many copies it kept
   * (0 for a copy kept already).
   */
  retain(request: RetainRequest): Promise<number>;
}

export interface ScanFeedbackOptions {
  store: Pick<SuppressionStore, 'activeSuppressions' | 'countSuppressionHits'> & Pick<AuthorisationStore, 'activeAuthorisations' | 'retainMessage' | 'priorRetention'>;
  /** Who is who, for the direction of a copy not scanned again (as the scanner works it out). */
  directory: Pick<TrustDirectory, 'classify' | 'direction'>;
  keys: Pick<CopyKeys, 'original'>;
  logger: Logger;
  metrics: Pick<KestrelMetrics, 'findingsSuppressed' | 'retained' | 'retainFailures'>;
  /** The config's routes, to recompute a verdict after findings are dropped. */
  routes: Record<string, Route>;
  now?: () => Date;
  refreshMs?: number;
}

const REFRESH_MS = 30_000;

/** A suppression covers a finding of its rule, from its sender, whose every matched word normalises to its phrase. */
function covers(suppression: Suppression, finding: Finding, sender: string | null): boolean {
  if (suppression.rule !== finding.rule) return false;
  if (suppression.sender !== null && suppression.sender !== sender) return false;
  if (suppression.phrase === null) return true;
  // Masked evidence is not the words written, and a finding with words beyond the phrase still says something new.
  return finding.evidence.length > 0 && finding.evidence.every((e) => !e.masked && normalisePhrase(e.match) === suppression.phrase);
}

/** The message's header block parsed once, when first asked, for everything retain reads from it (postal-mime, without the body). */
function headerReader(raw: Buffer): { block: Buffer; parsed(): Promise<Email> } {
  const block = splitEntity(raw).header;
  let parsed: Promise<Email> | undefined;
  return { block, parsed: () => (parsed ??= PostalMime.parse(block)) };
}

function addressesOf(list: Address[] | Address | undefined): string[] {
  if (!list) return [];
  return (Array.isArray(list) ? list : [list]).flatMap((a) => (a.group ? a.group.map((m) => m.address) : [a.address ?? '']));
}

/**
 * Everyone the message is from or to: the owner of the mailbox it was found in (mail from a
 * distribution list names the list, not them), and those the headers and the journal envelope
 * name, read only once an account under authorisation appears there at all.
 */
async function partiesOf(request: RetainRequest, accounts: readonly string[], headers: ReturnType<typeof headerReader>): Promise<Set<string>> {
  const { envelope, mailbox } = request;
  const parties = new Set<string>(mailbox ? [mailbox.toLowerCase()] : []);
  const seen = `${headers.block.toString('utf8')}\n${envelope?.sender ?? ''}\n${(envelope?.recipients ?? []).join('\n')}`.toLowerCase();
  if (!accounts.some((account) => seen.includes(account))) return parties;
  const parsed = await headers.parsed();
  const named = [...addressesOf(parsed.from), ...addressesOf(parsed.sender), ...addressesOf(parsed.to), ...addressesOf(parsed.cc), ...addressesOf(parsed.bcc), envelope?.sender ?? '', ...(envelope?.recipients ?? [])];
  for (const address of named) parties.add(address.toLowerCase());
  return parties;
}

function parsedDate(value: string | null | undefined): Date | null {
  if (!value) return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

type MessageFacts = { direction: Direction; messageDate: Date | null };

/**
 * Direction and date from the headers alone, as the scanner works them out: the From (else the
 * Sender, else the journal's sender) against every recipient the headers and the envelope name.
 */
async function headerFacts(request: RetainRequest, directory: ScanFeedbackOptions['directory'], headers: ReturnType<typeof headerReader>): Promise<MessageFacts> {
  const { envelope } = request;
  const parsed = await headers.parsed();
  const from = parsed.from?.address ?? parsed.sender?.address ?? envelope?.sender;
  const recipients = [...addressesOf(parsed.to), ...addressesOf(parsed.cc), ...addressesOf(parsed.bcc), ...(envelope?.recipients ?? [])].filter((a) => a !== '');
  return {
    direction: directory.direction(from ? directory.classify(from.toLowerCase()) : undefined, recipients.map((a) => directory.classify(a.toLowerCase()))),
    messageDate: parsedDate(parsed.date),
  };
}

export function createScanFeedback(options: ScanFeedbackOptions): ScanFeedback {
  const { store, keys, logger, routes, metrics, directory } = options;
  const now = options.now ?? (() => new Date());
  const refreshMs = options.refreshMs ?? REFRESH_MS;
  let suppressions: Suppression[] = [];
  let authorisations: Authorisation[] = [];
  let loadedAt = -Infinity;
  let loading: Promise<void> | null = null;

  async function load(): Promise<void> {
    const at = now();
    try {
      // Those starting before the next read too; retainMessage itself refuses one not yet (or no longer) in force.
      [suppressions, authorisations] = await Promise.all([store.activeSuppressions(at), store.activeAuthorisations(at, new Date(at.getTime() + refreshMs))]);
    } catch (error) {
      // Scanning goes on with the lists it had; they are read again at the next interval.
      logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'cannot read suppressions and authorisations: using the last ones read');
    } finally {
      loadedAt = Date.now();
    }
  }

  async function current(): Promise<void> {
    if (Date.now() - loadedAt < refreshMs) return;
    loading ??= load().finally(() => (loading = null));
    await loading;
  }

  return {
    async suppress(report) {
      const none = { report, hits: new Map<number, number>() };
      if (!report.flagged) return none;
      await current();
      const at = now();
      const active = suppressions.filter((s) => s.expiresAt > at);
      if (active.length === 0) return none;
      const sender = report.from?.address.toLowerCase() ?? null;
      const hits = new Map<number, number>();
      const kept = report.findings.filter((finding) => {
        if (finding.severity === 'urgent') return true;
        const suppression = active.find((s) => covers(s, finding, sender));
        if (!suppression) return true;
        hits.set(suppression.id, (hits.get(suppression.id) ?? 0) + 1);
        return false;
      });
      if (hits.size === 0) return none;
      const verdict = verdictFor(kept, routes);
      logger.debug({ suppressions: [...hits.keys()], dropped: report.findings.length - kept.length, flagged: verdict.flagged }, 'findings suppressed');
      if (verdict.flagged) return { report: { ...report, ...verdict }, hits };
      const { from: _from, recipients: _recipients, subject: _subject, ...clean } = report;
      return { report: { ...clean, ...verdict }, hits };
    },

    async countHits(hits) {
      if (hits.size === 0) return;
      metrics.findingsSuppressed.inc([...hits.values()].reduce((sum, n) => sum + n, 0));
      await store.countSuppressionHits(hits, now()).catch((error: unknown) =>
        logger.warn({ suppressions: [...hits.keys()], err: error instanceof Error ? error.message : String(error) }, 'cannot count suppression hits'),
      );
    },

    async retain(request) {
      await current();
      const at = now();
      const active = authorisations.filter((a) => isActive(a, at));
      if (active.length === 0) return 0;
      const { raw, key, flagId } = request;
      let kept = 0;
      try {
        const headers = headerReader(raw);
        const parties = await partiesOf(request, active.map((a) => a.account), headers);
        let covering = active.filter((a) => parties.has(a.account));
        if (covering.length === 0) return 0;
        let facts: MessageFacts;
        if (request.report) {
          facts = { direction: request.report.direction, messageDate: parsedDate(request.report.date) };
        } else {
          // Every copy of a list mail comes here: those kept already are passed over, and nothing is scanned again.
          const prior = await store.priorRetention(key, covering.map((a) => a.id), flagId);
          covering = covering.filter((a) => !prior.keptBy.includes(a.id));
          if (covering.length === 0) return 0;
          facts = prior.flag ?? (await headerFacts(request, directory, headers));
        }
        for (const authorisation of covering) {
          const sealed = sealRetained(raw, keys.original, authorisation.id, key);
          if (await store.retainMessage({ authorisationId: authorisation.id, messageKey: key, flagId, ...facts, sealed })) {
            kept += 1;
            metrics.retained.inc();
          }
        }
      } catch (error) {
        metrics.retainFailures.inc();
        logger.error({ err: error instanceof Error ? error.message : String(error) }, 'cannot keep a message for targeted monitoring: its scan is recorded, the kept copy is missing');
        return kept;
      }
      if (kept > 0) logger.debug({ flagId, kept }, 'message kept for targeted monitoring');
      return kept;
    },
  };
}
