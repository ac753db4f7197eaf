// Charts as inline SVG built here: bars with text labels and a hatching per mode, so the
// reading never depends on colour alone. No chart library, nothing fetched.
import { MODES, h, num, pct, s } from './dom.js';

let chartSeq = 0;

/** Pattern definitions, one per mode: solid, diagonal, dots, cross-hatch, horizontal. */
function modePatterns(prefix) {
  const size = 8;
  const marks = {
    'dual-separate': [],
    'dual-mapped': [s('path', { d: 'M-2,2 l4,-4 M0,8 l8,-8 M6,10 l4,-4', class: 'hatch' })],
    'ipv4-only': [s('circle', { cx: 2, cy: 2, r: 1.3, class: 'dot' }), s('circle', { cx: 6, cy: 6, r: 1.3, class: 'dot' })],
    'ipv6-only': [s('path', { d: 'M0,0 l8,8 M8,0 l-8,8', class: 'hatch' })],
    'loopback-only': [s('path', { d: 'M0,2 h8 M0,6 h8', class: 'hatch' })],
  };
  return s(
    'defs',
    null,
    MODES.map((m) =>
      s('pattern', { id: `${prefix}-${m.id}`, width: size, height: size, patternUnits: 'userSpaceOnUse' }, s('rect', { width: size, height: size, class: `fill ${m.cls}` }), marks[m.id]),
    ),
  );
}

/**
 * Horizontal bars of services by mode. `counts`: { 'dual-separate': n, ... }. Each bar is
 * labelled with its mode, count and share; the SVG's title and description carry the same
 * numbers for screen readers. `compact` (a phone): each mode's name on its own line above its
 * bar, in a drawing about as wide as the screen, so the text is drawn near its 13 px instead of
 * the wide layout shrunk to half.
 */
export function modeBars(counts, { title = 'Services by mode', compact = false } = {}) {
  const prefix = `pat${++chartSeq}`;
  const total = MODES.reduce((sum, m) => sum + (counts[m.id] ?? 0), 0);
  const max = Math.max(1, ...MODES.map((m) => counts[m.id] ?? 0));
  const rowH = compact ? 46 : 34;
  const labelW = compact ? 0 : 190;
  const barW = compact ? 250 : 330;
  const width = compact ? barW + 90 : labelW + barW + 130;
  const barY = compact ? 20 : 4;
  const barH = compact ? 18 : rowH - 12;
  const height = MODES.length * rowH + 6;
  const desc = MODES.map((m) => `${m.label}: ${num(counts[m.id] ?? 0)} (${pct(total ? (counts[m.id] ?? 0) / total : null)})`).join('; ');
  const titleId = `${prefix}-title`;
  const descId = `${prefix}-desc`;
  const svg = s(
    'svg',
    { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-labelledby': `${titleId} ${descId}`, class: compact ? 'chart compact' : 'chart', preserveAspectRatio: 'xMinYMin meet' },
    s('title', { id: titleId }, title),
    s('desc', { id: descId }, desc),
    modePatterns(prefix),
    MODES.map((m, i) => {
      const n = counts[m.id] ?? 0;
      const y = i * rowH + 4;
      const w = n === 0 ? 0 : Math.max(2, Math.round((n / max) * barW));
      const label = compact
        ? s('text', { x: 0, y: y + 9, 'dominant-baseline': 'middle', class: 'label' }, m.label)
        : s('text', { x: labelW - 10, y: y + rowH / 2, 'text-anchor': 'end', 'dominant-baseline': 'middle', class: 'label' }, m.label);
      return s(
        'g',
        { class: `bar ${m.cls}`, dataset: { mode: m.id, count: n } },
        label,
        s('rect', { x: labelW, y: y + barY, width: barW, height: barH, class: 'track' }),
        w > 0 ? s('rect', { x: labelW, y: y + barY, width: w, height: barH, fill: `url(#${prefix}-${m.id})`, class: 'value' }) : null,
        s('text', { x: labelW + w + 8, y: y + barY + barH / 2, 'dominant-baseline': 'middle', class: 'count' }, `${num(n)} · ${pct(total ? n / total : null)}`),
      );
    }),
  );
  return h('figure', { class: 'chart-figure' }, svg, h('figcaption', null, `${title}: ${num(total)} listening services across the fleet. Each bar is labelled; the hatching tells the modes apart without colour.`));
}

/** A one-line stacked bar of a service's hosts per mode (decorative: the table has the numbers). */
export function modeStack(modes, { width = 160, height = 12 } = {}) {
  const prefix = `pat${++chartSeq}`;
  const total = MODES.reduce((sum, m) => sum + (modes[m.id] ?? 0), 0);
  let x = 0;
  const parts = [];
  for (const m of MODES) {
    const n = modes[m.id] ?? 0;
    if (!n) continue;
    const w = (n / total) * width;
    parts.push(s('rect', { x: x.toFixed(2), y: 0, width: w.toFixed(2), height, fill: `url(#${prefix}-${m.id})` }));
    x += w;
  }
  return s('svg', { width, height, viewBox: `0 0 ${width} ${height}`, 'aria-hidden': 'true', focusable: 'false', class: 'stack' }, modePatterns(prefix), parts);
}

/** A small bar for a share 0..1 (decorative next to the number it shows). */
export function shareBar(share, { width = 80, height = 8 } = {}) {
  const w = share === null || share === undefined ? 0 : Math.max(0, Math.min(1, share)) * width;
  const cls = share === null || share === undefined ? 'none' : share >= 0.999 ? 'full' : share >= 0.5 ? 'half' : 'low';
  return s(
    'svg',
    { width, height, viewBox: `0 0 ${width} ${height}`, 'aria-hidden': 'true', focusable: 'false', class: `share share-${cls}` },
    s('rect', { x: 0, y: 0, width, height, class: 'track' }),
    s('rect', { x: 0, y: 0, width: w.toFixed(1), height, class: 'value' }),
  );
}

/** Readiness history as a sparkline of dual/exposed per report, oldest left. */
export function sparkline(points, { width = 300, height = 56 } = {}) {
  if (points.length < 2) return null;
  const ordered = [...points].reverse();
  const left = 40;
  const plot = width - left - 4;
  const step = plot / (ordered.length - 1);
  const y = (p) => {
    const share = p.exposed > 0 ? p.dual / p.exposed : 0;
    return (height - 6 - share * (height - 12)).toFixed(1);
  };
  const d = ordered.map((p, i) => `${i === 0 ? 'M' : 'L'}${(left + i * step).toFixed(1)},${y(p)}`).join(' ');
  return s(
    'svg',
    { width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': `Dual-stack share of exposed services over the last ${ordered.length} reports, oldest first: ${ordered.map((p) => pct(p.exposed ? p.dual / p.exposed : null)).join(', ')}`, class: 'spark' },
    s('line', { x1: left, x2: width, y1: 6, y2: 6, class: 'grid' }),
    s('line', { x1: left, x2: width, y1: height - 6, y2: height - 6, class: 'grid' }),
    s('text', { x: left - 6, y: 6, 'text-anchor': 'end', 'dominant-baseline': 'middle', class: 'axis' }, '100%'),
    s('text', { x: left - 6, y: height - 6, 'text-anchor': 'end', 'dominant-baseline': 'middle', class: 'axis' }, '0%'),
    s('path', { d, class: 'line' }),
    ordered.map((p, i) => s('circle', { cx: (left + i * step).toFixed(1), cy: y(p), r: 3, class: 'point' })),
  );
}
