/**
 * Near-identical flags (a class writing about the same topic, a chain letter in 200 mailboxes)
 * share a group key, so a reviewer sees one item with a count and can close them together. The key
 * depends on what was found, never on who sent it: the categories, and each rule with the words it
 * matched.
 */
import { createHash } from 'node:crypto';
import type { Finding } from '../scan/types.js';
import { normalisePhrase } from './suppressions.js';

/**
 * SHA-256 (hex) over the sorted categories and the sorted distinct `rule` + matched words of every
 * piece of evidence, the words normalised as suppressions compare them. Masked evidence (personal
 * data) contributes its rule only: the masked value differs from message to message and says
 * nothing about their likeness.
 */
export function groupKey(categories: readonly string[], findings: readonly Finding[]): string {
  const parts = new Set<string>();
  for (const finding of findings) {
    if (finding.evidence.length === 0) parts.add(finding.rule);
    for (const evidence of finding.evidence) parts.add(evidence.masked ? finding.rule : `${finding.rule}\n${normalisePhrase(evidence.match)}`);
  }
  const canonical = JSON.stringify([[...new Set(categories)].sort(), [...parts].sort()]);
  return createHash('sha256').update(canonical).digest('hex');
}
