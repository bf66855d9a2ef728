/**
 * A throw-away Dovecot IMAP server for tests: a random loopback port, a temp dir, passwd-file users
 * with plaintext passwords, INBOX plus a `Sent` mailbox marked `\Sent` (auto-created and
 * subscribed), and `mailbox_idle_check_interval = 1 secs` so IDLE notices mail within about a
 * second. As root every process runs as `nobody`. With `tls` it also serves implicit TLS on a
 * second port and STARTTLS on the first, with the given certificate. Needs Debian's
 * `dovecot-imapd`; `.ci/run` installs it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImapFlow } from 'imapflow';
import { freePort } from './redis.js';
import { AS_ROOT, NOBODY_PREFIX } from './as-nobody.js';

const DOVECOT = '/usr/sbin/dovecot';

export interface DovecotUser {
  name: string;
  password: string;
}

export interface DovecotOptions {
  users?: DovecotUser[];
  /** PEM certificate chain and key: enables `ssl = yes`, STARTTLS on `port` and implicit TLS on `tlsPort`. */
  tls?: { cert: string; key: string };
}

export interface DovecotServer {
  host: string;
  port: number;
  /** Implicit TLS port, when started with `tls`. */
  tlsPort?: number;
  dir: string;
  /** Changes a user's password (Dovecot re-reads the passwd file when it changes). */
  setPassword(user: string, password: string): void;
  /** A logged-in client for test setup (APPEND, mailbox changes), as `user`. */
  client(user: string): Promise<ImapFlow>;
  /** APPENDs the messages to `folder` of `user`'s mailbox, in order, on one session. */
  append(user: string, folder: string, ...messages: Buffer[]): Promise<void>;
  /** Ends every IMAP session (the server stays up), as a crashed or restarted backend would. */
  dropConnections(): Promise<void>;
  /** Stops the server, keeping the mail, and starts it again on the same ports. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export function dovecotAvailable(): boolean {
  return spawnSync(DOVECOT, ['--version'], { stdio: 'ignore' }).status === 0;
}

interface RunAs {
  user: string;
  group: string;
  uid: number;
  gid: number;
  prefix: string[];
}

function runAs(): RunAs {
  if (!AS_ROOT) {
    const uid = process.getuid?.() ?? 0;
    const gid = process.getgid?.() ?? 0;
    const user = spawnSync('id', ['-un'], { encoding: 'utf8' }).stdout.trim();
    const group = spawnSync('id', ['-gn'], { encoding: 'utf8' }).stdout.trim();
    return { user, group, uid, gid, prefix: [] };
  }
  const uid = Number(spawnSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).stdout.trim());
  const gid = Number(spawnSync('getent', ['group', 'nogroup'], { encoding: 'utf8' }).stdout.split(':')[2]);
  return { user: 'nobody', group: 'nogroup', uid, gid, prefix: [...NOBODY_PREFIX] };
}

function chownTree(path: string, owner: RunAs): void {
  if (!AS_ROOT) return;
  chownSync(path, owner.uid, owner.gid);
  if (!statSync(path).isDirectory()) return;
  for (const entry of readdirSync(path)) chownTree(join(path, entry), owner);
}

function configText(dir: string, owner: RunAs, port: number, tlsPort: number | undefined, tls: boolean): string {
  return `# rootless: every process runs as ${owner.user}
default_login_user = ${owner.user}
default_internal_user = ${owner.user}
default_internal_group = ${owner.group}
base_dir = ${dir}/run
state_dir = ${dir}/state
log_path = ${dir}/dovecot.log
instance_name = kestrel-test-${port}
protocols = imap
listen = 127.0.0.1
${tls ? `ssl = yes\nssl_cert = <${dir}/tls/cert.pem\nssl_key = <${dir}/tls/key.pem` : 'ssl = no'}
disable_plaintext_auth = no
auth_mechanisms = plain login xoauth2 oauthbearer
# refused logins answer at once (the default 2 s delay only slows the tests down)
auth_failure_delay = 0
first_valid_uid = 1
last_valid_uid = 0
first_valid_gid = 1
mail_location = maildir:~/Maildir
mail_fsync = never
mailbox_idle_check_interval = 1 secs
namespace inbox {
  inbox = yes
  separator = /
  mailbox Sent {
    auto = subscribe
    special_use = \\Sent
  }
}
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%n ${dir}/passwd
}
userdb {
  driver = passwd-file
  args = username_format=%n ${dir}/passwd
}
service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = ${port}
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = ${tlsPort ?? 0}
  }
}
service anvil {
  chroot =
  # no growing delay after refused logins from loopback (Dovecot's brute-force penalty)
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
service imap {
  process_limit = 256
}
service auth {
  unix_listener auth-userdb {
    mode = 0666
  }
}
`;
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

export async function startDovecot(options: DovecotOptions = {}): Promise<DovecotServer> {
  const users = options.users ?? ['alice', 'bob', 'carol', 'monitor'].map((name) => ({ name, password: 'secret' }));
  const owner = runAs();
  const dir = mkdtempSync(join(tmpdir(), 'kestrel-dovecot-'));
  const port = await freePort();
  const tlsPort = options.tls ? await freePort() : undefined;
  for (const sub of ['run', 'state', 'mail']) mkdirSync(join(dir, sub));
  if (options.tls) {
    mkdirSync(join(dir, 'tls'));
    writeFileSync(join(dir, 'tls', 'cert.pem'), options.tls.cert);
    writeFileSync(join(dir, 'tls', 'key.pem'), options.tls.key, { mode: 0o600 });
  }
  const passwords = new Map(users.map((u) => [u.name, u.password]));
  let rewrites = 0;
  const writePasswd = () => {
    const file = join(dir, 'passwd');
    writeFileSync(file, [...passwords].map(([name, password]) => `${name}:{PLAIN}${password}:${owner.uid}:${owner.gid}::${dir}/mail/${name}::\n`).join(''));
    // Dovecot re-reads the file when its mtime (whole seconds) or size changes: a same-length
    // password written within the same second would go unnoticed.
    const mtime = Math.floor(Date.now() / 1000) + ++rewrites;
    utimesSync(file, mtime, mtime);
  };
  writePasswd();
  const config = join(dir, 'dovecot.conf');
  writeFileSync(config, configText(dir, owner, port, tlsPort, options.tls !== undefined));
  chownTree(dir, owner);

  let child: ChildProcess;
  let output = '';
  const launch = async () => {
    const [command, ...args] = [...owner.prefix, DOVECOT, '-F', '-c', config];
    child = spawn(command!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
    child.stderr!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
    const deadline = Date.now() + 10_000;
    while (!(await portOpen(port))) {
      if (child.exitCode !== null) throw new Error(`dovecot exited with ${child.exitCode}: ${output}`);
      if (Date.now() > deadline) throw new Error(`dovecot did not listen on ${port} within 10 s: ${output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const halt = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const done = exited(child);
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await done;
    clearTimeout(timer);
  };
  try {
    await launch();
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }

  const server: DovecotServer = {
    host: '127.0.0.1',
    port,
    ...(tlsPort !== undefined ? { tlsPort } : {}),
    dir,
    setPassword(user, password) {
      passwords.set(user, password);
      writePasswd();
      chownTree(join(dir, 'passwd'), owner);
    },
    async append(user, folder, ...messages) {
      const client = await server.client(user);
      try {
        for (const raw of messages) await client.append(folder, raw);
      } finally {
        await client.logout();
      }
    },

    async client(user) {
      const client = new ImapFlow({
        host: '127.0.0.1',
        port,
        secure: false,
        doSTARTTLS: false,
        auth: { user, pass: passwords.get(user) ?? '' },
        logger: false,
        disableAutoIdle: true,
      });
      client.on('error', () => {});
      await client.connect();
      return client;
    },
    async dropConnections() {
      // doveadm kick talks to this instance's anvil and ends every session of every user.
      const result = spawnSync('doveadm', ['-c', config, 'kick', '*'], { encoding: 'utf8' });
      if (result.status !== 0) throw new Error(`doveadm kick failed: ${result.stderr}`);
    },
    async restart() {
      await halt();
      await launch();
    },
    async stop() {
      await halt();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return server;
}
