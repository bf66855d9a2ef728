/**
 * All the folders of one account, each on its own connection, sharing the account's credentials
 * (one token refresh serves them all). The account's state is its most troubled folder's.
 */
import type { CopyGuard } from './copy-guard.js';
import type { AccountConfig } from '../config/operations-schema.js';
import type { CheckpointStore } from '../flags/types.js';
import type { Logger } from '../log.js';
import type { ConnectorState, KestrelMetrics } from '../ops/metrics.js';
import { accountCredentials } from './credentials.js';
import { FolderWatcher, type FolderState, type WatcherSettings } from './folder-watcher.js';
import type { MessageSink } from './types.js';

export interface AccountWatcherOptions {
  account: AccountConfig;
  sink: MessageSink;
  checkpoints: CheckpointStore;
  metrics: KestrelMetrics;
  logger: Logger;
  copyGuard: CopyGuard | undefined;
  settings: WatcherSettings;
  /** Called whenever a folder's state changes. */
  onChange(): void;
}

/** Worst first: the account reports the first state any of its folders is in. */
const PRECEDENCE: FolderState[] = ['failed', 'backoff', 'connecting', 'paused', 'syncing', 'idle', 'stopped'];

export class AccountWatcher {
  private readonly folders: FolderWatcher[];
  private reported: ConnectorState | undefined;

  constructor(private readonly options: AccountWatcherOptions) {
    const { account } = options;
    const credentials = accountCredentials(account);
    this.folders = [...new Set(account.folders)].map(
      (configured) =>
        new FolderWatcher({
          account,
          configured,
          credentials,
          sink: options.sink,
          checkpoints: options.checkpoints,
          metrics: options.metrics,
          logger: options.logger,
          copyGuard: options.copyGuard,
          settings: options.settings,
          onState: () => this.changed(),
        }),
    );
  }

  get id(): string {
    return this.options.account.id;
  }

  start(): void {
    this.options.logger.info({ account: this.id, folders: this.folders.length }, 'watching account');
    for (const folder of this.folders) folder.start();
  }

  async stop(): Promise<void> {
    await Promise.all(this.folders.map((folder) => folder.stop()));
    this.options.metrics.setConnectorState(this.id, 'released');
    this.reported = 'released';
  }

  /** Every folder has caught up and is waiting for news. */
  caughtUp(): boolean {
    return this.folders.every((folder) => folder.currentState === 'idle');
  }

  state(): ConnectorState {
    const states = this.folders.map((folder) => folder.currentState ?? 'connecting');
    const worst = PRECEDENCE.find((state) => states.includes(state)) ?? 'connecting';
    return worst === 'stopped' ? 'released' : worst;
  }

  private changed(): void {
    const state = this.state();
    if (state !== this.reported && state !== 'released') {
      this.reported = state;
      this.options.metrics.setConnectorState(this.id, state);
    }
    this.options.onChange();
  }
}
