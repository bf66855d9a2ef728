/**
 * One pass over a selected (read-only) folder: find the UIDs past the checkpoint, fetch them in
 * UID order with BODY.PEEK (so nothing is marked read), hand each to the sink and advance the
 * checkpoint only once the sink has it. UIDs are collected before any message is fetched, and
 * every fetch is collected before the next command: a command issued inside a FETCH stream
 * deadlocks imapflow.
 *
 * On first sight of a folder, only new mail counts (the checkpoint starts at UIDNEXT) unless the
 * account has `backfillSince`. A new UIDVALIDITY starts a new epoch: backfill if configured,
 * otherwise the whole folder (message keys downstream stop duplicate flags).
 */
import type { ImapFlow } from 'imapflow';
import type { AccountConfig } from '../config/operations-schema.js';
import type { Checkpoint, CheckpointStore } from '../flags/types.js';
import type { Logger } from '../log.js';
import type { KestrelMetrics } from '../ops/metrics.js';
import { checkKestrelCopy, kestrelCopyBounce, type CopyGuard } from './copy-guard.js';
import type { WatchedFolder } from './folders.js';
import { fetchOversized, type FetchedSource } from './oversized-fetch.js';
import { unwrapJournalReport } from './journal.js';
import type { FetchedMessage, MessageSink } from './types.js';

export interface FolderSyncContext {
  account: AccountConfig;
  folder: WatchedFolder;
  sink: MessageSink;
  checkpoints: CheckpointStore;
  metrics: KestrelMetrics;
  logger: Logger;
  copyGuard: CopyGuard | undefined;
  maxMessageBytes: number;
  /** True once the watcher is stopping or its login is due for renewal: finish the message in hand, fetch no more. */
  shouldYield(): boolean;
  /** Resolves when the sink has room (the watcher reports `paused` meanwhile). */
  waitForRoom(): Promise<void>;
}

const METADATA_CHUNK = 500;
const BATCH_MESSAGES = 50;
const BATCH_BYTES = 8 * 1024 * 1024;

interface Epoch {
  uidValidity: string;
  /** The CONDSTORE value per-message checkpoints carry until the pass completes. */
  carriedModseq: string | undefined;
}

export async function syncFolder(client: ImapFlow, context: FolderSyncContext): Promise<void> {
  const { account, folder } = context;
  // EXAMINE again at every pass: a fresh UIDNEXT, HIGHESTMODSEQ and UIDVALIDITY (STATUS on the
  // selected mailbox answers from the session's stale view on Dovecot, even after the folder was
  // deleted and created again).
  const mailbox = await client.mailboxOpen(folder.path, { readOnly: true });
  const condstore = client.enabled.has('CONDSTORE') && !mailbox.noModseq;
  const uidValidity = String(mailbox.uidValidity);
  const modseq = condstore && mailbox.highestModseq !== undefined ? String(mailbox.highestModseq) : undefined;
  const lastExisting = mailbox.uidNext - 1;

  const checkpoint = await context.checkpoints.checkpoint(account.id, folder.path);
  const log = context.logger.child({ account: account.id, folder: folder.path });
  let uids: number[];
  let epoch: Epoch;
  let after: number;
  if (checkpoint && checkpoint.uidValidity === uidValidity) {
    if (modseq !== undefined && checkpoint.highestModseq === modseq) return;
    epoch = { uidValidity, carriedModseq: checkpoint.highestModseq };
    after = checkpoint.lastUid;
    uids = lastExisting > after ? await searchUids(client, { uid: `${after + 1}:*` }) : [];
  } else {
    after = 0;
    epoch = { uidValidity, carriedModseq: undefined };
    if (checkpoint) log.warn({ previousUidValidity: checkpoint.uidValidity, uidValidity }, 'UIDVALIDITY changed: resyncing the folder');
    if (account.backfillSince !== undefined) {
      uids = await searchUids(client, { since: new Date(`${account.backfillSince}T00:00:00Z`) });
      log.info({ since: account.backfillSince, messages: uids.length }, 'backfilling');
    } else if (checkpoint) {
      uids = await searchUids(client, { all: true });
    } else {
      // First sight without backfill: only mail that arrives from now on.
      await advance(context, { uidValidity, lastUid: lastExisting, ...(modseq !== undefined ? { highestModseq: modseq } : {}) });
      log.info({ uidNext: mailbox.uidNext }, 'watching for new mail');
      return;
    }
  }
  uids = uids.filter((uid) => uid > after).sort((a, b) => a - b);
  const completed = await deliver(client, context, uids, epoch);
  if (!completed) return;
  await advance(context, { uidValidity, lastUid: Math.max(after, lastExisting, uids.at(-1) ?? 0), ...(modseq !== undefined ? { highestModseq: modseq } : {}) });
}

async function searchUids(client: ImapFlow, query: Parameters<ImapFlow['search']>[0]): Promise<number[]> {
  const found = await client.search(query, { uid: true });
  return Array.isArray(found) ? found : [];
}

function advance(context: FolderSyncContext, checkpoint: Checkpoint): Promise<void> {
  return context.checkpoints.advanceCheckpoint(context.account.id, context.folder.path, checkpoint);
}

/** Compact UID set, e.g. `3:7,9,12:13`. */
function uidSet(uids: number[]): string {
  const ranges: string[] = [];
  for (let i = 0; i < uids.length; ) {
    let j = i;
    while (j + 1 < uids.length && uids[j + 1] === uids[j]! + 1) j++;
    ranges.push(i === j ? `${uids[i]}` : `${uids[i]}:${uids[j]}`);
    i = j + 1;
  }
  return ranges.join(',');
}

interface MessageMeta {
  uid: number;
  size: number;
  internalDate: string | undefined;
}

/** Delivers `uids` in order; false when it stopped early. */
async function deliver(client: ImapFlow, context: FolderSyncContext, uids: number[], epoch: Epoch): Promise<boolean> {
  for (let start = 0; start < uids.length; start += METADATA_CHUNK) {
    const chunk = uids.slice(start, start + METADATA_CHUNK);
    const fetched = await client.fetchAll(uidSet(chunk), { uid: true, size: true, internalDate: true }, { uid: true });
    const metas = new Map<number, MessageMeta>(fetched.map((m) => [m.uid, { uid: m.uid, size: m.size ?? 0, internalDate: isoDate(m.internalDate) }]));
    for (const batch of batches(chunk, metas, context.maxMessageBytes)) {
      await context.waitForRoom();
      if (context.shouldYield()) return false;
      const sources = await fetchSources(client, batch, metas, context);
      // The checkpoint moves once per batch (and wherever the batch stops), past messages the sink
      // has accepted: a store write per message cost a quarter of the store's time (bench:e2e).
      let accepted: number | undefined;
      try {
        for (const uid of batch) {
          if (context.shouldYield()) return false;
          const source = sources.get(uid);
          // Expunged since the search, most likely; said aloud in case the server failed to send it.
          if (source) await hand(context, epoch, uid, metas.get(uid)!, source);
          else context.logger.warn({ account: context.account.id, folder: context.folder.path, uid }, 'message listed but not fetched (expunged meanwhile?): passed over');
          accepted = uid;
        }
      } finally {
        if (accepted !== undefined) {
          await advance(context, { uidValidity: epoch.uidValidity, lastUid: accepted, ...(epoch.carriedModseq !== undefined ? { highestModseq: epoch.carriedModseq } : {}) });
        }
      }
    }
  }
  return true;
}

function isoDate(value: Date | string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

/** Groups UIDs into fetches of bounded size; an oversized message is a batch of its own. */
function* batches(uids: number[], metas: Map<number, MessageMeta>, maxMessageBytes: number): Generator<number[]> {
  let batch: number[] = [];
  let bytes = 0;
  for (const uid of uids) {
    const size = metas.get(uid)?.size ?? 0;
    const oversized = size > maxMessageBytes;
    if (batch.length > 0 && (oversized || batch.length >= BATCH_MESSAGES || bytes + size > BATCH_BYTES)) {
      yield batch;
      batch = [];
      bytes = 0;
    }
    batch.push(uid);
    bytes += size;
    if (oversized) {
      yield batch;
      batch = [];
      bytes = 0;
    }
  }
  if (batch.length > 0) yield batch;
}

async function fetchSources(client: ImapFlow, batch: number[], metas: Map<number, MessageMeta>, context: FolderSyncContext): Promise<Map<number, FetchedSource>> {
  const journal = context.folder.role === 'journal';
  const sources = new Map<number, FetchedSource>();
  const first = batch[0]!;
  if (batch.length === 1 && (metas.get(first)?.size ?? 0) > context.maxMessageBytes) {
    const reduced = await fetchOversized(client, first, { budget: context.maxMessageBytes, journal });
    if (reduced) sources.set(first, reduced);
    return sources;
  }
  const fetched = await client.fetchAll(uidSet(batch), { uid: true, source: true }, { uid: true });
  for (const message of fetched) {
    if (!message.source) continue;
    if (!journal) {
      sources.set(message.uid, { raw: message.source });
      continue;
    }
    const unwrapped = unwrapJournalReport(message.source);
    sources.set(message.uid, unwrapped ? { raw: unwrapped.original, envelope: unwrapped.envelope, journalReport: true } : { raw: message.source, journalReport: false });
  }
  return sources;
}

async function hand(context: FolderSyncContext, epoch: Epoch, uid: number, meta: MessageMeta, source: FetchedSource): Promise<void> {
  const { account, folder, logger } = context;
  if (source.journalReport === false) logger.warn({ account: account.id, folder: folder.path, uid }, 'message in the journal folder is not a journal report: scanning it as it is');
  if (context.copyGuard) {
    const copy = checkKestrelCopy(source.raw, context.copyGuard.secret);
    if (copy.kind === 'verified') {
      logger.debug({ account: account.id, folder: folder.path, uid }, "skipping Kestrel's own copy");
      // Seeing it is the proof of delivery that settles an uncertain send; without it the copier only resends later.
      await context.copyGuard.seen?.(copy.messageId).catch((error: unknown) =>
        logger.warn({ account: account.id, folder: folder.path, uid, err: error instanceof Error ? error.message : String(error) }, 'cannot record a copy as delivered'),
      );
      return;
    }
    const bounce = copy.kind === 'none' ? kestrelCopyBounce(source.raw, context.copyGuard.secret) : undefined;
    if (bounce) {
      // Kestrel's own copy coming back: it was scanned as the flagged original already.
      logger.debug({ account: account.id, folder: folder.path, uid }, "skipping a bounce of Kestrel's own copy");
      await context.copyGuard.bounced?.(bounce).catch((error: unknown) =>
        logger.warn({ account: account.id, folder: folder.path, uid, err: error instanceof Error ? error.message : String(error) }, 'cannot record a bounced copy'),
      );
      return;
    }
    if (copy.kind === 'forged') logger.warn({ account: account.id, folder: folder.path, uid }, 'Kestrel copy header does not verify: scanning the message');
  }
  const message: FetchedMessage = {
    account: account.id,
    folder: folder.path,
    uidValidity: epoch.uidValidity,
    uid,
    role: folder.role,
    raw: source.raw,
    ...(meta.internalDate !== undefined ? { receivedAt: meta.internalDate } : {}),
    ...(source.envelope ? { envelope: source.envelope } : {}),
    ...(source.skippedParts && source.skippedParts.length > 0 ? { skippedParts: source.skippedParts } : {}),
  };
  await context.sink.accept(message);
  context.metrics.fetched.inc({ account: account.id });
}
