/**
 * `kestrel review`: the review UI as a process of its own (cluster mode, or beside an embedded
 * `kestrel run` on PostgreSQL), and `kestrel users`: accounts from the command line, which is how
 * the first ict_admin comes to exist. `addReviewServer` serves the same UI inside another
 * long-running command (`kestrel run`) on that command's store.
 */
import type { KestrelConfig } from '../config/schema.js';
import { copyKeys, type CopyKeys } from '../copy/keys.js';
import { openFlagStore } from '../flags/open.js';
import type { SqlFlagStore } from '../flags/store.js';
import { UserError, type User } from '../flags/users.js';
import { createLogger, type Logger } from '../log.js';
import { createMetrics } from '../ops/metrics.js';
import { checkAccount } from '../review/auth/accounts.js';
import { hashPassword, passwordProblem } from '../review/auth/password.js';
import type { PipelineHealth } from '../review/health.js';
import { createEmbeddedHealth } from '../review/health-embedded.js';
import { createRedisHealth } from '../review/health-redis.js';
import { startRetentionSchedule } from '../review/retention-schedule.js';
import { startReviewServer, type ReviewServer } from '../review/server.js';
import { EXIT, StartupError, UsageError } from './errors.js';
import type { CliIo } from './io.js';
import { Service } from './service.js';
import { withStore } from './with-store.js';

export interface ReviewOptions {
  /** Stops the command as SIGTERM would (tests). */
  signal?: AbortSignal;
  /** Where logs go; the process's stderr by default. */
  logTo?: NodeJS.WritableStream;
  /** Told once the UI listens (tests). */
  onStarted?(server: ReviewServer): void;
}

/** The pipeline's health as this process can see it: the queues in Redis, or the checkpoints alone. */
export function reviewHealth(config: KestrelConfig, store: SqlFlagStore, logger: Logger): PipelineHealth {
  if (config.queue.redisUrl) return createRedisHealth({ config, store, logger });
  return createEmbeddedHealth({ store, accountIds: config.accounts.map((a) => a.id) });
}

/**
 * The review UI and the pipeline's health behind its ops view, inside a long-running command on
 * its store (`kestrel review`, `kestrel run`); closed with the service. Null when review.listen
 * is false. The daily retention purge is each command's own (it runs without the UI too).
 */
export async function addReviewServer(service: Service, config: KestrelConfig, store: SqlFlagStore, keys: CopyKeys, logger: Logger): Promise<ReviewServer | null> {
  if (config.review.listen === false) return null;
  const health = reviewHealth(config, store, logger);
  service.add({ name: 'pipeline health', close: () => health.close() });
  const server = await startReviewServer({ config, store, logger, keys, health, now: () => new Date() }, config.review.listen);
  service.add({ name: 'review UI', close: () => server.close() });
  return server;
}

/** `kestrel review`: serve the UI until SIGTERM or SIGINT. */
export async function runReviewCommand(config: KestrelConfig, options: ReviewOptions = {}): Promise<number> {
  if (config.review.listen === false) throw new UsageError('review: review.listen is false; set it to host:port (default 127.0.0.1:8025)');
  const logger = createLogger(config, options.logTo);
  const service = new Service(logger, createMetrics());
  let server: ReviewServer | null;
  try {
    const store = await openFlagStore(config.store, logger);
    service.add({ name: 'flag store', close: () => store.close() });
    const schedule = startRetentionSchedule({ store, config, logger });
    service.add({ name: 'retention purge', close: () => schedule.close() });
    server = await addReviewServer(service, config, store, copyKeys(config), logger);
  } catch (error) {
    await service.close();
    throw new StartupError(error instanceof Error ? error.message : String(error));
  }
  options.onStarted?.(server!);
  await service.runUntilStopped(options.signal);
  return EXIT.ok;
}

// ---------------------------------------------------------------------------------------------
// kestrel users

export interface UsersArgs {
  sub: string | undefined;
  username: string | undefined;
  extra: string[];
  role?: string | undefined;
  academy?: string | undefined;
  name?: string | undefined;
  email?: string | undefined;
}

const USAGE = 'usage: kestrel users add USERNAME --role ROLE [--academy A] [--name N] [--email E] | set USERNAME [--role R] [--academy A] [--name N] [--email E] | list | disable USERNAME | enable USERNAME | passwd USERNAME';
export const PASSWORD_ENV = 'KESTREL_PASSWORD';

/** Reads a line from a terminal without echoing it. */
function promptHidden(io: CliIo, prompt: string): Promise<string> {
  const stdin = io.stdin as NodeJS.ReadStream;
  io.stderr.write(prompt);
  stdin.setRawMode(true);
  stdin.setEncoding('utf8');
  stdin.resume();
  return new Promise((resolve, reject) => {
    let typed = '';
    const finish = () => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      io.stderr.write('\n');
    };
    const onData = (chunk: string) => {
      for (const c of chunk) {
        if (c === '\r' || c === '\n') return finish(), resolve(typed);
        if (c === '\u0003' || c === '\u0004') return finish(), reject(new UsageError('users: cancelled'));
        typed = c === '\u007f' || c === '\b' ? typed.slice(0, -1) : typed + c;
      }
    };
    stdin.on('data', onData);
  });
}

/** From KESTREL_PASSWORD, or typed twice on a terminal; never from an argument (it would sit in the shell history). */
async function newPassword(io: CliIo, env: NodeJS.ProcessEnv): Promise<string> {
  let password = env[PASSWORD_ENV];
  if (password === undefined || password === '') {
    if (!(io.stdin as NodeJS.ReadStream).isTTY) throw new UsageError(`users: set ${PASSWORD_ENV}, or run on a terminal to type the password`);
    password = await promptHidden(io, 'New password: ');
    if ((await promptHidden(io, 'Again: ')) !== password) throw new UsageError('password: the two passwords differ');
  }
  const problem = passwordProblem(password);
  if (problem) throw new UsageError(problem);
  return password;
}


/** What the command line did, in the audit log beside what reviewers did. */
function cliAudit(store: SqlFlagStore, action: string, user: User, details: Record<string, unknown>, env: NodeJS.ProcessEnv) {
  return store.appendAudit({ actorId: null, actor: 'kestrel', role: null, action, target: `user:${user.id}`, details: { ...details, via: 'command line', osUser: env.USER ?? null }, ip: null });
}

function state(user: User): string {
  if (user.disabledAt) return 'disabled';
  if (user.lockedUntil && user.lockedUntil > new Date()) return `locked until ${user.lockedUntil.toISOString()}`;
  return 'active';
}

export async function runUsersCommand(config: KestrelConfig, args: UsersArgs, io: CliIo, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const { sub, username, extra } = args;
  if (extra.length > 0 || sub === undefined || (sub === 'list') !== (username === undefined)) throw new UsageError(USAGE);
  switch (sub) {
    case 'add': {
      if (!args.role) throw new UsageError('users add: --role is required (monitor, dsl, dpo, ict_admin or auditor)');
      const checked = checkAccount(config, { username, role: args.role, academy: args.academy ?? '', displayName: args.name ?? '', email: args.email ?? '' });
      if ('problem' in checked) throw new UsageError(checked.problem);
      const passwordHash = await hashPassword(await newPassword(io, env));
      return withStore(config, io, async (store) => {
        let user: User;
        try {
          user = await store.createUser({ ...checked.fields, passwordHash });
        } catch (error) {
          if (error instanceof UserError) throw new UsageError(error.message);
          throw error;
        }
        await cliAudit(store, 'user.create', user, { username: user.username, role: user.role, academy: user.academy, password: true }, env);
        io.stdout.write(`user ${user.username} created (${user.role}${user.academy ? `, ${user.academy}` : ''})\n`);
        return EXIT.ok;
      });
    }
    case 'list':
      return withStore(config, io, async (store) => {
        const users = await store.users();
        if (users.length === 0) {
          io.stdout.write('no users yet: create the first ict_admin with kestrel users add NAME --role ict_admin\n');
          return EXIT.ok;
        }
        const rows = [['USERNAME', 'ROLE', 'ACADEMY', 'EMAIL', 'STATE'], ...users.map((u) => [u.username, u.role, u.academy ?? '-', u.email ?? '-', state(u)])];
        const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
        for (const row of rows) io.stdout.write(`${row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()}\n`);
        return EXIT.ok;
      });
    case 'set': {
      const { role, academy, name, email } = args;
      if (role === undefined && academy === undefined && name === undefined && email === undefined) throw new UsageError('users set: give at least one of --role, --academy, --name, --email (--email "" removes it)');
      return withStore(config, io, async (store) => {
        const user = await store.userByUsername(username!);
        if (!user) {
          io.stderr.write(`kestrel: there is no user ${username}\n`);
          return EXIT.usage;
        }
        const newRole = role ?? user.role;
        const checked = checkAccount(config, {
          username: user.username,
          role: newRole,
          academy: academy ?? (newRole === user.role ? (user.academy ?? '') : ''),
          displayName: name ?? user.displayName,
          email: email ?? user.email ?? '',
        });
        if ('problem' in checked) throw new UsageError(checked.problem);
        const { displayName, academy: newAcademy, email: newEmail } = checked.fields;
        let updated: User | null;
        try {
          updated = await store.updateUser(user.id, { displayName, role: checked.fields.role, academy: newAcademy, email: newEmail });
        } catch (error) {
          if (error instanceof UserError) throw new UsageError(error.message);
          throw error;
        }
        const changed = (['displayName', 'email', 'role', 'academy'] as const).filter((k) => updated![k] !== user[k]);
        if (changed.length === 0) {
          io.stdout.write(`user ${user.username} unchanged\n`);
          return EXIT.ok;
        }
        await cliAudit(store, 'user.update', user, { changed, role: updated!.role, academy: updated!.academy, ...(changed.includes('role') ? { fromRole: user.role } : {}) }, env);
        const signedOut = changed.some((k) => k !== 'displayName');
        io.stdout.write(`user ${user.username} changed (${changed.join(', ')})${signedOut ? '; its sessions have ended' : ''}\n`);
        return EXIT.ok;
      });
    }
    case 'disable':
    case 'enable':
    case 'passwd': {
      const password = sub === 'passwd' ? await hashPassword(await newPassword(io, env)) : null;
      return withStore(config, io, async (store) => {
        const user = await store.userByUsername(username!);
        if (!user) {
          io.stderr.write(`kestrel: there is no user ${username}\n`);
          return EXIT.usage;
        }
        if (sub === 'passwd') {
          await store.setPassword(user.id, password);
          await cliAudit(store, 'user.update', user, { changed: ['password'] }, env);
          io.stdout.write(`password of ${user.username} changed; its sessions have ended\n`);
        } else {
          await store.setDisabled(user.id, sub === 'disable', new Date());
          await cliAudit(store, `user.${sub}`, user, { username: user.username }, env);
          io.stdout.write(sub === 'disable' ? `user ${user.username} disabled; its sessions have ended\n` : `user ${user.username} enabled\n`);
        }
        return EXIT.ok;
      });
    }
    default:
      throw new UsageError(USAGE);
  }
}
