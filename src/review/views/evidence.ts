/**
 * Evidence excerpts with the matched words highlighted. The excerpt is mail text, so it is split
 * into plain strings first and each part is escaped by the `html` template; only the <mark> around
 * the match is Kestrel's own markup.
 */
import type { Evidence } from '../../scan/types.js';
import { html, type Html } from './html.js';

export interface ExcerptParts {
  before: string;
  /** Empty when the evidence describes the message rather than quoting it (an envelope, an attachment type). */
  match: string;
  after: string;
}

/** The excerpt around its match; makeEvidence writes the match on one line, so that is how it is sought. */
export function excerptParts(evidence: Pick<Evidence, 'match' | 'excerpt'>): ExcerptParts {
  const match = evidence.match.replace(/\s+/g, ' ');
  const at = match.trim() === '' ? -1 : evidence.excerpt.indexOf(match);
  if (at < 0) return { before: evidence.excerpt, match: '', after: '' };
  return { before: evidence.excerpt.slice(0, at), match, after: evidence.excerpt.slice(at + match.length) };
}

export function highlightedExcerpt(evidence: Pick<Evidence, 'match' | 'excerpt'>): Html {
  const { before, match, after } = excerptParts(evidence);
  return html`<q class="excerpt">${before}${match ? html`<mark>${match}</mark>` : ''}${after}</q>`;
}

/** Where the evidence was found, and whether it is the writer's own words. */
export function evidenceWhere(evidence: Pick<Evidence, 'field' | 'quoted' | 'masked'>): string {
  return [evidence.field, evidence.quoted ? 'quoted history' : '', evidence.masked ? 'identifiers masked' : ''].filter(Boolean).join(' · ');
}
