import { describe, expect, it } from 'vitest';
import { compileLexicons } from '../../src/lexicon/compile.js';
import { SourceError } from '../../src/config/yaml-source.js';
import { lexiconFile, withLexiconDir } from '../helpers/lexicon.js';

const good = (id: string) => `  - id: ${id}
    description: d
    severity: minor
    terms: ["word"]
    mustMatch: ["word"]
    mustNotMatch: ["other"]
`;

function problems(files: Record<string, string>): string[] {
  return withLexiconDir(files, (dir) => {
    try {
      compileLexicons([dir]);
    } catch (error) {
      if (error instanceof SourceError) return error.problems;
      throw error;
    }
    return [];
  });
}

describe('lexicon loading', () => {
  it('loads valid files from nested folders', () => {
    const lexicon = withLexiconDir({ 'a/one.yaml': lexiconFile(good('a.one')), 'b.yml': lexiconFile(good('b.two')) }, (dir) => compileLexicons([dir]));
    expect(lexicon.rules.map((r) => r.id)).toEqual(['a.one', 'b.two']);
    expect(lexicon.rules[0]!.origin).toMatch(/one\.yaml:4$/);
  });

  it('reports a bad severity as file:line: path: reason', () => {
    const [problem] = problems({ 'x.yaml': lexiconFile(good('x.one').replace('severity: minor', 'severity: critical')) });
    expect(problem).toMatch(/x\.yaml:6: rules\[0\]\.severity: .*minor, moderate, severe or urgent/);
  });

  it('reports a broken pattern at the line of the term', () => {
    const text = lexiconFile(good('x.one').replace('terms: ["word"]', 'terms:\n      - fine\n      - "{broken"'));
    const [problem] = problems({ 'x.yaml': text });
    expect(problem).toMatch(/x\.yaml:9: unbalanced "\{"/);
  });

  it('rejects duplicate rule ids across files, naming both places', () => {
    const [problem] = problems({ 'a.yaml': lexiconFile(good('dup.id')), 'b.yaml': lexiconFile(good('dup.id')) });
    expect(problem).toMatch(/b\.yaml:4: rule id dup\.id is already used at .*a\.yaml:4/);
  });

  it('requires examples both ways and a policy clause', () => {
    const noExamples = lexiconFile(good('x.one').replace('    mustNotMatch: ["other"]\n', ''));
    expect(problems({ 'x.yaml': noExamples }).join('\n')).toMatch(/mustNotMatch/);
    const badPolicy = lexiconFile(good('x.two'), 'category: test.cat\npolicy: see the handbook\n');
    expect(problems({ 'x.yaml': badPolicy }).join('\n')).toMatch(/x\.yaml:2: policy: a policy is a policy file name/);
  });

  it('reports YAML syntax errors and lists every problem at once', () => {
    const all = problems({ 'a.yaml': 'category: [unclosed\n', 'b.yaml': lexiconFile(good('b.one').replace('minor', 'huge')) });
    expect(all).toHaveLength(2);
    expect(all[0]).toMatch(/^.*a\.yaml:\d+: /);
  });

  it('rejects conflicting thresholds for one category', () => {
    const header = (t: number) => `category: test.cat\npolicy: 000_test.txt 1.1\nthreshold: ${t}\n`;
    const [problem] = problems({ 'a.yaml': lexiconFile(good('a.one'), header(0.5)), 'b.yaml': lexiconFile(good('b.one'), header(0.8)) });
    expect(problem).toMatch(/b\.yaml:3: threshold 0\.8 for test\.cat differs from 0\.5 set at .*a\.yaml:3/);
  });

  it('leaves out disabled rules by id or prefix', () => {
    const lexicon = withLexiconDir({ 'a.yaml': lexiconFile(good('a.one') + good('a.two') + good('b.three')) }, (dir) =>
      compileLexicons([dir], { disabledRules: ['a.one', 'b'] }),
    );
    expect(lexicon.rules.map((r) => r.id)).toEqual(['a.two']);
  });
});

describe('lexicon paths', () => {
  it('reports a path that does not exist as a lexicon problem, not a crash', () => {
    expect(() => compileLexicons(['/nonexistent/kestrel-lexicons'])).toThrow(SourceError);
    expect(() => compileLexicons(['/nonexistent/kestrel-lexicons'])).toThrow(/kestrel-lexicons: cannot read lexicons: no such file or folder/);
  });
});

describe('term sets', () => {
  const withSets = (sets: string, rules: string) =>
    withLexiconDir({ 'sets.yaml': sets, 'rules.yaml': lexiconFile(rules) }, (dir) => compileLexicons([dir]));

  it('lets any file use a set defined in another as @name', () => {
    const lexicon = withSets('sets:\n  reporting: ["{he|she} said", "told me"]\n', good('a.one').replace('terms: ["word"]', 'terms: ["@reporting that"]'));
    expect(lexicon.rules).toHaveLength(1);
  });

  it('reports unknown sets at the term, bad set phrases at the set, and duplicate names', () => {
    const unknown = problems({ 'r.yaml': lexiconFile(good('a.one').replace('terms: ["word"]', 'terms: ["@missing"]')) });
    expect(unknown.join('\n')).toMatch(/r\.yaml:7: unknown set "@missing"/);
    const broken = problems({ 's.yaml': 'sets:\n  bad:\n    - fine\n    - "{oops"\n' });
    expect(broken.join('\n')).toMatch(/s\.yaml:4: unbalanced "\{"/);
    const twice = problems({ 'a.yaml': 'sets:\n  x: [one]\n', 'b.yaml': 'sets:\n  x: [two]\n' });
    expect(twice.join('\n')).toMatch(/b\.yaml:2: set @x is already defined at .*a\.yaml:2/);
    const self = problems({ 's.yaml': 'sets:\n  loop: ["@loop again"]\n' });
    expect(self.join('\n')).toMatch(/refers to itself/);
  });

  it('requires category and policy in a file with rules, and rules or sets in every file', () => {
    expect(problems({ 'x.yaml': `rules:\n${good('a.one')}` }).join('\n')).toMatch(/x\.yaml:1: category: required when the file has rules/);
    expect(problems({ 'x.yaml': 'description: nothing here\n' }).join('\n')).toMatch(/needs rules, sets, or both/);
  });
});
