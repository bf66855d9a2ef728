/**
 * A one-line progress indicator on stderr, shown only when stderr is a terminal and the run has
 * lasted long enough to need it. The total is unknown while directories and mboxes stream in.
 */
const SHOW_AFTER_MS = 1500;
const REFRESH_MS = 250;

export class Progress {
  private readonly started = Date.now();
  private lastDrawn = 0;
  private drawn = false;
  scanned = 0;
  flagged = 0;
  failed = 0;

  constructor(private readonly stream: NodeJS.WritableStream & { isTTY?: boolean } = process.stderr) {}

  update(): void {
    if (!this.stream.isTTY) return;
    const now = Date.now();
    if (now - this.started < SHOW_AFTER_MS || now - this.lastDrawn < REFRESH_MS) return;
    this.lastDrawn = now;
    this.drawn = true;
    const rate = this.scanned / ((now - this.started) / 1000);
    this.stream.write(`\r\x1b[2Kscanned ${this.scanned} messages, ${this.flagged} flagged, ${this.failed} failed (${rate.toFixed(0)} msg/s)`);
  }

  clear(): void {
    if (this.drawn) this.stream.write('\r\x1b[2K');
  }
}
