/**
 * The HTML part of a Kestrel message. Everything in it that came from mail or the flag is escaped,
 * it loads nothing (no images, stylesheets or fonts: the only URL is a link built from config), and
 * it is laid out with tables and inline styles, because Outlook renders mail with Word's engine and
 * Gmail drops <style> blocks. Severity and marks are written in words and bold, never colour alone.
 */
import { printable, type Block, type Inline, type MailDocument } from './compose-text.js';

const FONT = 'font-family:Arial,Helvetica,sans-serif;';
const TEXT = `${FONT}font-size:15px;line-height:1.5;color:#111827;`;
const CELL = `${TEXT}padding:6px 10px 6px 0;vertical-align:top;text-align:left;`;
const LINK = 'color:#1d4ed8;text-decoration:underline;';
// Long unbroken strings (a URL in an excerpt) would otherwise push the layout off a phone screen.
const BREAK = 'word-break:break-word;overflow-wrap:anywhere;';

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return printable(text).replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

function inline(content: Inline[]): string {
  return content
    .map((part) => {
      if (typeof part === 'string') return escapeHtml(part);
      if ('marked' in part) return `<mark style="background-color:#fde68a;color:#111827;font-weight:bold;padding:0 2px;">${escapeHtml(part.marked)}</mark>`;
      if ('strong' in part) return `<strong>${escapeHtml(part.strong)}</strong>`;
      return `<a href="${escapeHtml(part.href)}" style="${LINK}">${escapeHtml(part.link)}</a>`;
    })
    .join('');
}

/** A one-cell layout table: Outlook ignores borders, padding and backgrounds on most block elements, not on cells. */
function box(style: string, content: string): string {
  return `<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="border-collapse:collapse;margin:0 0 14px;"><tr><td style="${TEXT}${style}">${content}</td></tr></table>`;
}

const HEADING_SIZE = { 1: 22, 2: 18, 3: 16 } as const;

function renderBlock(block: Block): string {
  switch (block.kind) {
    case 'heading': {
      const size = HEADING_SIZE[block.level];
      const top = block.level === 1 ? 0 : 22;
      return `<h${block.level} style="${FONT}font-size:${size}px;line-height:1.3;color:#111827;margin:${top}px 0 10px;">${escapeHtml(block.text)}</h${block.level}>`;
    }
    case 'paragraph':
      return `<p style="${TEXT}${BREAK}margin:0 0 12px;">${inline(block.content)}</p>`;
    case 'alert':
      return box('border:2px solid #b91c1c;background-color:#fef2f2;color:#7f1d1d;padding:12px 14px;font-weight:bold;', inline(block.content));
    case 'facts': {
      const rows = block.rows.map(
        (row) => `<tr><th scope="row" style="${CELL}width:30%;font-weight:bold;white-space:nowrap;">${escapeHtml(row.label)}</th><td style="${CELL}${BREAK}">${inline(row.value)}</td></tr>`,
      );
      return `<table cellpadding="0" cellspacing="0" border="0" style="border-collapse:collapse;margin:0 0 14px;width:100%;">${rows.join('')}</table>`;
    }
    case 'list':
      return `<ul style="${TEXT}margin:0 0 12px;padding-left:22px;">${block.items.map((item) => `<li style="${TEXT}${BREAK}margin:0 0 4px;">${inline(item)}</li>`).join('')}</ul>`;
    case 'evidence':
      return box(
        `border-left:4px solid #4b5563;background-color:#f3f4f6;padding:8px 12px;${BREAK}`,
        `<span style="${FONT}font-size:13px;color:#374151;">${escapeHtml(block.label)}</span><br>“${inline(block.excerpt)}”`,
      );
    case 'table': {
      const head = block.columns.map((c) => `<th scope="col" style="${CELL}font-weight:bold;border-bottom:2px solid #4b5563;">${escapeHtml(c.title)}</th>`).join('');
      // Cells wrap only at spaces (overflow-wrap:anywhere would let the table squeeze a word like `moderate` apart).
      const cell = (content: Inline[], column: number): string =>
        `<td style="${CELL}${block.columns[column]?.nowrap ? 'white-space:nowrap;' : 'overflow-wrap:break-word;'}border-bottom:1px solid #d1d5db;">${inline(content)}</td>`;
      const rows = block.rows.map((row) => `<tr>${row.map(cell).join('')}</tr>`);
      return `<table cellpadding="0" cellspacing="0" border="0" style="border-collapse:collapse;margin:0 0 14px;width:100%;"><thead><tr>${head}</tr></thead><tbody>${rows.join('')}</tbody></table>`;
    }
    case 'button':
      return (
        `<table role="presentation" cellpadding="0" cellspacing="0" border="0" style="margin:0 0 6px;"><tr><td style="background-color:#1d4ed8;padding:10px 18px;">` +
        `<a href="${escapeHtml(block.href)}" style="${FONT}font-size:15px;font-weight:bold;color:#ffffff;text-decoration:none;">${escapeHtml(block.text)}</a></td></tr></table>` +
        `<p style="${FONT}font-size:13px;color:#374151;${BREAK}margin:0 0 14px;">${escapeHtml(block.href)}</p>`
      );
  }
}

/** A complete HTML document, 640 px wide at most, centred on a grey page. */
export function renderHtml(doc: MailDocument): string {
  return [
    '<!DOCTYPE html>',
    '<html lang="en-GB">',
    '<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(doc.title)}</title></head>`,
    '<body style="margin:0;padding:0;background-color:#e5e7eb;">',
    '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="background-color:#e5e7eb;"><tr><td align="center" style="padding:16px 8px;">',
    '<table role="presentation" width="640" cellpadding="0" cellspacing="0" border="0" style="width:100%;max-width:640px;background-color:#ffffff;border:1px solid #9ca3af;">',
    `<tr><td style="${TEXT}padding:24px;text-align:left;">`,
    ...doc.blocks.map(renderBlock),
    '</td></tr></table>',
    '</td></tr></table>',
    '</body>',
    '</html>',
    '',
  ].join('\r\n');
}
