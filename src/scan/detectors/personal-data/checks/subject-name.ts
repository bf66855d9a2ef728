/**
 * A person named in the Subject with the matter that concerns them ("PEP - Tyler Brooks (LAC)"):
 * subjects show in inbox lists, notifications and search results, which is why the trust's policy
 * says "if the e-mail concerns an individual, do not name them in the subject field". A name
 * alone is ordinary ("Parents evening for Jack"); a name beside a welfare or SEN matter is not.
 * Names come from the <name> word class, then compromise's people() over the (short) subject.
 */
import nlp from 'compromise';
import type { CheckContext, MessageCheck } from '../detector.js';
import type { AnalysedMessage, Finding } from '../../../types.js';

const POLICY = '003_c7be022a1d032c68.txt 4';

/** Matters about an individual that a subject must not pair with their name. */
const MATTER_WORD =
  /\b(?:child protection|safeguarding|looked[- ]after|social (?:care|worker)|referral|disclosure|allegation|exclusion|excluded|suspension|suspended|medical|diagnosis|care plan|welfare|self[- ]harm|behaviour|attendance|court|police|early help|young carer|concern)\b/i;
/** Acronyms only in capitals: "send", "pep" and "lac" in lower case are other words ("Please send Jack ..."). */
const MATTER_ACRONYM = /\b(?:LAC|CLA|PEP|CP|CIN|CPOMS|MASH|EHCP?|SEND?|IHCP|CAMHS)\b/;
/** Titles mark staff and other adults ("Mrs Patel"), who are named in subjects as a matter of course. */
const TITLE = /\b(?:mr|mrs|ms|miss|mx|dr|prof|sir|dame|rev)\.?\s*$/i;

const TITLE_WORD = /^(?:mr|mrs|ms|miss|mx|dr|prof|sir|dame|rev)\b/i;
const NAME_WORDS = /^\p{Lu}\p{Ll}[\p{L}'’-]*(?:\s+\p{Lu}[\p{L}'’-]*)*$/u;

function maskName(name: string): string {
  return name.replace(/(\p{L})([\p{L}'’-]*)/gu, (_, first: string, rest: string) => first + '*'.repeat(rest.length));
}

/** Name spans from the word class and from compromise, merged where they touch ("Tyler" + "Tyler Brooks"). */
function namesIn(subject: string, tokenNames: ReadonlyArray<{ start: number; end: number }>): Array<{ start: number; end: number }> {
  const spans = [...tokenNames];
  for (const person of nlp(subject).people().json({ offset: true }) as Array<{ offset?: { start: number; length: number } }>) {
    if (!person.offset) continue;
    // compromise's offsets take in trailing punctuation ("Ruby Hartley -").
    const text = subject.slice(person.offset.start, person.offset.start + person.offset.length);
    spans.push({ start: person.offset.start, end: person.offset.start + text.replace(/[^\p{L}]+$/u, '').length });
  }
  spans.sort((a, b) => a.start - b.start);
  const merged: Array<{ start: number; end: number }> = [];
  for (const span of spans) {
    const last = merged[merged.length - 1];
    if (last && span.start <= last.end + 1 && /^\s*$/.test(subject.slice(last.end, span.start))) last.end = Math.max(last.end, span.end);
    else merged.push({ ...span });
  }
  // compromise also offers capitalised acronyms and common nouns ("SEN pupil"): keep names written
  // as names, and not titled adults ("Mrs Patel"), with the title inside the span or before it.
  return merged.filter((s) => {
    const name = subject.slice(s.start, s.end);
    return NAME_WORDS.test(name) && !TITLE_WORD.test(name) && !TITLE.test(subject.slice(0, s.start));
  });
}

export const subjectName: MessageCheck = {
  id: 'personal_data.subject_name',
  check(message: AnalysedMessage, context: CheckContext): Finding[] {
    const field = message.fields.findIndex((f) => f.field === 'subject');
    if (field < 0) return [];
    const subject = message.fields[field]!;
    const matter = [MATTER_ACRONYM.exec(subject.text), MATTER_WORD.exec(subject.text)]
      .filter((m) => m !== null)
      .sort((a, b) => a.index - b.index)[0];
    if (!matter) return [];
    const partyNames = new Set(
      [message.from, ...message.to, ...message.cc].flatMap((p) => (p?.name ? p.name.toLowerCase().split(/\s+/) : [])),
    );
    const tokenNames = subject.tokens.filter((t) => t.variants.includes('<name>')).map((t) => ({ start: t.start, end: t.end }));
    const names = namesIn(subject.text, tokenNames).filter((s) => {
      const words = subject.text.slice(s.start, s.end).toLowerCase().split(/\s+/);
      return !words.every((w) => partyNames.has(w.replace(/['’]s$/, '')));
    });
    if (names.length === 0) return [];
    const first = names.sort((a, b) => a.start - b.start)[0]!;
    return [
      {
        rule: 'personal_data.subject_name',
        description: `A person is named in the subject beside "${matter[0]}"`,
        category: 'personal_data.subject_name',
        severity: context.severityFor('special'),
        score: 0.8,
        policy: POLICY,
        // Every name is masked, not only the first, and so are the recognizers' values (a UPN in the subject).
        evidence: [context.evidence(field, first.start, first.end, names.map((n) => ({ ...n, mask: maskName })))],
      },
    ];
  },
};
