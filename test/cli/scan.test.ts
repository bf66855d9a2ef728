import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { captureIo } from '../helpers/cli.js';

const PUPIL = '22amorgan@pupils.oakfield.sch.uk';
const FRIEND = '23bokafor@pupils.oakfield.sch.uk';

function eml(id: string, subject: string, body: string): string {
  return `From: ${PUPIL}\nTo: ${FRIEND}\nSubject: ${subject}\nDate: Mon, 10 Mar 2025 08:01:00 +0000\nMessage-ID: <${id}@oakfield.sch.uk>\n\n${body}\n`;
}

const CLEAN = eml('clean', 'trip', 'Please bring a packed lunch for the trip on Friday.');
const URGENT = eml('urgent', 'tonight', 'honestly i just want to kill myself');
const MBOX = [
  `From ${PUPIL} Mon Mar 10 08:01:00 2025`,
  eml('mbox1', 'match', 'that ref was shit, see you saturday'),
  `From ${PUPIL} Mon Mar 10 12:15:00 2025`,
  eml('mbox2', 'homework', 'Did you finish the maths homework?'),
].join('\n');

let root: string;
/** kestrel.yaml for the in-process runs. */
let configFile: string;
let mailDir: string;
let missing: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'kestrel-cli-'));
  configFile = join(root, 'config', 'kestrel.yaml');
  mkdirSync(join(root, 'config'));
  // Log level error: the "message not scanned" warnings go to fd 2 whatever main's io is, and are
  // expected here; the end-to-end test below checks them.
  // Fixed rules (test/fixtures/lexicons) so these tests do not move as the shipped lexicons are tuned.
  const fixtures = join(PACKAGE_ROOT, 'test', 'fixtures', 'lexicons');
  writeFileSync(configFile, `trust:\n  domains: [oakfield.sch.uk]\n  pupils: ["*@pupils.oakfield.sch.uk"]\nbuiltinLexicons: false\nlexicons: [${fixtures}]\nlog:\n  level: error\n`);

  mailDir = join(root, 'mail');
  const put = (path: string, text: string): void => {
    mkdirSync(join(mailDir, path, '..'), { recursive: true });
    writeFileSync(join(mailDir, path), text);
  };
  put('01-clean.eml', CLEAN);
  put('02-urgent.eml', URGENT);
  put('03-two.mbox', MBOX);
  put('04-maildir/cur/1741600000.M1P1.host:2,S', eml('maildir-cur', 'hey', 'you are so ugly and everyone knows it'));
  put('04-maildir/new/1741600001.M2P1.host', eml('maildir-new', 'lunch', 'See you at lunch.'));
  // Half-written delivery: a Maildir reader must not pick it up.
  put('04-maildir/tmp/1741600002.M3P1.host', URGENT);
  put('05-empty.eml', '');
  // Running as root makes a chmod-000 file readable anyway; a dangling link is unreadable for anyone.
  symlinkSync(join(root, 'gone.eml'), join(mailDir, '06-dangling.eml'));
  missing = join(root, 'missing.eml');
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

interface Line {
  file: string;
  index?: number;
  messageId?: string | null;
  flagged?: boolean;
  categories?: string[];
  severity?: string | null;
  findings?: Array<{ rule: string }>;
  durationMs?: number;
  problems?: string[];
  error?: string;
  errorKind?: string;
}

function jsonLines(text: string): Line[] {
  expect(text.endsWith('\n')).toBe(true);
  return text
    .slice(0, -1)
    .split('\n')
    .map((line) => JSON.parse(line) as Line);
}

async function run(argv: string[], stdin = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  const io = captureIo(stdin);
  const code = await main(argv, io);
  return { code, stdout: io.stdoutText(), stderr: io.stderrText() };
}

describe('kestrel scan (jsonl)', () => {
  it('writes one line per message, in input order, for a folder of .eml, mbox, Maildir, empty and unreadable files', async () => {
    const { code, stdout, stderr } = await run(['scan', '--config', configFile, '--jobs', '2', mailDir, missing]);
    expect(stderr).toBe('');
    const lines = jsonLines(stdout);
    expect(lines.map((l) => [relative(root, l.file), l.index ?? null])).toEqual([
      ['mail/01-clean.eml', null],
      ['mail/02-urgent.eml', null],
      ['mail/03-two.mbox', 1],
      ['mail/03-two.mbox', 2],
      ['mail/04-maildir/cur/1741600000.M1P1.host:2,S', null],
      ['mail/04-maildir/new/1741600001.M2P1.host', null],
      ['mail/05-empty.eml', null],
      ['mail/06-dangling.eml', null],
      ['missing.eml', null],
    ]);
    const [clean, urgent, mbox1, mbox2, cur, fresh, empty, dangling, gone] = lines as [Line, Line, Line, Line, Line, Line, Line, Line, Line];

    for (const report of [clean, urgent, mbox1, mbox2, cur, fresh, empty]) {
      expect(Object.keys(report)).toEqual(expect.arrayContaining(['file', 'messageId', 'flagged', 'categories', 'severity', 'findings', 'durationMs']));
      expect(report.durationMs).toBeGreaterThanOrEqual(0);
    }
    expect(clean).toMatchObject({ messageId: '<clean@oakfield.sch.uk>', flagged: false, categories: [], severity: null, findings: [] });
    expect(clean).not.toHaveProperty('index');
    expect(urgent).toMatchObject({ messageId: '<urgent@oakfield.sch.uk>', flagged: true, categories: ['safety.self_harm'], severity: 'urgent' });
    expect(urgent.findings!.map((f) => f.rule)).toEqual(['self_harm.intent']);
    expect(mbox1).toMatchObject({ messageId: '<mbox1@oakfield.sch.uk>', flagged: true, categories: ['profanity'], severity: 'minor' });
    expect(mbox2).toMatchObject({ messageId: '<mbox2@oakfield.sch.uk>', flagged: false });
    expect(cur).toMatchObject({ messageId: '<maildir-cur@oakfield.sch.uk>', flagged: true, categories: ['safety.bullying'] });
    expect(fresh).toMatchObject({ messageId: '<maildir-new@oakfield.sch.uk>', flagged: false });
    expect(empty).toMatchObject({ messageId: null, flagged: false, problems: ['no headers found'] });
    expect(dangling).toEqual({ file: join(mailDir, '06-dangling.eml'), error: 'no such file or directory', errorKind: 'unreadable' });
    expect(gone).toEqual({ file: missing, error: 'no such file or directory', errorKind: 'unreadable' });
    // Some messages could not be scanned.
    expect(code).toBe(3);
  });

  it('reads a message from stdin for the path -', async () => {
    const { code, stdout } = await run(['scan', '--config', configFile, '--jobs', '1', '-'], URGENT);
    const lines = jsonLines(stdout);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ file: '-', messageId: '<urgent@oakfield.sch.uk>', flagged: true, severity: 'urgent' });
    expect(code).toBe(0);
  });

  it('reads an mbox from stdin, numbering its messages', async () => {
    const { stdout } = await run(['scan', '--config', configFile, '--jobs', '1', '-'], MBOX);
    expect(jsonLines(stdout).map((l) => [l.file, l.index, l.flagged])).toEqual([
      ['-', 1, true],
      ['-', 2, false],
    ]);
  });

  it('exits 1 with --fail-on-flag when something is flagged, and 0 when nothing is', async () => {
    const flagged = await run(['scan', '--config', configFile, '--jobs', '1', '--fail-on-flag', join(mailDir, '01-clean.eml'), join(mailDir, '02-urgent.eml')]);
    expect(flagged.code).toBe(1);
    expect(jsonLines(flagged.stdout)).toHaveLength(2);

    const clean = await run(['scan', '--config', configFile, '--jobs', '1', '--fail-on-flag', join(mailDir, '01-clean.eml'), join(mailDir, '04-maildir', 'new')]);
    expect(clean.code).toBe(0);
    expect(jsonLines(clean.stdout).map((l) => l.flagged)).toEqual([false, false]);

    const withoutFlag = await run(['scan', '--config', configFile, '--jobs', '1', join(mailDir, '02-urgent.eml')]);
    expect(withoutFlag.code).toBe(0);
  });

  it('exits 3 when a message could not be scanned, still reporting the others', async () => {
    const { code, stdout } = await run(['scan', '--config', configFile, '--jobs', '1', join(mailDir, '01-clean.eml'), missing]);
    expect(jsonLines(stdout).map((l) => l.errorKind ?? 'scanned')).toEqual(['scanned', 'unreadable']);
    expect(code).toBe(3);
  });
});

describe('kestrel scan --format table', () => {
  it('prints a header, a row per message and a summary', async () => {
    const { code, stdout } = await run(['scan', '--config', configFile, '--jobs', '2', '--format', 'table', mailDir]);
    expect(code).toBe(3);
    const rows = stdout.split('\n');
    expect(rows[0]).toMatch(/^MESSAGE\s+SEVERITY\s+CATEGORIES\s+RULES \/ ERROR$/);
    const row = (suffix: string): string => {
      const found = rows.find((r) => r.split(/\s{2,}/)[0]!.endsWith(suffix));
      if (!found) throw new Error(`no row for ${suffix} in\n${stdout}`);
      return found;
    };
    expect(row('02-urgent.eml')).toMatch(/\surgent\s+safety\.self_harm\s+self_harm\.intent$/);
    expect(row('03-two.mbox#1')).toMatch(/\sminor\s+profanity\s+profanity\.strong$/);
    expect(row('03-two.mbox#2')).toMatch(/\s-$/);
    expect(row('01-clean.eml')).toMatch(/\s-$/);
    expect(row('06-dangling.eml')).toMatch(/\sERROR\s+unreadable\s+no such file or directory$/);
    expect(stdout).toMatch(/^8 messages, 3 flagged, 1 could not be scanned, in \d+\.\d s \(\d+ msg\/s\)$/m);
    expect(stdout).toMatch(/^by category: (?=.*safety\.self_harm 1)(?=.*profanity 1)(?=.*safety\.bullying 1).*$/m);
    expect(stdout).toMatch(/^by severity: (?=.*urgent 1)(?=.*moderate 1)(?=.*minor 1).*$/m);
  });
});

describe('kestrel usage and configuration errors', () => {
  it('exits 2 naming file:line and key for a bad kestrel.yaml, scanning nothing', async () => {
    const bad = join(root, 'config', 'bad.yaml');
    writeFileSync(bad, 'trust:\n  domains: [oakfield.sch.uk]\n  domians: [oakfield.sch.uk]\nscan:\n  timeoutMs: fast\n');
    const { code, stdout, stderr } = await run(['scan', '--config', bad, mailDir]);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain(`${bad}:3: trust.domians: unknown key`);
    expect(stderr).toContain(`${bad}:5: scan.timeoutMs:`);
  });

  it('exits 2 with the line for YAML that does not parse', async () => {
    const broken = join(root, 'config', 'broken.yaml');
    writeFileSync(broken, 'trust:\n  domains: [oakfield.sch.uk\n');
    const { code, stderr } = await run(['scan', '--config', broken, mailDir]);
    expect(code).toBe(2);
    expect(stderr).toMatch(new RegExp(`^kestrel: ${broken.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+: `));
  });

  it('exits 2 for a config file named but missing', async () => {
    const { code, stderr } = await run(['scan', '--config', join(root, 'config', 'nope.yaml'), mailDir]);
    expect(code).toBe(2);
    expect(stderr).toContain(`${join(root, 'config', 'nope.yaml')}: config file not found`);
  });

  it('exits 2 for an unknown option, with the help', async () => {
    const { code, stdout, stderr } = await run(['scan', '--bogus', mailDir]);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^kestrel: Unknown option '--bogus'/);
    expect(stderr).toContain('Usage:');
  });

  it('exits 2 for an unknown --format, a bad --jobs, an unknown command and a scan without paths', async () => {
    const format = await run(['scan', '--format', 'xml', mailDir]);
    expect(format).toMatchObject({ code: 2, stdout: '', stderr: 'kestrel: --format must be jsonl or table, got "xml"\n' });
    const jobs = await run(['scan', '--jobs', '0', mailDir]);
    expect(jobs).toMatchObject({ code: 2, stderr: 'kestrel: --jobs expects a whole number of 1 or more, got "0"\n' });
    const command = await run(['scna', mailDir]);
    expect(command).toMatchObject({ code: 2, stderr: 'kestrel: unknown command "scna"; try kestrel --help\n' });
    const noPaths = await run(['scan', '--config', configFile]);
    expect(noPaths.code).toBe(2);
    expect(noPaths.stderr).toContain('scan needs at least one PATH');
  });
});

describe('kestrel lexicon check and test on the built-in lexicons', () => {
  it('check finds them valid', async () => {
    const { code, stdout } = await run(['lexicon', 'check']);
    expect(stdout).toMatch(/^[1-9]\d* files, [1-9]\d* rules, \d+ sets: valid; \d+ warnings\n$/);
    expect(code).toBe(0);
  });

  it('test passes every example', async () => {
    const { code, stdout, stderr } = await run(['lexicon', 'test']);
    expect(stderr).toBe('');
    expect(stdout).toMatch(/^[1-9]\d* files, [1-9]\d* rules, [1-9]\d* examples, 0 failing\n$/);
    expect(code).toBe(0);
  });
});

describe('the README demo: examples/', () => {
  it('flags 02-pupil-message.eml as urgent self-harm and leaves the trip letter and newsletter clean', async () => {
    const mailbox = join(PACKAGE_ROOT, 'examples', 'mailbox');
    const { code, stdout } = await run(['scan', '--config', join(PACKAGE_ROOT, 'examples', 'kestrel.yaml'), '--jobs', '2', mailbox]);
    expect(code).toBe(0);
    const byName = new Map(jsonLines(stdout).map((l) => [`${relative(mailbox, l.file)}${l.index ? `#${l.index}` : ''}`, l]));
    expect(byName.get('02-pupil-message.eml')).toMatchObject({ flagged: true, urgent: true, severity: 'urgent', categories: ['safety.self_harm'] });
    expect(byName.get('02-pupil-message.eml')!.findings!.map((f) => f.rule)).toContain('self_harm.intent');
    expect(byName.get('01-trip-letter.eml')).toMatchObject({ flagged: false, findings: [] });
    expect(byName.get('03-html-newsletter.eml')).toMatchObject({ flagged: false, findings: [] });
    // A class list sent home: for the DPO, not the monitor, with no UPN or date of birth in clear.
    const classList = byName.get('04-class-list-home.eml')!;
    expect(classList).toMatchObject({ flagged: true, severity: 'severe', routes: ['dpo'] });
    expect(classList.categories).toEqual(expect.arrayContaining(['personal_data.bulk_records', 'personal_data.upn', 'personal_data.special_category']));
    expect(JSON.stringify(classList)).not.toMatch(/V907401212041|14\/02\/2011/);
  });
});

describe('bin/kestrel.js (the built CLI)', () => {
  it('runs end to end from dist/: stdin and files, JSONL on stdout, logs on stderr, exit status', async () => {
    const bin = join(PACKAGE_ROOT, 'bin', 'kestrel.js');
    // `npm test` builds first; running vitest alone needs `npm run build` after source changes.
    expect(existsSync(join(PACKAGE_ROOT, 'dist', 'src', 'cli', 'main.js')), 'dist/ is missing: run npm run build').toBe(true);
    const child = spawn(process.execPath, [bin, 'scan', '--fail-on-flag', '--jobs', '2', join(mailDir, '02-urgent.eml'), '-', missing], {
      cwd: root, // no ./kestrel.yaml here: built-in defaults
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.stdin.end(CLEAN);
    const code = await new Promise<number | null>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (status) => resolve(status));
    });

    const lines = jsonLines(stdout);
    expect(lines.map((l) => [l.file, l.flagged ?? l.errorKind])).toEqual([
      [join(mailDir, '02-urgent.eml'), true],
      ['-', false],
      [missing, 'unreadable'],
    ]);
    // The failure is logged (JSON, on stderr) with its path and reason, never on stdout.
    const logs = stderr
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as { msg: string; file?: string; reason?: string });
    expect(logs).toContainEqual(expect.objectContaining({ msg: 'message not scanned', file: missing, reason: 'no such file or directory' }));
    // --fail-on-flag: a flagged message decides the status even though one could not be scanned.
    expect(code).toBe(1);
  });
});
