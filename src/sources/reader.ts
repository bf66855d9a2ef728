import { open, type FileHandle } from 'node:fs/promises';
import { describeError, oversizeError } from './errors.js';
import { MboxSplitter, startsWithFrom } from './mbox.js';
import { SingleMessageSink, type ChunkSink } from './sink.js';
import { failure, STDIN_PATH, type SourceItem } from './types.js';

const READ_CHUNK_BYTES = 256 * 1024;
/** Enough bytes to tell whether the input opens with a `From ` envelope. */
const FORMAT_PROBE_BYTES = 5;

function chooseSink(file: string, head: Buffer, maxBytes: number): ChunkSink {
  return startsWithFrom(head) ? new MboxSplitter(file, maxBytes) : new SingleMessageSink(file, maxBytes);
}

function toBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  throw new TypeError(`stream produced a ${typeof chunk} chunk, expected bytes`);
}

/**
 * Reads one input (file or stream) as either an mbox or a single message, deciding from its
 * first bytes. Read errors become a failure for the input (or for the mbox message they cut short).
 */
async function* readSource(file: string, chunks: AsyncIterable<unknown>, maxBytes: number): AsyncGenerator<SourceItem> {
  let sink: ChunkSink | undefined;
  let head: Buffer = Buffer.alloc(0);
  try {
    for await (const rawChunk of chunks) {
      const chunk = toBuffer(rawChunk);
      if (sink === undefined) {
        head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
        if (head.length < FORMAT_PROBE_BYTES) continue;
        sink = chooseSink(file, head, maxBytes);
        yield* sink.push(head);
      } else {
        yield* sink.push(chunk);
      }
      if (sink.stopped) break;
    }
  } catch (err) {
    yield failure(file, describeError(err), sink?.currentIndex);
    return;
  }
  if (sink === undefined) {
    // The whole input was shorter than the probe (possibly empty).
    sink = chooseSink(file, head, maxBytes);
    yield* sink.push(head);
  }
  yield* sink.finish();
}

async function* readChunks(handle: FileHandle): AsyncGenerator<Buffer> {
  for (;;) {
    const buffer = Buffer.allocUnsafe(READ_CHUNK_BYTES);
    // Position null reads on from the current offset, which also works for pipes and FIFOs.
    const { bytesRead } = await handle.read(buffer, 0, READ_CHUNK_BYTES, null);
    if (bytesRead === 0) return;
    yield buffer.subarray(0, bytesRead);
  }
}

async function opensWithEnvelope(handle: FileHandle): Promise<boolean> {
  const probe = Buffer.alloc(FORMAT_PROBE_BYTES);
  const { bytesRead } = await handle.read(probe, 0, FORMAT_PROBE_BYTES, 0);
  return startsWithFrom(probe.subarray(0, bytesRead));
}

/** Reads a named file; a regular file too big to be one message is refused unless it is an mbox. */
export async function* readFile(file: string, maxBytes: number): AsyncGenerator<SourceItem> {
  let handle: FileHandle;
  try {
    handle = await open(file, 'r');
  } catch (err) {
    yield failure(file, describeError(err));
    return;
  }
  try {
    const stats = await handle.stat();
    if (stats.isDirectory()) {
      yield failure(file, 'is a directory');
      return;
    }
    if (stats.isFile() && stats.size > maxBytes && !(await opensWithEnvelope(handle))) {
      yield failure(file, oversizeError(maxBytes, stats.size));
      return;
    }
    yield* readSource(file, readChunks(handle), maxBytes);
  } catch (err) {
    yield failure(file, describeError(err));
  } finally {
    await handle.close().catch(() => undefined);
  }
}

export function readStream(stream: NodeJS.ReadableStream, maxBytes: number): AsyncGenerator<SourceItem> {
  return readSource(STDIN_PATH, stream, maxBytes);
}
