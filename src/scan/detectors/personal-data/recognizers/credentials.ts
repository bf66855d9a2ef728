/**
 * Credentials: a password, passcode, PIN or door code written into a mail, and API keys and
 * private keys pasted from a developer's screen. School mail talks about passwords far more often
 * than it contains one: reset instructions, policy reminders, phishing warnings that quote the
 * lure, "I forgot my password". So a value counts only where the sentence gives it as the secret
 * (`password: X`, `password is X`, `pass for the maths site is X`, `username jsmith password X`,
 * `reset her password to X`, `use X as the password`, `login is jsmith / X`, `PIN 4821`), and it
 * must read as the value, not as the next word of the sentence:
 *   - it is not a function word or a word of talk about passwords (reset, expired, here, below);
 *   - a plain word must end its clause ("is dragon." but not "is changing next week");
 *   - after a bare label with no username before it, it must have a digit in it (`password Ex4ms25`).
 * Dictionary words are not refused as such: most real passwords are one ("summer", "football").
 * Keys have fixed shapes (AKIA..., ghp_..., xoxb-..., -----BEGIN PRIVATE KEY-----) and count alone.
 * Credentials are masked completely: any readable part is a head start to whoever sees the alert.
 */
import type { FieldView } from '../field-view.js';
import { patternRecognizer } from '../recognizer.js';

/** The words that introduce a secret. Plurals are left out: "passwords must ..." is policy. */
const SECRET_LABEL = String.raw`(?:pass ?word|passwd|pwd|pw|passcode|passphrase|(?:door|access|entry|alarm|keypad|lock|gate|wi-?fi) code)`;
/** `for the maths website`, `to the shared exams account`: what the secret opens. */
const QUALIFIER = String.raw`(?:\s+(?:for|to|on|of)(?:\s+[\p{L}\p{N}'’.@\-]+){1,5}?)`;
/** `:`, `=`, `is`, `'s`, `will be`, ` - `: what stands between a label and its value. */
const SEPARATOR = String.raw`(?:\s*[:=]|\s+(?:is|was|will be|would be|remains|stays)(?:\s*:)?|['’]s|\s+[-–—])\s*`;
/** Quotes people put round a value: `password "dragon"`. */
const QUOTE = `["'“”‘’]?`;
const VALUE_CHARS = String.raw`[^\s"'“”‘’<>()\[\]{}]`;
/** Trailing punctuation belongs to the sentence, not the password. */
const VALUE_END = String.raw`(?=${QUOTE}[.,;:!?)\]]*(?:\s|$))`;
/** A password: no spaces, 4 to 64 characters. */
const VALUE = String.raw`${QUOTE}(?<value>${VALUE_CHARS}{4,64}?)${VALUE_END}`;
const EDGE = String.raw`(?<![\p{L}\p{N}_])`;
/** The words that name the account a password opens, before its name: `username jsmith`, `log in as jsmith`. */
const LOGIN_NAME = String.raw`(?:user(?: ?name)?|login|log-?in|log(?:ged)?[ -]?(?:in|on) as|sign(?:ed)?[ -]?in as|network|ssid|account|email)`;

// The patterns below carry the `d` flag: a password may repeat its label (`password: password`),
// and the value's offset must come from the match, not from searching the match for its text.

/**
 * `password: X`, `password is X`, `pass for the maths website is X`. A bare "pass" only counts
 * with what it opens: "bus pass is", "pass on to parents:" are not about secrets.
 */
const LABELLED = new RegExp(String.raw`${EDGE}(?:${SECRET_LABEL}${QUALIFIER}?|pass${QUALIFIER})${SEPARATOR}${VALUE}`, 'dgiu');
/** `username jsmith password X`, `network OakfieldStaff, password X`: a login pair. */
const AFTER_LOGIN_NAME = new RegExp(
  String.raw`${EDGE}${LOGIN_NAME}\s*:?\s+(?!(?:and|or|&|\/)\s)[^\s,;/]+(?:\s*[,;/]\s*|\s+)(?:and\s+)?(?:${SECRET_LABEL}|pass)\s*:?\s+${VALUE}`,
  'dgiu',
);
/** `I've reset Jack's password to charlie`, `password changed to X`. */
const SET_TO = new RegExp(
  String.raw`${EDGE}(?:(?:(?:re)?set|chang(?:e|ed)|updated?)\s+(?:[\p{L}\p{N}'’]+\s+){0,3}?${SECRET_LABEL}|${SECRET_LABEL}\s+(?:has\s+been\s+|was\s+|is\s+|now\s+)?(?:(?:re)?set|changed|updated))\s+(?:back\s+)?to\s+${VALUE}`,
  'dgiu',
);
/** `log in with password X`, `using the password X`. */
const WITH_PASSWORD = new RegExp(String.raw`${EDGE}(?:with|using)\s+(?:the\s+)?(?:${SECRET_LABEL}|pass)\s+${VALUE}`, 'dgiu');
/** `use dragon as the password`: the value before its label. */
const USE_AS = new RegExp(
  String.raw`${EDGE}(?:use|try|enter|type)\s+${VALUE}\s+as\s+(?:the\s+|your\s+|her\s+|his\s+|my\s+|a\s+)?(?:${SECRET_LABEL}|pin)`,
  'dgiu',
);
/** `the code for the staff room door is 4821`: a code that opens something. */
const DOOR_CODE = new RegExp(
  String.raw`${EDGE}code\s+(?:for|to|on)\s+(?:the\s+)?(?:[\p{L}'’-]+\s+){0,3}?(?:door|gate|safe|key ?safe|alarm|keypad|lock|locker|padlock|entrance|wi-?fi)${SEPARATOR}${VALUE}`,
  'dgiu',
);
/** `password Ex4ms!2025`, `PIN 4821`: a bare label before a value with a digit in it. */
const BARE = new RegExp(
  String.raw`${EDGE}(?:${SECRET_LABEL}|pin(?: code| number)?)\s+${QUOTE}(?<value>(?=\S*\d)${VALUE_CHARS}{4,64}?)${VALUE_END}`,
  'dgiu',
);
/** `PIN: 4821`, `PIN for the copier is 4821`: PINs are digits only, which keeps "pin the poster up" out. */
const PIN = new RegExp(String.raw`${EDGE}pin(?: code| number| no\.?)?${QUALIFIER}?${SEPARATOR}(?<value>\d{4,8})(?!\p{N})`, 'dgiu');
/** `your login is jsmith / Secret12`: the value after the slash. */
const LOGIN_SLASH = new RegExp(
  String.raw`${EDGE}(?:login|log-?in|logon|username|user ?name)(?:\s+details)?${SEPARATOR}[^\s/]+\s*\/\s*(?:${SECRET_LABEL}\s*:?\s*)?${VALUE}`,
  'dgiu',
);

const API_KEYS: ReadonlyArray<{ name: string; regex: RegExp }> = [
  { name: 'AWS access key', regex: /(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])/g },
  { name: 'GitHub token', regex: /(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{22,255})(?![A-Za-z0-9_])/g },
  { name: 'Slack token', regex: /(?<![A-Za-z0-9-])xox[abposr]-[A-Za-z0-9-]{10,200}/g },
  { name: 'Google API key', regex: /(?<![A-Za-z0-9_-])AIza[0-9A-Za-z_-]{35}(?![A-Za-z0-9_-])/g },
  { name: 'Stripe secret key', regex: /(?<![A-Za-z0-9_])(?:sk|rk)_live_[0-9A-Za-z]{16,247}(?![A-Za-z0-9_])/g },
  {
    name: 'private key',
    regex: /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----[^-]{0,20000}(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----)?/g,
  },
];

/**
 * Words that follow "password" in talk about passwords rather than in front of one: function
 * words, and the verbs, adjectives and nouns of reset instructions, policy and phishing lures.
 */
const NOT_A_PASSWORD = new Set([
  'a', 'an', 'the', 'this', 'that', 'these', 'those', 'it', 'its', 'is', 'was', 'are', 'be', 'been', 'being',
  'will', 'would', 'should', 'must', 'can', 'could', 'may', 'might', 'shall', 'has', 'have', 'had', 'do', 'does',
  'did', 'not', 'no', 'never', 'and', 'or', 'but', 'nor', 'so', 'if', 'then', 'than', 'as', 'at', 'by', 'for',
  'from', 'in', 'into', 'of', 'on', 'onto', 'to', 'with', 'within', 'without', 'via', 'through', 'using', 'up',
  'out', 'about', 'after', 'before', 'when', 'while', 'until', 'unless', 'because', 'you', 'your', 'yours', 'my',
  'mine', 'me', 'i', 'we', 'us', 'our', 'they', 'them', 'their', 'he', 'him', 'his', 'she', 'her', 'hers', 'who',
  'which', 'what', 'where', 'how', 'why', 'there', 'here', 'below', 'above', 'attached', 'enclosed', 'included',
  'following', 'same', 'different', 'again', 'twice', 'now', 'yet', 'still', 'also', 'too', 'only', 'just',
  'please', 'reset', 'resets', 'change', 'changes', 'changed', 'expired', 'expires', 'expiry', 'expiring',
  'policy', 'policies', 'protected', 'manager', 'managers', 'strength', 'strong', 'weak', 'secure', 'safe',
  'required', 'requirements', 'rules', 'field', 'box', 'prompt', 'page', 'link', 'form', 'hint', 'hints',
  'file', 'files', 'hash', 'hashes', 'cracking', 'checking', 'length', 'characters', 'character', 'letters',
  'digits', 'numbers', 'symbols', 'correct', 'incorrect', 'wrong', 'invalid', 'valid', 'sent', 'emailed',
  'texted', 'shared', 'needed', 'forgotten', 'forgot', 'lost', 'known', 'unknown', 'blank', 'empty', 'case',
  'sensitive', 'hidden', 'encrypted', 'stored', 'saved', 'set', 'updated', 'provided', 'given', 'issued',
  'available', 'separately', 'securely', 'immediately', 'regularly', 'today', 'tomorrow', 'soon', 'later',
  'something', 'anything', 'nothing', 'everything', 'one', 'none', 'usual', 'default', 'temporary', 'new', 'old',
  'current', 'previous', 'next', 'due', 'protection', 'authentication', 'login', 'logins', 'fine', 'okay',
  'working', 'right', 'good', 'bad', 'easy', 'hard', 'simple', 'long', 'short', 'obvious', 'personal',
  'yourpassword', 'mypassword',
]);

/** A value with a digit or a symbol in it, or with capitals inside: shaped like a secret. */
const SECRET_SHAPED = /\d|[^\p{L}\p{N}]|\p{Ll}\p{Lu}/u;
/**
 * What may follow a plain-word password: the end of the clause, not more of the sentence; or, for
 * a value given before its label, the label ("use dragon as the password").
 */
const CLAUSE_END = /^["'“”‘’]?(?:[.,;:!?)\]]|\s*$|\s+[-–—(]|[ \t]*\r?\n|\s+(?:and|but|so|then|if|when|unless|until|because|for now|in case|please|thanks|cheers|x+)\b|\s+as\s+(?:\p{L}+\s+)?(?:pass|pin|pw))/iu;
/** Enough text after a value to see the end of its clause. */
const CLAUSE_LOOKAHEAD = 24;
/** `2-step`, `12-character`: a number joined to the word it counts, not a password. */
const COUNTED_WORD = /^\d+-\p{L}+$/u;

export function looksLikeAPassword(value: string): boolean {
  const word = value.toLowerCase();
  if (NOT_A_PASSWORD.has(word)) return false;
  // Placeholders and masked values: ********, xxxxxx.
  if (!/[\p{L}\p{N}]/u.test(value) || /^x+$/.test(word) || COUNTED_WORD.test(value)) return false;
  // A URL or an address is where the password goes, not the password.
  return !/^(?:https?:|www\.)|@.*\./i.test(value);
}

function endsClause(view: FieldView, end: number): boolean {
  return CLAUSE_END.test(view.text.slice(end, end + CLAUSE_LOOKAHEAD));
}

export const credentials = patternRecognizer({
  id: 'personal_data.credentials',
  kind: 'credentials',
  description: 'A password, PIN or secret key written in the message',
  policy: '002_ac353918cf928566.txt Data Security',
  sensitivity: 'identifier',
  patterns: [
    ...API_KEYS.map(({ name, regex }) => ({ name, regex, score: 0.95 })),
    { name: 'login and password after a slash', regex: LOGIN_SLASH, score: 0.85 },
    { name: 'password after a username', regex: AFTER_LOGIN_NAME, score: 0.85 },
    { name: 'labelled password', regex: LABELLED, score: 0.8 },
    { name: 'password set to a value', regex: SET_TO, score: 0.8 },
    { name: 'password given to log in with', regex: WITH_PASSWORD, score: 0.75 },
    { name: 'value given as the password', regex: USE_AS, score: 0.75 },
    { name: 'door or keypad code', regex: DOOR_CODE, score: 0.75 },
    { name: 'PIN', regex: PIN, score: 0.8 },
    { name: 'password-shaped value after its label', regex: BARE, score: 0.7 },
  ],
  // Every pattern starts with a label or a key's fixed prefix: a field with none of them is skipped.
  fieldMustMatch: /\b(?:pass|pwd\b|pw\b|pin\b|code\b|log-?[io]n|user ?name)|AKIA|ASIA|gh[pousr]_|github_pat_|xox[abposr]-|AIza|_live_|PRIVATE KEY/i,
  validate: (value) => (value.startsWith('-----') || looksLikeAPassword(value) ? undefined : false),
  exclude(view, start, end) {
    const value = view.text.slice(start, end);
    return !SECRET_SHAPED.test(value) && !endsClause(view, end);
  },
  keep: { start: 0, end: 0 },
  examples: {
    mustMatch: [
      'can you log on for me? username 18rclarke password 777777',
      'Wifi for the exam hall: network OakfieldStaff, password summer',
      'pass for the maths website is football (user 17kkelly)',
      'Your temporary password is dallas - please change it when you log in as 24otaylor.',
      "Tina's login for the shared exams account is exams.ra@staff.riverbank-trust.sch.uk / password\n   Ex4ms!Riverbank25 if you need it.",
      'Username: s.yates@staff.riverbank-trust.sch.uk\nPassword: Riverbank!Spring25',
      'My new password is Sunflower!2025 - can you sync it?',
      'The door code is 4821, and the PIN for the copier is 0090.',
      'PIN 4821',
      'your login is jsmith / Blue7horse',
      'aws_access_key_id = AKIAIOSFODNN7EXAMPLE',
      'token: ghp_abcdefghijklmnopqrstuvwxyz0123456789',
      '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n-----END RSA PRIVATE KEY-----',
    ],
    mustNotMatch: [
      'Please click the link to reset your password.',
      'Reminder: passwords must be at least 12 characters and must not be shared with anyone.',
      '4. Choose a new password: at least 12 characters. Three random words work well.',
      '- Never tell anyone your password - not your friends, not your brother or sister.',
      '"To avoid suspension, validate your password within 24 hours using the link below."',
      'If you enter your username and password there, the criminals have your account.',
      'I forgot my password again, can you help?',
      'Your username is 22hnguyen; your password will be sent separately.',
      '1. Password cracking: why a short password can be brute-forced in seconds',
      'The password is changing next week for everyone.',
      'Please pin the poster up by the door.',
      'Password: ********',
      'Our VAT number is GB 123 4567 89; order no. 40012 ships Monday.',
      '-----BEGIN PGP SIGNATURE-----\nVersion: GnuPG v1.0.7\n-----END PGP SIGNATURE-----',
    ],
  },
});
