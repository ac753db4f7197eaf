// DOM building without HTML strings. Every value from the API (host names, process names,
// finding text: data an attacker on a host can choose) becomes a text node, never markup.

const SVG_NS = 'http://www.w3.org/2000/svg';

/** The media query of a phone-sized screen: style.css stacks table rows below the same width. */
export const NARROW = '(max-width: 640px)';

/**
 * h('a', { href: '#/x', class: 'c' }, 'text', child, [more]) -> HTMLAnchorElement.
 * Attributes: strings via setAttribute (on* attributes refused); `on` = { click: fn };
 * `dataset` = { key: value }; null/undefined/false children and attributes are skipped.
 */
export function h(tag, attrs, ...children) {
  return build(document.createElement(tag), attrs, children);
}

/** The same for SVG elements. */
export function s(tag, attrs, ...children) {
  return build(document.createElementNS(SVG_NS, tag), attrs, children);
}

function build(el, attrs, children) {
  if (attrs) {
    for (const [key, value] of Object.entries(attrs)) {
      if (value === null || value === undefined || value === false) continue;
      if (key === 'on') {
        for (const [event, fn] of Object.entries(value)) el.addEventListener(event, fn);
      } else if (key === 'dataset') {
        for (const [k, v] of Object.entries(value)) if (v !== undefined && v !== null) el.dataset[k] = String(v);
      } else if (/^on/i.test(key)) {
        throw new Error(`refusing inline handler attribute ${key}`);
      } else if (key === 'value' && 'value' in el) {
        el.value = String(value);
      } else if (key === 'checked' || key === 'selected' || key === 'disabled' || key === 'hidden') {
        el[key] = Boolean(value);
        if (key === 'hidden' || key === 'disabled') el.toggleAttribute(key, Boolean(value));
      } else {
        el.setAttribute(key, value === true ? '' : String(value));
      }
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else el.appendChild(document.createTextNode(String(child)));
  }
}

/** Replaces every child of `el`. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// --- formatting ---------------------------------------------------------------------------

const nf = new Intl.NumberFormat('en');
export const num = (n) => (n === null || n === undefined ? '–' : nf.format(n));

/** 0.8123 -> "81%"; values that would round to 0% or 100% but are not say "<1%" / ">99%". */
export function pct(share) {
  if (share === null || share === undefined || Number.isNaN(share)) return 'n/a';
  const p = share * 100;
  if (p > 0 && p < 1) return '<1%';
  if (p < 100 && p > 99) return '>99%';
  return `${Math.round(p)}%`;
}

export function ago(iso, now = Date.now()) {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return String(iso);
  const s = Math.round((now - t) / 1000);
  if (s < 0) return 'in the future';
  if (s < 10) return 'just now';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400 * 2) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} days ago`;
}

/** A <time> with the relative age as text and the exact UTC time as its tooltip. */
export function time(iso) {
  return h('time', { datetime: iso, title: iso }, ago(iso));
}

export const MODES = [
  { id: 'dual-separate', label: 'dual-stack (two sockets)', short: 'dual (2 sockets)', cls: 'm-dual-separate', dual: true },
  { id: 'dual-mapped', label: 'dual-stack (IPv4-mapped)', short: 'dual (mapped)', cls: 'm-dual-mapped', dual: true },
  { id: 'ipv4-only', label: 'IPv4 only', short: 'IPv4 only', cls: 'm-ipv4-only', dual: false },
  { id: 'ipv6-only', label: 'IPv6 only', short: 'IPv6 only', cls: 'm-ipv6-only', dual: false },
  { id: 'loopback-only', label: 'loopback only', short: 'loopback', cls: 'm-loopback-only', dual: false },
];
export const modeInfo = (id) => MODES.find((m) => m.id === id) ?? { id, label: id, short: id, cls: '', dual: false };

export const SEVERITIES = ['critical', 'warning', 'info'];
const SEVERITY_MARK = { critical: '✖', warning: '▲', info: 'ℹ' };

/** A severity as a mark plus its word: never colour alone. */
export function severity(sev) {
  return h('span', { class: `sev sev-${SEVERITIES.includes(sev) ? sev : 'info'}` }, h('span', { 'aria-hidden': 'true' }, SEVERITY_MARK[sev] ?? '•', ' '), sev);
}

/** Open findings by severity ({ critical, warning, info }): a mark, the word and the count each; "none" when there is none. */
export function findingCounts(f) {
  const parts = SEVERITIES.filter((sev) => f[sev] > 0).map((sev) => h('li', { dataset: { severity: sev } }, severity(sev), ' ', num(f[sev])));
  return parts.length ? h('ul', { class: 'inline sev-counts' }, parts) : h('span', { class: 'ok' }, h('span', { 'aria-hidden': 'true' }, '✔ '), 'none');
}

/** Yes / no / unknown as words with a mark. */
export function yesNo(value, yes = 'yes', no = 'no', unknown = 'unknown') {
  if (value === true) return h('span', { class: 'ok' }, h('span', { 'aria-hidden': 'true' }, '✔ '), yes);
  if (value === false) return h('span', { class: 'bad' }, h('span', { 'aria-hidden': 'true' }, '✖ '), no);
  return h('span', { class: 'unknown' }, h('span', { 'aria-hidden': 'true' }, '? '), unknown);
}

/** A header's text: a string, { label, numeric }, or a <th> built by the caller. */
const headerText = (th) => (th instanceof Node ? th.textContent : typeof th === 'object' ? th.label : String(th));

/**
 * Gives each cell of `rows` its column's name as data-label, which a narrow screen shows
 * before the value when the rows are stacked (class `stack`, style.css), so no page needs a
 * table wider than a phone.
 */
export function labelCells(rows, headers) {
  const labels = headers.map(headerText);
  for (const tr of rows) {
    if (!(tr instanceof HTMLTableRowElement)) continue;
    [...tr.cells].forEach((cell, i) => {
      if (labels[i] && !cell.dataset.label) cell.dataset.label = labels[i];
    });
  }
  return rows;
}

/** A table with a caption, header cells scoped to columns, and the given rows (stacked on a narrow screen). */
export function table(caption, headers, rows, attrs = {}) {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { ...attrs, class: `stack ${attrs.class ?? ''}`.trim() },
      caption ? h('caption', null, caption) : null,
      h('thead', null, h('tr', null, headers.map((th) => (th instanceof Node ? th : typeof th === 'object' ? h('th', { scope: 'col', class: th.numeric ? 'n' : null }, th.label) : h('th', { scope: 'col' }, th))))),
      h('tbody', null, labelCells(rows, headers)),
    ),
  );
}

/** The view of a resource the collector does not have: why, and the way back to its list. */
export function notFoundView(title, message, href, label) {
  return { title, node: h('div', { class: 'view' }, h('h1', { tabindex: '-1' }, title), h('p', { role: 'alert' }, message), h('p', null, h('a', { href }, label))) };
}

/** A link inside the app: '#/hosts?rule=x'. */
export function hashHref(path, params = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const qs = q.toString();
  return `#${path}${qs ? `?${qs}` : ''}`;
}

export const hostHref = (hostId) => `#/hosts/${encodeURIComponent(hostId)}`;
export const endpointHref = (name) => `#/endpoints/${encodeURIComponent(name)}`;
