/**
 * The lifecycle of Kestrel's long-running commands (run, connector, worker): start the parts in
 * order, serve metrics and health, and on SIGTERM or SIGINT close them in reverse order, so
 * connectors stop fetching before the pipeline behind them goes away. A second signal exits at once.
 */
import type { KestrelConfig } from '../config/schema.js';
import type { Logger } from '../log.js';
import { startOpsServer, type ReadinessCheck } from '../ops/http.js';
import type { KestrelMetrics } from '../ops/metrics.js';

/** Longer than a scan's time limit by default (in-flight messages finish), shorter than a container's kill grace. */
const CLOSE_TIMEOUT_MS = 25_000;

export interface Closable {
  name: string;
  close(): Promise<void>;
}

export class Service {
  private readonly parts: Closable[] = [];
  readonly checks: ReadinessCheck[] = [];

  constructor(
    private readonly logger: Logger,
    readonly metrics: KestrelMetrics,
  ) {}

  /** Registers a started part; parts close in the reverse of the order they were added. */
  add<T extends Closable>(part: T): T {
    this.parts.push(part);
    return part;
  }

  async serveOps(config: KestrelConfig): Promise<void> {
    if (config.metrics.listen === false) return;
    const server = await startOpsServer(config.metrics.listen, this.metrics, this.checks, this.logger);
    this.add({ name: 'metrics endpoint', close: () => server.close() });
  }

  async close(): Promise<void> {
    for (const part of this.parts.splice(0).reverse()) {
      let timer: NodeJS.Timeout | undefined;
      // A part waiting on a server that is gone (a worker closing while Redis is down) must not hold the rest.
      const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), CLOSE_TIMEOUT_MS)));
      try {
        if ((await Promise.race([part.close(), timeout])) === 'timeout') this.logger.error({ part: part.name, seconds: CLOSE_TIMEOUT_MS / 1000 }, 'close timed out; going on');
        else this.logger.debug({ part: part.name }, 'closed');
      } catch (error) {
        this.logger.error({ err: error, part: part.name }, 'close failed');
      } finally {
        clearTimeout(timer);
      }
    }
  }

  /** Resolves once `signal` aborts (tests) or the process gets SIGTERM/SIGINT, after closing everything. */
  async runUntilStopped(signal?: AbortSignal): Promise<void> {
    let onSignal: (name: NodeJS.Signals) => void = () => {};
    await new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      signal?.addEventListener('abort', () => resolve(), { once: true });
      onSignal = (name) => {
        this.logger.info({ signal: name }, 'stopping: finishing messages in flight');
        process.once(name, () => process.exit(130));
        resolve();
      };
      process.once('SIGTERM', onSignal);
      process.once('SIGINT', onSignal);
    });
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    await this.close();
  }
}
