/**
 * Reconnect delays: exponential with full jitter between `reconnectMinMs` and a cap that doubles
 * per failure up to `reconnectMaxMs`, so a server coming back is not met by every connection at
 * once; a server's own throttling hint (Microsoft 365: "Suggested Backoff Time: N milliseconds")
 * is a floor.
 */

export class Backoff {
  private failures = 0;

  constructor(
    private readonly minMs: number,
    private readonly maxMs: number,
    private readonly random: () => number = Math.random,
  ) {}

  /** The delay before the next attempt; `hintMs` is what the server asked for, if anything. */
  next(hintMs?: number): number {
    const cap = Math.min(this.maxMs, this.minMs * 2 ** Math.min(this.failures, 30));
    this.failures++;
    const delay = this.minMs + this.random() * Math.max(0, cap - this.minMs);
    // A server's hint is honoured up to our own ceiling (a huge value would overflow setTimeout).
    return Math.round(Math.min(this.maxMs, Math.max(delay, hintMs ?? 0)));
  }

  reset(): void {
    this.failures = 0;
  }

  get attempts(): number {
    return this.failures;
  }
}

const SUGGESTED_BACKOFF = /Backoff Time[:=\s]+(\d+)\s*(milliseconds|ms|seconds|s)?/i;

/** The server's suggested wait in ms, from imapflow's ETHROTTLE error or the response text. */
export function throttleHintMs(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const e = error as { throttleReset?: unknown; responseText?: unknown; message?: unknown; reason?: unknown };
  if (typeof e.throttleReset === 'number' && e.throttleReset > 0) return e.throttleReset;
  for (const text of [e.responseText, e.reason, e.message]) {
    if (typeof text !== 'string') continue;
    const match = SUGGESTED_BACKOFF.exec(text);
    if (!match) continue;
    const value = Number(match[1]);
    return /^s/i.test(match[2] ?? '') ? value * 1000 : value;
  }
  return undefined;
}
