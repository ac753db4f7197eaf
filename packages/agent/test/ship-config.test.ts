// What push and run are told: collector URL, token file, durations, sizes, schedules; and the
// run loop's retries between scans and its skipped ticks, in-process against a real HTTP server.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { format } from 'node:util';
import {
  ShipConfigError,
  checkCronExpression,
  collectorEndpoint,
  intervalToCron,
  parseDuration,
  parseSize,
  readTokenFile,
  sendsTokenInClear,
} from '../src/ship/config.js';
import { classifyLine } from '../src/log.js';
import { AgentLoop, backoffFor, defaultJitter, scheduleInterval } from '../src/ship/loop.js';
import { Spool } from '../src/ship/spool.js';
import { FakeCollector, fixtureReport, reportAt } from './ship-fake-collector.js';

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'dualstack-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('collectorEndpoint: a base URL gets /api/v1/reports; a full one is kept; others refused', () => {
  assert.equal(collectorEndpoint('http://127.0.0.1:8080').href, 'http://127.0.0.1:8080/api/v1/reports');
  assert.equal(collectorEndpoint('https://c.example/dualstack/').href, 'https://c.example/dualstack/api/v1/reports');
  assert.equal(collectorEndpoint('https://c.example/api/v1/reports/').href, 'https://c.example/api/v1/reports');
  assert.equal(collectorEndpoint('http://[2001:db8::1]:8080').href, 'http://[2001:db8::1]:8080/api/v1/reports');
  for (const bad of ['collector:8080', 'ftp://c.example', 'https://user:pw@c.example', 'https://c.example/?x=1', 'not a url']) {
    assert.throws(() => collectorEndpoint(bad), ShipConfigError, bad);
  }
});

test('sendsTokenInClear: plain http beyond loopback', () => {
  assert.equal(sendsTokenInClear(new URL('http://127.0.0.1:1/')), false);
  assert.equal(sendsTokenInClear(new URL('http://[::1]:1/')), false);
  assert.equal(sendsTokenInClear(new URL('http://localhost/')), false);
  assert.equal(sendsTokenInClear(new URL('https://c.example/')), false);
  assert.equal(sendsTokenInClear(new URL('http://c.example/')), true);
});

test('readTokenFile: one token, trimmed; missing, empty, multi-line refused; readable by others warned', (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'token');
  writeFileSync(file, '  s3cr3t-token_42\n', { mode: 0o600 });
  chmodSync(file, 0o600);
  assert.deepEqual(readTokenFile(file), { token: 's3cr3t-token_42', warning: null });
  chmodSync(file, 0o644);
  assert.match(readTokenFile(file).warning ?? '', /readable by others \(mode 0644\); chmod 600 /);
  assert.throws(() => readTokenFile(join(dir, 'missing')), { name: 'ShipConfigError', message: `token file ${join(dir, 'missing')} does not exist` });
  writeFileSync(file, '\n \n');
  assert.throws(() => readTokenFile(file), { message: `token file ${file} is empty` });
  writeFileSync(file, 'abc\nX-Injected: 1\n');
  assert.throws(() => readTokenFile(file), /one token on one line/);
  assert.throws(() => readTokenFile(dir), /is a directory/);
});

test('parseDuration and parseSize', () => {
  assert.deepEqual(['30s', '5m', '1h', '250ms', '0s'].map((d) => parseDuration(d, '--x')), [30_000, 300_000, 3_600_000, 250, 0]);
  for (const bad of ['5', '5 min', '-1s', '1.5m', '']) assert.throws(() => parseDuration(bad, '--interval'), /--interval takes a duration like 30s/);
  assert.deepEqual(['100M', '512k', '1G', '2048', '10MiB', '64kb'].map((s) => parseSize(s, '--s')), [100 * 2 ** 20, 512 * 1024, 2 ** 30, 2048, 10 * 2 ** 20, 65536]);
  for (const bad of ['lots', '0', '1T']) assert.throws(() => parseSize(bad, '--spool-max-size'), ShipConfigError);
});

test('intervalToCron: intervals that divide a minute, an hour or a day; others point to --schedule', () => {
  const cases: Array<[string, string]> = [
    ['1s', '* * * * * *'],
    ['30s', '*/30 * * * * *'],
    ['1m', '0 * * * * *'],
    ['5m', '0 */5 * * * *'],
    ['15m', '0 */15 * * * *'],
    ['1h', '0 0 * * * *'],
    ['6h', '0 0 */6 * * *'],
    ['24h', '0 0 0 * * *'],
  ];
  for (const [interval, cron] of cases) assert.equal(intervalToCron(parseDuration(interval, '--interval')), cron, interval);
  for (const bad of ['7s', '90s', '7m', '5h', '48h', '0s', '1500ms']) {
    assert.throws(() => intervalToCron(parseDuration(bad, '--interval')), /does not divide a minute, an hour or a day evenly; .*--schedule/, bad);
  }
});

test('checkCronExpression, scheduleInterval, default jitter and backoff', () => {
  assert.equal(checkCronExpression('0 */10 * * * *'), '0 */10 * * * *');
  assert.throws(() => checkCronExpression('every five minutes'), /--schedule 'every five minutes' is not a cron expression/);
  assert.equal(scheduleInterval('0 */5 * * * *'), 300_000);
  assert.equal(scheduleInterval('* * * * * *'), 1000);
  assert.equal(scheduleInterval('0 0 9,17 * * *'), 8 * 3_600_000, 'the shortest gap');
  assert.equal(defaultJitter(300_000), 30_000);
  assert.equal(defaultJitter(30_000), 6_000);
  assert.equal(defaultJitter(1000), 200);
  assert.deepEqual(backoffFor(300_000), { baseMs: 5_000, capMs: 300_000 });
  assert.deepEqual(backoffFor(1000), { baseMs: 250, capMs: 1000 });
  assert.deepEqual(backoffFor(24 * 3_600_000), { baseMs: 5_000, capMs: 300_000 });
});

test('AgentLoop: spooled reports are retried between scans with backoff until the collector takes them', async (t) => {
  const dir = tempDir(t);
  const lines: string[] = [];
  const log = (line: string) => lines.push(line);
  const spool = new Spool({ dir: join(dir, 'spool'), log });
  const base = await fixtureReport();
  const waiting = [reportAt(base, '2025-01-01T00:00:00Z'), reportAt(base, '2025-01-02T00:00:00Z')];
  for (const report of waiting) await spool.add(report);
  const collector = await FakeCollector.start();
  t.after(() => collector.close());
  collector.answer({ status: 503 }, 'close');

  let scans = 0;
  const loop = new AgentLoop({
    schedule: '0 0 0 1 1 *', // once a year: every delivery here is a retry between scans
    jitterMs: 0,
    scan: async () => {
      scans += 1;
      return reportAt(base, new Date());
    },
    token: () => 'tok',
    delivery: { url: collector.endpoint, spool, timeoutMs: 2000 },
    log,
    backoff: { baseMs: 50, capMs: 200 },
    random: () => 0.5,
  });
  loop.start();
  try {
    const deadline = Date.now() + 5000;
    while ((await spool.size()).reports > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await loop.idle();
  } finally {
    await loop.stop('test over');
  }
  assert.equal(scans, 0);
  assert.deepEqual(await spool.list(), []);
  // 503, then a dropped connection, then both delivered, oldest first.
  assert.deepEqual(collector.receivedIds, [waiting[0]!.reportId, waiting[0]!.reportId, waiting[0]!.reportId, waiting[1]!.reportId]);
  const retrying = lines.filter((l) => l.startsWith('retrying '));
  assert.deepEqual(retrying, ['retrying 2 spooled reports in 25 ms (attempt 1)', 'retrying 2 spooled reports in 50 ms (attempt 2)']);
  assert.equal(lines.at(-1), 'stopping (test over)');
});

/** What fn wrote to the console or stderr (node-cron's default logger writes there), one entry per call. */
async function consoleOutput(fn: () => Promise<void>): Promise<string[]> {
  const written: string[] = [];
  const methods = ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const;
  const saved = methods.map((m) => console[m]);
  const write = process.stderr.write;
  for (const m of methods) console[m] = (...args: unknown[]) => void written.push(`console.${m}: ${format(...args)}`);
  process.stderr.write = ((chunk: string | Uint8Array) => (written.push(`stderr: ${String(chunk)}`), true)) as typeof process.stderr.write;
  try {
    await fn();
  } finally {
    methods.forEach((m, i) => (console[m] = saved[i]!));
    process.stderr.write = write;
  }
  return written;
}

test('AgentLoop: a tick while the scan still runs is skipped, counted and logged at debug, never a console warning', async (t) => {
  const dir = tempDir(t);
  const lines: string[] = [];
  const log = (line: string) => lines.push(line);
  const spool = new Spool({ dir: join(dir, 'spool'), log });
  const base = await fixtureReport();
  const collector = await FakeCollector.start();
  t.after(() => collector.close());
  let scans = 0;
  let running = 0;
  let most = 0;
  const loop = new AgentLoop({
    schedule: '* * * * * *',
    jitterMs: 0,
    scan: async () => {
      scans += 1;
      running += 1;
      most = Math.max(most, running);
      await new Promise((r) => setTimeout(r, 2500));
      running -= 1;
      return reportAt(base, new Date());
    },
    token: () => 'tok',
    delivery: { url: collector.endpoint, spool, timeoutMs: 2000 },
    log,
  });
  const written = await consoleOutput(async () => {
    loop.start();
    try {
      await new Promise((r) => setTimeout(r, 4600));
    } finally {
      await loop.stop('test over');
    }
  });
  assert.equal(most, 1, 'never two scans at once');
  assert.ok(scans >= 1 && scans <= 2, `4.6 s of 1 s ticks with 2.5 s scans: ${scans} scans`);
  // node-cron 4 with noOverlap warns for each such tick through its logger, by default on the
  // console ("[NODE-CRON] [WARN] task still running, new execution blocked by overlap prevention!").
  assert.deepEqual(written, [], 'nothing on the console or stderr');
  const overlaps = loop.skippedScans('overlap');
  assert.ok(overlaps >= 1, `ticks skipped: ${overlaps}`);
  const skipped = lines.filter((l) => l.startsWith('skipped a scan'));
  assert.deepEqual(skipped, Array.from({ length: overlaps }, (_, i) => `skipped a scan (${i + 1} so far): the previous one is still running`));
  const scheduler = lines.filter((l) => /^(skipped a scan|scheduler)/.test(l));
  assert.ok(scheduler.some((l) => l.startsWith('scheduler notice: task still running')), "node-cron's own notice reaches the log");
  assert.deepEqual(
    scheduler.map((l) => [l, classifyLine(l).level]),
    scheduler.map((l) => [l, 'debug']),
    'a skipped tick is logged at debug only',
  );
  assert.equal(loop.skippedScans('missed'), 0);
});
