import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { parseConfig } from '../../src/config/load.js';
import { compileLexicons } from '../../src/lexicon/compile.js';
import { diffLexicons } from '../../src/lexicon/diff.js';
import { captureIo } from '../helpers/cli.js';
import { testRule as rule } from '../helpers/lexicon.js';

const file = (category: string, rules: string) => `category: ${category}\npolicy: 000_test.txt 1.1\nrules:\n${rules}`;

let dir: string;
let lexicons: string;
let mail: string;
let configFile: string;

async function run(argv: string[]) {
  const io = captureIo();
  const code = await main(argv, io);
  return { code, stdout: io.stdoutText(), stderr: io.stderrText() };
}

function message(name: string, body: string): void {
  writeFileSync(join(mail, name), `From: a@example.org\r\nTo: b@example.org\r\nSubject: s\r\nMessage-ID: <${name}@x>\r\n\r\n${body}\r\n`);
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'kestrel-tools-'));
  lexicons = join(dir, 'lexicons');
  mail = join(dir, 'mail');
  mkdirSync(lexicons);
  mkdirSync(mail);
  writeFileSync(
    join(lexicons, 'bully.yaml'),
    file(
      'safety.bullying',
      rule(
        'b.insult',
        `    terms: ["ugly", "loser"]
    requires:
      - terms: ["{you|ur}"]
        within: 2
        side: before
    context:
      - terms: ["{she|he} said"]
        within: 6
        score: -0.3
        severity: minor`,
      ) +
        rule('b.weak', '    weight: 0.3\n    terms: ["nobody likes"]') +
        rule('b.twice', '    terms: ["loser", "{loser|idiot}"]').replace('mustNotMatch: ["y"]', 'mustNotMatch: ["you loser"]'),
    ),
  );
  message('1.eml', 'you are so ugly');
  message('2.eml', 'ugly weather today');
  message('3.eml', 'she said you are ugly');
  message('4.eml', 'nobody likes mondays');
  configFile = join(dir, 'kestrel.yaml');
  writeFileSync(configFile, `builtinLexicons: false\nlexicons: [${lexicons}]\nlog: { level: error }\n`);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('kestrel explain', () => {
  it('says which rules counted, which were dropped and why, and how each category scored', async () => {
    const { code, stdout } = await run(['explain', '--config', configFile, join(mail, '1.eml'), join(mail, '2.eml'), join(mail, '3.eml'), join(mail, '4.eml')]);
    expect(code).toBe(0);
    const [one, two, three, four] = stdout.split('== ').slice(1);
    expect(one).toMatch(/\+ b\.insult \[safety\.bullying\] body "ugly": score 1\.00 \(weight 1\), moderate/);
    expect(one).toMatch(/safety\.bullying: 1\.00 >= threshold 0\.5: reported/);
    expect(one).toMatch(/verdict: flagged, moderate; routes: monitor/);
    expect(two).toMatch(/- b\.insult \[safety\.bullying\] body "ugly": dropped, requires\[0\] not found \(\{you\|ur\} within 2 before\)/);
    expect(two).toMatch(/verdict: not flagged/);
    expect(three).toMatch(/context\[0\] body "she said": score -0\.3, severity minor/);
    expect(three).toMatch(/score 0\.70 \(weight 1\), minor/);
    expect(four).toMatch(/\+ b\.weak .*score 0\.30/);
    expect(four).toMatch(/safety\.bullying: 0\.30 < threshold 0\.5: not reported/);
  });

  it('says when two rules of a category read the same words, and which one counts', async () => {
    const file = join(dir, 'same-words.eml');
    writeFileSync(file, 'From: a@example.org\r\nTo: b@example.org\r\nSubject: s\r\n\r\nshe said you are a loser\r\n');
    const { stdout } = await run(['explain', '--config', configFile, file]);
    expect(stdout).toMatch(/\+ b\.insult \[safety\.bullying\] body "loser": score 0\.70 \(weight 1\), minor; same words as b\.twice, which counts instead/);
    expect(stdout).toMatch(/\+ b\.twice \[safety\.bullying\] body "loser": score 1\.00 \(weight 1\), moderate\n/);
    expect(stdout).toMatch(/safety\.bullying: 1\.00 >= threshold 0\.5: reported/);
  });

  it('lists personal data with masked values and the reason each was accepted', async () => {
    const file = join(dir, 'referral.eml');
    writeFileSync(file, 'From: a@example.org\r\nTo: b@example.org\r\nSubject: s\r\n\r\nFor the referral: NHS number 943 476 5919, thanks.\r\n');
    const { stdout } = await run(['explain', '--config', configFile, file]);
    expect(stdout).toMatch(/other detectors \(personal data, pupil email, acceptable use; values masked\):\n  - personal_data\.nhs_number \(minor\): .*check digits valid, near "nhs number"/);
    expect(stdout).toContain('943 *** ****');
    expect(stdout).not.toContain('5919');
    expect(stdout).toMatch(/verdict: flagged, minor; routes: dpo/);
  });

  it('prints one JSON object per message with --json', async () => {
    const { stdout } = await run(['explain', '--json', '--config', configFile, join(mail, '2.eml')]);
    const line = JSON.parse(stdout) as { rules: Array<{ rule: string; outcome: string }>; report: { flagged: boolean } };
    expect(line.rules).toEqual([expect.objectContaining({ rule: 'b.insult', outcome: 'missing requirement' })]);
    expect(line.report.flagged).toBe(false);
  });
});

describe('kestrel lexicon check and test', () => {
  it('check lists duplicate phrases and examples another rule of the category flags', async () => {
    const { code, stdout, stderr } = await run(['lexicon', 'check', '--config', configFile]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/1 files, 3 rules, 0 sets: valid; [1-9]\d* warnings/);
    expect(stderr).toMatch(/b\.twice: terms "loser" and "\{loser\|idiot\}" both match "loser"/);
    expect(stderr).toMatch(/b\.twice: "loser" is also a term of b\.insult .*where both hit, the words count once towards safety\.bullying/);
    expect(stderr).toMatch(/b\.twice: mustNotMatch "you loser" is flagged by b\.insult/);
  });

  it('check does not call a weak rule a conflict when the category would not report the example', async () => {
    const weak = join(dir, 'weak');
    mkdirSync(weak);
    writeFileSync(
      join(weak, 'w.yaml'),
      file('safety.bullying', rule('w.strong', '    terms: ["loser"]').replace('mustNotMatch: ["y"]', 'mustNotMatch: ["nobody likes a loser"]') + rule('w.weak', '    weight: 0.3\n    terms: ["nobody likes"]')),
    );
    const config = join(dir, 'weak.yaml');
    writeFileSync(config, `builtinLexicons: false\nlexicons: [${weak}]\n`);
    const { stderr } = await run(['lexicon', 'check', '--config', config]);
    expect(stderr).not.toMatch(/w\.weak/);
  });

  it('test runs every example and exits 1 when one fails', async () => {
    const { code, stderr, stdout } = await run(['lexicon', 'test', '--config', configFile]);
    // "x" is not matched by any of these rules, so every mustMatch fails.
    expect(code).toBe(1);
    expect(stderr).toMatch(/b\.insult: expected match: "x"/);
    expect(stdout).toMatch(/3 rules, 6 examples, [1-9] failing/);
  });
});

describe('lexicon diff', () => {
  it('counts flags per category and rule under two lexicon versions and lists changed messages', async () => {
    const newer = join(dir, 'newer');
    mkdirSync(newer);
    writeFileSync(join(newer, 'bully.yaml'), file('safety.bullying', rule('b.insult', '    terms: ["ugly", "weather"]')));
    const config = parseConfig(configFile, `builtinLexicons: false\nlexicons: []\n`);
    const diff = await diffLexicons(config, compileLexicons([lexicons]), compileLexicons([newer]), [mail]);
    expect(diff.messages).toBe(4);
    expect(diff.categories).toEqual([{ name: 'safety.bullying', before: 2, after: 3 }]);
    expect(diff.rules).toEqual(expect.arrayContaining([{ name: 'b.insult', before: 2, after: 3 }]));
    expect(diff.changed.map((c) => c.file.split('/').pop())).toEqual(['2.eml']);
  });

  it('refuses a config without the built-in lexicons and an unknown git revision', async () => {
    const off = await run(['lexicon', 'diff', '--against', 'HEAD', '--config', configFile, mail]);
    expect(off.code).toBe(2);
    expect(off.stderr).toMatch(/builtinLexicons: false/);
    const on = join(dir, 'on.yaml');
    writeFileSync(on, 'log: { level: error }\n');
    const bad = await run(['lexicon', 'diff', '--against', 'no-such-revision-xyz', '--config', on, mail]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/cannot read lexicons at "no-such-revision-xyz"/);
  });
});
