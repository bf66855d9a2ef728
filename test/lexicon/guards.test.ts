/**
 * Guards over the whole shipped lexicon set, whichever file a rule lives in: sentences that must
 * never raise a safety concern (identity words in neutral or supportive use, place names and words
 * with a rude word inside, lessons, idioms), and a few that must. Each rule's own examples test
 * the rule; these catch one category's rule tripping over another's territory.
 */
import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/config/load.js';
import { createScanner } from '../../src/scan/pipeline.js';

const scanner = createScanner(defaultConfig());

async function categoriesOf(body: string, subject = 'Message'): Promise<string[]> {
  const raw = Buffer.from(`From: a.teacher@example.sch.uk\r\nTo: b.teacher@example.sch.uk\r\nSubject: ${subject}\r\n\r\n${body}\r\n`);
  return (await scanner.scan(raw)).categories;
}

const IDENTITY = [
  'My best friend came out as gay last year and I am so proud of her.',
  'Our LGBT+ society meets on Thursdays; everyone is welcome, including trans and non-binary students.',
  'Eid Mubarak to all our Muslim families from everyone at the academy!',
  'The Jewish community centre is hosting our Year 8 visit for Hanukkah.',
  'Black History Month assembly: pupils will present on the Windrush generation.',
  'Please make sure the disabled toilet on the ground floor is kept free of boxes.',
  'I am autistic and the quiet room really helps me at lunchtime.',
  'Mental Health Awareness Week starts on Monday with a wellbeing walk.',
  'Miss, I am on my period and need to go to the medical room please.',
  'We are a lesbian couple and would like both of us on the parent contact list.',
  'Sikh pupils may carry a kirpan in line with our uniform and faith policy.',
  'She uses a wheelchair, so the trip coach must have a ramp.',
  'Our Gypsy, Roma and Traveller families liaison officer visits on Tuesday.',
  'The Polish Saturday school would like to use the hall.',
];

const SCUNTHORPE = [
  'The fixture against Scunthorpe has moved to Saturday.',
  // Numbers among numbers are data, not the 14/88 slogan.
  'Candidate,Score,Paper\n1488,14,88\n1489,88,14\n"Pupil 1488",14/02/2011,943 476 5919',
  'Staff cocktail evening at the Penistone Arms on Friday.',
  'We will assess the analysis in the Dickens essay next week.',
  'Trips to Sussex, Essex and Middlesex are planned for the summer.',
  'The therapist will see Year 10 in the pastoral hub.',
  'Shiitake mushrooms are on the food technology ingredient list.',
  'Please press the button by the title page to pass the class register.',
];

const LESSONS_AND_IDIOMS = [
  'In Lord of the Flies the boys chant "Kill the beast! Cut his throat!" as the violence escalates.',
  'Year 9 history: the Holocaust, the Nazi rise to power and the role of propaganda.',
  'Our RE unit compares how Christianity, Islam and Judaism think about jihad, crusade and peace.',
  'I nearly died laughing at the Year 7 panto, it was brilliant.',
  'This marking is killing me, I am dead on my feet.',
  'DT reminder: knives in the food room are counted out and back in at every lesson.',
  'The suicide prevention training for all staff is on the INSET day.',
  'Geography: the earthquake killed thousands of people and destroyed the city.',
  'Macbeth murders Duncan in Act 2 and is haunted by the blood on his hands.',
  'Biology homework: label the male and female reproductive systems.',
  'Our RSE letter explains the puberty lessons for Year 6 parents.',
  'Online safety INSET: how groomers ask children to keep secrets and move to private apps.',
];

const MUST_FLAG: Array<[string, string]> = [
  ['I just want to kill myself tonight', 'safety.self_harm'],
  ["I'm going to stab you after school", 'safety.violence'],
  ['everyone hates you, no one would care if you died', 'safety.bullying'],
];

describe('shipped lexicons never flag identity words in neutral or supportive use', () => {
  it.each(IDENTITY)('%s', async (text) => {
    expect((await categoriesOf(text)).filter((c) => c.startsWith('safety.'))).toEqual([]);
  });
});

describe('shipped lexicons never flag words that only contain a rude word', () => {
  it.each(SCUNTHORPE)('%s', async (text) => {
    expect(await categoriesOf(text)).toEqual([]);
  });
});

describe('shipped lexicons do not flag lessons, training and idioms as safety concerns', () => {
  it.each(LESSONS_AND_IDIOMS)('%s', async (text) => {
    expect((await categoriesOf(text)).filter((c) => c.startsWith('safety.'))).toEqual([]);
  });
});

describe('shipped lexicons flag plain harm', () => {
  it.each(MUST_FLAG)('%s', async (text, category) => {
    expect(await categoriesOf(text)).toContain(category);
  });
});

// Plain words that page a human, and the same words inside quotation marks: still copied, never paged.
const URGENT_UNLESS_QUOTED: Array<[string, string]> = [
  ['I am going to kill myself tonight.', 'My friend texted me "I am going to kill myself tonight" and I do not know what to do.'],
  ["I'm going to stab you after school.", 'The song goes “I\'m going to stab you after school”, which is grim.'],
  ['There is a bomb in the school and it will go off at 2.', 'The film opens with «There is a bomb in the school and it will go off at 2» on screen.'],
];

describe('urgent words page a human, but not the same words in quotation marks', () => {
  const scanWith = (scan: ReturnType<typeof createScanner>) => async (body: string) =>
    scan.scan(Buffer.from(`From: a@example.org\r\nTo: b@example.org\r\nSubject: Message\r\n\r\n${body}\r\n`));
  const scan = scanWith(scanner);

  it.each(URGENT_UNLESS_QUOTED)('%s', async (plain, quoted) => {
    const direct = await scan(plain);
    expect([direct.severity, direct.urgent]).toEqual(['urgent', true]);
    const reported = await scan(quoted);
    expect(reported.categories.filter((c) => c.startsWith('safety.'))).not.toEqual([]);
    expect([reported.severity, reported.urgent]).toEqual(['severe', false]);
  });

  it('still pages when only words beside the threat are quoted', async () => {
    for (const body of ['Mum texted "no" I am going to kill myself tonight.', 'I watched "Frozen" again. I am going to kill myself tonight.']) {
      const verdict = await scan(body);
      expect([verdict.severity, verdict.urgent]).toEqual(['urgent', true]);
    }
  });

  it('lowers nothing but urgent, and pages for quotations too when the trust says so', async () => {
    const severe = 'nobody would even notice if i was gone';
    expect((await scan(severe)).severity).toBe('severe');
    expect((await scan(`"${severe}"`)).severity).toBe('severe');
    const config = defaultConfig();
    config.contextSeverity = { in_quotes: 'urgent' };
    const paging = await scanWith(createScanner(config))(URGENT_UNLESS_QUOTED[0]![1]);
    expect([paging.severity, paging.urgent]).toEqual(['urgent', true]);
  });
});
