/** The report: a table in the terminal, JSON, Markdown and an SVG chart of latency distributions. */
import { percentile, sortNumbers } from './stats.js';

type Name = 'parley' | 'floor' | 'peer';
/** A ratio's median and range over the rounds, and how many rounds had both figures. */
export interface Spread {
  median: number;
  min: number;
  max: number;
  n: number;
}

export interface Row {
  /** For looking a row up (the targets check). */
  key?: string;
  metric: string;
  /** true when a higher value is better (throughput); ratios are always Parley ÷ reference. */
  higherIsBetter?: boolean;
  values: Partial<Record<Name, number | null>>;
  unit: string;
  /** Parley ÷ reference, per round: set by `medianRows`. */
  ratios?: Partial<Record<'floor' | 'peer', Spread | null>>;
}

const median = (values: number[]) => {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
const finite = (v: number | null | undefined): v is number => v !== null && v !== undefined && Number.isFinite(v);

/**
 * One table from several rounds' tables (same rows, same order): each figure the median of the
 * rounds that have it, each ratio the median of the per-round ratios, with their range.
 */
export function medianRows(rounds: Row[][]): Row[] {
  const first = rounds[0] ?? [];
  return first.map((row, i) => {
    const same = rounds.map((r) => r[i]!);
    const values: Row['values'] = {};
    for (const name of Object.keys(row.values) as Name[]) {
      const xs = same.map((r) => r.values[name]).filter(finite);
      values[name] = xs.length ? median(xs) : null;
    }
    const ratios: Row['ratios'] = {};
    for (const ref of ['floor', 'peer'] as const) {
      const rs = same
        .map((r) =>
          finite(r.values.parley) && finite(r.values[ref]) && r.values[ref] !== 0
            ? r.values.parley / r.values[ref]
            : null,
        )
        .filter(finite);
      ratios[ref] = rs.length ? { median: median(rs), min: Math.min(...rs), max: Math.max(...rs), n: rs.length } : null;
    }
    return { ...row, values, ratios };
  });
}

const fmt = (v: number | null | undefined) => {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  if (Math.abs(v) >= 100) return String(Math.round(v));
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toFixed(2);
};
const ratio = (a: number | null | undefined, b: number | null | undefined) =>
  a === null ||
  a === undefined ||
  b === null ||
  b === undefined ||
  !Number.isFinite(a) ||
  !Number.isFinite(b) ||
  b === 0
    ? '—'
    : `${(a / b).toFixed(2)}×`;

const spread = (s: Spread | null | undefined, fallback: string) =>
  !s
    ? fallback
    : s.n > 1
      ? `${s.median.toFixed(2)}× (${s.min.toFixed(2)}–${s.max.toFixed(2)})`
      : `${s.median.toFixed(2)}×`;

export function tableRows(rows: Row[]): string[][] {
  return rows.map((r) => [
    `${r.metric} (${r.unit})`,
    fmt(r.values.parley),
    fmt(r.values.floor),
    fmt(r.values.peer),
    r.ratios ? spread(r.ratios.floor, '—') : ratio(r.values.parley, r.values.floor),
    r.ratios ? spread(r.ratios.peer, '—') : ratio(r.values.parley, r.values.peer),
  ]);
}

const HEADER = [
  'metric',
  'Parley',
  'floor (ws relay)',
  'peer (Express+Socket.IO+pg)',
  'Parley ÷ floor',
  'Parley ÷ peer',
];

export function markdownTable(rows: Row[]): string {
  const body = tableRows(rows);
  return [
    `| ${HEADER.join(' | ')} |`,
    `|${HEADER.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`,
    ...body.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

export function terminalTable(rows: Row[]): string {
  const body = [HEADER, ...tableRows(rows)];
  const widths = HEADER.map((_, i) => Math.max(...body.map((r) => r[i]!.length)));
  return body
    .map((r, ri) => {
      const line = r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
      return ri === 0 ? `${line}\n${'-'.repeat(line.length)}` : line;
    })
    .join('\n');
}

const COLORS = ['#1f77b4', '#2ca02c', '#d62728', '#9467bd', '#ff7f0e', '#8c564b'];

/** Cumulative distributions of delivery latency, log-scaled time axis. */
export function latencySvg(series: { name: string; samples: number[] }[], title: string): string {
  const W = 860;
  const H = 480;
  const m = { l: 60, r: 220, t: 40, b: 50 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const present = series.filter((s) => s.samples.length > 0).map((s) => ({ ...s, sorted: sortNumbers(s.samples) }));
  const lo = Math.max(0.01, Math.min(...present.map((s) => s.sorted[0]!)));
  const hi = Math.max(lo * 10, ...present.map((s) => s.sorted[s.sorted.length - 1]!));
  const lx0 = Math.floor(Math.log10(lo));
  const lx1 = Math.ceil(Math.log10(hi));
  const x = (v: number) => m.l + ((Math.log10(Math.max(v, 10 ** lx0)) - lx0) / (lx1 - lx0)) * pw;
  const y = (p: number) => m.t + ph - (p / 100) * ph;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${m.l}" y="22" font-size="15" font-weight="bold">${escapeXml(title)}</text>`,
  ];
  for (let e = lx0; e <= lx1; e++) {
    for (const k of [1, 2, 5]) {
      const v = k * 10 ** e;
      if (v < 10 ** lx0 || v > 10 ** lx1) continue;
      const xv = x(v).toFixed(1);
      out.push(`<line x1="${xv}" y1="${m.t}" x2="${xv}" y2="${m.t + ph}" stroke="${k === 1 ? '#ccc' : '#eee'}"/>`);
      if (k === 1 || lx1 - lx0 <= 3)
        out.push(`<text x="${xv}" y="${m.t + ph + 16}" text-anchor="middle">${v >= 1 ? v : v.toPrecision(1)}</text>`);
    }
  }
  for (const p of [0, 25, 50, 75, 90, 99, 100]) {
    const yv = y(p).toFixed(1);
    out.push(`<line x1="${m.l}" y1="${yv}" x2="${m.l + pw}" y2="${yv}" stroke="#eee"/>`);
    out.push(`<text x="${m.l - 6}" y="${yv}" text-anchor="end" dominant-baseline="middle">${p}%</text>`);
  }
  out.push(`<rect x="${m.l}" y="${m.t}" width="${pw}" height="${ph}" fill="none" stroke="#888"/>`);
  out.push(`<text x="${m.l + pw / 2}" y="${H - 12}" text-anchor="middle">delivery latency, ms (log scale)</text>`);
  out.push(
    `<text transform="translate(16 ${m.t + ph / 2}) rotate(-90)" text-anchor="middle">share of deliveries at or below</text>`,
  );
  present.forEach((s, i) => {
    const pts: string[] = [];
    const steps = 400;
    for (let k = 0; k <= steps; k++) {
      const p = (k / steps) * 100;
      pts.push(`${x(percentile(s.sorted, Math.max(p, 0.01))).toFixed(1)},${y(p).toFixed(1)}`);
    }
    const color = COLORS[i % COLORS.length]!;
    out.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.join(' ')}"/>`);
    const ly = m.t + 10 + i * 20;
    out.push(
      `<line x1="${m.l + pw + 15}" y1="${ly}" x2="${m.l + pw + 35}" y2="${ly}" stroke="${color}" stroke-width="3"/>`,
    );
    out.push(
      `<text x="${m.l + pw + 40}" y="${ly}" dominant-baseline="middle">${escapeXml(s.name)} (p99 ${fmt(percentile(s.sorted, 99))} ms)</text>`,
    );
  });
  out.push('</svg>');
  return out.join('\n');
}

function escapeXml(s: string) {
  return s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);
}
