/** Reading secrets and the queue key: every error names the field and none prints the secret. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { parseKey, readQueueKey, readSecret, SecretError } from '../../src/queue/secret.js';

const dir = mkdtempSync(join(tmpdir(), 'kestrel-secret-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const KEY = Buffer.from(Array.from({ length: 32 }, (_, i) => (i * 37 + 11) % 256));

function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected an error');
}

describe('readSecret', () => {
  it('reads a value, a file (without its trailing newline) and an environment variable', () => {
    const file = join(dir, 'password');
    writeFileSync(file, ' s3cret-from-file\n');
    expect(readSecret({ value: 's3cret' }, 'accounts[0].password')).toBe('s3cret');
    expect(readSecret({ file }, 'accounts[0].password')).toBe(' s3cret-from-file'); // a leading space may be part of it
    expect(readSecret({ env: 'KESTREL_TEST_SECRET' }, 'accounts[0].password', { KESTREL_TEST_SECRET: 'from-env' })).toBe('from-env');
  });

  it('names the field and where it looked when the secret is missing', () => {
    const missing = join(dir, 'missing');
    expect(() => readSecret({ file: missing }, 'queue.key')).toThrow(new SecretError(`queue.key: cannot read the file ${missing} (ENOENT)`));
    expect(() => readSecret({ env: 'KESTREL_NOT_SET' }, 'queue.key', {})).toThrow('queue.key: the environment variable KESTREL_NOT_SET is not set');
    const empty = join(dir, 'empty');
    writeFileSync(empty, '\n');
    expect(() => readSecret({ file: empty }, 'queue.key')).toThrow('queue.key: the secret is empty');
  });
});

describe('the queue key', () => {
  it('accepts 32 bytes as hex, base64 or base64url', () => {
    expect(parseKey(KEY.toString('hex'), 'queue.key')).toEqual(KEY);
    expect(parseKey(KEY.toString('hex').toUpperCase(), 'queue.key')).toEqual(KEY);
    expect(parseKey(KEY.toString('base64'), 'queue.key')).toEqual(KEY);
    expect(parseKey(KEY.toString('base64url'), 'queue.key')).toEqual(KEY);
  });

  it('refuses other lengths and text without printing it', () => {
    for (const bad of [KEY.subarray(0, 16).toString('hex'), Buffer.concat([KEY, KEY]).toString('base64'), 'correct horse battery staple, not a key at all!!']) {
      const error = errorOf(() => parseKey(bad, 'queue.key'));
      expect(error).toBeInstanceOf(SecretError);
      expect(error.message).toMatch(/^queue\.key: expected 32 bytes as 64 hex digits or 44 base64 characters, got \d+ characters/);
      expect(error.message).not.toContain(bad);
      expect(error.message).not.toContain(bad.slice(0, 8));
    }
  });

  it('is read from the config file’s key file, relative to the config', () => {
    writeFileSync(join(dir, 'queue.key'), `${KEY.toString('base64')}\n`);
    const config = parseConfig(join(dir, 'kestrel.yaml'), 'queue:\n  key: { file: queue.key }\n');
    expect(readQueueKey(config.queue)).toEqual(KEY);
    const fromEnv = parseConfig(join(dir, 'kestrel.yaml'), 'queue:\n  key: { env: KESTREL_QUEUE_KEY }\n');
    expect(readQueueKey(fromEnv.queue, { KESTREL_QUEUE_KEY: KEY.toString('hex') })).toEqual(KEY);
  });

  it('is required, with a hint to make one', () => {
    expect(() => readQueueKey({})).toThrow(/^queue\.key is required in cluster mode: .*openssl rand -base64 32/);
  });
});
