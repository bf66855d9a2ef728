/**
 * Where messages come from for `kestrel scan PATH...`: stdin (`-`), files (single messages or
 * mboxes, told apart by a leading `From ` line) and directory trees (including Maildirs).
 */
import { stat } from 'node:fs/promises';
import { describeError } from './errors.js';
import { readFile, readStream } from './reader.js';
import { DEFAULT_MAX_MESSAGE_BYTES, failure, STDIN_PATH, type ReadOptions, type SourceItem } from './types.js';
import { walkDirectory } from './walk.js';

export type { RawMessage, ReadOptions, SourceFailure, SourceItem } from './types.js';
export { DEFAULT_MAX_MESSAGE_BYTES, isFailure, STDIN_PATH } from './types.js';

/**
 * Yields every message under `paths`, in order, streaming mboxes message by message. Problems with
 * a path or a message are yielded as failures and reading carries on; it never throws for bad input.
 */
export async function* readMessages(paths: string[], options: ReadOptions = {}): AsyncGenerator<SourceItem> {
  const maxBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  for (const path of paths) {
    if (path === STDIN_PATH) yield* readStream(options.stdin ?? process.stdin, maxBytes);
    else yield* readPath(path, maxBytes);
  }
}

async function* readPath(path: string, maxBytes: number): AsyncGenerator<SourceItem> {
  let isDirectory: boolean;
  try {
    // A path named on the command line is followed even when it is a symlink to a directory.
    isDirectory = (await stat(path)).isDirectory();
  } catch (err) {
    yield failure(path, describeError(err));
    return;
  }
  if (!isDirectory) {
    yield* readFile(path, maxBytes);
    return;
  }
  for await (const item of walkDirectory(path)) {
    if (typeof item === 'string') yield* readFile(item, maxBytes);
    else yield item;
  }
}
