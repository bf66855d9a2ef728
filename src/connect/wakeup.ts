/**
 * A sleep that something else can cut short: new mail, a dropped connection or shutdown wakes a
 * waiting watcher. A wake-up while nobody waits is kept, so news that arrives mid-sync is not lost.
 */
export class Wakeup {
  private pending = false;
  private resolve: (() => void) | undefined;

  wake(): void {
    this.pending = true;
    this.resolve?.();
  }

  /** Forgets a wake-up nobody waited for: a backoff must not be cut short by the failed connection's own close. */
  clear(): void {
    this.pending = false;
  }

  /** True when woken (now or earlier), false when `ms` passed first. */
  async wait(ms: number): Promise<boolean> {
    if (!this.pending) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.resolve = resolve;
        timer = setTimeout(resolve, Math.max(0, ms));
      });
      clearTimeout(timer);
      this.resolve = undefined;
    }
    const woken = this.pending;
    this.pending = false;
    return woken;
  }
}
