/**
 * The scan pipeline for one message: parse -> resolve parties -> normalise + tokenise -> detectors
 * -> verdict. Connectors, workers and the `scan` command all call this; it does no I/O of its own.
 */
import type { JournalEnvelope } from '../connect/types.js';
import { isRuleDisabled, type KestrelConfig, type Route } from '../config/schema.js';
import { createDirectory, type TrustDirectory } from '../directory/directory.js';
import { compileLexicons, type CompiledLexicon } from '../lexicon/compile.js';
import { BUILTIN_LEXICONS } from '../paths.js';
import { analyseMessage } from './analyse.js';
import { createAcceptableUseDetector } from './detectors/acceptable-use/index.js';
import { createChainStructureSignals } from './detectors/chain-mail/structure.js';
import { createLexiconDetector } from './detectors/lexicon.js';
import { createPersonalDataDetector } from './detectors/personal-data/detector.js';
import { maskedSubject, maskPersonalDataInEvidence } from './detectors/personal-data/mask-evidence.js';
import { rateLexiconFindings } from './detectors/personal-data/severity.js';
import { createPupilEmailDetector } from './detectors/pupil-email/index.js';
import { officialSocialAccounts } from './detectors/pupil-email/social-accounts.js';
import { spreadCandidate, type SpreadCandidate } from './spread/stage.js';
import { parseMail, type ParsedAddress, type ParsedMail } from './parse/parse.js';
import { verdictFor } from './verdict.js';
import {
  type AnalysedMessage,
  type Detector,
  type DetectorContext,
  type Direction,
  type Finding,
  type Message,
  type Party,
  type PartyRole,
  type Verdict,
} from './types.js';

export interface PartySummary {
  address: string;
  role: PartyRole;
  academy?: string;
}

/** What a scan says about one message: the verdict plus the facts needed to act on it. */
export interface ScanReport extends Verdict {
  messageId: string | null;
  date: string | null;
  direction: Direction;
  /** Given for flagged messages only, like the parties: reviewers see it in the flag list. */
  subject?: string;
  /** Parties are given for flagged messages only: nothing about unflagged mail is kept beyond its id. */
  from?: PartySummary;
  recipients?: PartySummary[];
  /** Limits hit or damage worked around while parsing: the scan may be partial. */
  problems: string[];
  /** Attachments whose content was not read (no extractor yet, or a limit): type and size, never the file name. */
  attachmentsNotScanned?: Array<{ contentType: string; size: number; reason: string }>;
  durationMs: number;
  /** For the cross-message chain-mail stage (spread/stage.ts), which removes it before any output. */
  spread?: SpreadCandidate;
}

export interface Scanner {
  scan(raw: Buffer, envelope?: JournalEnvelope): Promise<ScanReport>;
  /** The report for a message already analysed (see createAnalyser): what `scan` does after parsing. */
  report(message: AnalysedMessage, started?: number): ScanReport;
}

/** Load the built-in lexicons plus any the config adds. Throws SourceError with `file:line` problems. */
export function loadLexicon(config: KestrelConfig): CompiledLexicon {
  const paths = config.builtinLexicons ? [BUILTIN_LEXICONS, ...config.lexicons] : config.lexicons;
  return compileLexicons(paths, { disabledRules: config.disableRules, contextSeverity: config.contextSeverity });
}

/**
 * A journal report's envelope names every real recipient, Bcc included, which the headers hide:
 * those not in To or Cc join Bcc. Its sender stands in for a missing From.
 */
function withEnvelope(parsed: ParsedMail, envelope: JournalEnvelope | undefined): ParsedMail {
  if (!envelope) return parsed;
  const named = new Set([...parsed.to, ...parsed.cc, ...parsed.bcc].map((a) => a.address.toLowerCase()));
  const hidden = [...new Set(envelope.recipients.map((r) => r.toLowerCase()))].filter((r) => !named.has(r)).map((address) => ({ address, name: '' }));
  const sender = !parsed.from && envelope.sender ? { from: { address: envelope.sender.toLowerCase(), name: '' } } : {};
  return { ...parsed, ...sender, bcc: [...parsed.bcc, ...hidden] };
}

function toMessage(parsed: ParsedMail, directory: TrustDirectory): Message {
  const party = (a: ParsedAddress): Party => directory.classify(a.address, a.name);
  const from = parsed.from ? party(parsed.from) : parsed.sender ? party(parsed.sender) : undefined;
  const to = parsed.to.map(party);
  const cc = parsed.cc.map(party);
  const bcc = parsed.bcc.map(party);
  return {
    ...(parsed.messageId ? { messageId: parsed.messageId } : {}),
    ...(parsed.date ? { date: parsed.date } : {}),
    subject: parsed.subject,
    ...(from ? { from } : {}),
    to,
    cc,
    bcc,
    replyTo: parsed.replyTo.map(party),
    direction: directory.direction(from, [...to, ...cc, ...bcc]),
    headers: parsed.headers,
    texts: parsed.texts,
    attachments: parsed.attachments,
    size: { rawBytes: parsed.rawBytes, textChars: parsed.texts.reduce((n, t) => n + t.text.length, 0) },
    problems: parsed.problems,
  };
}

function summary(party: Party): PartySummary {
  return { address: party.address, role: party.role, ...(party.academy ? { academy: party.academy } : {}) };
}

function notScanned(message: Message): Pick<ScanReport, 'attachmentsNotScanned'> {
  const skipped = message.attachments.filter((a) => a.skipped !== undefined);
  if (skipped.length === 0) return {};
  return { attachmentsNotScanned: skipped.map((a) => ({ contentType: a.contentType, size: a.size, reason: a.skipped! })) };
}

export interface ScannerOptions {
  /** Compiled lexicon to share between scanners; loaded from the config when absent. */
  lexicon?: CompiledLexicon;
  /** Detectors in addition to the lexicon and personal-data detectors. */
  detectors?: Detector[];
}

/** Parse a raw message, resolve its parties and analyse its text: everything before the detectors. */
export type Analyser = (raw: Buffer, envelope?: JournalEnvelope) => Promise<AnalysedMessage>;

export function createAnalyser(config: KestrelConfig): Analyser {
  const directory = createDirectory(config.trust);
  return async (raw, envelope) => analyseMessage(toMessage(withEnvelope(await parseMail(raw, config.scan), envelope), directory));
}

export function detectorContext(config: KestrelConfig): DetectorContext {
  return { excerptContext: config.scan.excerptContext };
}

/** The report for an analysed message and its findings. */
export function reportFor(message: AnalysedMessage, findings: Finding[], routes: Record<string, Route>, durationMs: number): ScanReport {
  const verdict = verdictFor(findings, routes);
  const recipients = [...message.to, ...message.cc, ...message.bcc];
  return {
    messageId: message.messageId ?? null,
    date: message.date ?? null,
    direction: message.direction,
    ...verdict,
    ...(verdict.flagged ? { subject: maskedSubject(message.subject, findings), ...(message.from ? { from: summary(message.from) } : {}), recipients: recipients.map(summary) } : {}),
    problems: message.problems,
    ...notScanned(message),
    durationMs: Number(durationMs.toFixed(2)),
  };
}

function onlyEnabled(disabled: readonly string[]): (detector: Detector) => Detector {
  if (disabled.length === 0) return (detector) => detector;
  return (detector) => ({
    id: detector.id,
    detect: (message, context, earlier) => detector.detect(message, context, earlier).filter((f) => !isRuleDisabled(f.rule, disabled)),
  });
}

export function createScanner(config: KestrelConfig, options: ScannerOptions = {}): Scanner {
  const analyse = createAnalyser(config);
  const compiled = options.lexicon ?? loadLexicon(config);
  // Lexicon rules are left out when compiled; every other detector's findings are filtered here,
  // so `disableRules` reaches a rule whichever detector reports it.
  const enabled = onlyEnabled(config.disableRules);
  const lexicon = createLexiconDetector(compiled, [enabled(createChainStructureSignals(config))]);
  const chainThreshold = compiled.thresholds.get('chain_mail') ?? 0.5;
  const spareOfficialAccounts = officialSocialAccounts(config);
  const detectors = [
    createPersonalDataDetector(config),
    // After the personal-data detector: it reads the phone numbers and addresses found there.
    createPupilEmailDetector(),
    createAcceptableUseDetector(config),
    ...(options.detectors ?? []),
  ].map(enabled);
  const context = detectorContext(config);
  const report = (message: AnalysedMessage, started = performance.now()): ScanReport => {
    const { reported, unreported } = lexicon.evaluate(message, context);
    const findings = rateLexiconFindings(spareOfficialAccounts(reported, message), message, config);
    for (const detector of detectors) findings.push(...detector.detect(message, context, findings));
    const masked = maskPersonalDataInEvidence(findings, message, context.excerptContext);
    const result = reportFor(message, masked, config.routes, performance.now() - started);
    const spread = spreadCandidate(message, masked, unreported, chainThreshold, () => ({
      subject: maskedSubject(message.subject, masked),
      ...(message.from ? { from: summary(message.from) } : {}),
      recipients: [...message.to, ...message.cc, ...message.bcc].map(summary),
    }));
    return spread ? { ...result, spread } : result;
  };
  return {
    report,
    async scan(raw, envelope) {
      const started = performance.now();
      return report(await analyse(raw, envelope), started);
    },
  };
}
