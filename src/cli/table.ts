/** The readable `--format table` output: one row per message, then a summary. */
import { isErrorLine, type ScanLine } from '../scan/batch.js';

const COLUMNS = [
  { title: 'MESSAGE', width: 44 },
  { title: 'SEVERITY', width: 9 },
  { title: 'CATEGORIES', width: 34 },
  { title: 'RULES / ERROR', width: 0 },
];

function fit(text: string, width: number): string {
  if (width === 0) return text;
  return text.length > width ? `…${text.slice(text.length - width + 1)}` : text.padEnd(width);
}

function row(cells: string[]): string {
  return cells.map((cell, i) => fit(cell, COLUMNS[i]!.width)).join('  ').trimEnd();
}

export function tableHeader(): string {
  return row(COLUMNS.map((c) => c.title));
}

export function tableRow(line: ScanLine): string {
  const name = line.index === undefined ? line.file : `${line.file}#${line.index}`;
  if (isErrorLine(line)) return row([name, 'ERROR', line.errorKind, line.error]);
  if (!line.flagged) return row([name, '-', '', '']);
  return row([name, line.severity ?? '', line.categories.join(','), line.findings.map((f) => f.rule).join(', ')]);
}

export class Summary {
  messages = 0;
  flagged = 0;
  failed = 0;
  private readonly categories = new Map<string, number>();
  private readonly severities = new Map<string, number>();

  add(line: ScanLine): void {
    this.messages++;
    if (isErrorLine(line)) {
      this.failed++;
      return;
    }
    if (!line.flagged) return;
    this.flagged++;
    for (const c of line.categories) this.categories.set(c, (this.categories.get(c) ?? 0) + 1);
    if (line.severity) this.severities.set(line.severity, (this.severities.get(line.severity) ?? 0) + 1);
  }

  render(elapsedMs: number): string {
    const counts = (m: Map<string, number>): string =>
      [...m].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ') || 'none';
    const seconds = elapsedMs / 1000;
    return [
      '',
      `${this.messages} messages, ${this.flagged} flagged, ${this.failed} could not be scanned, in ${seconds.toFixed(1)} s (${(this.messages / Math.max(seconds, 0.001)).toFixed(0)} msg/s)`,
      `by category: ${counts(this.categories)}`,
      `by severity: ${counts(this.severities)}`,
    ].join('\n');
  }
}
