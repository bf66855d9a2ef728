/**
 * A scan worker thread: builds one scanner from the config it is given and scans the messages
 * posted to it. Runs in a thread so the pool can end a message that overruns its time or memory
 * bound without losing the run (mailparser-style parsers block the event loop; a timer cannot).
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { KestrelConfig } from '../src/config/schema.js';
import { createScanner } from '../src/scan/pipeline.js';
import type { WorkerReply, WorkerRequest } from '../src/scan/pool.js';

const port = parentPort;
if (!port) throw new Error('scan-worker must run in a worker thread');

const scanner = createScanner((workerData as { config: KestrelConfig }).config);

port.on('message', (request: WorkerRequest) => {
  scanner.scan(Buffer.from(request.raw.buffer, request.raw.byteOffset, request.raw.byteLength), request.envelope).then(
    (report) => port.postMessage({ id: request.id, report } satisfies WorkerReply),
    (error: unknown) => port.postMessage({ id: request.id, error: error instanceof Error ? error.message : String(error) } satisfies WorkerReply),
  );
});
port.postMessage({ ready: true });
