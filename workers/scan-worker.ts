/**
 * A scan worker thread: builds one scanner from the config it is given and scans the messages
 * posted to it. Runs in a thread so the pool can end a message that overruns its time or memory
 * bound without losing the run (mailparser-style parsers block the event loop; a timer cannot).
 */
import { getHeapStatistics } from 'node:v8';
import { parentPort, workerData } from 'node:worker_threads';
import type { KestrelConfig } from '../src/config/schema.js';
import { createScanner } from '../src/scan/pipeline.js';
import type { WorkerReply, WorkerRequest } from '../src/scan/pool.js';

const port = parentPort;
if (!port) throw new Error('scan-worker must run in a worker thread');

const scanner = createScanner((workerData as { config: KestrelConfig }).config);

/** This thread's V8 heap (each thread has its own isolate), reported so the pool can recycle a grown thread. */
function heapUsed(): number {
  return getHeapStatistics().used_heap_size;
}

port.on('message', (request: WorkerRequest) => {
  scanner.scan(Buffer.from(request.raw.buffer, request.raw.byteOffset, request.raw.byteLength), request.envelope).then(
    (report) => port.postMessage({ id: request.id, report, heapUsed: heapUsed() } satisfies WorkerReply),
    (error: unknown) => port.postMessage({ id: request.id, error: error instanceof Error ? error.message : String(error), heapUsed: heapUsed() } satisfies WorkerReply),
  );
});
port.postMessage({ ready: true });
