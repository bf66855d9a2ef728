/** The `kestrel` command line. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig, withEnvironment } from '../config/load.js';
import { SourceError } from '../config/yaml-source.js';
import { PACKAGE_ROOT } from '../paths.js';
import { EXIT, StartupError, UsageError } from './errors.js';
import { runAcknowledge, runDeliveries, runRetryDelivery } from './delivery-commands.js';
import { runEval } from './eval-command.js';
import { processIo, type CliIo } from './io.js';
import { runExplain } from './explain-command.js';
import { runConnectorCommand, runCopierCommand, runLive, runWorkerCommand } from './live-commands.js';
import { runLexiconCheck, runLexiconDiff, runLexiconTest } from './lexicon-command.js';
import { runReviewCommand, runUsersCommand } from './review-command.js';
import { runPurge } from './purge-command.js';
import { runScan } from './scan-command.js';

const HELP = `kestrel: e-safety mail scanner for school trusts

Usage:
  kestrel scan [options] PATH...       scan .eml files, folders, mbox files, Maildirs, or - (stdin)
  kestrel eval [options] DIR           precision/recall against DIR/manifest.jsonl
  kestrel explain [options] PATH...    why each message scored what it did
  kestrel lexicon check [options]      validate lexicons; list duplicate phrases and conflicting examples
  kestrel lexicon test [options]       run every rule's mustMatch / mustNotMatch examples
  kestrel lexicon diff --against REF DIR   flags per rule and category with the lexicons at REF vs now
  kestrel run [options]                watch the configured mailboxes: embedded (scan and copy in this
                                       process, state in PGlite), or connector, worker and copier with REDIS_URL
  kestrel connector [options]          cluster: queue the mail of the mailboxes this process leases
  kestrel worker [options]             cluster: scan queued mail and record the verdicts
  kestrel copier [options]             cluster: deliver copies of flagged mail, escalate, send digests
  kestrel flags ack ID [--by NAME]     acknowledge a flag: its escalation stops
  kestrel deliveries [--failed]        copies not yet delivered, with the reason (--json for tools)
  kestrel deliveries retry ID          send a failed copy again
  kestrel review [options]             serve the review UI (review.listen, default 127.0.0.1:8025)
  kestrel users add USERNAME --role ROLE [--academy A] [--name N] [--email E]
                                       create a review account (the first one: --role ict_admin); the
                                       password comes from $KESTREL_PASSWORD or is typed twice
  kestrel users list                   review accounts, their roles and state
  kestrel users disable|enable USERNAME   stop (and sign out) or restore an account
  kestrel users passwd USERNAME        set a new password (signs the account out everywhere)
  kestrel users set USERNAME [--role R] [--academy A] [--name N] [--email E]
                                       change an account (a new role, academy or email signs it out everywhere)
  kestrel purge [--dry-run]            delete review data past its retention period (--dry-run: count only)

Options:
  -c, --config FILE     kestrel.yaml to use (default: ./kestrel.yaml if present, else built-in defaults)
  -f, --format FORMAT   scan output: jsonl (default when stdout is not a terminal) or table
      --fail-on-flag    scan: exit 1 when any message is flagged
  -j, --jobs N          worker threads (default: config scan.jobs, 0 = one per core)
      --json            eval, explain, lexicon diff: machine-readable output
      --against REF     lexicon diff: a git revision (or a folder of lexicons) to compare with
      --strict          eval: count also_ok labels as false flags
      --benign          eval: no manifest; every .eml under DIR is ordinary mail (false alarms only)
      --by NAME         flags ack: who acknowledges (default: $USER)
      --failed          deliveries: only the copies that could not be delivered
      --role ROLE       users add, users set: monitor, dsl, dpo, ict_admin or auditor
      --academy NAME    users add, users set: a dsl's academy (one of trust.academies)
      --name NAME       users add, users set: the name shown in the UI and the audit log (default: USERNAME)
      --email ADDRESS   users add, users set: matches the account to a trust sign-in (review.oidc)
      --dry-run         purge: count what would be deleted, delete nothing
  -h, --help            this help
  -v, --version         Kestrel's version

Environment: REDIS_URL (the queue: cluster mode) and DATABASE_URL (PostgreSQL) override the config.
run, connector, worker, copier and review stop cleanly on SIGTERM or SIGINT.

Exit status: 0 done, 1 flagged (with --fail-on-flag), 2 usage or configuration error,
3 some messages could not be scanned (each is reported on its own line), 4 run, connector,
worker, copier or review could not start (the store, Redis or a secret is missing or refused).
`;

function version(): string {
  return (JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}

function positiveInteger(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} expects a whole number of 1 or more, got "${value}"`);
  return n;
}

export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c' },
        format: { type: 'string', short: 'f' },
        'fail-on-flag': { type: 'boolean' },
        jobs: { type: 'string', short: 'j' },
        json: { type: 'boolean' },
        strict: { type: 'boolean' },
        benign: { type: 'boolean' },
        against: { type: 'string' },
        by: { type: 'string' },
        failed: { type: 'boolean' },
        'dry-run': { type: 'boolean' },
        role: { type: 'string' },
        academy: { type: 'string' },
        name: { type: 'string' },
        email: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    });
  } catch (error) {
    io.stderr.write(`kestrel: ${(error as Error).message}\n\n${HELP}`);
    return EXIT.usage;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stdout.write(HELP);
    return EXIT.ok;
  }
  if (values.version) {
    io.stdout.write(`${version()}\n`);
    return EXIT.ok;
  }

  const [command, ...rest] = positionals;
  try {
    const jobs = positiveInteger(values.jobs, '--jobs');
    switch (command) {
      case 'scan': {
        const format = values.format ?? (io.stdout.isTTY ? 'table' : 'jsonl');
        if (format !== 'jsonl' && format !== 'table') throw new UsageError(`--format must be jsonl or table, got "${format}"`);
        const config = loadConfig(values.config);
        return await runScan(config, { paths: rest, format, failOnFlag: values['fail-on-flag'] ?? false, ...(jobs ? { jobs } : {}) }, io);
      }
      case 'eval': {
        if (rest.length !== 1) throw new UsageError(values.benign ? 'eval --benign needs one DIR of .eml files' : 'eval needs one DIR holding manifest.jsonl');
        return await runEval(
          loadConfig(values.config),
          { dir: rest[0]!, json: values.json ?? false, strict: values.strict ?? false, benign: values.benign ?? false, ...(jobs ? { jobs } : {}) },
          io,
        );
      }
      case 'explain': {
        if (rest.length === 0) throw new UsageError('explain needs at least one PATH');
        return await runExplain(loadConfig(values.config), { paths: rest, json: values.json ?? false }, io);
      }
      case 'lexicon': {
        const [sub, ...args] = rest;
        const usage = 'usage: kestrel lexicon check | test | diff --against REF DIR';
        if (sub === 'check' && args.length === 0) return runLexiconCheck(loadConfig(values.config), io);
        if (sub === 'test' && args.length === 0) return runLexiconTest(loadConfig(values.config), io);
        if (sub === 'diff') {
          return await runLexiconDiff(loadConfig(values.config), { ...(values.against ? { against: values.against } : {}), paths: args, json: values.json ?? false }, io);
        }
        throw new UsageError(usage);
      }
      case 'run':
      case 'connector':
      case 'worker':
      case 'copier': {
        if (rest.length > 0) throw new UsageError(`${command} takes no PATH; it watches the mailboxes listed under accounts in the config`);
        const config = withEnvironment(loadConfig(values.config));
        const run = { run: runLive, connector: runConnectorCommand, worker: runWorkerCommand, copier: runCopierCommand }[command];
        return await run(config);
      }
      case 'flags': {
        const [sub, flag, ...extra] = rest;
        if (sub !== 'ack' || extra.length > 0) throw new UsageError('usage: kestrel flags ack ID [--by NAME]');
        return await runAcknowledge(withEnvironment(loadConfig(values.config)), { flag, by: values.by }, io);
      }
      case 'deliveries': {
        const [sub, delivery, ...extra] = rest;
        const config = withEnvironment(loadConfig(values.config));
        if (sub === undefined) return await runDeliveries(config, { failed: values.failed ?? false, json: values.json ?? false }, io);
        if (sub === 'retry' && extra.length === 0) return await runRetryDelivery(config, { delivery }, io);
        throw new UsageError('usage: kestrel deliveries [--failed] [--json] | kestrel deliveries retry ID');
      }
      case 'review': {
        if (rest.length > 0) throw new UsageError('review takes no arguments; it serves the UI at review.listen');
        return await runReviewCommand(withEnvironment(loadConfig(values.config)));
      }
      case 'purge': {
        if (rest.length > 0) throw new UsageError('usage: kestrel purge [--dry-run]');
        return await runPurge(withEnvironment(loadConfig(values.config)), { dryRun: values['dry-run'] ?? false }, io);
      }
      case 'users': {
        const [sub, username, ...extra] = rest;
        const { role, academy, name, email } = values;
        return await runUsersCommand(withEnvironment(loadConfig(values.config)), { sub, username, extra, role, academy, name, email }, io);
      }
      case undefined:
        io.stderr.write(HELP);
        return EXIT.usage;
      default:
        throw new UsageError(`unknown command "${command}"; try kestrel --help`);
    }
  } catch (error) {
    if (error instanceof StartupError) {
      io.stderr.write(`kestrel: cannot start: ${error.message}\n`);
      return EXIT.cannotStart;
    }
    if (error instanceof UsageError || error instanceof SourceError) {
      // Config and lexicon errors list one problem a line (`file:line: key: reason`).
      for (const line of error.message.split('\n')) io.stderr.write(`kestrel: ${line}\n`);
      return EXIT.usage;
    }
    throw error;
  }
}
