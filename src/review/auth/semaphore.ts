/** Thrown by `run` when `maxWaiting` tasks already wait: the caller answers "busy" rather than queueing without end. */
export class SemaphoreFullError extends Error {
  constructor() {
    super('too many tasks waiting');
    this.name = 'SemaphoreFullError';
  }
}

/** A counting semaphore: at most `limit` tasks run at once, at most `maxWaiting` wait in arrival order. */
export class Semaphore {
  private running = 0;
  private readonly queue: Array<() => void> = [];

  constructor(
    private readonly limit: number,
    private readonly maxWaiting = Number.POSITIVE_INFINITY,
  ) {}

  /** Tasks running now. */
  get active(): number {
    return this.running;
  }

  /** Tasks waiting for a turn. */
  get waiting(): number {
    return this.queue.length;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit && this.queue.length >= this.maxWaiting) throw new SemaphoreFullError();
    if (this.running >= this.limit) await new Promise<void>((resolve) => this.queue.push(resolve));
    else this.running++;
    try {
      return await task();
    } finally {
      // A waiting task takes over this slot, so `running` stays the same.
      const next = this.queue.shift();
      if (next) next();
      else this.running--;
    }
  }
}
