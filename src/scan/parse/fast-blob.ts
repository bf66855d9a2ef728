/**
 * postal-mime joins each MIME part's decoded chunks with `new Blob(chunks).arrayBuffer()`, and
 * pushes every line of a part as two chunks (the line, then "\n"). On Node 20 both halves are slow:
 * the constructor encodes and copies each tiny chunk on its own, and `arrayBuffer()` goes through
 * the Blob's asynchronous chunk reader; profiles showed them at about half of all parsing time on
 * the perf corpus. postal-mime offers no way to pass a decoder, so Kestrel installs a Blob subclass
 * that joins plain byte and string parts itself, hands the native constructor that one part, and
 * answers `arrayBuffer()` from its own copy. It is a real Blob with the same contents (every other
 * method inherited, and native code that reads Blobs sees the same bytes), so any other code that
 * makes Blobs sees no difference but speed. The price is a second copy of the bytes while the Blob
 * lives (up to 1 MiB; larger Blobs keep the native path): postal-mime reads each one at once and
 * drops it. Importing the parser installs it (see parse.ts).
 */
const NativeBlob = globalThis.Blob;
const utf8 = new TextEncoder();

const MAX_FAST_BYTES = 1024 * 1024;
const NEWLINE = Uint8Array.of(10);

type BlobParts = ConstructorParameters<typeof Blob>[0];
type BlobOptions = ConstructorParameters<typeof Blob>[1];

function bytesOf(part: unknown): Uint8Array | undefined {
  if (typeof part === 'string') return part === '\n' ? NEWLINE : utf8.encode(part);
  if (part instanceof ArrayBuffer) return new Uint8Array(part);
  if (ArrayBuffer.isView(part)) return new Uint8Array(part.buffer, part.byteOffset, part.byteLength);
  return undefined;
}

/** The parts joined into new bytes, or undefined when the native constructor should see them as given. */
function joinParts(parts: BlobParts | undefined, options: BlobOptions | undefined): Uint8Array | undefined {
  // Blobs among the parts, any iterable that is not an array, and `endings: 'native'` keep the native path.
  if (!Array.isArray(parts) || options?.endings === 'native') return undefined;
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (const part of parts as unknown[]) {
    const bytes = bytesOf(part);
    if (bytes === undefined) return undefined;
    size += bytes.byteLength;
    // Large parts keep the native path too: the reader's cost is per call, not per byte, and a
    // second copy of a big attachment could take a heap-limited worker thread past V8's limit in
    // an allocation that ends the whole process rather than the thread.
    if (size > MAX_FAST_BYTES) return undefined;
    chunks.push(bytes);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}

class ConcatenatingBlob extends NativeBlob {
  /** The bytes as they were at construction (a Blob is a snapshot), when every part is bytes or a string. */
  readonly #bytes: Uint8Array | undefined;

  constructor(parts?: BlobParts, options?: BlobOptions) {
    const joined = joinParts(parts, options);
    super(joined === undefined ? (parts ?? []) : [joined], options);
    this.#bytes = joined;
  }

  override async arrayBuffer(): Promise<ArrayBuffer> {
    // A fresh copy each time, as the native method gives: callers may write to it.
    return this.#bytes === undefined ? super.arrayBuffer() : (this.#bytes.slice().buffer as ArrayBuffer);
  }
}

/** Install once per thread, before the first parse. */
export function installFastBlob(): void {
  if (globalThis.Blob === NativeBlob) globalThis.Blob = ConcatenatingBlob as typeof Blob;
}
