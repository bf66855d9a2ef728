/** The operations endpoint over real HTTP: metrics in Prometheus text, liveness, and readiness that names what is not ready. */
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { startOpsServer, type OpsServer, type ReadinessCheck } from '../../src/ops/http.js';
import { createMetrics } from '../../src/ops/metrics.js';

const silent = pino({ level: 'silent' });
let server: OpsServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function get(path: string): Promise<{ status: number; body: string; type: string | null }> {
  const response = await fetch(`http://${server!.address}${path}`);
  return { status: response.status, body: await response.text(), type: response.headers.get('content-type') };
}

describe('the operations endpoint', () => {
  it('serves the metrics, with connector state per account and counts per category', async () => {
    const metrics = createMetrics();
    metrics.setConnectorState('staff-hali', 'idle');
    metrics.flagged.inc({ category: 'safety.self_harm' });
    server = await startOpsServer('127.0.0.1:0', metrics, [], silent);
    const { status, body, type } = await get('/metrics');
    expect(status).toBe(200);
    expect(type).toContain('text/plain');
    expect(body).toContain('kestrel_connector_state{account="staff-hali",state="idle"} 1');
    expect(body).toContain('kestrel_connector_state{account="staff-hali",state="backoff"} 0');
    expect(body).toContain('kestrel_messages_flagged_total{category="safety.self_harm"} 1');
    expect(body).toContain('kestrel_scan_latency_seconds_bucket');
  });

  it('answers /healthz while /readyz reports each failing check by name', async () => {
    let redisUp = false;
    const checks: ReadinessCheck[] = [
      { name: 'flag store', check: async () => {} },
      { name: 'redis', check: async () => { if (!redisUp) throw new Error('connect ECONNREFUSED 127.0.0.1:6379'); } },
      { name: 'stuck', check: () => new Promise<void>((resolve) => setTimeout(resolve, 2_500)) },
    ];
    server = await startOpsServer('127.0.0.1:0', createMetrics(), checks, silent);
    expect((await get('/healthz')).status).toBe(200);
    const notReady = await get('/readyz');
    expect(notReady.status).toBe(503);
    expect(notReady.body).toBe('redis: connect ECONNREFUSED 127.0.0.1:6379\nstuck: no answer within 2000 ms\n');
    redisUp = true;
    checks.pop();
    expect(await get('/readyz')).toMatchObject({ status: 200, body: 'ready\n' });
    expect((await get('/nothing')).status).toBe(404);
  });

  it('names the address it cannot listen on', async () => {
    server = await startOpsServer('127.0.0.1:0', createMetrics(), [], silent);
    await expect(startOpsServer(server.address, createMetrics(), [], silent)).rejects.toThrow(`metrics.listen ${server.address}: EADDRINUSE`);
  });
});
