// Appends the example messages to the demo mailboxes (docker-compose.yml's `seed` service): the
// .eml files into the office INBOX, sent.mbox into the pupil's Sent folder. Runs once per volume.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ImapFlow } from 'imapflow';

const MAILBOX = '/app/examples/mailbox';
const tls = { ca: [readFileSync('/certs/ca.pem')] };

async function append(user, folder, messages) {
  const client = new ImapFlow({ host: 'dovecot', port: 993, secure: true, tls, auth: { user, pass: process.env.DEMO_IMAP_PASSWORD }, logger: false });
  await client.connect();
  const status = await client.status(folder, { messages: true });
  if (status.messages === 0) for (const raw of messages) await client.append(folder, raw);
  await client.logout();
  console.log(`${user} ${folder}: ${status.messages === 0 ? messages.length : 0} appended`);
}

const emls = readdirSync(MAILBOX).filter((f) => f.endsWith('.eml')).sort().map((f) => readFileSync(join(MAILBOX, f)));
const mbox = readFileSync(join(MAILBOX, 'sent.mbox'), 'utf8').split(/^From .*\n/m).filter((m) => m.trim()).map((m) => Buffer.from(m.replace(/^>(>*From )/gm, '$1')));
await append('office@staff.riverbank-trust.sch.uk', 'INBOX', emls);
await append('22sokafor@pupils.riverbank-trust.sch.uk', 'Sent', mbox);
