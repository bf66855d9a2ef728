/**
 * What a chain letter looks like from the outside: forwarded on and on (`FW: FW: Fwd:`, forwarded
 * header blocks nested in the body), sent to many people at once, or carrying the recipient lists
 * of the people who forwarded it before. None of these is chain mail on its own: every one is
 * ordinary in trust mail. They are signals that join the chain_mail lexicon's score (see
 * scoreHits), so they count only beside chain-letter words.
 */
import type { KestrelConfig } from '../../../config/schema.js';
import { describedEvidence } from '../../evidence.js';
import type { AnalysedMessage, Detector, Finding } from '../../types.js';

const POLICY = '000_84beb20efc1da5e6.txt 11.1';
const FORWARD_PREFIX = /^\s*(?:(?:fwd?|fw|tr|wg|vs|rv|enc)\s*(?:\[\d+\])?\s*:\s*)/i;
const REPLY_PREFIX = /^\s*(?:re|aw|sv)\s*(?:\[\d+\])?\s*:\s*/i;
/** Header lines are short; the cap keeps the scan linear on huge single-line bodies. */
const MAX_HEADER_LINE = 300;
const FORWARD_SEPARATOR = /^[>\s]*(?:-{2,}\s*(?:forwarded message|original message)\s*-{2,}|begin forwarded message:?)\s*$/i;
const QUOTED_FROM = /^[>\s*]*from:\s*\S/i;
const QUOTED_SENT = /^[>\s*]*(?:sent|date):\s*\S/i;
const QUOTED_RECIPIENTS = /^[>\s*]*(?:to|cc):\s*(.+)$/i;
const ADDRESS = /[^\s<>,;:"()[\]]+@[a-z0-9-]+(?:\.[a-z0-9-]+)+/gi;

/** How many times the subject says it was forwarded: `FW: Re: Fwd: x` is 2. */
export function subjectForwards(subject: string): number {
  let rest = subject;
  let forwards = 0;
  for (;;) {
    const fwd = FORWARD_PREFIX.exec(rest);
    if (fwd) {
      forwards++;
      rest = rest.slice(fwd[0].length);
      continue;
    }
    const re = REPLY_PREFIX.exec(rest);
    if (!re) return forwards;
    rest = rest.slice(re[0].length);
  }
}

export interface ForwardHistory {
  /** Forwarded-message separators and From/Sent header blocks in the text. */
  blocks: number;
  /** Distinct addresses on To/Cc lines inside those blocks. */
  quotedRecipients: number;
}

export function forwardHistory(text: string): ForwardHistory {
  let blocks = 0;
  let pendingFrom = -1;
  let lastSeparator = -Infinity;
  const recipients = new Set<string>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.length > MAX_HEADER_LINE) continue;
    if (FORWARD_SEPARATOR.test(line)) {
      blocks++;
      pendingFrom = -1;
      lastSeparator = i;
      continue;
    }
    if (QUOTED_FROM.test(line)) pendingFrom = i;
    else if (pendingFrom >= 0 && i - pendingFrom <= 2 && QUOTED_SENT.test(line)) {
      // A From: line followed by Sent:/Date: is a header block, unless a separator just opened it.
      if (pendingFrom - lastSeparator > 2) blocks++;
      pendingFrom = -1;
    }
    const to = QUOTED_RECIPIENTS.exec(line);
    if (to && i > 0) for (const address of to[1]!.match(ADDRESS) ?? []) recipients.add(address.toLowerCase());
  }
  return { blocks, quotedRecipients: recipients.size };
}

function signal(rule: string, description: string, score: number, excerpt: string): Finding {
  return { rule, description, category: 'chain_mail', severity: 'minor', score, policy: POLICY, evidence: [describedEvidence('envelope', '', excerpt)] };
}

/** Signals for the chain_mail category; see the module comment. Scores are the rules' weights. */
export function createChainStructureSignals(config: KestrelConfig): Detector {
  const fanOut = config.chainMail.fanOutRecipients;
  return {
    id: 'chain-structure',
    detect(message: AnalysedMessage): Finding[] {
      const found: Finding[] = [];
      const inSubject = subjectForwards(message.subject);
      let blocks = 0;
      let quotedRecipients = 0;
      for (const field of message.fields) {
        if (field.field === 'subject' || field.field === 'html') continue;
        const history = forwardHistory(field.text);
        blocks += history.blocks;
        quotedRecipients = Math.max(quotedRecipients, history.quotedRecipients);
      }
      const depth = Math.max(inSubject, blocks);
      if (depth >= 2) found.push(signal('chain_mail.forward_chain', 'Forwarded on and on: a stack of forwards in the subject or nested forwarded messages', 0.3, `forwarded ${depth} times (subject ${inSubject}, forwarded blocks ${blocks})`));
      else if (depth === 1) found.push(signal('chain_mail.forwarded', 'A forwarded message', 0.15, 'forwarded once'));
      const recipients = new Set([...message.to, ...message.cc, ...message.bcc].map((p) => p.address)).size;
      if (recipients >= fanOut) found.push(signal('chain_mail.fan_out', `Sent to ${fanOut} or more people at once`, 0.2, `${recipients} recipients`));
      if (quotedRecipients >= fanOut) found.push(signal('chain_mail.quoted_recipients', 'Carries the recipient lists of earlier forwards', 0.2, `${quotedRecipients} addresses in forwarded headers`));
      return found;
    },
  };
}
