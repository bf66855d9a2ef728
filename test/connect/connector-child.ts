/**
 * A connector in a child process, for the lease takeover test: it can be SIGKILLed without a chance
 * to release anything. Input (JSON in KESTREL_CHILD): Dovecot host and port, Redis URL, users,
 * owner name and connect settings. Prints `ready` once started.
 */
import { Redis } from 'ioredis';
import { startConnector } from '../../src/connect/connector.js';
import { connectorConfig, harness, silent } from './support.js';

interface ChildInput {
  host: string;
  port: number;
  redisUrl: string;
  users: string[];
  owner: string;
  connect: Record<string, number>;
  leaseSweepMs: number;
}

const input = JSON.parse(process.env.KESTREL_CHILD ?? '{}') as ChildInput;
const config = connectorConfig(
  { host: input.host, port: input.port },
  input.users.map((user) => ({ user, folders: ['INBOX'] })),
  { connect: input.connect },
);
const redis = new Redis(input.redisUrl, { maxRetriesPerRequest: 1 });
const { sink, checkpoints, metrics } = harness();
startConnector({ config, sink, checkpoints, metrics, logger: silent, redis, owner: input.owner, tuning: { leaseSweepMs: input.leaseSweepMs } });
process.stdout.write('ready\n');
