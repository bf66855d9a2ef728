/**
 * One IMAP connection watching one folder (IDLE watches only the selected mailbox): connect,
 * select read-only, catch up, then wait for IDLE news, the poll timer (idle connections can die
 * silently) or the login's renewal time (Microsoft 365 ends sessions when the OAuth token
 * expires). Every failure closes the client (an imapflow client cannot be reused) and a new one
 * connects after a backoff; the checkpoint makes that lossless.
 */
import { ImapFlow } from 'imapflow';
import type { Logger } from '../log.js';
import { Backoff, throttleHintMs } from './backoff.js';
import { imapClientOptions, readAccountCa } from './client-options.js';
import type { Credentials, Login } from './credentials.js';
import { FolderMissingError, findFolder, type WatchedFolder } from './folders.js';
import { syncFolder } from './folder-sync.js';
import type { AccountWatcherOptions } from './account-watcher.js';
import { Wakeup } from './wakeup.js';

export type FolderState = 'connecting' | 'syncing' | 'idle' | 'paused' | 'backoff' | 'failed' | 'stopped';

export interface WatcherSettings {
  reconnectMinMs: number;
  reconnectMaxMs: number;
  maxMessageBytes: number;
  /** How often `sink.saturated()` is asked again while paused. */
  saturationPollMs: number;
}

export interface FolderWatcherOptions extends Pick<AccountWatcherOptions, 'account' | 'sink' | 'checkpoints' | 'metrics' | 'logger' | 'copyGuard' | 'settings'> {
  /** As written in the config: a path or a special-use flag. */
  configured: string;
  credentials: Credentials;
  onState(state: FolderState): void;
}

/** A session ends without error when its login is due for renewal, or on shutdown. */
type SessionEnd = 'renew' | 'stopped';

const LOGOUT_TIMEOUT_MS = 5_000;

export class FolderWatcher {
  private readonly wakeup = new Wakeup();
  private readonly backoff: Backoff;
  private readonly log: Logger;
  private stopping = false;
  private running: Promise<void> | undefined;
  private client: ImapFlow | undefined;
  private state: FolderState | undefined;

  constructor(private readonly options: FolderWatcherOptions) {
    this.backoff = new Backoff(options.settings.reconnectMinMs, options.settings.reconnectMaxMs);
    this.log = options.logger.child({ account: options.account.id, folder: options.configured });
  }

  get currentState(): FolderState | undefined {
    return this.state;
  }

  start(): void {
    this.running ??= this.run();
  }

  /** Stops fetching, lets the message in hand reach the sink and its checkpoint, then logs out. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wakeup.wake();
    // A connect or command to an unresponsive server would hold shutdown for its whole timeout.
    if (this.state === 'connecting') this.client?.close();
    await this.running;
  }

  private setState(state: FolderState): void {
    if (this.state === state) return;
    this.state = state;
    this.options.onState(state);
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      try {
        const end = await this.session();
        if (end === 'stopped') break;
      } catch (error) {
        if (this.stopping) break;
        await this.failed(error);
      }
    }
    this.setState('stopped');
  }

  private async failed(error: unknown): Promise<void> {
    const { account, metrics } = this.options;
    metrics.connectorErrors.inc({ account: account.id });
    if (isAuthenticationFailure(error)) this.options.credentials.refused();
    const refused = needsOperator(error);
    this.setState(refused ? 'failed' : 'backoff');
    const delayMs = this.backoff.next(throttleHintMs(error));
    this.log.warn({ error: describeError(error), attempt: this.backoff.attempts, delayMs }, refused ? 'login refused, credentials unavailable or folder missing: retrying later' : 'connection failed: reconnecting later');
    // imapflow emits 'close' while a failed connect tears down, which woke the watcher: without
    // this the backoff was skipped and a down server saw thousands of attempts a second.
    this.wakeup.clear();
    if (this.stopping) return;
    await this.wakeup.wait(delayMs);
  }

  private async session(): Promise<SessionEnd> {
    const { account, configured } = this.options;
    // After a failure the state stays failed/backoff until a session works, so the gauge does not flap.
    if (this.backoff.attempts === 0) this.setState('connecting');
    const login = await this.options.credentials.login();
    // Read at each connect, so a CA file fixed or renewed by an operator is picked up.
    const ca = readAccountCa(account);
    if (this.stopping) return 'stopped';
    const client = new ImapFlow(imapClientOptions({ account, auth: login.auth, ca, logger: this.options.logger }));
    this.client = client;
    // Without an error listener an imapflow error event would crash the process.
    client.on('error', (error: Error) => this.log.debug({ error: describeError(error) }, 'imap connection error'));
    client.on('close', () => this.wakeup.wake());
    client.on('exists', () => this.wakeup.wake());
    try {
      await client.connect();
      if (this.stopping) return 'stopped';
      const folder = findFolder(await client.list(), configured, account.journal);
      if (!folder) throw new FolderMissingError(`account "${account.id}": folder ${configured} is not on the server`);
      return await this.watch(client, login, folder);
    } finally {
      this.client = undefined;
      await closeClient(client);
    }
  }

  private async watch(client: ImapFlow, login: Login, folder: WatchedFolder): Promise<SessionEnd> {
    const { account } = this.options;
    const renewalDue = () => login.renewAt !== undefined && Date.now() >= login.renewAt;
    const context = {
      account,
      folder,
      sink: this.options.sink,
      checkpoints: this.options.checkpoints,
      metrics: this.options.metrics,
      logger: this.options.logger,
      copyGuard: this.options.copyGuard,
      maxMessageBytes: this.options.settings.maxMessageBytes,
      shouldYield: () => this.stopping || renewalDue(),
      waitForRoom: () => this.waitForRoom(),
    };
    for (;;) {
      if (this.stopping) return 'stopped';
      if (!client.usable) throw new Error(`account "${account.id}": the server closed the connection${client.byeReason ? ` (${client.byeReason})` : ''}`);
      if (renewalDue()) {
        this.log.info('reconnecting with a fresh access token');
        return 'renew';
      }
      this.setState('syncing');
      await syncFolder(client, context);
      if (this.stopping) return 'stopped';
      if (renewalDue()) continue;
      this.backoff.reset();
      this.setState('idle');
      const pollAt = Date.now() + account.pollSeconds * 1000;
      await this.wakeup.wait(Math.min(pollAt, login.renewAt ?? pollAt) - Date.now());
    }
  }

  private async waitForRoom(): Promise<void> {
    let paused = false;
    while (!this.stopping && (await this.options.sink.saturated())) {
      if (!paused) this.log.info('sink saturated: pausing');
      paused = true;
      this.setState('paused');
      await this.wakeup.wait(this.options.settings.saturationPollMs);
    }
    if (paused) {
      this.log.info('sink has room: resuming');
      this.setState('syncing');
    }
  }
}

async function closeClient(client: ImapFlow): Promise<void> {
  if (client.usable) {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([client.logout().catch(() => undefined), new Promise((resolve) => (timer = setTimeout(resolve, LOGOUT_TIMEOUT_MS)))]);
    clearTimeout(timer);
  }
  client.close();
}

function isAuthenticationFailure(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { authenticationFailed?: unknown }).authenticationFailed === true;
}

/** Failures a retry alone will not fix: reported as `failed` rather than `backoff`. */
function needsOperator(error: unknown): boolean {
  if (isAuthenticationFailure(error)) return true;
  const name = typeof error === 'object' && error !== null ? (error as { name?: unknown }).name : undefined;
  return ['TokenError', 'SecretError', 'FolderMissingError'].includes(String(name));
}

/** What a log may say about an error: its code, the server's response text and the message, never request payloads. */
function describeError(error: unknown): Record<string, unknown> {
  if (typeof error !== 'object' || error === null) return { message: String(error) };
  const e = error as { message?: unknown; code?: unknown; responseText?: unknown; serverResponseCode?: unknown };
  return {
    type: error.constructor.name,
    message: e.message,
    ...(e.code !== undefined ? { code: e.code } : {}),
    ...(e.serverResponseCode !== undefined ? { serverResponseCode: e.serverResponseCode } : {}),
    ...(typeof e.responseText === 'string' ? { responseText: e.responseText.slice(0, 300) } : {}),
  };
}
