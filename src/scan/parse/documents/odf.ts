/**
 * OpenDocument text, spreadsheets and presentations (.odt, .ods, .odp): all keep their content in
 * `content.xml` as paragraphs (`text:p`, `text:h`) and tables (`table:table`); a spreadsheet's
 * sheets are tables, written with their names. Cells hold the text the application displays, so
 * dates are already as the author saw them.
 */
import type { FlowBuilder } from './flow.js';
import type { PackageReader } from './package.js';
import { attribute, countAttribute, type XmlHandler } from './xml.js';
import { Unscannable } from './zip.js';

/** Comments, the deleted text of tracked changes, and footnote numbers: not the document's text. */
const SKIPPED = new Set(['annotation', 'tracked-changes', 'note-citation']);

function odfHandler(builder: FlowBuilder, spreadsheet: boolean): XmlHandler {
  let skipDepth = 0;
  return {
    open(name, attributes) {
      if (skipDepth > 0 || SKIPPED.has(name)) {
        skipDepth++;
        return;
      }
      switch (name) {
        case 'p':
        case 'h':
          builder.openParagraph();
          break;
        // Capped: `text:c` is the file's word, and a billion spaces would not fit in a string.
        case 's':
          builder.text(' '.repeat(Math.min(countAttribute(attributes, 'c', 1), 100)));
          break;
        case 'tab':
          builder.tab();
          break;
        case 'line-break':
          builder.lineBreak();
          break;
        case 'table':
          builder.openTable(spreadsheet ? (attribute(attributes, 'name') ?? '') : undefined);
          break;
        case 'table-row':
          builder.openRow(countAttribute(attributes, 'number-rows-repeated', 1));
          break;
        case 'table-cell':
        case 'covered-table-cell':
          builder.openCell(countAttribute(attributes, 'number-columns-repeated', 1));
          break;
      }
    },
    close(name) {
      if (skipDepth > 0) {
        skipDepth--;
        return;
      }
      switch (name) {
        case 'p':
        case 'h':
          builder.closeParagraph();
          break;
        case 'table':
          builder.closeTable();
          break;
        case 'table-row':
          builder.closeRow();
          break;
        case 'table-cell':
        case 'covered-table-cell':
          builder.closeCell();
          break;
      }
    },
    text(text) {
      // Runs of white space in OpenDocument text are one space; `text:s` writes any more.
      if (skipDepth === 0) builder.text(text.replace(/[ \t\r\n]+/g, ' '));
    },
  };
}

/** A password-protected OpenDocument file is a zip whose manifest lists how `content.xml` was encrypted. */
async function contentEncrypted(reader: PackageReader): Promise<boolean> {
  let entry: string | undefined;
  let encrypted = false;
  await reader.pkg.parse('META-INF/manifest.xml', {
    open(name, attributes) {
      if (name === 'file-entry') entry = attribute(attributes, 'full-path');
      else if (name === 'encryption-data' && entry === 'content.xml') encrypted = true;
    },
  });
  return encrypted;
}

export async function readOpenDocument(reader: PackageReader, mimetype: string): Promise<void> {
  if (await contentEncrypted(reader)) throw new Unscannable('encrypted');
  const spreadsheet = mimetype.includes('spreadsheet');
  await reader.flow('content.xml', (builder) => odfHandler(builder, spreadsheet));
}
