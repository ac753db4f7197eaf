// What the dashboard's browser tests measure on a page and how they open one: a new tab of the
// shared browser with the reader token as if entered once in it, watched for requests that
// leave the collector and for console errors.
import type { Page } from 'playwright-core';
import type { Browser } from './ui-browser.js';

export const TOKEN_KEY = 'dualstack.readerToken';

/** The page's width against the window's, and every rendered element reaching outside it (visually hidden ones aside). */
export function offScreen(page: Page) {
  return page.evaluate(() => {
    const outside: string[] = [];
    for (const el of document.querySelectorAll('body *')) {
      if (el.closest('thead, .sr-only, .skip')) continue; // clipped to 1 px or parked off screen on purpose
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.height === 0) continue;
      if (r.left < -0.5 || r.right > innerWidth + 0.5) outside.push(`${el.tagName.toLowerCase()}.${el.getAttribute('class') ?? ''} "${(el.textContent ?? '').trim().slice(0, 40)}" spans ${Math.round(r.left)}..${Math.round(r.right)}`);
    }
    // Text can overflow the box of its element: each text's own extent.
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    const range = document.createRange();
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      if (!/\S/.test(n.textContent ?? '') || n.parentElement?.closest('thead, .sr-only, .skip')) continue;
      range.selectNodeContents(n);
      const r = range.getBoundingClientRect();
      if (r.width === 0 || r.height === 0) continue;
      if (r.left < -0.5 || r.right > innerWidth + 0.5) outside.push(`text "${(n.textContent ?? '').trim().slice(0, 40)}" in ${n.parentElement?.tagName.toLowerCase()} spans ${Math.round(r.left)}..${Math.round(r.right)}`);
    }
    return { scrollWidth: document.documentElement.scrollWidth, innerWidth, outside: outside.slice(0, 10) };
  });
}

/**
 * The contrast of every rendered text against what is behind it (backgrounds composited up to
 * the first opaque one), WCAG 2.x: 4.5:1, or 3:1 for large text. SVG text is left out (drawn
 * over bars; the chart has its own checks). Plain JavaScript, evaluated as it is: tsx would
 * wrap its inner functions in a helper that the page does not have.
 */
const CONTRAST_JS = String.raw`(() => {
  const parse = (c) => {
    let m = /^rgba?\(([^)]+)\)$/.exec(c);
    if (m) { const p = m[1].split(/[\s,/]+/).filter(Boolean).map(Number); return [p[0], p[1], p[2], p[3] ?? 1]; }
    m = /^color\(srgb ([^)]+)\)$/.exec(c);
    if (m) { const p = m[1].split(/[\s/]+/).filter(Boolean).map(Number); return [p[0] * 255, p[1] * 255, p[2] * 255, p[3] ?? 1]; }
    throw new Error('unknown colour ' + c);
  };
  const over = (top, under) => [0, 1, 2].map((i) => top[i] * top[3] + under[i] * (1 - top[3]));
  const behind = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const bg = parse(getComputedStyle(e).backgroundColor);
      if (bg[3] > 0) { layers.push(bg); if (bg[3] >= 1) break; }
    }
    return layers.reverse().reduce((under, top) => over(top, under), [255, 255, 255]);
  };
  const lum = (rgb) => {
    const f = (v) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
    return 0.2126 * f(rgb[0]) + 0.7152 * f(rgb[1]) + 0.0722 * f(rgb[2]);
  };
  const low = [];
  let checked = 0;
  for (const el of document.querySelectorAll('body *')) {
    if (el instanceof SVGElement || el.closest('.sr-only')) continue;
    const own = [...el.childNodes].filter((n) => n.nodeType === Node.TEXT_NODE).map((n) => n.textContent).join('');
    if (!/\S/.test(own)) continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0 || r.right < 0 || r.left > innerWidth) continue;
    const cs = getComputedStyle(el);
    const bg = behind(el);
    const fore = over(parse(cs.color), bg);
    const [hi, lo] = [lum(fore), lum(bg)].sort((a, b) => b - a);
    const ratio = (hi + 0.05) / (lo + 0.05);
    const size = parseFloat(cs.fontSize);
    const need = size >= 24 || (Number(cs.fontWeight) >= 700 && size >= 18.66) ? 3 : 4.5;
    checked++;
    if (ratio < need) low.push(el.tagName.toLowerCase() + '.' + (el.getAttribute('class') ?? '') + ' "' + own.trim().slice(0, 30) + '": ' + ratio.toFixed(2) + ':1 (' + cs.color + ' on rgb(' + bg.map(Math.round).join(', ') + '))');
  }
  return { background: lum(behind(document.documentElement)), checked, low };
})()`;

export function contrast(page: Page): Promise<{ background: number; checked: number; low: string[] }> {
  return page.evaluate(CONTRAST_JS);
}

/** What every page opened through one watcher did that it must not: requests elsewhere, console errors. */
export interface PageWatch {
  foreign: string[];
  consoleErrors: string[];
}

export interface OpenOptions {
  /** The reader token put in the tab's session storage before the first load; null for none. */
  token: string | null;
  origin: string;
  before?: (page: Page) => Promise<unknown>;
  /** Console errors the test expects (a mocked 500): not recorded. */
  expectedConsole?: RegExp;
}

/** A new tab (new sessionStorage) on origin/#hash, once main[data-ready=ready] is there. */
export async function openPage(browser: Browser, watch: PageWatch, hash: string, ready: string, options: OpenOptions): Promise<Page> {
  const { origin } = options;
  const page = await browser.context.newPage();
  page.on('request', (r) => {
    const u = r.url();
    if (!u.startsWith(`${origin}/`) && !u.startsWith('data:')) watch.foreign.push(u);
  });
  page.on('console', (m) => {
    if (m.type() === 'error' && !/status of 40[134]/.test(m.text()) && !options.expectedConsole?.test(m.text())) watch.consoleErrors.push(`${hash}: ${m.text()}`);
  });
  page.on('pageerror', (e) => watch.consoleErrors.push(`${hash}: ${e.message}`));
  // As if entered once in this tab: set before the first load only (a reload keeps what the page did).
  if (options.token) {
    await page.addInitScript(([key, value]) => {
      if (sessionStorage.getItem('test.seeded') === null) {
        sessionStorage.setItem('test.seeded', '1');
        sessionStorage.setItem(key, value);
      }
    }, [TOKEN_KEY, options.token] as const);
  }
  await options.before?.(page);
  await page.goto(`${origin}/#${hash}`);
  await page.waitForSelector(`main[data-ready="${ready}"]`, { timeout: 20_000 });
  return page;
}
