/**
 * Messages above `queue.maxMessageBytes` travel without their attachments: from the BODYSTRUCTURE
 * Kestrel fetches the header and the text/plain and text/html parts only, rebuilds a small MIME
 * message from them, and lists every part it left behind, so the flag can say what was not read.
 * The message itself is never dropped.
 */
import { randomBytes } from 'node:crypto';
import type { ImapFlow, MessageStructureObject } from 'imapflow';
import { splitEntity } from '../scan/parse/mime-header.js';

export type SkippedPart = { contentType: string; size: number };

/** The reason recorded for the parts an oversized message travelled without. */
export const QUEUE_SIZE_CAP_REASON = 'over the queue size cap (queue.maxMessageBytes)';

interface KeptLeaf {
  /** BODY section of the part's content. */
  section: string;
  /** Where the part's own Content-* fields are: its MIME header, or the header of the message it is the whole body of. */
  mime: { section: string; fromMessageHeader: boolean };
}

export interface ReductionPlan {
  /** Header section of the message being reduced: `HEADER`, or `2.HEADER` for one attached at part 2. */
  headerSection: string;
  kept: KeptLeaf[];
  skipped: SkippedPart[];
}

const TEXT_TYPES = new Set(['text/plain', 'text/html']);

/**
 * What to fetch of the message whose body is `body`: its text leaves while they fit in `budget`
 * bytes, in document order. `at` is the part number of an attached message (its body's parts are
 * numbered below it), or '' for the top-level message.
 */
export function planReduction(body: MessageStructureObject, at: string, budget: number): ReductionPlan {
  const headerSection = at ? `${at}.HEADER` : 'HEADER';
  const plan: ReductionPlan = { headerSection, kept: [], skipped: [] };
  let used = 0;
  const consider = (node: MessageStructureObject, leaf: KeptLeaf) => {
    const size = node.size ?? 0;
    if (TEXT_TYPES.has(node.type) && used + size <= budget) {
      used += size;
      plan.kept.push(leaf);
    } else {
      plan.skipped.push({ contentType: node.type, size });
    }
  };
  const walk = (node: MessageStructureObject, messageAt: string, isMessageBody: boolean) => {
    if (node.type.startsWith('multipart/')) {
      for (const child of node.childNodes ?? []) walk(child, messageAt, false);
      return;
    }
    if (isMessageBody) {
      // A single-part body: BODY[n.1] (or [1] at the top), its Content-* fields in the message header.
      const section = messageAt ? `${messageAt}.1` : '1';
      consider(node, { section, mime: { section: messageAt ? `${messageAt}.HEADER` : 'HEADER', fromMessageHeader: true } });
      return;
    }
    const part = node.part ?? '1';
    const inner = node.type === 'message/rfc822' ? node.childNodes?.[0] : undefined;
    if (inner) {
      walk(inner, part, true);
      return;
    }
    consider(node, { section: part, mime: { section: `${part}.MIME`, fromMessageHeader: false } });
  };
  walk(body, at, true);
  return plan;
}

const CONTENT_FIELD = /^content-/i;

/** The lines of the fields in `header` that `keep` accepts by name, folded continuations included. */
function headerLines(header: Buffer, keep: (name: string) => boolean): string {
  const text = header.toString('latin1');
  const lines = text.split(/\r?\n/);
  const out: string[] = [];
  let keeping = false;
  for (const line of lines) {
    if (line === '') continue;
    if (line.startsWith(' ') || line.startsWith('\t')) {
      if (keeping) out.push(line);
      continue;
    }
    const colon = line.indexOf(':');
    keeping = colon > 0 && keep(line.slice(0, colon).trim());
    if (keeping) out.push(line);
  }
  return out.map((l) => `${l}\r\n`).join('');
}

/** A multipart/mixed message with the original's header (less its MIME structure fields) and the kept parts. */
function buildReducedMessage(header: Buffer, parts: Array<{ mimeHeader: string; body: Buffer }>): Buffer {
  const boundary = `kestrel-reduced-${randomBytes(12).toString('hex')}`;
  const outer = headerLines(header, (name) => !CONTENT_FIELD.test(name) && name.toLowerCase() !== 'mime-version');
  const chunks: Buffer[] = [Buffer.from(`${outer}MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="${boundary}"\r\n\r\n`, 'latin1')];
  for (const part of parts) {
    chunks.push(Buffer.from(`--${boundary}\r\n${part.mimeHeader}\r\n`, 'latin1'), part.body, Buffer.from('\r\n', 'latin1'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`, 'latin1'));
  return Buffer.concat(chunks);
}

export interface ReducedMessage {
  raw: Buffer;
  skippedParts: SkippedPart[];
}

/** Fetches what `plan` keeps (BODY.PEEK, one command) and rebuilds the message. */
export async function fetchReduced(client: ImapFlow, uid: number, plan: ReductionPlan): Promise<ReducedMessage | null> {
  const sections = new Set<string>([plan.headerSection]);
  for (const leaf of plan.kept) sections.add(leaf.mime.section).add(leaf.section);
  const wantsTopHeader = sections.delete('HEADER');
  const fetched = await client.fetchOne(String(uid), { uid: true, ...(wantsTopHeader ? { headers: true } : {}), bodyParts: [...sections] }, { uid: true });
  if (!fetched) return null;
  const section = (key: string): Buffer => (key === 'HEADER' ? fetched.headers : fetched.bodyParts?.get(key.toLowerCase())) ?? Buffer.alloc(0);
  const parts = plan.kept.map((leaf) => {
    const mimeSource = section(leaf.mime.section);
    const mimeHeader = leaf.mime.fromMessageHeader
      ? headerLines(splitEntity(mimeSource).header, (name) => CONTENT_FIELD.test(name))
      : headerLines(splitEntity(mimeSource).header, () => true);
    return { mimeHeader, body: section(leaf.section) };
  });
  return { raw: buildReducedMessage(splitEntity(section(plan.headerSection)).header, parts), skippedParts: plan.skipped };
}
