/**
 * Fetching a message above `queue.maxMessageBytes` without its attachments. In a journal folder
 * the report's envelope part is read and the attached original is the message reduced.
 */
import type { ImapFlow, MessageStructureObject } from 'imapflow';
import { JOURNAL_REPORT_HEADER, parseJournalEnvelope } from './journal.js';
import { fieldValue, parseContentType, parseHeader, splitEntity } from '../scan/parse/mime-header.js';
import { decodeText } from './mime-parts.js';
import { fetchReduced, planReduction, type SkippedPart } from './oversize.js';
import type { JournalEnvelope } from './types.js';

export interface FetchedSource {
  raw: Buffer;
  envelope?: JournalEnvelope;
  /** False for a message in a journal folder that is not a journal report. */
  journalReport?: boolean;
  skippedParts?: SkippedPart[];
}

export async function fetchOversized(client: ImapFlow, uid: number, options: { budget: number; journal: boolean }): Promise<FetchedSource | null> {
  const meta = await client.fetchOne(String(uid), { uid: true, bodyStructure: true, headers: true }, { uid: true });
  if (!meta || !meta.bodyStructure) return null;
  const structure = meta.bodyStructure;
  if (options.journal) {
    const report = await reducedJournalReport(client, uid, structure, meta.headers, options.budget);
    if (report) return report;
  }
  const reduced = await fetchReduced(client, uid, planReduction(structure, '', options.budget));
  if (!reduced) return null;
  return { raw: reduced.raw, skippedParts: reduced.skippedParts, ...(options.journal ? { journalReport: false } : {}) };
}

async function reducedJournalReport(
  client: ImapFlow,
  uid: number,
  structure: MessageStructureObject,
  header: Buffer | undefined,
  budget: number,
): Promise<FetchedSource | null> {
  const children = structure.type.startsWith('multipart/') ? (structure.childNodes ?? []) : [];
  const attached = children.find((node) => node.type === 'message/rfc822' && node.part !== undefined && node.childNodes?.[0]);
  if (!attached) return null;
  let envelope: JournalEnvelope | null = null;
  for (const node of children) {
    if (node.type !== 'text/plain' || node.part === undefined || (node.size ?? 0) > 1024 * 1024) continue;
    const fetched = await client.fetchOne(String(uid), { uid: true, bodyParts: [`${node.part}.MIME`, node.part] }, { uid: true });
    const mime = fetched ? fetched.bodyParts?.get(`${node.part}.mime`) : undefined;
    const body = fetched ? fetched.bodyParts?.get(node.part) : undefined;
    if (!mime || !body) continue;
    const fields = parseHeader(splitEntity(mime).header);
    envelope = parseJournalEnvelope(decodeText({ fields, contentType: parseContentType(fieldValue(fields, 'content-type')), body }));
    if (envelope) break;
  }
  const marked = header ? parseHeader(splitEntity(header).header).some((f) => f.name === JOURNAL_REPORT_HEADER.toLowerCase()) : false;
  if (!envelope && !marked) return null;
  const reduced = await fetchReduced(client, uid, planReduction(attached.childNodes![0]!, attached.part!, budget));
  if (!reduced) return null;
  return { raw: reduced.raw, envelope: envelope ?? { recipients: [] }, journalReport: true, skippedParts: reduced.skippedParts };
}
