// The jobs startCollector runs: evaluation on node-cron that never overlaps itself (a skipped
// tick counted, logged at debug, never a console warning), the retention job pruning alert
// history, shutdown finishing the running evaluation.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { format } from 'node:util';
import { test } from 'node:test';
import { resolveConfig } from '../src/config.js';
import { resolveAlerts } from '../src/alerts/config.js';
import { scheduleEvaluations, type ScheduledJob } from '../src/alerts/schedule.js';
import { AlertService } from '../src/alerts/service.js';
import type { AlertStore } from '../src/alerts/store.js';
import { SqliteAlertStore } from '../src/db/sqlite-alert-store.js';
import { SqliteStore } from '../src/db/sqlite-store.js';
import { startCollector } from '../src/server.js';
import { sleep, waitFor } from './helpers/alerts.js';

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

interface Logged {
  obj: Record<string, unknown>;
  msg: string;
}

function recordingLog() {
  const debug: Logged[] = [];
  const error: Logged[] = [];
  return { debug, error, log: { debug: (obj: object, msg: string) => void debug.push({ obj: obj as Logged['obj'], msg }), error: (obj: object, msg: string) => void error.push({ obj: obj as Logged['obj'], msg }) } };
}

test('evaluations never overlap: a tick while one runs is skipped, counted and logged at debug, never a console warning', async (t) => {
  let running = 0;
  let most = 0;
  let runs = 0;
  const { debug, error, log } = recordingLog();
  const skips: string[] = [];
  let job: ScheduledJob | undefined;
  t.after(() => job?.stop());
  const written = await consoleOutput(async () => {
    job = scheduleEvaluations(
      '* * * * * *',
      async () => {
        runs++;
        running++;
        most = Math.max(most, running);
        await sleep(2500);
        running--;
      },
      { log, onSkip: (reason) => skips.push(reason) },
    );
    await sleep(5600);
    await job.stop();
  });
  assert.equal(most, 1, 'never two at once');
  assert.ok(runs >= 1 && runs <= 3, `5.6 s of 1 s ticks with 2.5 s evaluations: ${runs} runs`);
  // node-cron 4 with noOverlap warns on the console for each such tick by default
  // ("[NODE-CRON] [WARN] task still running, new execution blocked by overlap prevention!").
  assert.deepEqual(written, [], 'nothing on the console or stderr');
  const overlaps = job!.skipped('overlap');
  assert.ok(overlaps >= 1, `ticks skipped: ${overlaps}`);
  assert.deepEqual(skips, Array(overlaps).fill('overlap'), 'each skipped tick counted once');
  const skipped = debug.filter((d) => d.msg === 'alerts: tick skipped: the previous run is still going');
  assert.deepEqual(skipped.map((d) => [d.obj.job, d.obj.reason, d.obj.skipped]), Array.from({ length: overlaps }, (_, i) => ['alerts', 'overlap', i + 1]));
  assert.ok(debug.some((d) => /^node-cron: task still running/.test(d.msg)), "node-cron's own notice is at debug");
  assert.deepEqual(error, []);
});

test('a tick fired too late (event loop blocked) is skipped, counted and logged at debug, never a console warning', async (t) => {
  let runs = 0;
  const { debug, log } = recordingLog();
  let job: ScheduledJob | undefined;
  t.after(() => job?.stop());
  const written = await consoleOutput(async () => {
    job = scheduleEvaluations('* * * * * *', async () => void runs++, { log });
    await sleep(1100);
    const until = Date.now() + 2500;
    while (Date.now() < until); // blocks the event loop past node-cron's 1 s tolerance
    await sleep(1500);
    await job.stop();
  });
  // Without a listener node-cron warns on the console: "missed execution at ...!"
  assert.deepEqual(written, [], 'nothing on the console or stderr');
  assert.ok(job!.skipped('missed') >= 1, `missed: ${job!.skipped('missed')}`);
  assert.ok(debug.some((d) => d.obj.reason === 'missed' && d.msg === 'alerts: tick skipped: node-cron fired it too late (event loop blocked)'));
  assert.ok(runs >= 1);
});

test('stop() waits for the running evaluation, which completes and is recorded', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dualstack-alerts-stop-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const store = new SqliteStore(join(dir, 'c.db'), { staleAfterSeconds: 900 });
  t.after(() => store.close());
  const real = new SqliteAlertStore(store.database);
  // An AlertStore whose first read takes 300 ms: an evaluation still running when stop() comes.
  const slow = new Proxy(real, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver) as unknown;
      if (key === 'liveAlerts') return async () => (await sleep(300), target.liveAlerts());
      return typeof value === 'function' ? value.bind(target) : value;
    },
  }) as AlertStore;
  const service = new AlertService({ store: slow, settings: resolveAlerts(undefined) });
  const evaluation = service.evaluate();
  await sleep(50);
  await service.stop();
  const recorded = await real.lastEvaluation();
  assert.ok(recorded, 'recorded before stop() returned');
  assert.equal(recorded.error, null);
  assert.equal((await evaluation).error, null);
  assert.equal((await service.evaluate()).error, 'stopping', 'no evaluation after stop');
});

test('startCollector: evaluation every tick of alerts.schedule, alert history pruned by the retention job, nothing after close', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dualstack-alerts-server-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const db = join(dir, 'c.db');
  const seed = new SqliteStore(db, { staleAfterSeconds: 900 });
  const old = new Date(Date.now() - 3 * 86_400_000).toISOString();
  seed.database.prepare("INSERT INTO alert_events (at, fingerprint, rule, labels, from_status, to_status, summary) VALUES (?, 'f', 'host-stale', '{}', NULL, 'firing', 'old')").run(old);
  seed.database.prepare('INSERT INTO alert_evaluations (started_at, duration_ms, active, transitions, notifications, error) VALUES (?, 1, 0, 0, 0, NULL)').run(old);
  await seed.close();

  const config = resolveConfig([{ listen: '127.0.0.1:0', db, logLevel: 'silent', retentionDays: 1, retentionSchedule: '* * * * * *', alerts: { schedule: '* * * * * *' } }]);
  const started = Date.now() - 1000; // node-cron's tick times are whole seconds
  const collector = await startCollector(config);
  t.after(() => collector.close());
  const store = collector.app.alerts.store;
  const count = (sql: string) => (collector.app.store as SqliteStore).database.prepare(sql).pluck().get() as number;
  await waitFor('the old history to be pruned', () => count("SELECT count(*) FROM alert_events WHERE summary = 'old'") === 0, 30_000, 100);
  // Guards, not timings: the first evaluation starts the evaluation's worker thread, which under
  // tsx on a loaded machine takes seconds.
  await waitFor('two evaluations', () => count('SELECT count(*) FROM alert_evaluations') >= 2, 30_000, 100);
  const last = (await store.lastEvaluation())!;
  assert.ok(Date.parse(last.startedAt) >= started, `the last evaluation (${last.startedAt}) is one of this collector's, not the seeded one`);
  const metrics = (await collector.app.inject({ url: '/metrics' })).body;
  for (const job of ['alerts', 'retention']) for (const reason of ['overlap', 'missed']) assert.match(metrics, new RegExp(`^dualstack_schedule_skipped_ticks_total\\{job="${job}",reason="${reason}"\\} \\d+$`, 'm'));
  await collector.close();
  const file = new SqliteStore(db, { staleAfterSeconds: 900 });
  t.after(() => file.close());
  const after = file.database.prepare('SELECT count(*) FROM alert_evaluations').pluck().get() as number;
  await sleep(1500);
  assert.equal(file.database.prepare('SELECT count(*) FROM alert_evaluations').pluck().get(), after, 'no evaluation after close');
});
