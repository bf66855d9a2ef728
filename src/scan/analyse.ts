/** Normalise and tokenise every text field, keeping token offsets in the field's original text. */
import { normalise } from './normalise.js';
import { tokenise } from './tokenise.js';
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
const DROPPED_AT_END = /[\s\u00ad\u200b-\u200f\u2060-\u206f\ufeff\ufe00-\ufe0f]/u;

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
    let end = nextOrigin > lastOrigin ? nextOrigin : lastOrigin + 1;
    while (end > lastOrigin + 1 && DROPPED_AT_END.test(text[end - 1]!)) end--;
    token.start = origin[token.start]!;
    token.end = end;
  }
  markQuoted(tokens, field.quoted);
  return { ...field, tokens };
}

export function analyseMessage(message: Message): AnalysedMessage {
  return { ...message, fields: message.texts.map(analyseField) };
}
