/**
 * Word (.docx) and PowerPoint (.pptx) text: WordprocessingML and DrawingML share the shape that
 * matters here (paragraphs `p` of runs whose text is in `t` elements; tables `tbl` > `tr` > `tc`).
 */
import type { FlowBuilder } from './flow.js';
import { relationshipId, type PackageReader } from './package.js';
import { countAttribute, type XmlHandler } from './xml.js';

/**
 * Subtrees whose text would repeat or misstate the document: `Fallback` repeats its `Choice` for
 * older readers, `moveFrom` is the old place of tracked moved text, `fld` is a slide-number field.
 */
const SKIPPED = new Set(['Fallback', 'moveFrom', 'fld']);

/** Lists of tab stops (Word's `tabs`, DrawingML's `tabLst`), whose `tab` elements are not tabs. */
const TAB_STOPS = new Set(['tabs', 'tabLst']);

function ooxmlTextHandler(builder: FlowBuilder): XmlHandler {
  let skipDepth = 0;
  let tabStopsDepth = 0;
  let inText = false;
  return {
    open(name, attributes) {
      if (skipDepth > 0 || SKIPPED.has(name)) {
        skipDepth++;
        return;
      }
      if (TAB_STOPS.has(name)) tabStopsDepth++;
      switch (name) {
        case 'p':
          builder.openParagraph();
          break;
        case 't':
          inText = true;
          break;
        case 'tab':
          if (tabStopsDepth === 0) builder.tab();
          break;
        case 'br':
        case 'cr':
          builder.lineBreak();
          break;
        case 'noBreakHyphen':
          builder.text('-');
          break;
        case 'tbl':
          builder.openTable();
          break;
        case 'tr':
          builder.openRow();
          break;
        case 'tc':
          builder.openCell();
          break;
        case 'gridSpan':
          builder.spanCell(countAttribute(attributes, 'val', 1));
          break;
      }
    },
    close(name) {
      if (skipDepth > 0) {
        skipDepth--;
        return;
      }
      if (TAB_STOPS.has(name)) tabStopsDepth--;
      switch (name) {
        case 'p':
          builder.closeParagraph();
          break;
        case 't':
          inText = false;
          break;
        case 'tbl':
          builder.closeTable();
          break;
        case 'tr':
          builder.closeRow();
          break;
        case 'tc':
          builder.closeCell();
          break;
      }
    },
    text(text) {
      if (inText && skipDepth === 0) builder.text(text);
    },
  };
}

/** Relationship types of a Word document's parts that hold text, in the order they are read. */
const WORD_PARTS = ['header', 'footer', 'footnotes', 'endnotes', 'comments'];

export async function readWord(reader: PackageReader, main: string): Promise<void> {
  const related = await reader.relationships(main);
  const parts = [main];
  for (const type of WORD_PARTS) {
    for (const rel of related) if (rel.type === type) parts.push(rel.target);
  }
  for (const part of parts) {
    if (reader.stopped) break;
    await reader.flow(part, ooxmlTextHandler);
  }
}

export async function readSlides(reader: PackageReader, main: string): Promise<void> {
  const related = await reader.relationships(main);
  const slideIds: string[] = [];
  await reader.pkg.parse(main, {
    open(name, attributes) {
      const id = name === 'sldId' ? relationshipId(attributes) : undefined;
      if (id !== undefined) slideIds.push(id);
    },
  });
  for (const id of slideIds) {
    const slide = related.find((rel) => rel.id === id && rel.type === 'slide');
    if (!slide || reader.stopped) continue;
    await reader.flow(slide.target, ooxmlTextHandler);
    // Speaker notes come after their slide.
    for (const rel of await reader.relationships(slide.target)) {
      if (rel.type === 'notesSlide' && !reader.stopped) await reader.flow(rel.target, ooxmlTextHandler);
    }
  }
}
