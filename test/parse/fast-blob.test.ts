import { describe, expect, it } from 'vitest';
import { installFastBlob } from '../../src/scan/parse/fast-blob.js';

installFastBlob();

const bytes = (buffer: ArrayBuffer) => [...new Uint8Array(buffer)];

describe('the Blob installed for postal-mime', () => {
  it('is still a Blob, with the bytes, size, type, text and slices of the native one', async () => {
    const source = new Uint8Array([104, 105, 0, 255]);
    const blob = new Blob(['é', source, source.buffer, new DataView(source.buffer, 1, 2)], { type: 'application/octet-stream' });
    expect(blob).toBeInstanceOf(Blob);
    expect(blob.size).toBe(2 + 4 + 4 + 2);
    expect(blob.type).toBe('application/octet-stream');
    expect(bytes(await blob.arrayBuffer())).toEqual([0xc3, 0xa9, 104, 105, 0, 255, 104, 105, 0, 255, 105, 0]);
    expect(await blob.slice(0, 2).text()).toBe('é');
    expect(bytes(await new Blob([blob, 'x']).arrayBuffer())).toEqual([...bytes(await blob.arrayBuffer()), 120]);
  });

  it('holds the same bytes natively, for code that reads a Blob without arrayBuffer()', async () => {
    // postal-mime's shape: each line of a part, then a newline string.
    const lines = ['Dear parents,', 'the trip is on Friday.', 'Café at noon.'].map((line) => new TextEncoder().encode(line));
    const blob = new Blob(lines.flatMap((line) => [line, '\n']));
    const expected = 'Dear parents,\nthe trip is on Friday.\nCafé at noon.\n';
    expect(new TextDecoder().decode(await blob.arrayBuffer())).toBe(expected);
    expect(await new Response(blob.stream()).text()).toBe(expected);
    expect(await new Response(blob).text()).toBe(expected);
    expect(blob.size).toBe(new TextEncoder().encode(expected).length);
  });

  it('gives the same bytes for a Blob over the in-memory limit', async () => {
    const big = new Uint8Array(2 * 1024 * 1024 + 3).map((_, i) => i % 251);
    const joined = new Uint8Array(await new Blob([big, 'x']).arrayBuffer());
    expect(joined.length).toBe(big.length + 1);
    expect(joined[big.length - 1]).toBe(big[big.length - 1]);
    expect(joined[big.length]).toBe(120);
  });

  it('takes any iterable of parts, as the native Blob does', async () => {
    expect(await new Blob(new Set(['a', 'b']) as unknown as string[]).text()).toBe('ab');
  });

  it('keeps the bytes as they were when it was made, and hands out copies', async () => {
    const source = new Uint8Array([1, 2, 3]);
    const blob = new Blob([source]);
    source[0] = 9;
    const first = await blob.arrayBuffer();
    new Uint8Array(first)[1] = 9;
    expect(bytes(await blob.arrayBuffer())).toEqual([1, 2, 3]);
  });
});
