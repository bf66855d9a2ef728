/** Shared pieces for the end-to-end tests: the trust, its people's mail, and Kestrel processes. */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../src/paths.js';

export const TRUST = `trust:
  domains: [oakfield.sch.uk]
  staff: ["*@staff.oakfield.sch.uk"]
  pupils: ["*@pupils.oakfield.sch.uk"]
`;

export const STAFF = 'h.ali@staff.oakfield.sch.uk';
export const PUPIL = '22jdoe@pupils.oakfield.sch.uk';
export const OTHER_PUPIL = '22kfox@pupils.oakfield.sch.uk';

export interface Mail {
  from: string;
  to: string;
  subject: string;
  body: string;
  id: string;
}

export function rfc822(mail: Mail, extraHeaders: string[] = []): Buffer {
  return Buffer.from(
    [
      ...extraHeaders,
      `From: ${mail.from}`,
      `To: ${mail.to}`,
      `Subject: ${mail.subject}`,
      'Date: Tue, 11 Mar 2025 13:20:54 +0000',
      `Message-ID: <${mail.id}@oakfield.sch.uk>`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      '',
      mail.body,
      '',
    ].join('\r\n'),
  );
}

/** The recipient's copy of a message gains transport headers, as delivery adds them. */
export function delivered(mail: Mail): Buffer {
  return rfc822(mail, [`Delivered-To: ${mail.to}`, 'Received: from mx.oakfield.sch.uk by imap.oakfield.sch.uk; Tue, 11 Mar 2025 13:20:55 +0000']);
}

export const SELF_HARM: Mail = {
  from: PUPIL,
  to: OTHER_PUPIL,
  subject: 'tonight',
  body: 'I cant do this anymore. I want to kill myself tonight, I have saved up the pills and nobody will miss me.',
  id: 'self-harm-1',
};

export const STAFF_TO_PUPIL: Mail = {
  from: STAFF,
  to: PUPIL,
  subject: 'training',
  body: 'Well done today. Add me on Snapchat rather than Teams, my personal number is 07700 900123, text me any time and keep it between us.',
  id: 'staff-contact-1',
};

export function ordinary(n: number, from = STAFF, to = PUPIL): Mail {
  return { from, to, subject: `Homework ${n}`, body: `Please remember to hand in the geography homework on rivers by Friday. Sheet ${n} is on the shared drive.`, id: `ordinary-${n}` };
}

export interface KestrelProcess {
  child: ChildProcess;
  /** The last 20 kB of its stderr (its logs), for a failing test's message. */
  log(): string;
  exited: Promise<number | null>;
}

/** Runs the compiled `kestrel` (npm test builds it first) with `env` added; `running` tracks it until it exits, so afterAll can kill stragglers. */
export function spawnKestrel(args: string[], env: NodeJS.ProcessEnv, running: Set<ChildProcess>): KestrelProcess {
  const child = spawn(process.execPath, [join(PACKAGE_ROOT, 'bin', 'kestrel.js'), ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  running.add(child);
  let log = '';
  child.stderr!.on('data', (chunk: Buffer) => (log = (log + chunk.toString()).slice(-20_000)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  void exited.then(() => running.delete(child));
  return { child, log: () => log, exited };
}
