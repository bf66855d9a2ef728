/**
 * The operations endpoint: /metrics for Prometheus, /healthz (the process answers) and /readyz
 * (its dependencies answer: the store, Redis, connectors). Bound to loopback by default: metrics
 * name accounts, which is for operators, not the network.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../log.js';
import type { KestrelMetrics } from './metrics.js';

/** A named check for /readyz; it throws (or rejects) when not ready. */
export interface ReadinessCheck {
  name: string;
  check(): Promise<void>;
}

export interface OpsServer {
  /** The bound address, e.g. 127.0.0.1:9464 (the port is real even when 0 was asked for). */
  address: string;
  close(): Promise<void>;
}

const CHECK_TIMEOUT_MS = 2_000;

async function runCheck(check: ReadinessCheck): Promise<string | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
  });
  try {
    await Promise.race([check.check(), timeout]);
    return null;
  } catch (error) {
    return `${check.name}: ${error instanceof Error ? error.message : String(error)}`;
  } finally {
    clearTimeout(timer);
  }
}

export async function startOpsServer(listen: string, metrics: KestrelMetrics, checks: readonly ReadinessCheck[], logger: Logger): Promise<OpsServer> {
  const separator = listen.lastIndexOf(':');
  const host = listen.slice(0, separator);
  const port = Number(listen.slice(separator + 1));
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/healthz') {
      response.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      return;
    }
    if (path === '/readyz') {
      void Promise.all(checks.map(runCheck)).then((results) => {
        const failures = results.filter((r): r is string => r !== null);
        response.writeHead(failures.length === 0 ? 200 : 503, { 'content-type': 'text/plain' }).end(failures.length === 0 ? 'ready\n' : `${failures.join('\n')}\n`);
      });
      return;
    }
    if (path === '/metrics') {
      metrics.registry.metrics().then(
        (text) => response.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
        (error: unknown) => {
          logger.error({ err: error }, 'metrics collection failed');
          response.writeHead(500).end();
        },
      );
      return;
    }
    response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => reject(new Error(`metrics.listen ${listen}: ${error.code ?? error.message}`)));
    server.listen(port, host, resolve);
  });
  const bound = server.address() as AddressInfo;
  const address = `${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}`;
  logger.info({ address }, 'metrics and health endpoints listening');
  return {
    address,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
