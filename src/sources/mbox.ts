import { failure, type SourceItem } from './types.js';
import { oversizeError } from './errors.js';
import type { ChunkSink } from './sink.js';

const FROM_ = Buffer.from('From ', 'latin1');
const GT = 0x3e;
const LF = 0x0a;
const CR = 0x0d;

/**
 * A line longer than this is handed on in pieces, so a file without newlines cannot make us buffer
 * it whole. Only a piece that starts a line can be an envelope or an escaped `>From ` line.
 */
const MAX_LINE_PIECE = 64 * 1024;

export function startsWithFrom(bytes: Buffer, offset = 0): boolean {
  return bytes.length - offset >= FROM_.length && bytes.compare(FROM_, 0, FROM_.length, offset, offset + FROM_.length) === 0;
}

function isBlankLine(line: Buffer): boolean {
  return (line.length === 1 && line[0] === LF) || (line.length === 2 && line[0] === CR && line[1] === LF);
}

/** mboxrd writes `>From ` for `From ` and adds one more `>` to any `>...>From `; undo one level. */
function unescapeFromLine(line: Buffer): Buffer {
  let quotes = 0;
  while (quotes < line.length && line[quotes] === GT) quotes++;
  return quotes > 0 && startsWithFrom(line, quotes) ? line.subarray(1) : line;
}

/**
 * Splits an mbox (mboxo or mboxrd, LF or CRLF) into messages as its bytes stream in. Bytes are
 * kept exactly apart from the envelope line, the `>From ` un-escaping, and the blank line that
 * separates one message from the next envelope (it belongs to the mbox, not the message).
 *
 * Must only be given input whose first line is a `From ` envelope.
 */
export class MboxSplitter implements ChunkSink {
  readonly stopped = false;

  private index = 0;
  private parts: Buffer[] = [];
  private size = 0;
  private overLimit = false;
  /** A blank line is held back until we know whether an envelope follows it. */
  private heldBlankLine: Buffer | null = null;
  /** Set while the rest of an over-long envelope line is still arriving, so it is not kept as content. */
  private insideEnvelope = false;

  private partialLine: Buffer[] = [];
  private partialLineBytes = 0;
  /** The partial line continues a line already handed on in an earlier piece. */
  private partialIsContinuation = false;

  private ready: SourceItem[] = [];

  constructor(
    private readonly file: string,
    private readonly maxBytes: number,
  ) {}

  get currentIndex(): number | undefined {
    return this.index === 0 ? undefined : this.index;
  }

  push(chunk: Buffer): SourceItem[] {
    let start = 0;
    while (start < chunk.length) {
      const newline = chunk.indexOf(LF, start);
      if (newline === -1) {
        this.addPartialLine(chunk.subarray(start));
        break;
      }
      this.completeLine(chunk.subarray(start, newline + 1));
      start = newline + 1;
    }
    return this.takeReady();
  }

  finish(): SourceItem[] {
    if (this.partialLineBytes > 0) this.flushPartialLine();
    // A trailing blank line is the mbox's separator after the last message.
    this.heldBlankLine = null;
    this.finishMessage();
    return this.takeReady();
  }

  private takeReady(): SourceItem[] {
    const items = this.ready;
    this.ready = [];
    return items;
  }

  private addPartialLine(piece: Buffer): void {
    this.partialLine.push(piece);
    this.partialLineBytes += piece.length;
    if (this.partialLineBytes >= MAX_LINE_PIECE) this.flushPartialLine();
  }

  private flushPartialLine(): void {
    const piece = Buffer.concat(this.partialLine, this.partialLineBytes);
    this.handlePiece(piece, !this.partialIsContinuation);
    this.partialLine = [];
    this.partialLineBytes = 0;
    this.partialIsContinuation = true;
  }

  private completeLine(end: Buffer): void {
    const line = this.partialLineBytes === 0 ? end : Buffer.concat([...this.partialLine, end]);
    this.handlePiece(line, !this.partialIsContinuation);
    this.partialLine = [];
    this.partialLineBytes = 0;
    this.partialIsContinuation = false;
  }

  private handlePiece(piece: Buffer, startsLine: boolean): void {
    if (!startsLine) {
      if (!this.insideEnvelope) this.append(piece);
      return;
    }
    const atMessageBoundary = this.index === 0 || this.heldBlankLine !== null;
    if (atMessageBoundary && startsWithFrom(piece)) {
      this.heldBlankLine = null;
      this.startMessage();
      this.insideEnvelope = true;
      return;
    }
    this.insideEnvelope = false;
    if (this.heldBlankLine !== null) {
      this.append(this.heldBlankLine);
      this.heldBlankLine = null;
    }
    if (isBlankLine(piece)) this.heldBlankLine = piece;
    else this.append(unescapeFromLine(piece));
  }

  private startMessage(): void {
    this.finishMessage();
    this.index++;
    this.parts = [];
    this.size = 0;
    this.overLimit = false;
  }

  private append(bytes: Buffer): void {
    this.size += bytes.length;
    if (this.overLimit) return;
    if (this.size > this.maxBytes) {
      // Drop what we have and only count from here on: the message is reported, not kept.
      this.overLimit = true;
      this.parts = [];
      return;
    }
    this.parts.push(bytes);
  }

  private finishMessage(): void {
    if (this.index === 0) return;
    if (this.overLimit) {
      this.ready.push(failure(this.file, oversizeError(this.maxBytes, this.size), this.index));
    } else {
      this.ready.push({ file: this.file, index: this.index, raw: Buffer.concat(this.parts, this.size) });
    }
    this.parts = [];
  }
}
