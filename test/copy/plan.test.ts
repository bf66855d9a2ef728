import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { copyKeys, openOriginal } from '../../src/copy/keys.js';
import { newCopyMessageId, planDeliveries, planOutbox, senderAddress } from '../../src/copy/plan.js';
import type { ScanReport } from '../../src/scan/pipeline.js';

const config = parseConfig(
  'k.yaml',
  `trust:
  domains: [riverbank-trust.sch.uk]
  academies:
    - { name: Riverbank Academy, patterns: ["*@riverbank.riverbank-trust.sch.uk"] }
    - { name: Hilltop Academy, patterns: ["*@hilltop.riverbank-trust.sch.uk"] }
delivery:
  from: "Kestrel <kestrel@riverbank-trust.sch.uk>"
  reviewUrl: https://kestrel.riverbank-trust.sch.uk
  smtp: { host: relay.riverbank-trust.sch.uk }
  escalation: { afterMinutes: 20, to: [deputy@riverbank-trust.sch.uk] }
routes:
  monitor:
    categories: ["safety.*"]
    to: [head@riverbank-trust.sch.uk]
    academies:
      Riverbank Academy: [dsl@riverbank.riverbank-trust.sch.uk]
      Hilltop Academy: [dsl@hilltop.riverbank-trust.sch.uk]
  urgent:
    categories: ["*"]
    minSeverity: urgent
    to: [head@riverbank-trust.sch.uk, oncall@riverbank-trust.sch.uk]
  pupil:
    categories: ["pupil_email.*"]
    to: [head@riverbank-trust.sch.uk]
    copy: minimised
  dpo:
    categories: ["personal_data.*"]
    to: [dpo@riverbank-trust.sch.uk]
    copy: minimised
  ict:
    categories: [chain_mail]
    to: [ict@riverbank-trust.sch.uk]
    copy: digest
`,
);

function report(routes: string[], severity: ScanReport['severity'], academy?: string): ScanReport {
  return {
    messageId: '<m@riverbank-trust.sch.uk>',
    date: null,
    direction: 'internal',
    flagged: true,
    categories: ['safety.self_harm'],
    severity,
    urgent: severity === 'urgent',
    findings: [],
    routes,
    from: { address: 'pupil@riverbank.riverbank-trust.sch.uk', role: 'pupil', ...(academy ? { academy } : {}) },
    recipients: [],
    problems: [],
    durationMs: 1,
  };
}

describe('planning copies', () => {
  it('sends each recipient one copy, naming every route that wanted them', () => {
    const planned = planDeliveries(report(['monitor', 'urgent'], 'urgent', 'Riverbank Academy'), config);
    expect(planned.map((p) => [p.recipient, p.routes, p.form])).toEqual([
      ['head@riverbank-trust.sch.uk', ['monitor', 'urgent'], 'full'],
      ['dsl@riverbank.riverbank-trust.sch.uk', ['monitor'], 'full'],
      ['oncall@riverbank-trust.sch.uk', ['urgent'], 'full'],
    ]);
    expect(new Set(planned.map((p) => p.messageId)).size).toBe(3);
  });

  it('adds only the DSL of an academy a party belongs to', () => {
    expect(planDeliveries(report(['monitor'], 'severe', 'Hilltop Academy'), config).map((p) => p.recipient)).toEqual(['head@riverbank-trust.sch.uk', 'dsl@hilltop.riverbank-trust.sch.uk']);
    expect(planDeliveries(report(['monitor'], 'severe'), config).map((p) => p.recipient)).toEqual(['head@riverbank-trust.sch.uk']);
  });

  it('gives the fuller form when a minimised and a full route meet, and nothing for digest or unknown routes', () => {
    expect(planDeliveries(report(['pupil', 'monitor'], 'moderate'), config).map((p) => [p.recipient, p.form])).toEqual([['head@riverbank-trust.sch.uk', 'full']]);
    expect(planDeliveries(report(['pupil'], 'moderate'), config).map((p) => p.form)).toEqual(['minimised']);
    expect(planDeliveries(report(['ict', 'no-such-route'], 'minor'), config)).toEqual([]);
  });

  it('keeps the original sealed only when a full copy or an escalation may need it', () => {
    const key = randomBytes(32);
    const raw = Buffer.from('From: a\r\n\r\nbody\r\n');
    const urgent = planOutbox(report(['monitor', 'urgent'], 'urgent'), raw, config, key)!;
    expect(urgent.escalateAfterMs).toBe(20 * 60_000);
    expect(openOriginal(urgent.sealedOriginal!, key, 1)).toEqual(raw);
    expect(urgent.sealedOriginal!.includes(Buffer.from('body'))).toBe(false);
    const minimised = planOutbox(report(['dpo'], 'severe'), raw, config, key)!;
    expect(minimised.sealedOriginal).toBeUndefined();
    expect(minimised.escalateAfterMs).toBeUndefined();
    expect(planOutbox(report(['ict'], 'minor'), raw, config, key)).toBeUndefined();
    expect(() => openOriginal(urgent.sealedOriginal!, randomBytes(32), 7)).toThrow('flag 7: the stored original does not open with this key');
  });

  it("takes its keys from queue.key, which a cluster's processes must share", () => {
    const key = { value: Buffer.alloc(32, 1).toString('base64') };
    const a = copyKeys({ queue: { ...config.queue, key }, store: config.store });
    const b = copyKeys({ queue: { ...config.queue, key, redisUrl: 'redis://127.0.0.1:1' }, store: config.store });
    expect(a).toEqual(b);
    expect(a.header.equals(a.original)).toBe(false);
    // With Redis and no key, a copier would make up its own: refused.
    expect(() => copyKeys({ queue: { ...config.queue, redisUrl: 'redis://127.0.0.1:1' }, store: config.store })).toThrow(/^queue\.key is required in cluster mode/);
  });

  it('makes Message-IDs under the sender domain', () => {
    expect(senderAddress('Kestrel <Kestrel@Riverbank-Trust.sch.uk>')).toBe('kestrel@riverbank-trust.sch.uk');
    expect(newCopyMessageId('kestrel@riverbank-trust.sch.uk')).toMatch(/^<kestrel\.[0-9a-f-]{36}@riverbank-trust\.sch\.uk>$/);
  });
});
