import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { scanPaths } from '../../src/cli/scan-command.js';
import { isErrorLine, type ScanLine } from '../../src/scan/batch.js';
import { createAnalyser, createScanner } from '../../src/scan/pipeline.js';
import { chainFingerprints, hammingDistance, MAX_DISTANCE, simhash, words } from '../../src/scan/spread/fingerprint.js';
import { RedisSpreadTracker } from '../../src/scan/spread/redis-tracker.js';
import { MemorySpreadTracker, type SpreadTracker } from '../../src/scan/spread/tracker.js';
import { startRedis, type RedisServer } from '../harness/redis.js';

const CONFIG = `trust:
  domains: [oakfield.sch.uk]
  staff: ["*@staff.oakfield.sch.uk"]
  pupils: ["*@pupils.oakfield.sch.uk"]
`;

const LETTER =
  'WhatsApp will start charging from Saturday unless you are a frequent user. Forward this message to all your contacts ' +
  'so your logo turns blue and your account stays free. It was on the news this morning so it is true.';

/** Forwarding words alone: below the chain_mail threshold until the spread lifts it. */
const WEAK_LETTER = 'Our cat Milo has gone missing near the park on Elm Road since Tuesday. Please send this to everyone you know so that people keep an eye out for him.';

function mail(from: string, body: string, { subject = 'FW: pass it on', date = 'Tue, 11 Mar 2025 13:20:54 +0000', to = 'h.ali@staff.oakfield.sch.uk' } = {}): string {
  return [`From: ${from}`, `To: ${to}`, `Subject: ${subject}`, `Date: ${date}`, 'MIME-Version: 1.0', 'Content-Type: text/plain; charset=utf-8', '', body].join('\r\n');
}

describe('chain text fingerprints', () => {
  const config = parseConfig('kestrel.yaml', CONFIG);
  const analyse = createAnalyser(config);
  const scanner = createScanner(config);

  async function printsOf(raw: string): Promise<string[]> {
    const report = await scanner.scan(Buffer.from(raw));
    const message = await analyse(Buffer.from(raw));
    return chainFingerprints(message, [...report.findings, ...(report.spread?.pending ?? [])].filter((f) => f.category === 'chain_mail').flatMap((f) => f.evidence));
  }

  it('gives copies with other greetings, signatures, wrapping and quote markers the same fingerprint', async () => {
    const first = await printsOf(mail('a.jones@staff.oakfield.sch.uk', `Hi all, worth a read\n\n${LETTER}\n\nAmy\nTeaching Assistant`));
    const rewrapped = LETTER.replace(/ (so|It) /g, '\n$1 ');
    const second = await printsOf(mail('mum1982@gmail.com', `hey hun\n\n> ${rewrapped.split('\n').join('\n> ')}\n\nSent from my iPhone`));
    expect(first.length).toBeGreaterThan(0);
    expect(second.length).toBeGreaterThan(0);
    expect(Math.min(...first.flatMap((a) => second.map((b) => hammingDistance(a, b))))).toBeLessThanOrEqual(MAX_DISTANCE);
  });

  it('tells different letters apart', () => {
    const other = simhash(words('Send this prayer to nine friends within nine days and on the ninth day you will receive great joy, or misfortune will follow those who break the chain.'));
    expect(hammingDistance(simhash(words(LETTER)), other)).toBeGreaterThan(MAX_DISTANCE * 3);
  });

  it('keeps a near-identical copy near: one word changed moves few bits', () => {
    const edited = LETTER.replace('all your contacts', 'all your friends');
    expect(hammingDistance(simhash(words(LETTER)), simhash(words(edited)))).toBeLessThanOrEqual(12);
  });

  it('fingerprints nothing in a message without chain-letter evidence', async () => {
    const report = await scanner.scan(Buffer.from(mail('a.jones@staff.oakfield.sch.uk', 'Please forward the attached newsletter to parents in your class by Friday.', { subject: 'Newsletter' })));
    expect(report.spread).toBeUndefined();
  });
});

/** The same contract for the in-memory tracker and the Redis one a worker cluster shares. */
function trackerContract(name: string, make: () => Promise<SpreadTracker>, afterEachCheck?: () => Promise<void>) {
  describe(`${name} spread tracker`, () => {
    const HOUR = 3_600_000;
    const t0 = Date.UTC(2025, 2, 11, 13);
    const fp = simhash(words(LETTER));
    /** Flip `n` bits spread over the four bands. */
    const flipped = (n: number) => {
      let hi = BigInt(`0x${fp}`);
      for (let i = 0; i < n; i++) hi ^= 1n << BigInt((i * 16 + i * 3) % 64);
      return hi.toString(16).padStart(16, '0');
    };

    it('counts distinct senders of near-identical text within the window, each sender once', async () => {
      const tracker = await make();
      try {
        expect(await tracker.observe({ fingerprints: [fp], sender: 's1', at: t0 }, 72 * HOUR)).toBe(1);
        expect(await tracker.observe({ fingerprints: [fp], sender: 's1', at: t0 + HOUR }, 72 * HOUR)).toBe(1);
        expect(await tracker.observe({ fingerprints: [flipped(2)], sender: 's2', at: t0 + 2 * HOUR }, 72 * HOUR)).toBe(2);
        expect(await tracker.observe({ fingerprints: [fp], sender: 's3', at: t0 + 3 * HOUR }, 72 * HOUR)).toBe(3);
        // Far from the letter: a different text is not counted with it.
        expect(await tracker.observe({ fingerprints: [flipped(12)], sender: 's4', at: t0 + 4 * HOUR }, 72 * HOUR)).toBe(1);
        // Outside the window the earlier senders no longer count.
        expect(await tracker.observe({ fingerprints: [fp], sender: 's5', at: t0 + 100 * HOUR }, 72 * HOUR)).toBe(1);
        await afterEachCheck?.();
      } finally {
        await tracker.close();
      }
    });
  });
}

trackerContract('in-memory', async () => new MemorySpreadTracker());

describe('with a real redis-server', () => {
  let server: RedisServer;
  let admin: Redis;
  beforeAll(async () => {
    server = await startRedis();
    admin = new Redis(server.url);
  });
  afterAll(async () => {
    await admin?.quit();
    await server?.stop();
  });

  trackerContract(
    'Redis',
    async () => {
      await admin.flushall();
      return new RedisSpreadTracker(server.url);
    },
    async () => {
      // Only fingerprints and sender hashes, and everything expires with the window.
      const keys = await admin.keys('kestrel:spread:*');
      expect(keys.length).toBeGreaterThan(0);
      for (const key of keys) {
        expect(key).toMatch(/^kestrel:spread:[0-3]:[0-9a-f]{4}$/);
        expect(await admin.pttl(key)).toBeGreaterThan(0);
        for (const member of await admin.zrange(key, '0', '-1')) expect(member).toMatch(/^[0-9a-f]{16}:s\d$/);
      }
    },
  );

  it('shares counts between worker processes (two connections)', async () => {
    await admin.flushall();
    const a = new RedisSpreadTracker(server.url);
    const b = new RedisSpreadTracker(server.url);
    const fp = simhash(words(LETTER));
    try {
      await a.observe({ fingerprints: [fp], sender: 'x1', at: 1_000 }, 3_600_000);
      expect(await b.observe({ fingerprints: [fp], sender: 'x2', at: 2_000 }, 3_600_000)).toBe(2);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('keeps the counts of two trusts sharing one Redis apart (queue.prefix)', async () => {
    await admin.flushall();
    const north = new RedisSpreadTracker(server.url, {}, 'north');
    const south = new RedisSpreadTracker(server.url, {}, 'south');
    const fp = simhash(words(LETTER));
    try {
      await north.observe({ fingerprints: [fp], sender: 'x1', at: 1_000 }, 3_600_000);
      expect(await south.observe({ fingerprints: [fp], sender: 'x2', at: 2_000 }, 3_600_000)).toBe(1);
      expect(await north.observe({ fingerprints: [fp], sender: 'x3', at: 3_000 }, 3_600_000)).toBe(2);
      expect((await admin.keys('*')).every((key) => /^(north|south):spread:/.test(key))).toBe(true);
    } finally {
      await north.close();
      await south.close();
    }
  });
});

describe('the spread stage in kestrel scan', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'kestrel-spread-'));
    const senders = ['a.jones@staff.oakfield.sch.uk', 'mum1982@gmail.com', '22tellis@pupils.oakfield.sch.uk'];
    senders.forEach((from, i) => writeFileSync(join(dir, `0${i + 1}-letter.eml`), mail(from, `Hi,\n\n${WEAK_LETTER}\n\nx`, { date: `Tue, 11 Mar 2025 1${i}:00:00 +0000` })));
    // One sender's all-staff notice, in many mailboxes: one sender, so no spread.
    writeFileSync(join(dir, '04-notice.eml'), mail('head@staff.oakfield.sch.uk', 'Please forward this to all your contacts who might want a ticket for the summer fair.', { subject: 'Summer fair' }));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function scanDir(extra = ''): Promise<ScanLine[]> {
    const lines: ScanLine[] = [];
    await scanPaths(parseConfig('kestrel.yaml', CONFIG + extra), [dir], { jobs: 2 }, (line) => lines.push(line));
    return lines;
  }

  it('reports the letter once the third sender sends it, and never outputs the candidate', async () => {
    const lines = await scanDir();
    expect(lines.map((l) => (isErrorLine(l) ? l.error : l.categories.join()))).toEqual(['', '', 'chain_mail', '']);
    const third = lines[2]!;
    if (isErrorLine(third)) throw new Error(third.error);
    expect(third.findings.map((f) => f.rule)).toContain('chain_mail.spread');
    expect(third.routes).toEqual(['ict']);
    expect(third.from?.role).toBe('pupil');
    for (const line of lines) expect(JSON.stringify(line)).not.toContain('"spread"');
  });

  it('reports nothing from spread when the trust switches it off', async () => {
    const lines = await scanDir('chainMail:\n  spread:\n    enabled: false\n');
    expect(lines.map((l) => (isErrorLine(l) ? l.error : l.categories.join()))).toEqual(['', '', '', '']);
  });

  it('leaves the spread rule out when disableRules names it', async () => {
    const lines = await scanDir('disableRules: [chain_mail.spread]\n');
    expect(lines.map((l) => (isErrorLine(l) ? l.error : l.categories.join()))).toEqual(['', '', '', '']);
  });
});
