import { Readable, Writable } from 'node:stream';
import type { CliIo } from '../../src/cli/io.js';

export interface CapturedIo extends CliIo {
  stdoutText(): string;
  stderrText(): string;
}

function collector(chunks: Buffer[]): Writable {
  return new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
      done();
    },
  });
}

/** Streams for `main(argv, io)`: what it writes is kept in memory, and stdin holds `stdin` (empty by default). */
export function captureIo(stdin: string | Buffer = ''): CapturedIo {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  return {
    stdin: Readable.from([Buffer.from(stdin)]),
    stdout: collector(out),
    stderr: collector(err),
    stdoutText: () => Buffer.concat(out).toString('utf8'),
    stderrText: () => Buffer.concat(err).toString('utf8'),
  };
}
