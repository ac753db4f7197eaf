// Each host's stored history is bounded (issue 17, Quotas: maxReportsPerHost): at ingest, a host
// beyond its budget loses its oldest reports, never the one just received nor its current one;
// other hosts keep theirs; the count survives retention and is exact after a migration. A real
// SQLite file through the real ingest thread; row counts and received sizes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openStore } from '../src/open-store.js';
import { reportFrom } from './helpers/reports.js';
import { resolveConfig } from '../src/config.js';

const meta = (receivedAt: Date) => ({ receivedAt: receivedAt.toISOString(), tokenId: null, bytes: 20_000 });

test('a host past maxReportsPerHost loses its oldest reports at ingest, never its latest; another host keeps all; counted', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dualstack-budget-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'collector.db');
  const store = openStore({ db: file, staleAfterSeconds: 900, maxReportsPerHost: 5 });
  const start = Date.now() - 3_600_000;
  const ids: string[] = [];
  try {
    for (let i = 0; i < 40; i += 1) {
      const at = new Date(start + i * 60_000);
      const report = reportFrom('dual-stack-services', { hostId: 'noisy', collectedAt: at });
      ids.push(report.reportId);
      await store.ingestReport(report, meta(at));
      if (i < 3) await store.ingestReport(reportFrom('dual-stack-services', { hostId: 'quiet', collectedAt: at }), meta(at));
    }
    assert.equal(store.historyTrimmed?.(), 35);
  } finally {
    await store.close();
  }
  const db = new Database(file, { readonly: true });
  try {
    const kept = db.prepare<[string], string>('SELECT report_id FROM reports WHERE host_id = ? ORDER BY collected_at').pluck().all('noisy');
    assert.deepEqual(kept, ids.slice(-5), 'the five newest, the latest among them');
    assert.equal(db.prepare("SELECT count(*) FROM reports WHERE host_id = 'quiet'").pluck().get(), 3);
    assert.equal(db.prepare("SELECT sum(bytes) FROM reports WHERE host_id = 'noisy'").pluck().get(), 5 * 20_000, 'what is kept of the received bytes');
    assert.equal(db.prepare("SELECT report_id FROM latest_reports WHERE host_id = 'noisy'").pluck().get(), ids.at(-1));
    assert.deepEqual(db.prepare('SELECT host_id, history_reports FROM hosts ORDER BY host_id').all(), [
      { host_id: 'noisy', history_reports: 5 },
      { host_id: 'quiet', history_reports: 3 },
    ]);
  } finally {
    db.close();
  }
});

test('without a budget nothing is trimmed, and the kept count follows retention', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dualstack-budget-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'collector.db');
  const store = openStore({ db: file, staleAfterSeconds: 900 });
  const start = Date.now() - 3_600_000;
  try {
    for (let i = 0; i < 40; i += 1) {
      const at = new Date(start + i * 60_000);
      await store.ingestReport(reportFrom('dual-stack-services', { hostId: 'noisy', collectedAt: at }), meta(at));
    }
    assert.equal(store.historyTrimmed?.(), 0);
    assert.equal(await store.pruneReports(new Date(start + 30 * 60_000)), 30);
  } finally {
    await store.close();
  }
  const db = new Database(file, { readonly: true });
  try {
    assert.equal(db.prepare("SELECT count(*) FROM reports WHERE host_id = 'noisy'").pluck().get(), 10);
    assert.equal(db.prepare("SELECT history_reports FROM hosts WHERE host_id = 'noisy'").pluck().get(), 10, 'the count follows deletes');
  } finally {
    db.close();
  }
  assert.equal(resolveConfig([]).maxReportsPerHost, 100_000);
});

test('the budget is reported once per change of state and host (over, then under after retention), not per report', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dualstack-budget-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const events: unknown[] = [];
  const store = openStore({ db: join(dir, 'collector.db'), staleAfterSeconds: 900, maxReportsPerHost: 5 }, { onHistoryBudget: (event) => events.push(event) });
  const start = Date.now() - 3_600_000;
  const ingest = (i: number) => {
    const at = new Date(start + i * 60_000);
    return store.ingestReport(reportFrom('dual-stack-services', { hostId: 'noisy', collectedAt: at }), meta(at));
  };
  try {
    for (let i = 0; i < 20; i += 1) await ingest(i);
    assert.deepEqual(events, [{ hostId: 'noisy', state: 'over', trimmed: 1, maxReportsPerHost: 5 }], 'once, at the first trim');
    // Retention leaves it 2 reports (the 5 newest: 15..19; before 18 goes 15, 16, 17): the next report trims nothing.
    assert.equal(await store.pruneReports(new Date(start + 18 * 60_000)), 3);
    await ingest(20);
    assert.deepEqual(events.at(-1), { hostId: 'noisy', state: 'under', trimmed: 0, maxReportsPerHost: 5 });
    assert.equal(events.length, 2);
  } finally {
    await store.close();
  }
});
