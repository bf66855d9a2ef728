/**
 * Pipeline health in embedded mode: one process scans inline (no queues) and watches every
 * account itself, so each connector's holder is this process and its folders are its checkpoints.
 */
import type { CheckpointState, StatsStore } from '../flags/stats.js';
import type { ConnectorState, PipelineHealth } from './health.js';

export const THIS_PROCESS = 'this process';

/**
 * One state per account, configured accounts first in config order, then any account that only
 * has checkpoints left (removed from the config since). Folders keep the store's order.
 */
export function connectorStates(accountIds: readonly string[], checkpoints: readonly CheckpointState[], holderOf: (account: string) => string | null): ConnectorState[] {
  const folders = new Map<string, ConnectorState['folders']>(accountIds.map((id) => [id, []]));
  for (const c of checkpoints) {
    const list = folders.get(c.account) ?? [];
    list.push({ folder: c.folder, lastUid: c.lastUid, updatedAt: c.updatedAt });
    folders.set(c.account, list);
  }
  return [...folders].map(([account, list]) => ({ account, holder: holderOf(account), folders: list }));
}

export function createEmbeddedHealth(options: { store: Pick<StatsStore, 'checkpointStates'>; accountIds: readonly string[] }): PipelineHealth {
  const configured = new Set(options.accountIds);
  return {
    queues: async () => [],
    failedJobs: async () => [],
    retryJob: async () => false,
    async connectors() {
      // An account dropped from the config is not watched by anyone any more.
      return connectorStates(options.accountIds, await options.store.checkpointStates(), (account) => (configured.has(account) ? THIS_PROCESS : null));
    },
    close: async () => {},
  };
}
