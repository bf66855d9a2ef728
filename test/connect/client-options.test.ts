/** imapflow options per account: TLS modes with certificate checks always on, and a log without protocol lines. */
import { describe, expect, test } from 'vitest';
import { kestrelConfigSchema } from '../../src/config/schema.js';
import { imapClientOptions, imapLogger } from '../../src/connect/client-options.js';
import { captureLogs, silent } from './support.js';

function account(fields: Record<string, unknown>) {
  return kestrelConfigSchema.parse({ accounts: [{ id: 'a', host: 'imap.example.org', user: 'a', password: { value: 'p' }, ...fields }] }).accounts[0]!;
}

describe('client options', () => {
  test('implicit TLS on 993, STARTTLS required on 143, clear text only as configured for loopback', () => {
    const auth = { user: 'a', pass: 'p' };
    const implicit = imapClientOptions({ account: account({}), auth, logger: silent });
    expect(implicit).toMatchObject({ host: 'imap.example.org', port: 993, secure: true, doSTARTTLS: false, tls: { rejectUnauthorized: true } });
    const starttls = imapClientOptions({ account: account({ tls: 'starttls' }), auth, logger: silent, ca: 'PEM' });
    expect(starttls).toMatchObject({ port: 143, secure: false, doSTARTTLS: true, tls: { rejectUnauthorized: true, ca: ['PEM'] } });
    const clear = imapClientOptions({ account: account({ host: '127.0.0.1', port: 1143, tls: 'none' }), auth, logger: silent });
    expect(clear).toMatchObject({ port: 1143, secure: false, doSTARTTLS: false });
  });

  test("imapflow's log reaches pino at trace, without protocol lines or error payloads", () => {
    const { logger, lines } = captureLogs('trace');
    const log = imapLogger(logger, 'staff');
    log.debug({ src: 's', msg: '* 1 FETCH (BODY[] {42} Subject: private)', cid: 'x' });
    log.warn({ msg: 'Socket timeout', cid: 'x', err: { code: 'ETIMEOUT', response: 'Subject: private' } });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 10, account: 'staff', cid: 'x', errorCode: 'ETIMEOUT', msg: 'imapflow: Socket timeout' });
    expect(JSON.stringify(lines)).not.toContain('private');
  });
});
