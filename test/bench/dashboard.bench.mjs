// Dashboard load time and page weight with a big fleet, in Debian's Chromium.
//
//   npm run build   (not needed: the collector runs from source through tsx)
//   node --import tsx test/bench/dashboard.bench.mjs [--hosts 5000] [--loads 7] [--backends sqlite,postgres]
//
// --backends: the same bench on each store in turn, in the same run and the same Chromium:
// sqlite (a temp file) and/or postgres (a throw-away PostgreSQL cluster of
// test/helpers/postgres.ts, initdb into a temp dir, stopped by its PID at the end).
//
// Seeds a collector on 127.0.0.1:0 (temp SQLite) with N hosts through the store's
// ingestReport (realistic 50-service, 10-finding reports; 5% stale), then loads the
// overview (#/) and the hosts list (#/hosts) in Chromium: cold (HTTP cache cleared) and warm
// (reload), `--loads` times each. Prints, per view, the median and worst time from
// navigation start to the frame after the view's content is rendered (the page's own
// performance marks), the time of its API calls, and the bytes transferred.
// Baseline, measured in the same run: the same API calls made from Node (no browser, no
// rendering); the ratio says what the browser and the page add to the data's own time.
// Prints figures; asserts nothing (not a timed test; scripts/run-tests.mjs skips test/bench).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { request } from 'undici';
import { buildApp } from '../../packages/collector/src/app.ts';
import { connectStore } from '../../packages/collector/src/open-store.ts';
import { generateToken, hashToken } from '../../packages/collector/src/tokens.ts';
import { realisticReport, reportFrom } from '../../packages/collector/test/helpers/reports.ts';
import { chromiumMissing, launchBrowser } from '../../packages/collector/test/helpers/ui-browser.ts';
import { startPostgresCluster } from '../helpers/postgres.ts';

const { values: args } = parseArgs({ options: { hosts: { type: 'string', default: '5000' }, loads: { type: 'string', default: '7' }, backends: { type: 'string', default: 'sqlite' } } });
const HOSTS = Number(args.hosts);
const LOADS = Number(args.loads);
const BACKENDS = args.backends.split(',');
for (const b of BACKENDS) if (b !== 'sqlite' && b !== 'postgres') throw new Error(`--backends: unknown backend '${b}' (sqlite, postgres)`);

const why = chromiumMissing();
if (why) {
  console.error(`dashboard bench: ${why}`);
  process.exit(2);
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const ms = (x) => `${x.toFixed(0).padStart(5)} ms`;
const kb = (b) => `${(b / 1024).toFixed(1)} KiB`;

const dir = mkdtempSync(join(tmpdir(), 'dualstack-dashboard-bench-'));
let app;
let browser;
let cluster;
const cleanup = async () => {
  await browser?.close().catch(() => {});
  await app?.close().catch(() => {});
  await cluster?.stop().catch(() => {});
  rmSync(dir, { recursive: true, force: true });
};
process.on('SIGINT', () => cleanup().then(() => process.exit(130)));
process.on('SIGTERM', () => cleanup().then(() => process.exit(143)));

const summaries = [];
try {
  for (const backend of BACKENDS) {
    let db = join(dir, 'dualstack.db');
    if (backend === 'postgres') {
      cluster = await startPostgresCluster();
      db = await cluster.createDatabase();
    }
    const store = await connectStore({ db, staleAfterSeconds: 900 });
    await benchBackend(backend, store);
    await app.close();
    app = undefined;
    await store.close(); // the app leaves its store to whoever opened it
  }
  if (summaries.length > 1) {
    console.log('\nsame run, cold load of each view (median):');
    for (const view of ['overview', 'hosts']) {
      const [first, ...rest] = summaries;
      console.log(`  ${view}: ${summaries.map((x) => `${x.backend} ${x.cold[view].toFixed(0)} ms`).join(', ')}${rest.map((x) => ` (${x.backend}/${first.backend} ${(x.cold[view] / first.cold[view]).toFixed(2)}x)`).join('')}`);
    }
  }
} finally {
  await cleanup();
}

async function benchBackend(backend, store) {
  const token = generateToken();
  await store.createToken({ name: 'bench-reader', role: 'reader', hash: hashToken(token) });

  // --- seed -------------------------------------------------------------------------------
  const t0 = performance.now();
  const now = Date.now();
  const fixtures = ['no-ipv6-default', 'bindv6only', 'ipv6-off'];
  const BATCH = 50;
  for (let i = 0; i < HOSTS; i += BATCH) {
    const batch = [];
    for (let j = i; j < Math.min(HOSTS, i + BATCH); j++) {
      const hostId = `host-${String(j).padStart(5, '0')}`;
      const stale = j % 20 === 19;
      const at = new Date(now - (stale ? 3 * 3600_000 : 60_000 + (j % 600) * 1000));
      // Most hosts: the realistic 50-service report; every 10th a small captured one.
      const report = j % 10 === 9 ? reportFrom(fixtures[j % 3], { hostId, collectedAt: at }) : realisticReport({ hostId, collectedAt: at, round: j % 7 });
      batch.push(store.ingestReport(report, { receivedAt: at.toISOString(), tokenId: null, bytes: 30_000 }));
    }
    await Promise.all(batch);
  }
  const seedSeconds = (performance.now() - t0) / 1000;
  const counts = await store.counts();

  app = await buildApp({ store, config: { bodyLimitBytes: 4 * 1024 * 1024, openReadsOnLoopback: false } });
  const origin = await app.listen({ host: '127.0.0.1', port: 0 });

  // --- baseline: the views' API calls from Node ---------------------------------------------
  const apiCalls = {
    overview: ['/api/v1/summary', '/api/v1/services?limit=1000&offset=0', '/api/v1/findings', '/api/v1/alerts'],
    hosts: ['/api/v1/findings', '/api/v1/hosts?limit=100&offset=0'],
  };
  const baseline = {};
  const apiBytes = {};
  for (const [view, paths] of Object.entries(apiCalls)) {
    const times = [];
    for (let k = 0; k < LOADS + 1; k++) {
      const started = performance.now();
      const bodies = await Promise.all(
        paths.map(async (p) => {
          const res = await request(`${origin}${p}`, { headers: { authorization: `Bearer ${token}` } });
          return (await res.body.arrayBuffer()).byteLength;
        }),
      );
      if (k > 0) times.push(performance.now() - started); // the first warms prepared statements
      apiBytes[view] = bodies.reduce((a, b) => a + b, 0);
    }
    baseline[view] = median(times);
  }

  // --- the browser --------------------------------------------------------------------------
  browser ??= await launchBrowser();
  const context = browser.context;
  await context.addInitScript((t) => sessionStorage.setItem('dualstack.readerToken', t), token);

  async function measure(page, view) {
    await page.waitForFunction((name) => performance.getEntriesByName(`dualstack:painted:${name}`).length > 0, view, { timeout: 30_000, polling: 10 });
    return page.evaluate((name) => {
      const painted = performance.getEntriesByName(`dualstack:painted:${name}`)[0].startTime;
      const ready = performance.getEntriesByName(`dualstack:ready:${name}`)[0].startTime;
      const nav = performance.getEntriesByType('navigation')[0];
      const resources = performance.getEntriesByType('resource');
      const api = resources.filter((r) => r.name.includes('/api/'));
      const statics = resources.filter((r) => !r.name.includes('/api/'));
      const sum = (list, key) => list.reduce((a, r) => a + (r[key] || 0), 0);
      return {
        painted,
        ready,
        domContentLoaded: nav.domContentLoadedEventEnd,
        apiMs: api.length ? Math.max(...api.map((r) => r.responseEnd)) - Math.min(...api.map((r) => r.startTime)) : 0,
        requests: resources.length + 1,
        staticTransfer: nav.transferSize + sum(statics, 'transferSize'),
        staticDecoded: nav.decodedBodySize + sum(statics, 'decodedBodySize'),
        apiTransfer: sum(api, 'transferSize'),
        cachedStatics: statics.filter((r) => r.transferSize === 0).length,
        rows: document.querySelectorAll('main tbody tr').length,
      };
    }, view);
  }

  const results = {};
  for (const [view, hash] of [['overview', '#/'], ['hosts', '#/hosts']]) {
    const cold = [];
    const warm = [];
    // One untimed load to warm the server and Chromium's own start-up paths.
    {
      const page = await context.newPage();
      await page.goto(`${origin}/${hash}`);
      await measure(page, view);
      await page.close();
    }
    for (let k = 0; k < LOADS; k++) {
      const page = await context.newPage();
      const cdp = await context.newCDPSession(page);
      await cdp.send('Network.clearBrowserCache');
      await page.goto(`${origin}/${hash}`);
      cold.push(await measure(page, view));
      await page.reload();
      warm.push(await measure(page, view));
      await cdp.detach();
      await page.close();
    }
    results[view] = { cold, warm };
  }

  // --- report -------------------------------------------------------------------------------
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  console.log(`\n=== ${backend} ===`);
  console.log(`dashboard bench: ${HOSTS} hosts (${counts.services} service rows, ${counts.findings} findings, ${counts.reports} reports) seeded in ${seedSeconds.toFixed(1)} s`);
  console.log(`machine: ${cpus().length} x ${cpu}; Chromium ${browser.context.browser()?.version() ?? '(persistent context)'}; ${LOADS} loads per case, medians (worst)`);
  console.log('');
  console.log('view       load   to content painted   view in DOM   DOM ready   API calls   requests   static bytes (transferred / decoded)   API bytes');
  for (const [view, { cold, warm }] of Object.entries(results)) {
    for (const [kind, runs] of [['cold', cold], ['warm', warm]]) {
      const painted = runs.map((r) => r.painted);
      console.log(
        `${view.padEnd(10)} ${kind.padEnd(5)}  ${ms(median(painted))} (${ms(Math.max(...painted)).trim()})    ${ms(median(runs.map((r) => r.ready)))}    ${ms(median(runs.map((r) => r.domContentLoaded)))}   ${ms(median(runs.map((r) => r.apiMs)))}   ${String(runs[0].requests).padStart(8)}   ${kb(median(runs.map((r) => r.staticTransfer))).padStart(10)} / ${kb(runs[0].staticDecoded).padEnd(12)}            ${kb(median(runs.map((r) => r.apiTransfer)))}`,
      );
    }
  }
  console.log('');
  for (const view of Object.keys(results)) {
    const cold = median(results[view].cold.map((r) => r.painted));
    console.log(`${view}: baseline (the same API calls from Node, no browser) ${baseline[view].toFixed(1)} ms for ${kb(apiBytes[view])}; cold page load / baseline = ${(cold / baseline[view]).toFixed(1)}x; rows rendered ${results[view].cold[0].rows}`);
  }
  const worst = Math.max(...Object.values(results).flatMap(({ cold, warm }) => [...cold, ...warm].map((r) => r.painted)));
  console.log(`\nslowest load of all: ${worst.toFixed(0)} ms (${worst < 1000 ? 'under' : 'OVER'} one second)`);
  summaries.push({ backend, cold: Object.fromEntries(Object.entries(results).map(([view, { cold }]) => [view, median(cold.map((r) => r.painted))])) });
}
