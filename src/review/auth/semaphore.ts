/** A counting semaphore: at most `limit` tasks run at once, the others wait in arrival order. */
export class Semaphore {
  private running = 0;
  private readonly queue: Array<() => void> = [];

  constructor(private readonly limit: number) {}

  /** Tasks running now. */
  get active(): number {
    return this.running;
  }

  /** Tasks waiting for a turn. */
  get waiting(): number {
    return this.queue.length;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
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
