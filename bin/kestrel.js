#!/usr/bin/env node
// The compiled CLI; `npm install` builds it (the `prepare` script).
import { main } from '../dist/src/cli/main.js';

process.stdout.on('error', (error) => {
  // A closed pipe (`kestrel scan ... | head`) ends the run quietly.
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    process.stderr.write(`kestrel: unexpected failure: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exitCode = 70;
  },
);
