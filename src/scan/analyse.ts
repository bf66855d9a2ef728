/** Normalise and tokenise every text field, keeping token offsets in the field's original text. */
import { isInvisible, normalise } from './normalise.js';
import { tokenise } from './tokenise.js';
import { markWordClasses } from './word-classes.js';
import type { AnalysedField, AnalysedMessage, Message, TextField, Token } from './types.js';

function markQuoted(tokens: Token[], quoted: TextField['quoted']): void {
  if (quoted.length === 0) return;
  let range = 0;
  for (const token of tokens) {
    while (range < quoted.length && quoted[range]!.end <= token.start) range++;
    const current = quoted[range];
    token.quoted = current !== undefined && current.start <= token.start;
  }
}

/** Characters the normaliser drops or folds into a space, which a token's span should not end on. */
function droppedAt(text: string, end: number): number {
  // Width of the character ending at `end` when the normaliser drops it or folds it into a space, else 0.
  const low = text.charCodeAt(end - 1);
  const astral = low >= 0xdc00 && low <= 0xdfff && end >= 2 ? text.codePointAt(end - 2)! : -1;
  // Skin tones stay with the emoji they modify.
  if (astral > 0xffff) return isInvisible(astral) && !(astral >= 0x1f3fb && astral <= 0x1f3ff) ? 2 : 0;
  return /\s/.test(text[end - 1]!) || isInvisible(low) ? 1 : 0;
}

export function analyseField(field: TextField): AnalysedField {
  const normalised = normalise(field.text);
  const tokens = tokenise(normalised.text);
  const { origin } = normalised;
  const text = field.text;
  for (const token of tokens) {
    const lastOrigin = origin[token.end - 1]!;
    const nextOrigin = origin[token.end]!;
    // The end is exclusive: step past the last character, taking in what the normaliser dropped
    // after it (a combining accent, the second half of a surrogate pair) but not dropped invisibles.
    const lastWidth = text.codePointAt(lastOrigin)! > 0xffff ? 2 : 1;
    let end = nextOrigin > lastOrigin ? nextOrigin : lastOrigin + lastWidth;
    for (let w = droppedAt(text, end); w > 0 && end - w >= lastOrigin + lastWidth; w = droppedAt(text, end)) end -= w;
    token.start = origin[token.start]!;
    token.end = end;
  }
  markQuoted(tokens, field.quoted);
  markWordClasses(tokens, text);
  return { ...field, tokens };
}

export function analyseMessage(message: Message): AnalysedMessage {
  return { ...message, fields: message.texts.map(analyseField) };
}
