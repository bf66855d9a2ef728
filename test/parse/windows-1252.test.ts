import { describe, expect, it } from 'vitest';
import { installWindows1252Decoder } from '../../src/scan/parse/windows-1252.js';

installWindows1252Decoder();

describe('the TextDecoder installed for windows-1252', () => {
  it('maps 0x80-0x9F as the Encoding Standard does, for every label it folds into windows-1252', () => {
    for (const label of ['windows-1252', 'iso-8859-1', 'latin1', 'us-ascii', 'cp1252']) {
      const decoder = new TextDecoder(label);
      expect(decoder.encoding).toBe('windows-1252');
      // 0x81 is one of the five bytes the standard leaves as a C1 control.
      expect(decoder.decode(Uint8Array.of(0x93, 0x92, 0x80, 0x96, 0x9f, 0x81, 0xe9, 0x41))).toBe('\u201c\u2019\u20ac\u2013\u0178\u0081\u00e9A');
    }
  });

  it('maps each chunk of a streamed decode, and leaves other encodings alone', () => {
    const decoder = new TextDecoder('windows-1252');
    expect(decoder.decode(Uint8Array.of(0x64, 0x6f, 0x6e, 0x92), { stream: true }) + decoder.decode(Uint8Array.of(0x74))).toBe('don\u2019t');
    expect(new TextDecoder('utf-8').decode(Uint8Array.of(0xc2, 0x92))).toBe('\u0092');
    expect(new TextDecoder('iso-8859-2').decode(Uint8Array.of(0xb1))).toBe('\u0105');
  });
});
