// Starts a TypeScript worker under tsx; used only when Kestrel runs from its sources (vitest).
// Node 20 ignores loaders given in a worker's execArgv (nodejs/node#47747: `--import tsx` there
// still fails with "Unknown file extension .ts"), so the thread loads the file with tsx's own API.
import { tsImport } from 'tsx/esm/api';

const file = process.argv[2];
if (!file) throw new Error('usage: new Worker("workers/run-ts.mjs", { argv: [fileUrl] })');
await tsImport(file, import.meta.url);
