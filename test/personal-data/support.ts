import { analyseField } from '../../src/scan/analyse.js';
import { FieldView } from '../../src/scan/detectors/personal-data/field-view.js';
import type { Candidate, Recognizer } from '../../src/scan/detectors/personal-data/recognizer.js';

/** A body field over `text`, as the pipeline would analyse it. */
export function viewOf(text: string, quoted: Array<{ start: number; end: number }> = []): FieldView {
  return new FieldView(analyseField({ field: 'body', text, quoted }));
}

/** The values a recognizer accepts in `text`, as written. */
export function valuesFound(recognizer: Recognizer, text: string): string[] {
  return recognizer.find(viewOf(text)).map((c: Candidate) => text.slice(c.start, c.end));
}
