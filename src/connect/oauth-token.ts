/**
 * OAuth2 access tokens for XOAUTH2 logins, from a helper command or a file another process keeps
 * fresh. Microsoft 365 and Google Workspace no longer accept passwords over IMAP. A token is
 * cached and fetched again once it is `refreshSeconds` old (less a small margin, so that a session
 * reconnecting at that moment gets the new one); errors carry the command's exit code and stderr,
 * never its stdout, which is the token.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import type { AccountConfig } from '../config/operations-schema.js';

export type OAuth2Config = NonNullable<AccountConfig['oauth2']>;

export interface AccessToken {
  value: string;
  /** Epoch ms after which a session using this token must have been re-established. */
  renewAt: number;
}

export class TokenError extends Error {
  override name = 'TokenError';
}

const COMMAND_TIMEOUT_MS = 30_000;
const MAX_STDERR = 500;

/** How long before `refreshSeconds` runs out a token counts as stale: a tenth of it, at most a minute. */
export function renewalMargin(refreshSeconds: number): number {
  return Math.min(60_000, (refreshSeconds * 1000) / 10);
}

export class AccessTokenProvider {
  private cached: AccessToken | undefined;
  private pending: Promise<AccessToken> | undefined;

  private readonly now: () => number;
  private readonly commandTimeoutMs: number;

  constructor(
    private readonly account: string,
    private readonly config: OAuth2Config,
    options: { now?: () => number; commandTimeoutMs?: number } = {},
  ) {
    this.now = options.now ?? Date.now;
    this.commandTimeoutMs = options.commandTimeoutMs ?? COMMAND_TIMEOUT_MS;
  }

  /** The cached token while it is fresh, otherwise a new one (concurrent callers share one fetch). */
  async token(): Promise<AccessToken> {
    if (this.cached && this.now() < this.cached.renewAt) return this.cached;
    this.pending ??= this.fetch().finally(() => (this.pending = undefined));
    return this.pending;
  }

  /** Forgets the cached token, after the server refused it (revoked before its time). */
  invalidate(): void {
    this.cached = undefined;
  }

  private async fetch(): Promise<AccessToken> {
    const fetchedAt = this.now();
    const value = this.config.tokenCommand !== undefined ? await this.runCommand(this.config.tokenCommand) : await this.readFile(this.config.tokenFile ?? '');
    const token = { value, renewAt: fetchedAt + this.config.refreshSeconds * 1000 - renewalMargin(this.config.refreshSeconds) };
    this.cached = token;
    return token;
  }

  /** Runs the command in its own process group, so a timeout also ends whatever it started. */
  private runCommand(command: string): Promise<string> {
    const field = `account "${this.account}": oauth2.tokenCommand`;
    return new Promise((resolve, reject) => {
      const child = spawn('/bin/sh', ['-c', command], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      const stdout: Buffer[] = [];
      let stderr = '';
      let timedOut = false;
      child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
      child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(0, 4 * MAX_STDERR)));
      const timer = setTimeout(() => {
        timedOut = true;
        killGroup(child.pid);
      }, this.commandTimeoutMs);
      const fail = (reason: string) => {
        const detail = stderr.trim().slice(0, MAX_STDERR);
        reject(new TokenError(`${field} ${reason}${detail ? `: ${detail}` : ''}`));
      };
      child.once('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        fail(`could not run (${error.code ?? error.message})`);
      });
      child.once('close', (code, signal) => {
        clearTimeout(timer);
        if (timedOut) return fail(`did not finish within ${this.commandTimeoutMs / 1000} s`);
        if (signal) return fail(`was ended by ${signal}`);
        if (code !== 0) return fail(`exited with code ${code}`);
        const token = Buffer.concat(stdout).toString('utf8').trim();
        if (token === '') return fail('printed no token');
        resolve(token);
      });
    });
  }

  private async readFile(path: string): Promise<string> {
    const field = `account "${this.account}": oauth2.tokenFile`;
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      throw new TokenError(`${field}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
    }
    const token = text.trim();
    if (token === '') throw new TokenError(`${field}: ${path} is empty`);
    return token;
  }
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
