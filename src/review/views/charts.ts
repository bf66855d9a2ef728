/**
 * Bar charts drawn on the server as SVG: no scripts (the CSP forbids them) and no inline styles,
 * only classes the stylesheet colours. Each chart is an image with a title for screen readers, and
 * the same numbers follow it as a plain table, for anyone who cannot see the bars (and for tests).
 */
import { html, type Html } from './html.js';

export interface Bar {
  label: string;
  value: number;
  /** A shorter label under a column in the picture (`W47` for `2026-W47`); the table keeps `label`. */
  short?: string;
}

export interface BarChartOptions {
  /** Names the chart for screen readers and captions its table. */
  title: string;
  bars: readonly Bar[];
  /** Heading of the table's label column, e.g. `Category`. */
  labelHeading: string;
  /** Heading of the table's number column, e.g. `Flags`. */
  valueHeading: string;
  /** horizontal: one row per bar, for long labels; vertical: columns, for a series in time. */
  orientation?: 'horizontal' | 'vertical';
  /** A modifier class on the figure, e.g. to colour one chart differently. */
  variant?: string;
}

const WIDTH = 640;
const ROW = 28;
const LABEL_WIDTH = 220;
const VALUE_WIDTH = 56;
const COLUMN_HEIGHT = 180;
const AXIS_HEIGHT = 36;
/** SVG text does not wrap: a longer label is shortened in the picture and given whole in the table. */
const MAX_LABEL = 28;

function shorten(bar: Bar): string {
  const label = bar.short ?? bar.label;
  return label.length > MAX_LABEL ? `${label.slice(0, MAX_LABEL - 1)}…` : label;
}

/** Length of a bar in `room` units: at least a sliver for any non-zero value, so it is never invisible. */
function scaled(value: number, max: number, room: number): number {
  if (value <= 0 || max <= 0) return 0;
  return Math.max(2, Math.round((value / max) * room));
}

function horizontal(bars: readonly Bar[], max: number): { height: number; marks: Html[] } {
  const room = WIDTH - LABEL_WIDTH - VALUE_WIDTH;
  const marks = bars.map((bar, index) => {
    const y = index * ROW;
    const length = scaled(bar.value, max, room);
    return html`<g class="bar-row"><text class="bar-label" x="${LABEL_WIDTH - 8}" y="${y + ROW / 2}" text-anchor="end" dominant-baseline="middle">${shorten(bar)}</text><rect class="bar" x="${LABEL_WIDTH}" y="${y + 4}" width="${length}" height="${ROW - 8}"><title>${bar.label}: ${bar.value}</title></rect><text class="bar-value" x="${LABEL_WIDTH + length + 6}" y="${y + ROW / 2}" dominant-baseline="middle">${bar.value}</text></g>`;
  });
  return { height: Math.max(1, bars.length) * ROW, marks };
}

function vertical(bars: readonly Bar[], max: number): { height: number; marks: Html[] } {
  const slot = WIDTH / Math.max(1, bars.length);
  const top = 16;
  const marks = bars.map((bar, index) => {
    const length = scaled(bar.value, max, COLUMN_HEIGHT - top);
    const x = index * slot;
    const centre = x + slot / 2;
    return html`<g class="bar-column"><rect class="bar" x="${x + slot * 0.15}" y="${COLUMN_HEIGHT - length}" width="${slot * 0.7}" height="${length}"><title>${bar.label}: ${bar.value}</title></rect><text class="bar-value" x="${centre}" y="${COLUMN_HEIGHT - length - 4}" text-anchor="middle">${bar.value}</text><text class="bar-label" x="${centre}" y="${COLUMN_HEIGHT + 18}" text-anchor="middle">${shorten(bar)}</text></g>`;
  });
  return { height: COLUMN_HEIGHT + AXIS_HEIGHT, marks };
}

export function barChart(options: BarChartOptions): Html {
  const { title, bars } = options;
  const max = Math.max(0, ...bars.map((bar) => bar.value));
  const { height, marks } = options.orientation === 'vertical' ? vertical(bars, max) : horizontal(bars, max);
  return html`<figure class="chart${options.orientation === 'vertical' ? ' chart-vertical' : ''}${options.variant ? ` chart-${options.variant}` : ''}">
<svg class="bars" role="img" aria-label="${title}" viewBox="0 0 ${WIDTH} ${height}" preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg"><title>${title}</title>${bars.length === 0 ? html`<text class="bar-empty" x="${WIDTH / 2}" y="${height / 2}" text-anchor="middle" dominant-baseline="middle">None</text>` : marks}</svg>
<table class="chart-data">
<caption>${title}</caption>
<thead><tr><th scope="col">${options.labelHeading}</th><th scope="col" class="num">${options.valueHeading}</th></tr></thead>
<tbody>${bars.length === 0 ? html`<tr><td colspan="2" class="muted">None</td></tr>` : bars.map((bar) => html`<tr><th scope="row">${bar.label}</th><td class="num">${bar.value}</td></tr>`)}</tbody>
</table>
</figure>`;
}
