import { failure, type RawMessage, type SourceItem } from './types.js';
import { oversizeStreamError } from './errors.js';

/** Consumes a source's bytes chunk by chunk and hands back whatever items those bytes completed. */
export interface ChunkSink {
  push(chunk: Buffer): SourceItem[];
  finish(): SourceItem[];
  /** True once further bytes cannot change the outcome, so the reader may stop reading. */
  readonly stopped: boolean;
  /** The mbox index being read, so a read error can say which message it interrupted. */
  readonly currentIndex: number | undefined;
}

/** A whole input that is one message (an .eml file, or stdin that is not an mbox). */
export class SingleMessageSink implements ChunkSink {
  private parts: Buffer[] = [];
  private size = 0;
  private overLimit = false;

  constructor(
    private readonly file: string,
    private readonly maxBytes: number,
  ) {}

  get stopped(): boolean {
    return this.overLimit;
  }

  get currentIndex(): undefined {
    return undefined;
  }

  push(chunk: Buffer): SourceItem[] {
    if (this.overLimit) return [];
    this.size += chunk.length;
    if (this.size > this.maxBytes) {
      this.overLimit = true;
      this.parts = [];
    } else {
      this.parts.push(chunk);
    }
    return [];
  }

  finish(): SourceItem[] {
    if (this.overLimit) return [failure(this.file, oversizeStreamError(this.maxBytes, this.size))];
    const message: RawMessage = { file: this.file, raw: Buffer.concat(this.parts, this.size) };
    return [message];
  }
}
