/**
 * Every personal-data recognizer and message-level check, in priority order: where two claim the
 * same text with the same score, the earlier wins. A new kind of personal data is one file in
 * recognizers/ (or checks/) and one line here.
 */
import type { MessageCheck } from './detector.js';
import type { Recognizer } from './recognizer.js';
import { nhsNumber } from './recognizers/nhs-number.js';

export const RECOGNIZERS: readonly Recognizer[] = [nhsNumber];

export const MESSAGE_CHECKS: readonly MessageCheck[] = [];
