/**
 * postal-mime joins each MIME part's decoded chunks with `new Blob(chunks).arrayBuffer()`. On
 * Node 20 that read goes through the Blob's asynchronous chunk reader, which profiles showed to be
 * about half of all parsing time on the perf corpus. postal-mime offers no way to pass a decoder,
 * so Kestrel installs a Blob subclass whose `arrayBuffer()` concatenates the parts it was built
 * from in memory when they are plain bytes or strings. It is a real Blob (same constructor, every
 * other method inherited), so any other code that makes Blobs sees no difference but speed. The
 * price is a second copy of the bytes while the Blob lives (up to 1 MiB; larger Blobs use the native
 * reader): postal-mime reads each one at once and drops it. Importing the parser installs it (see parse.ts).
 */
const NativeBlob = globalThis.Blob;
const utf8 = new TextEncoder();

const MAX_FAST_BYTES = 1024 * 1024;

type BlobParts = ConstructorParameters<typeof Blob>[0];
type BlobOptions = ConstructorParameters<typeof Blob>[1];

type Part = ArrayBuffer | ArrayBufferView | string;

function bytesOf(part: Part): Uint8Array {
  if (typeof part === 'string') return utf8.encode(part);
  if (part instanceof ArrayBuffer) return new Uint8Array(part);
  return new Uint8Array(part.buffer, part.byteOffset, part.byteLength);
}

class ConcatenatingBlob extends NativeBlob {
  /** The bytes as they were at construction (a Blob is a snapshot), when every part is bytes or a string. */
  readonly #bytes: Uint8Array | undefined;

  constructor(parts?: BlobParts, options?: BlobOptions) {
    super(parts ?? [], options);
    // Parts that are Blobs, any iterable that is not an array, and `endings: 'native'` keep the native path.
    const list: readonly unknown[] = Array.isArray(parts) ? parts : parts === undefined ? [] : [null];
    const simple = list.every((p) => typeof p === 'string' || p instanceof ArrayBuffer || ArrayBuffer.isView(p));
    // Large parts keep the native path too: the reader's cost is per call, not per byte, and a
    // second copy of a big attachment could take a heap-limited worker thread past V8's limit in
    // an allocation that ends the whole process rather than the thread.
    this.#bytes = simple && options?.endings !== 'native' && this.size <= MAX_FAST_BYTES ? concatenate((list as Part[]).map(bytesOf)) : undefined;
  }

  override async arrayBuffer(): Promise<ArrayBuffer> {
    // A fresh copy each time, as the native method gives: callers may write to it.
    return this.#bytes === undefined ? super.arrayBuffer() : (this.#bytes.slice().buffer as ArrayBuffer);
  }
}

function concatenate(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}

/** Install once per thread, before the first parse. */
export function installFastBlob(): void {
  if (globalThis.Blob === NativeBlob) globalThis.Blob = ConcatenatingBlob as typeof Blob;
}
