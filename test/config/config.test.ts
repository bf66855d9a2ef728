import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { defaultConfig, loadConfig, parseConfig } from '../../src/config/load.js';
import { matchesCategory, parseByteSize } from '../../src/config/schema.js';
import { parseYaml, SourceError, validate } from '../../src/config/yaml-source.js';

let dir: string;
let startCwd: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kestrel-config-'));
  startCwd = process.cwd();
});

afterEach(() => {
  process.chdir(startCwd);
  rmSync(dir, { recursive: true, force: true });
});

function writeConfig(text: string, name = 'kestrel.yaml'): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

/** The problems a failing call reports; fails the test if the call succeeds. */
function problemsOf(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(SourceError);
    return (error as SourceError).problems;
  }
  throw new Error('expected a SourceError');
}

describe('loadConfig', () => {
  it('uses built-in defaults when there is no file and no ./kestrel.yaml', () => {
    process.chdir(dir);
    const config = loadConfig();
    expect(config).toEqual(defaultConfig());
    expect(config.trust.name).toBe('the trust');
    expect(config.trust.domains).toEqual([]);
    expect(config.trust.unmatchedTrustRole).toBe('staff');
    expect(config.trust.personalDomains).toContain('gmail.com');
    expect(config.trust.personalDomains).toContain('zoho.com');
    expect(config.scan).toEqual({
      jobs: 0,
      timeoutMs: 10000,
      memoryMb: 512,
      maxMessageBytes: 50 * 1048576,
      maxAttachmentBytes: 10 * 1048576,
      maxTextChars: 2000000,
      maxHtmlChars: 5000000,
      maxAttachments: 100,
      maxDepth: 20,
      excerptContext: 40,
    });
    expect(config.routes).toEqual({
      monitor: { categories: ['safety.*', 'pupil_email.non_trust_account', 'pupil_email.personal_contact'], minSeverity: 'minor', to: [], academies: {}, copy: 'full' },
      urgent: { categories: ['*'], minSeverity: 'urgent', to: [], academies: {}, copy: 'full' },
      dpo: { categories: ['personal_data.*'], minSeverity: 'minor', to: [], academies: {}, copy: 'none' },
      ict: { categories: ['chain_mail', 'acceptable_use.*', 'pupil_email.social_signup'], minSeverity: 'minor', to: [], academies: {}, copy: 'digest' },
      record: { categories: ['profanity'], minSeverity: 'minor', to: [], academies: {}, copy: 'none' },
    });
    expect(config.log.level).toBe('info');
    expect(config.lexicons).toEqual([]);
    expect(config.disableRules).toEqual([]);
  });

  it('does not share default arrays between loads', () => {
    const first = defaultConfig();
    first.trust.domains.push('mutated.sch.uk');
    first.routes['extra'] = { categories: ['*'], minSeverity: 'minor', to: [], academies: {}, copy: 'none' };
    first.routes['monitor']!.to.push('mutated@example.org');
    const second = defaultConfig();
    expect(second.trust.domains).toEqual([]);
    expect(second.routes['extra']).toBeUndefined();
    expect(second.routes['monitor']!.to).toEqual([]);
  });

  it('finds ./kestrel.yaml in the working directory', () => {
    writeConfig('trust:\n  name: Found In Cwd\n');
    process.chdir(dir);
    expect(loadConfig().trust.name).toBe('Found In Cwd');
  });

  it('treats an empty file as all defaults', () => {
    const file = writeConfig('# nothing configured yet\n');
    // Relative paths in a file are the file's: the embedded store's default folder too.
    const defaults = defaultConfig();
    expect(loadConfig(file)).toEqual({ ...defaults, store: { ...defaults.store, dataDir: join(dirname(file), 'data') } });
  });

  it('reports an explicitly named missing file by name', () => {
    const missing = join(dir, 'nope.yaml');
    expect(problemsOf(() => loadConfig(missing))).toEqual([`${missing}: config file not found`]);
  });

  it('reads a full valid file', () => {
    const file = writeConfig(`
trust:
  name: "Riverbank Learning Trust"
  domains: [Riverbank-Trust.sch.uk]
  staff: ["*@staff.riverbank-trust.sch.uk"]
  pupils: ["*@pupils.riverbank-trust.sch.uk", "/^[0-9]{2}[a-z]+@/"]
  directoryCsv: people.csv
  unmatchedTrustRole: pupil
  extraPersonalDomains: [example-isp.net]
  partnerDomains: [riverside.gov.uk]
  academies:
    - name: Riverbank Academy
      patterns: ["*@ra.riverbank-trust.sch.uk"]
lexicons: [lexicons/local]
disableRules: [profanity.mild]
scan:
  jobs: 4
  timeoutMs: 5000
  memoryMb: 256
  maxMessageBytes: 25MB
  maxAttachmentBytes: 1.5 GB
  maxTextChars: 1000
  maxHtmlChars: 2000
  maxAttachments: 7
  maxDepth: 3
  excerptContext: 10
routes:
  safeguarding: { categories: ["safety.*"], minSeverity: moderate }
  everything: { categories: ["*"] }
log:
  level: debug
`);
    const config = loadConfig(file);
    expect(config.trust).toEqual({
      name: 'Riverbank Learning Trust',
      domains: ['riverbank-trust.sch.uk'],
      staff: ['*@staff.riverbank-trust.sch.uk'],
      pupils: ['*@pupils.riverbank-trust.sch.uk', '/^[0-9]{2}[a-z]+@/'],
      directoryCsv: join(dir, 'people.csv'),
      unmatchedTrustRole: 'pupil',
      personalDomains: expect.arrayContaining(['gmail.com', 'example-isp.net']),
      extraPersonalDomains: ['example-isp.net'],
      partnerDomains: ['riverside.gov.uk'],
      academies: [{ name: 'Riverbank Academy', patterns: ['*@ra.riverbank-trust.sch.uk'] }],
      leaders: [],
    });
    expect(config.lexicons).toEqual([join(dir, 'lexicons/local')]);
    expect(config.disableRules).toEqual(['profanity.mild']);
    expect(config.scan).toEqual({
      jobs: 4,
      timeoutMs: 5000,
      memoryMb: 256,
      maxMessageBytes: 25 * 1048576,
      maxAttachmentBytes: 1.5 * 1073741824,
      maxTextChars: 1000,
      maxHtmlChars: 2000,
      maxAttachments: 7,
      maxDepth: 3,
      excerptContext: 10,
    });
    // A given routes table replaces the defaults rather than merging with them.
    expect(config.routes).toEqual({
      safeguarding: { categories: ['safety.*'], minSeverity: 'moderate', to: [], academies: {}, copy: 'full' },
      everything: { categories: ['*'], minSeverity: 'minor', to: [], academies: {}, copy: 'full' },
    });
    expect(config.log.level).toBe('debug');
  });

  it('replaces the personal domain list when personalDomains is given', () => {
    const file = writeConfig('trust:\n  personalDomains: [only.example]\n  extraPersonalDomains: [also.example]\n');
    expect(loadConfig(file).trust.personalDomains).toEqual(['only.example', 'also.example']);
  });

  it('resolves relative paths against the config file folder, not the working directory', () => {
    const nested = join(dir, 'etc', 'kestrel');
    mkdirSync(nested, { recursive: true });
    const file = writeConfig(
      `trust:\n  directoryCsv: ../people.csv\nlexicons: [words, /opt/kestrel/lexicons]\n`,
      'etc/kestrel/kestrel.yaml',
    );
    process.chdir(startCwd);
    const config = loadConfig(file);
    expect(config.trust.directoryCsv).toBe(join(dir, 'etc', 'people.csv'));
    expect(config.lexicons).toEqual([join(nested, 'words'), '/opt/kestrel/lexicons']);
  });

  it('reports a misspelt key with its line and path, and suggests the right one', () => {
    const file = writeConfig('trust:\n  name: Riverbank\n  domians: [riverbank-trust.sch.uk]\n');
    expect(problemsOf(() => loadConfig(file))).toEqual([
      `${file}:3: trust.domians: unknown key (did you mean "domains"?)`,
    ]);
  });

  it('reports an unknown top-level key without a guess when nothing is close', () => {
    const file = writeConfig('trust: {}\nbananas: 3\n');
    expect(problemsOf(() => loadConfig(file))).toEqual([`${file}:2: bananas: unknown key`]);
  });

  it('names scan.maxMessageBytes when its size is unreadable', () => {
    const file = writeConfig('scan:\n  jobs: 2\n  maxMessageBytes: lots\n');
    expect(problemsOf(() => loadConfig(file))).toEqual([
      `${file}:3: scan.maxMessageBytes: expected a size like 512KB or 25MB, got "lots"`,
    ]);
  });

  it('rejects an unknown severity in routes', () => {
    const file = writeConfig('routes:\n  urgent:\n    categories: ["*"]\n    minSeverity: critical\n');
    expect(problemsOf(() => loadConfig(file))).toEqual([
      `${file}:4: routes.urgent.minSeverity: expected minor, moderate, severe or urgent, got "critical"`,
    ]);
  });

  it('rejects a malformed category pattern', () => {
    const file = writeConfig('routes:\n  dpo: { categories: ["personal_data*"] }\n');
    const [problem] = problemsOf(() => loadConfig(file));
    expect(problem).toMatch(new RegExp(`^${escape(file)}:2: routes\\.dpo\\.categories\\[0\\]: expected "\\*"`));
  });

  it('lists every problem at once, in file order, each with its own line', () => {
    const file = writeConfig(
      [
        'log:',
        '  level: loud',
        'trust:',
        '  domains:',
        '    - riverbank-trust.sch.uk',
        '    - 42',
        '    - "@bad domain"',
        '  pupils: ["/([a-z/"]',
        'scan:',
        '  jobs: -1',
        '  timeoutMs: "10s"',
        '  memoryMb: 1.5',
        '',
      ].join('\n'),
    );
    expect(problemsOf(() => loadConfig(file))).toEqual([
      `${file}:2: log.level: expected fatal, error, warn, info, debug, trace or silent, got "loud"`,
      `${file}:6: trust.domains[1]: expected string, received number`,
      `${file}:7: trust.domains[2]: expected a domain like riverbank-trust.sch.uk, got "@bad domain"`,
      expect.stringMatching(new RegExp(`^${escape(file)}:8: trust\\.pupils\\[0\\]: bad regular expression: `)),
      `${file}:10: scan.jobs: expected at least 0, got -1`,
      `${file}:11: scan.timeoutMs: expected number, received string`,
      `${file}:12: scan.memoryMb: expected a whole number, got 1.5`,
    ]);
  });

  it('reports a YAML syntax error with its line', () => {
    const file = writeConfig('trust:\n  name: ok\n  domains: [a.sch.uk\nscan:\n  jobs: 1\n');
    const problems = problemsOf(() => loadConfig(file));
    expect(problems.length).toBeGreaterThan(0);
    for (const problem of problems) expect(problem).toMatch(new RegExp(`^${escape(file)}:[3-5]: `));
  });

  it('reports duplicate keys as errors rather than letting the last one win', () => {
    const file = writeConfig('trust:\n  name: A\n  name: B\n');
    expect(problemsOf(() => loadConfig(file))).toEqual([`${file}:3: Map keys must be unique`]);
  });

  it('complains when the document is not a mapping', () => {
    expect(problemsOf(() => parseConfig('k.yaml', '- a\n- b\n'))).toEqual(['k.yaml:1: expected object, received array']);
  });

  it('gives chain-mail, pupil-email and acceptable-use settings their defaults and checks them', () => {
    const config = defaultConfig();
    expect(config.chainMail).toEqual({ fanOutRecipients: 8, spread: { enabled: true, windowHours: 72, minSenders: 3 } });
    expect(config.pupilEmail).toEqual({ socialAccounts: [] });
    expect(config.acceptableUse).toEqual({ massMailingRecipients: 50, authservIds: [], senderServiceDomains: [] });
    expect(problemsOf(() => parseConfig('k.yaml', 'chainMail:\n  spread:\n    minSenders: 1\n'))[0]).toMatch(/^k\.yaml:3: chainMail\.spread\.minSenders: /);
    expect(problemsOf(() => parseConfig('k.yaml', 'trust:\n  leaders: [{ name: Helen Carter, addresses: [not-an-address] }]\n'))[0]).toBe('k.yaml:2: trust.leaders[0].addresses[0]: expected an address like head@example.org, got "not-an-address"');
  });
});

describe('delivery config', () => {
  const trust = 'trust:\n  domains: [riverbank-trust.sch.uk]\n  academies: [{ name: Riverbank Academy, patterns: ["*@riverbank-trust.sch.uk"] }]\n';
  const smtp = 'delivery:\n  from: "Kestrel <kestrel@riverbank-trust.sch.uk>"\n  reviewUrl: https://kestrel.riverbank-trust.sch.uk/\n  smtp: { host: relay.riverbank-trust.sch.uk }\n';

  it('sends nothing by default: every route has no recipients, dpo and record have no copy, ict a digest', () => {
    const config = defaultConfig();
    expect(Object.fromEntries(Object.entries(config.routes).map(([name, r]) => [name, [r.copy, r.to.length]]))).toEqual({
      monitor: ['full', 0],
      urgent: ['full', 0],
      dpo: ['none', 0],
      ict: ['digest', 0],
      record: ['none', 0],
    });
    expect(config.delivery.reviewUrl).toBeUndefined();
    expect(config.delivery).toMatchObject({ attempts: 10, escalation: { afterMinutes: 30, to: [] }, timeZone: 'Europe/London', digest: { at: '07:00' } });
  });

  it('accepts trust recipients reachable by SMTP or IMAP, with an academy DSL', () => {
    const config = parseConfig(
      'k.yaml',
      `${trust}${smtp}  imap:\n    - { address: head@riverbank-trust.sch.uk, host: imap.example.org, user: head, password: { env: HEAD_PW }, ca: certs/ca.pem }\n` +
        'routes:\n  monitor:\n    categories: ["safety.*"]\n    to: [Head@riverbank-trust.sch.uk]\n    academies: { Riverbank Academy: [dsl@riverbank-trust.sch.uk] }\n',
    );
    expect(config.routes['monitor']).toMatchObject({ to: ['head@riverbank-trust.sch.uk'], copy: 'full', academies: { 'Riverbank Academy': ['dsl@riverbank-trust.sch.uk'] } });
    expect(config.delivery.imap[0]!.ca).toBe(resolve('certs/ca.pem'));
    expect(config.delivery.smtp).toMatchObject({ tls: 'starttls', maxConnections: 3, timeoutSeconds: 60 });
    expect(config.delivery.reviewUrl).toBe('https://kestrel.riverbank-trust.sch.uk');
  });

  it('refuses a recipient outside the trust, one with no way to be reached, an unknown academy, and a missing sender', () => {
    const problems = problemsOf(() =>
      parseConfig(
        'k.yaml',
        `${trust}delivery:\n  escalation: { to: [deputy@gmail.com] }\nroutes:\n  monitor:\n    categories: ["safety.*"]\n    to: [head@riverbank-trust.sch.uk]\n    academies: { Hilltop Academy: [dsl@riverbank-trust.sch.uk] }\n`,
      ),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/routes\.monitor\.to\[0\]: no way to deliver to head@riverbank-trust\.sch\.uk: set delivery\.smtp/),
        expect.stringMatching(/routes\.monitor\.academies\["Hilltop Academy"\]: "Hilltop Academy" is not one of trust\.academies/),
        expect.stringMatching(/delivery\.escalation\.to\[0\]: deputy@gmail\.com is not in trust\.domains/),
        expect.stringMatching(/delivery\.from: copies need a sender/),
      ]),
    );
    expect(problemsOf(() => parseConfig('k.yaml', `${trust}delivery:\n  from: kestrel@gmail.com\n  reviewUrl: https://k.example.org\n`))).toEqual([expect.stringMatching(/delivery\.from: kestrel@gmail\.com is not in trust\.domains/)]);
    // Without trust domains nothing could be checked: sending copies is refused.
    expect(problemsOf(() => parseConfig('k.yaml', `${smtp}routes:\n  monitor: { categories: ["safety.*"], to: [someone@gmail.com] }\n`))).toEqual([expect.stringMatching(/trust\.domains: copies go to trust addresses only/)]);
    expect(problemsOf(() => parseConfig('k.yaml', `${trust}delivery:\n  from: kestrel@riverbank-trust.sch.uk\n  backoffSeconds: 600\n  maxBackoffSeconds: 60\n`))).toEqual([
      expect.stringMatching(/delivery\.reviewUrl: set the address of the review UI/),
      expect.stringMatching(/delivery\.maxBackoffSeconds: must be at least backoffSeconds \(600\)/),
    ]);
    expect(problemsOf(() => parseConfig('k.yaml', `${trust}routes:\n  escalation: { categories: ["*"], copy: none }\n`))).toEqual([expect.stringMatching(/routes\.escalation: the route name "escalation" is reserved/)]);
    expect(problemsOf(() => parseConfig('k.yaml', 'delivery:\n  smtp: { host: relay.example.org, tls: none }\n'))).toEqual([expect.stringMatching(/delivery\.smtp\.tls: none is allowed only for a loopback host/)]);
    expect(problemsOf(() => parseConfig('k.yaml', 'delivery:\n  timeZone: Mars/Olympus\n  digest: { at: "7am" }\n'))).toHaveLength(2);
  });

  it('does not check recipients of routes that send nothing', () => {
    const config = parseConfig('k.yaml', `${trust}routes:\n  dpo:\n    categories: ["personal_data.*"]\n    to: [dpo@elsewhere.org]\n    copy: none\n`);
    expect(config.routes['dpo']!.to).toEqual(['dpo@elsewhere.org']);
  });
});

describe('yaml-source', () => {
  const text = 'top:\n  list:\n    - a\n    - b: 1\n      c: 2\n  empty:\n';

  it('finds lines of keys, sequence items and nested keys', () => {
    const source = parseYaml('f.yaml', text);
    expect(source.lineOf([])).toBe(1);
    expect(source.lineOf(['top'])).toBe(1);
    expect(source.lineOf(['top', 'list'])).toBe(2);
    expect(source.lineOf(['top', 'list', 0])).toBe(3);
    expect(source.lineOf(['top', 'list', 1, 'c'])).toBe(5);
    expect(source.lineOf(['top', 'empty'])).toBe(6);
  });

  it('falls back to the nearest existing ancestor', () => {
    const source = parseYaml('f.yaml', text);
    expect(source.lineOf(['top', 'list', 1, 'missing'])).toBe(4);
    expect(source.lineOf(['top', 'list', 9])).toBe(2);
    expect(source.lineOf(['top', 'empty', 'deeper'])).toBe(6);
  });

  it('validates a subtree and reports paths from the document root', () => {
    const source = parseYaml('lex.yaml', 'meta: {}\nwords:\n  - term: grooming\n  - term: 7\n');
    const schema = z.array(z.strictObject({ term: z.string() }));
    expect(problemsOf(() => validate(source, schema, ['words']))).toEqual(['lex.yaml:4: words[1].term: expected string, received number']);
    expect(validate(parseYaml('ok.yaml', 'words: [{term: a}]\n'), schema, ['words'])).toEqual([{ term: 'a' }]);
  });

  it('says when a required key is missing', () => {
    const source = parseYaml('x.yaml', 'a: 1\n');
    expect(problemsOf(() => validate(source, z.strictObject({ a: z.number(), b: z.string() })))).toEqual([
      'x.yaml:1: b: required (expected string)',
    ]);
  });

  it('quotes keys that are not plain words in paths', () => {
    const source = parseYaml('x.yaml', 'routes:\n  "my route": 3\n');
    expect(problemsOf(() => validate(source, z.strictObject({ routes: z.record(z.string(), z.string()) })))).toEqual([
      'x.yaml:2: routes["my route"]: expected string, received number',
    ]);
  });

  it('joins the problems into the error message', () => {
    const error = new SourceError(['a:1: one', 'a:2: two']);
    expect(error.message).toBe('a:1: one\na:2: two');
    expect(error.problems).toEqual(['a:1: one', 'a:2: two']);
  });
});

describe('parseByteSize', () => {
  it.each([
    [4096, 4096],
    ['4096', 4096],
    ['512KB', 512 * 1024],
    ['512 kb', 512 * 1024],
    ['25MB', 25 * 1048576],
    ['25M', 25 * 1048576],
    ['25MiB', 25 * 1048576],
    ['1.5 GB', 1.5 * 1073741824],
    ['100B', 100],
  ] as const)('reads %j', (input, bytes) => {
    expect(parseByteSize(input)).toBe(bytes);
  });

  it.each([['lots'], ['-5MB'], ['5 XB'], [-1], [1.5], [true], [''], ['MB']])('rejects %j', (input) => {
    expect(parseByteSize(input)).toBeUndefined();
  });
});

describe('matchesCategory', () => {
  it('matches *, exact names and prefix.*', () => {
    expect(matchesCategory('*', 'safety.grooming')).toBe(true);
    expect(matchesCategory('profanity', 'profanity')).toBe(true);
    expect(matchesCategory('profanity', 'profanity.mild')).toBe(false);
    expect(matchesCategory('safety.*', 'safety.grooming')).toBe(true);
    expect(matchesCategory('safety.*', 'safety.self_harm.method')).toBe(true);
    expect(matchesCategory('safety.*', 'safety')).toBe(true);
    expect(matchesCategory('safety.*', 'safetynet.x')).toBe(false);
    expect(matchesCategory('safety.*', 'personal_data.nhs')).toBe(false);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
