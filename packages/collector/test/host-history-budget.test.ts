// Each host's stored history is bounded (issue 17, Quotas: maxReportsPerHost): at ingest, a host
// beyond its budget loses its oldest reports, never the one just received nor its current one;
// other hosts keep theirs; the count survives retention. On both backends (issue 18): SQLite (a
// real file through the real ingest thread) and PostgreSQL (one throw-away cluster for the file,
// a new database per test, the trim done by migration 4's trigger), and on PostgreSQL two
// collectors writing one host's reports at once. Row counts and received sizes.
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openStore, type StoreHooks } from '../src/open-store.js';
import { PostgresStore } from '../src/db/postgres/store.js';
import type { Store } from '../src/store.js';
import { reportFrom } from './helpers/reports.js';
import { resolveConfig } from '../src/config.js';
import { skipUnlessPostgres, startPostgresCluster, type PostgresCluster } from '../../../test/helpers/postgres.js';

const meta = (receivedAt: Date) => ({ receivedAt: receivedAt.toISOString(), tokenId: null, bytes: 20_000 });

interface Opened {
  /** A store (a collector) on the test's database; closed after the test. */
  open(options: { maxReportsPerHost?: number }, hooks?: StoreHooks): Promise<Store>;
  /** A query's rows on the database (after the stores closed: what is on disk). */
  rows<T = Record<string, unknown>>(sql: string): Promise<T[]>;
}

interface Backend {
  name: string;
  skip: string | false;
  start(): Promise<void>;
  stop(): Promise<void>;
  database(t: TestContext): Promise<Opened>;
}

const sqlite: Backend = {
  name: 'sqlite',
  skip: false,
  async start() {},
  async stop() {},
  async database(t) {
    const dir = mkdtempSync(join(tmpdir(), 'dualstack-budget-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'collector.db');
    return {
      async open(options, hooks) {
        const store = openStore({ db: file, staleAfterSeconds: 900, ...options }, hooks);
        t.after(() => store.close());
        return store;
      },
      async rows<T>(sql: string) {
        const db = new Database(file, { readonly: true });
        try {
          return db.prepare(sql).all() as T[];
        } finally {
          db.close();
        }
      },
    };
  },
};

function postgres(): Backend {
  let cluster: PostgresCluster | undefined;
  return {
    name: 'postgres',
    skip: skipUnlessPostgres(),
    async start() {
      cluster = await startPostgresCluster();
    },
    async stop() {
      await cluster?.stop();
    },
    async database(t) {
      const url = await cluster!.createDatabase();
      const database = new URL(url).pathname.slice(1);
      return {
        async open(options, hooks) {
          const store = await PostgresStore.open(url, { staleAfterSeconds: 900, ...options, ...hooks, max: 4 });
          t.after(() => store.close());
          return store;
        },
        rows: async <T>(sql: string) => (await cluster!.query(sql, [], database)).rows as T[],
      };
    },
  };
}

for (const backend of [sqlite, postgres()]) {
  describe(backend.name, { skip: backend.skip }, () => {
    before(() => backend.start());
    after(() => backend.stop());

    test('a host past maxReportsPerHost loses its oldest reports at ingest, never its latest; another host keeps all; counted', async (t) => {
      const database = await backend.database(t);
      const store = await database.open({ maxReportsPerHost: 5 });
      const start = Date.now() - 3_600_000;
      const ids: string[] = [];
      for (let i = 0; i < 40; i += 1) {
        const at = new Date(start + i * 60_000);
        const report = reportFrom('dual-stack-services', { hostId: 'noisy', collectedAt: at });
        ids.push(report.reportId);
        await store.ingestReport(report, meta(at));
        if (i < 3) await store.ingestReport(reportFrom('dual-stack-services', { hostId: 'quiet', collectedAt: at }), meta(at));
      }
      assert.equal(store.historyTrimmed?.(), 35);
      await store.close();
      const kept = await database.rows<{ report_id: string }>("SELECT report_id FROM reports WHERE host_id = 'noisy' ORDER BY collected_at");
      assert.deepEqual(kept.map((r) => r.report_id), ids.slice(-5), 'the five newest, the latest among them');
      assert.deepEqual(await database.rows("SELECT CAST(count(*) AS INTEGER) AS n FROM reports WHERE host_id = 'quiet'"), [{ n: 3 }]);
      assert.deepEqual(await database.rows("SELECT CAST(sum(bytes) AS INTEGER) AS b FROM reports WHERE host_id = 'noisy'"), [{ b: 5 * 20_000 }], 'what is kept of the received bytes');
      assert.deepEqual(await database.rows("SELECT report_id FROM latest_reports WHERE host_id = 'noisy'"), [{ report_id: ids.at(-1) }]);
      assert.deepEqual(await database.rows('SELECT host_id, history_reports FROM hosts ORDER BY host_id'), [
        { host_id: 'noisy', history_reports: 5 },
        { host_id: 'quiet', history_reports: 3 },
      ]);
    });

    test('without a budget nothing is trimmed, and the kept count follows retention', async (t) => {
      const database = await backend.database(t);
      const store = await database.open({});
      const start = Date.now() - 3_600_000;
      for (let i = 0; i < 40; i += 1) {
        const at = new Date(start + i * 60_000);
        await store.ingestReport(reportFrom('dual-stack-services', { hostId: 'noisy', collectedAt: at }), meta(at));
      }
      assert.equal(store.historyTrimmed?.(), 0);
      assert.equal(await store.pruneReports(new Date(start + 30 * 60_000)), 30);
      await store.close();
      assert.deepEqual(await database.rows("SELECT CAST(count(*) AS INTEGER) AS n FROM reports WHERE host_id = 'noisy'"), [{ n: 10 }]);
      assert.deepEqual(await database.rows("SELECT history_reports FROM hosts WHERE host_id = 'noisy'"), [{ history_reports: 10 }], 'the count follows deletes');
      assert.equal(resolveConfig([]).maxReportsPerHost, 100_000);
    });

    test('the budget is reported once per change of state and host (over, then under after retention), not per report', async (t) => {
      const database = await backend.database(t);
      const events: unknown[] = [];
      const store = await database.open({ maxReportsPerHost: 5 }, { onHistoryBudget: (event) => events.push(event) });
      const start = Date.now() - 3_600_000;
      const ingest = (i: number) => {
        const at = new Date(start + i * 60_000);
        return store.ingestReport(reportFrom('dual-stack-services', { hostId: 'noisy', collectedAt: at }), meta(at));
      };
      for (let i = 0; i < 20; i += 1) await ingest(i);
      assert.deepEqual(events, [{ hostId: 'noisy', state: 'over', trimmed: 1, maxReportsPerHost: 5 }], 'once, at the first trim');
      // Retention leaves it 2 reports (the 5 newest: 15..19; before 18 goes 15, 16, 17): the next report trims nothing.
      assert.equal(await store.pruneReports(new Date(start + 18 * 60_000)), 3);
      await ingest(20);
      assert.deepEqual(events.at(-1), { hostId: 'noisy', state: 'under', trimmed: 0, maxReportsPerHost: 5 });
      assert.equal(events.length, 2);
    });

    if (backend.name === 'postgres') {
      test('two collectors writing one host at once: the budget holds, the current report stays, each counts its own trims', async (t) => {
        const database = await backend.database(t);
        const a = await database.open({ maxReportsPerHost: 5 });
        const b = await database.open({ maxReportsPerHost: 5 });
        const start = Date.now() - 3_600_000;
        const reports = Array.from({ length: 60 }, (_, i) => {
          const at = new Date(start + i * 60_000);
          return { report: reportFrom('dual-stack-services', { hostId: 'noisy', collectedAt: at }), at };
        });
        // Alternately to each collector, all in flight at once (each pool has 4 connections).
        await Promise.all(reports.map(({ report, at }, i) => (i % 2 === 0 ? a : b).ingestReport(report, meta(at))));
        const trimmedA = a.historyTrimmed!();
        const trimmedB = b.historyTrimmed!();
        await Promise.all([a.close(), b.close()]);
        assert.equal(trimmedA + trimmedB, 55, 'every report beyond the budget trimmed once, counted by the collector that trimmed it');
        assert.ok(trimmedA > 0 && trimmedB > 0, `both collectors trimmed (${trimmedA}, ${trimmedB})`);
        assert.deepEqual(await database.rows("SELECT CAST(count(*) AS INTEGER) AS n FROM reports WHERE host_id = 'noisy'"), [{ n: 5 }]);
        assert.deepEqual(await database.rows("SELECT history_reports FROM hosts WHERE host_id = 'noisy'"), [{ history_reports: 5 }]);
        // The host shows the newest report (latest wins), and that report is kept.
        assert.deepEqual(await database.rows("SELECT h.last_report_id = r.report_id AS kept FROM hosts h JOIN reports r ON r.report_id = h.last_report_id WHERE h.host_id = 'noisy'"), [{ kept: true }]);
        assert.deepEqual(await database.rows("SELECT last_report_id FROM hosts WHERE host_id = 'noisy'"), [{ last_report_id: reports.at(-1)!.report.reportId }]);
      });
    }
  });
}
