// SqliteStore on real SQLite files in temp dirs: migrations, ingest (idempotency, batching,
// failures, finding lifecycle, out-of-order reports, service rewrites), every read, retention,
// and a SIGKILL in the middle of an ingest stream. Row counts come from the store's counts()
// and, where a detail is not in the interface, from a second read-only connection.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Worker } from 'node:worker_threads';
import { gunzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import type { Report } from '@dualstack/core';
import { prepareReport, ReportRejectedError, SqliteStore, type SqliteStoreOptions } from '../src/db/sqlite-store.js';
import { IngestThread } from '../src/db/ingest-thread.js';
import { migrate, migrations, SCHEMA_VERSION, SchemaTooNewError } from '../src/db/migrations.js';
import { openDatabase, PAGE_SIZE } from '../src/db/open.js';
import type { IngestMeta } from '../src/store.js';
import { finding, realisticReport, reportFrom, withFirewallNotRead, type GoldenName } from './helpers/reports.js';
import { expectedFirewallFiltered, matrixKey, type FilteredCounts } from './helpers/firewall.js';

const STALE_AFTER_SECONDS = 900;

function tempFile(t: TestContext, name = 'collector.db'): string {
  const dir = mkdtempSync(join(tmpdir(), 'dualstack-store-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, name);
}

function openStore(t: TestContext, file = tempFile(t), options: Partial<SqliteStoreOptions> = {}): SqliteStore {
  const store = new SqliteStore(file, { staleAfterSeconds: STALE_AFTER_SECONDS, ...options });
  t.after(() => store.close());
  return store;
}

/** A second, read-only connection for what the Store interface does not show. */
function peek<T>(file: string, fn: (db: Database.Database) => T): T {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

const meta = (receivedAt: Date = new Date()): IngestMeta => ({ receivedAt: receivedAt.toISOString(), tokenId: null, bytes: 1234 });
const minutesAgo = (minutes: number): Date => new Date(Date.now() - minutes * 60_000);

function rejectionOf(promise: Promise<unknown>): Promise<ReportRejectedError> {
  return promise.then(
    () => assert.fail('expected a ReportRejectedError'),
    (error: unknown) => {
      assert.ok(error instanceof ReportRejectedError, `expected ReportRejectedError, got ${String(error)}`);
      return error;
    },
  );
}

describe('migrations', () => {
  test('an empty file is migrated to the current version with STRICT tables in WAL mode', async (t) => {
    const file = tempFile(t);
    const store = openStore(t, file);
    assert.deepEqual(await store.counts(), { hosts: 0, reports: 0, services: 0, findings: 0, tokens: 0 });
    await store.close();
    peek(file, (db) => {
      assert.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
      const tables = db.prepare<[], { name: string; sql: string }>("SELECT name, sql FROM sqlite_schema WHERE type = 'table' ORDER BY name").all();
      assert.deepEqual(
        tables.map((table) => table.name),
        [
          'alert_delivery_attempts', 'alert_evaluations', 'alert_events', 'alert_fleet_reference', 'alert_groups', 'alert_outbox',
          'alert_service_hosts', 'alert_service_snapshot', 'alert_states', 'endpoints',
          'enroll_secrets', 'findings', 'host_keys', 'hosts', 'latest_reports', 'namespace_service_matrix', 'namespace_services', 'probe_batches', 'probe_latest',
          'probe_results', 'reports', 'service_matrix', 'services', 'tokens',
        ],
      );
      for (const table of tables) assert.match(table.sql, /\)\s*STRICT/, `${table.name} is STRICT`);
    });
  });

  test('a new file gets 8 KiB pages; an existing file keeps its page size', (t) => {
    const fresh = tempFile(t);
    openDatabase(fresh).close();
    assert.equal(peek(fresh, (db) => db.pragma('page_size', { simple: true })), PAGE_SIZE);
    const old = tempFile(t);
    const made = new Database(old);
    made.pragma('page_size = 4096');
    made.exec('CREATE TABLE kept (x INTEGER)');
    made.close();
    openDatabase(old).close();
    assert.equal(peek(old, (db) => db.pragma('page_size', { simple: true })), 4096);
  });

  test('openDatabase sets WAL, foreign keys, busy timeout and synchronous=FULL on the connection', (t) => {
    const db = openDatabase(tempFile(t));
    t.after(() => db.close());
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    assert.equal(db.pragma('foreign_keys', { simple: true }), 1);
    assert.equal(db.pragma('busy_timeout', { simple: true }), 5000);
    assert.equal(db.pragma('synchronous', { simple: true }), 2, 'FULL: an acknowledged commit survives power loss');
  });

  test('migrate() from user_version 0 runs every step once, then nothing', (t) => {
    const db = new Database(tempFile(t));
    t.after(() => db.close());
    assert.deepEqual(migrate(db), { from: 0, to: SCHEMA_VERSION });
    assert.deepEqual(migrate(db), { from: SCHEMA_VERSION, to: SCHEMA_VERSION });
    assert.equal(migrations.length, SCHEMA_VERSION);
  });

  test('a failing migration step leaves the previous version and no half-made tables', (t) => {
    const db = new Database(tempFile(t));
    t.after(() => db.close());
    const broken = [
      ...migrations,
      {
        version: SCHEMA_VERSION + 1,
        description: 'fails halfway',
        up(d: Database.Database) {
          d.exec('CREATE TABLE half_made (x INTEGER) STRICT');
          d.exec('THIS IS NOT SQL');
        },
      },
    ];
    assert.throws(() => migrate(db, broken), /syntax error/);
    assert.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    assert.deepEqual(db.prepare("SELECT count(*) AS n FROM sqlite_schema WHERE name = 'half_made'").get(), { n: 0 });
  });

  test('migration 4 drops the connection counters of services and settles open findings\' last_seen', (t) => {
    const file = tempFile(t);
    const db = new Database(file);
    t.after(() => db.close());
    migrate(db, migrations.slice(0, 3));
    db.exec(`
      INSERT INTO hosts VALUES ('m4', 'm4.example', NULL, NULL, '2026-01-01T00:00:00.000Z', '2026-01-02T00:00:00.000Z', 'r2',
        '2026-01-02T00:00:00.000Z', 1, 1, 1, 1, 0, 1, 0, 5, 6, 7, 'sh', 1, '2026-01-01T00:00:00.000Z', 'ch', 'fh');
      INSERT INTO services VALUES ('m4', 0, 'tcp', 22, 'sshd', 1, 'dual-separate', 'any', 'any', '[]', 5, 6, 7);
      INSERT INTO findings VALUES ('m4', 'open-rule', 'tcp/22', 'warning', 'm', '[]', '{}', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z', NULL);
      INSERT INTO findings VALUES ('m4', 'gone-rule', 'tcp/22', 'warning', 'm', '[]', '{}', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z', '2026-01-01T12:00:00.000Z');
    `);
    assert.deepEqual(migrate(db), { from: 3, to: SCHEMA_VERSION });
    const columns = (table: string) => (db.prepare(`SELECT name FROM pragma_table_info('${table}')`).pluck().all() as string[]);
    assert.ok(!columns('services').some((c) => c.startsWith('conn_')), columns('services').join());
    assert.ok(!columns('hosts').includes('connections_hash'));
    assert.deepEqual(columns('hosts').filter((c) => c.startsWith('conn_')), ['conn_ipv4', 'conn_ipv6', 'conn_mapped'], 'the host totals stay');
    assert.deepEqual(db.prepare("SELECT rule, last_seen FROM findings WHERE host_id = 'm4' ORDER BY rule").raw().all(), [
      ['gone-rule', '2026-01-01T00:00:00.000Z'],
      ['open-rule', '2026-01-02T00:00:00.000Z'],
    ]);
    assert.equal(db.prepare("SELECT count(*) FROM services WHERE host_id = 'm4'").pluck().get(), 1);
    assert.deepEqual(db.pragma('integrity_check', { simple: true }), 'ok');
  });

  test('migration 5 on a database written at version 4: verdicts from the current reports, matrix counters, and no rewrite on the next identical report', async (t) => {
    // Written by the v4 collector's own ingest code (fixtures/v4-database/make.ts): three hosts
    // whose agents already sent firewall verdicts, one whose agent could not read the firewall,
    // one whose agent has no firewall source.
    const file = tempFile(t);
    writeFileSync(file, gunzipSync(readFileSync(new URL('./fixtures/v4-database/collector-v4.db.gz', import.meta.url))));
    const db = new Database(file);
    t.after(() => db.close());
    assert.equal(db.pragma('user_version', { simple: true }), 4);
    const count = (sql: string) => db.prepare(sql).pluck().get() as number;
    const tableCounts = () => ['hosts', 'reports', 'services', 'findings', 'latest_reports', 'service_matrix'].map((table) => count(`SELECT count(*) FROM ${table}`));
    const modesOf = () => db.prepare('SELECT proto, port, process, hosts, dual_separate, dual_mapped, ipv4_only, ipv6_only, loopback_only FROM service_matrix ORDER BY 1, 2, 3').raw().all();
    const before = { counts: tableCounts(), modes: modesOf(), hashes: db.prepare('SELECT host_id, services_hash FROM hosts ORDER BY 1').raw().all() as Array<[string, string]> };
    assert.deepEqual(before.counts.slice(0, 2), [5, 10]);
    // One host's rows no longer describe its current report (as if written by a buggy version):
    // the migration must not guess for it.
    db.prepare("UPDATE services SET pid = pid + 1 WHERE host_id = 'fw-nd-01' AND port = 22").run();

    assert.deepEqual(migrate(db), { from: 4, to: SCHEMA_VERSION });
    assert.deepEqual(tableCounts(), before.counts, 'no row gained or lost');
    assert.deepEqual(modesOf(), before.modes, 'the mode counters are untouched');
    assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');

    // Each service row carries its report's verdicts; old-01's agent sent none.
    const bodies = new Map((db.prepare('SELECT host_id, body FROM latest_reports').raw().all() as Array<[string, string]>).map(([id, body]) => [id, JSON.parse(body) as Report]));
    const rows = db.prepare('SELECT host_id, proto, port, pid, firewall_ipv4, firewall_ipv6 FROM services').all() as Array<{ host_id: string; proto: string; port: number; pid: number | null; firewall_ipv4: string | null; firewall_ipv6: string | null }>;
    for (const row of rows) {
      const service = bodies.get(row.host_id)!.services.find((s) => s.proto === row.proto && s.port === row.port)!;
      const expected = row.host_id === 'fw-nd-01' && row.port === 22 ? [null, null] : [service.firewall?.ipv4?.verdict ?? null, service.firewall?.ipv6?.verdict ?? null];
      assert.deepEqual([row.firewall_ipv4, row.firewall_ipv6], expected, `${row.host_id} ${row.proto}/${row.port}`);
    }
    assert.equal(count("SELECT count(*) FROM services WHERE host_id = 'caps-01' AND firewall_ipv4 = 'unknown'"), 7, 'not read: every family taken from outside is unknown');
    assert.equal(count("SELECT count(*) FROM services WHERE host_id = 'old-01' AND (firewall_ipv4 IS NOT NULL OR firewall_ipv6 IS NOT NULL)"), 0);
    // The matrix counts what the reports say.
    const expected = expectedFirewallFiltered([...bodies.values()]);
    const counters = new Map((db.prepare('SELECT proto, port, process, firewall_ipv4_filtered, firewall_ipv6_filtered FROM service_matrix').all() as Array<{ proto: string; port: number; process: string; firewall_ipv4_filtered: number; firewall_ipv6_filtered: number }>).map((r) => [matrixKey(r), { ipv4: r.firewall_ipv4_filtered, ipv6: r.firewall_ipv6_filtered }]));
    assert.deepEqual(counters, expected);
    assert.deepEqual(counters.get('udp/53/named'), { ipv4: 2, ipv6: 3 }, 'iptables-realistic and firewalld drop both families, ip6-no-nd IPv6');
    // services_hash: what ingest now computes for the host's report (it holds the verdicts),
    // except for the host whose rows did not match: cleared, so its next report rewrites them.
    const hashes = new Map(db.prepare('SELECT host_id, services_hash FROM hosts').raw().all() as Array<[string, string]>);
    assert.equal(hashes.get('fw-nd-01'), '');
    assert.equal(hashes.get('old-01'), new Map(before.hashes).get('old-01'), 'a host without verdicts keeps its hash');
    for (const [hostId, report] of bodies) {
      if (hostId !== 'fw-nd-01') assert.equal(hashes.get(hostId), prepareReport(report, meta()).servicesHash, hostId);
    }
    db.close();

    // The next report of each host, the same as its last: only the mismatched host's rows are
    // rewritten, and the matrix still says what the reports say.
    const store = openStore(t, file);
    for (const report of bodies.values()) {
      const next = { ...report, reportId: randomUUID(), collectedAt: new Date(Date.parse(report.collectedAt) + 300_000).toISOString() };
      await store.ingestReport(next, { ...meta(), body: JSON.stringify(next) });
    }
    assert.equal(store.stats().servicesRewritten, 1);
    const matrix = await store.servicesMatrix({ limit: 1000, offset: 0 });
    assert.deepEqual(new Map(matrix.items.map((r) => [matrixKey(r), r.firewallFiltered])), expected);
    peek(file, (after) => assert.equal(after.prepare("SELECT firewall_ipv6 FROM services WHERE host_id = 'fw-nd-01' AND port = 22").pluck().get(), 'accepted'));
  });

  test('reopening keeps the data', async (t) => {
    const file = tempFile(t);
    const first = new SqliteStore(file, { staleAfterSeconds: STALE_AFTER_SECONDS });
    const report = reportFrom('dual-stack-services', { hostId: 'keep-1', collectedAt: minutesAgo(1) });
    const ack = await first.ingestReport(report, meta());
    await first.createToken({ name: 'agent-1', role: 'agent', hash: 'h1' });
    const before = await first.counts();
    await first.close();

    const second = openStore(t, file);
    assert.deepEqual(await second.counts(), before);
    assert.deepEqual(before, { hosts: 1, reports: 1, services: 11, findings: 9, tokens: 1 });
    const detail = await second.getHost('keep-1', new Date());
    assert.deepEqual(detail?.latestReport, report);
    assert.deepEqual(await second.ingestReport(report, meta()), { ...ack, duplicate: true });
  });

  test('a database with a newer user_version is refused, clearly and without changes', (t) => {
    const file = tempFile(t);
    const raw = new Database(file);
    raw.pragma('user_version = 999');
    raw.close();
    assert.throws(
      () => new SqliteStore(file, { staleAfterSeconds: STALE_AFTER_SECONDS }),
      (error: unknown) => {
        assert.ok(error instanceof SchemaTooNewError);
        assert.equal(error.found, 999);
        assert.equal(error.supported, SCHEMA_VERSION);
        assert.match(error.message, new RegExp(`schema version 999 is newer than this collector understands \\(${SCHEMA_VERSION}\\)`));
        assert.match(error.message, /newer dualstack-collector/);
        assert.ok(error.message.includes(file), 'names the file');
        return true;
      },
    );
    peek(file, (db) => {
      assert.equal(db.pragma('user_version', { simple: true }), 999);
      assert.deepEqual(db.prepare('SELECT count(*) AS n FROM sqlite_schema').get(), { n: 0 });
    });
  });
});

// Every ingest behaviour holds wherever the write transaction runs: on the ingest worker
// thread (the default) and on the caller's connection (':memory:', or ingestThread: false).
// What any Store must do (idempotency, latest wins, finding lifecycle, reads, retention,
// tokens) is the contract suite's, run on SQLite and PostgreSQL: test/store-contract/.
for (const ingestThread of [true, false]) describe(`ingest (${ingestThread ? 'on the worker thread' : 'inline'})`, () => {
  const open = (t: TestContext, file = tempFile(t), options: Partial<SqliteStoreOptions> = {}) => openStore(t, file, { ingestThread, ...options });

  test('200 concurrent ingests are written in one transaction', async (t) => {
    const store = open(t);
    const before = store.stats();
    const reports = Array.from({ length: 200 }, (_, i) => reportFrom('bindv6only', { hostId: `batch-${i}`, collectedAt: minutesAgo(3) }));
    const acks = await Promise.all(reports.map((r) => store.ingestReport(r, meta())));
    assert.deepEqual(
      acks.map((a) => a.reportId),
      reports.map((r) => r.reportId),
    );
    assert.ok(acks.every((a) => !a.duplicate && a.findings.opened === 3));
    const after = store.stats();
    assert.equal(after.flushes - before.flushes, 1, 'one flush, so one transaction');
    assert.equal(after.largestBatch, 200);
    assert.equal(after.stored, 200);
    assert.deepEqual(await store.counts(), { hosts: 200, reports: 200, services: 400, findings: 600, tokens: 0 });
  });

  test('a report sent twice in the same batch is stored once', async (t) => {
    const store = open(t);
    const report = reportFrom('ipv6-off', { hostId: 'twice', collectedAt: minutesAgo(3) });
    const other = reportFrom('ipv6-off', { hostId: 'other', collectedAt: minutesAgo(3) });
    const [a, b, c] = await Promise.all([store.ingestReport(report, meta()), store.ingestReport(other, meta()), store.ingestReport(report, meta())]);
    assert.equal(store.stats().flushes, 1);
    assert.equal(a.duplicate, false);
    assert.equal(b.duplicate, false);
    assert.deepEqual(c, { ...a, duplicate: true });
    assert.deepEqual(await store.counts(), { hosts: 2, reports: 2, services: 12, findings: 2, tokens: 0 });
  });

  test('a report that violates a constraint fails alone; the rest of its batch is stored', async (t) => {
    const store = open(t);
    // The report schema puts no length limit on hostId; the hosts table does (1..256).
    const bad = reportFrom('no-ipv6-default', { hostId: 'x'.repeat(300), collectedAt: minutesAgo(1) });
    const good = Array.from({ length: 19 }, (_, i) => reportFrom('no-ipv6-default', { hostId: `good-${i}`, collectedAt: minutesAgo(1) }));
    const all = [...good.slice(0, 7), bad, ...good.slice(7)];
    const results = await Promise.allSettled(all.map((r) => store.ingestReport(r, meta())));

    const failed = results.filter((r) => r.status === 'rejected');
    assert.equal(failed.length, 1);
    assert.equal(results[7]!.status, 'rejected');
    const reason = (results[7] as PromiseRejectedResult).reason as unknown;
    assert.ok(reason instanceof ReportRejectedError);
    assert.equal(reason.field, '/host/hostId');
    assert.equal(reason.statusCode, 400);
    assert.equal(reason.reportId, bad.reportId);
    assert.match(reason.message, /CHECK constraint failed: host_id_length/);

    const stats = store.stats();
    assert.equal(stats.flushes, 1);
    assert.equal(stats.batchFailures, 1, 'the batch transaction failed...');
    assert.equal(stats.reportsRetriedAlone, 20, '...and was retried report by report');
    assert.equal(stats.stored, 19);
    assert.equal(stats.rejected, 1);
    assert.deepEqual(await store.counts(), { hosts: 19, reports: 19, services: 38, findings: 38, tokens: 0 });
  });

  test('a busy database fails the whole batch at once, without retrying each report', async (t) => {
    const file = tempFile(t);
    const store = open(t, file, { busyTimeoutMs: 50 });
    // Another process holds the write lock (a backup, the sqlite3 shell, a token CLI).
    const other = new Database(file);
    t.after(() => other.close());
    other.exec('BEGIN IMMEDIATE');
    const reports = Array.from({ length: 5 }, (_, i) => reportFrom('ipv6-off', { hostId: `busy-${i}`, collectedAt: minutesAgo(1) }));
    const results = await Promise.allSettled(reports.map((r) => store.ingestReport(r, meta())));
    for (const result of results) {
      assert.equal(result.status, 'rejected');
      const reason = (result as PromiseRejectedResult).reason as { code?: string };
      assert.equal(reason.code, 'SQLITE_BUSY');
      assert.ok(!(reason instanceof ReportRejectedError), 'not the report\'s fault: the agent should retry');
    }
    assert.deepEqual([store.stats().batchFailures, store.stats().reportsRetriedAlone], [1, 0]);
    other.exec('ROLLBACK');
    const acks = await Promise.all(reports.map((r) => store.ingestReport(r, meta())));
    assert.ok(acks.every((a) => !a.duplicate));
    assert.equal((await store.counts()).reports, 5);
  });

  test('data the route schema would refuse is rejected by the store too (STRICT types, shape)', async (t) => {
    const store = open(t);
    const base = reportFrom('ipv6-off', { hostId: 'strict', collectedAt: minutesAgo(1) });
    // STRICT coerces '22' to 22 losslessly, so a port that is no number at all.
    const textPort = { ...base, services: [{ ...base.services[0]!, port: 'ssh' }] } as unknown as Report;
    const noServices = { ...base, reportId: randomUUID(), services: null } as unknown as Report;
    const typeError = await rejectionOf(store.ingestReport(textPort, meta()));
    assert.match(typeError.message, /cannot store TEXT value in INTEGER column services\.port/);
    const shapeError = await rejectionOf(store.ingestReport(noServices, meta()));
    assert.equal(shapeError.statusCode, 400);
    assert.deepEqual(await store.counts(), { hosts: 0, reports: 0, services: 0, findings: 0, tokens: 0 });
  });

  test('new connection counts alone write no service or finding row; a changed service set rewrites the services', async (t) => {
    const file = tempFile(t);
    const store = open(t, file);
    const servicesRows = () =>
      peek(file, (db) => db.prepare<[], { seq: number; port: number; pid: number | null }>("SELECT seq, port, pid FROM services WHERE host_id = 'svc' ORDER BY seq").all());
    const updatedAt = () => peek(file, (db) => db.prepare("SELECT services_updated_at AS at FROM hosts WHERE host_id = 'svc'").get()) as { at: string };
    // Rows as stored, whole: an unchanged service set and unchanged findings must leave them as they are.
    const snapshot = () => peek(file, (db) => JSON.stringify([db.prepare("SELECT * FROM services WHERE host_id = 'svc' ORDER BY seq").all(), db.prepare("SELECT * FROM findings WHERE host_id = 'svc' ORDER BY rule, subject").all()]));

    const t1 = minutesAgo(30);
    await store.ingestReport(realisticReport({ hostId: 'svc', collectedAt: t1, round: 0 }), meta());
    assert.equal(store.stats().servicesRewritten, 1);
    assert.equal(updatedAt().at, t1.toISOString());
    const before = snapshot();

    // New connection counts, services in another order: the same set.
    const t2 = minutesAgo(20);
    const second = realisticReport({ hostId: 'svc', collectedAt: t2, round: 1 });
    second.services.reverse();
    assert.notDeepEqual(second.services.map((s) => s.connections), realisticReport({ hostId: 'svc', collectedAt: t1, round: 0 }).services.reverse().map((s) => s.connections), 'the counts did change');
    await store.ingestReport(second, meta());
    assert.equal(store.stats().servicesRewritten, 1, 'not rewritten');
    assert.equal(snapshot(), before, 'no service or finding row written');
    assert.equal(updatedAt().at, t1.toISOString());
    const host = (await store.getHost('svc', new Date()))!;
    assert.deepEqual(host.services, second.services, 'getHost shows the services, with their counts, as last sent');
    assert.ok(host.findings.length > 0);
    for (const f of host.findings) assert.equal(f.lastSeen, t2.toISOString(), 'an open finding was last seen in the current report');
    const total = (key: 'ipv4' | 'ipv6' | 'mapped') => second.services.reduce((sum, s) => sum + s.connections[key], 0);
    assert.deepEqual((await store.summary(new Date())).connections, { ipv4: total('ipv4'), ipv6: total('ipv6'), mapped: total('mapped') });

    // A restarted daemon (new pid) changes the set.
    const t3 = minutesAgo(10);
    const third = realisticReport({ hostId: 'svc', collectedAt: t3, round: 1 });
    third.services[0] = { ...third.services[0]!, pid: 4242 };
    await store.ingestReport(third, meta());
    assert.equal(store.stats().servicesRewritten, 2);
    assert.equal(updatedAt().at, t3.toISOString());
    assert.ok(servicesRows().some((r) => r.pid === 4242));
    assert.equal((await store.counts()).services, 50);
  });

  test('close() writes what is queued; later ingests are refused', async (t) => {
    const file = tempFile(t);
    const store = new SqliteStore(file, { staleAfterSeconds: STALE_AFTER_SECONDS });
    const report = reportFrom('ipv6-off', { hostId: 'closing', collectedAt: minutesAgo(1) });
    const pending = store.ingestReport(report, meta());
    await store.close();
    assert.equal((await pending).reportId, report.reportId);
    await assert.rejects(store.ingestReport(reportFrom('ipv6-off', { hostId: 'late', collectedAt: minutesAgo(1) }), meta()), /closed/);
    const reopened = open(t, file);
    assert.equal((await reopened.counts()).reports, 1);
  });
});

/** The worker an IngestThread runs now (its RequestThread's, private). */
const workerOf = (thread: IngestThread): Worker | null => (thread as unknown as { thread: { worker: Worker | null } }).thread.worker;

describe('the ingest thread', () => {
  test('a file database writes on a worker thread; :memory: and ingestThread: false on this one', async (t) => {
    assert.equal(openStore(t).stats().ingestOn, 'worker');
    assert.equal(openStore(t, tempFile(t), { ingestThread: false }).stats().ingestOn, 'inline');
    assert.equal(openStore(t, ':memory:').stats().ingestOn, 'inline');
    // The worker really is another thread with its own connection: it commits while this
    // thread's connection holds a read transaction open (WAL), and this connection sees the
    // commit once its read transaction ends.
    const file = tempFile(t);
    const store = openStore(t, file);
    const db = store.database;
    const hostsNow = db.prepare('SELECT count(*) FROM hosts').pluck();
    db.exec('BEGIN');
    assert.equal(hostsNow.get(), 0);
    await store.ingestReport(reportFrom('ipv6-off', { hostId: 'w1', collectedAt: minutesAgo(1) }), meta());
    assert.equal(hostsNow.get(), 0, 'the open read transaction still sees its snapshot');
    db.exec('COMMIT');
    assert.equal(hostsNow.get(), 1);
  });

  test('a worker that dies in the middle of a batch fails it whole; the next batch starts a new worker', async (t) => {
    const file = tempFile(t);
    openStore(t, file).database; // creates and migrates the file
    const thread = new IngestThread(file, { busyTimeoutMs: 5000, synchronous: 'FULL' });
    t.after(() => thread.close());
    const prepared = (hostId: string) => prepareReport(realisticReport({ hostId, collectedAt: minutesAgo(1) }), meta());
    const first = await thread.write([prepared('warm-up')], []);
    assert.ok('ok' in first.outcomes[0]!);
    const worker = workerOf(thread);
    assert.ok(worker, 'a worker runs after a write');
    const batch = Array.from({ length: 300 }, (_, i) => prepared(`dies-${i}`));
    const dying = thread.write(batch, []);
    await worker.terminate();
    await assert.rejects(dying, /ingest thread exited/);
    const stored = peek(file, (db) => db.prepare("SELECT count(*) FROM reports WHERE host_id LIKE 'dies-%'").pluck().get() as number);
    assert.ok(stored === 0 || stored === 300, `all or nothing of the batch: ${stored}`);
    const again = await thread.write(batch.slice(0, 2), []);
    assert.equal(again.outcomes.length, 2);
    for (const outcome of again.outcomes) assert.ok('ok' in outcome, JSON.stringify(outcome));
    assert.notEqual(workerOf(thread), worker, 'a new worker');
  });
});

describe('firewall verdicts', () => {
  /** The matrix's firewall counters, keyed proto/port/process. */
  async function counters(store: SqliteStore): Promise<Map<string, FilteredCounts>> {
    const matrix = await store.servicesMatrix({ limit: 1000, offset: 0 });
    return new Map(matrix.items.map((r) => [matrixKey(r), r.firewallFiltered]));
  }

  test('stored per service and family, counted per matrix cell, and kept in step as firewalls, agents and services change', async (t) => {
    const file = tempFile(t);
    const store = openStore(t, file);
    const current = new Map<string, Report>();
    let minute = 60;
    const send = async (hostId: string, fixture: GoldenName, change: (r: Report) => Report = (r) => r) => {
      const report = change(reportFrom(fixture, { hostId, collectedAt: minutesAgo(minute--) }));
      await store.ingestReport(report, meta());
      current.set(hostId, report);
    };
    await send('ipt-1', 'fw-iptables-realistic');
    await send('fwd-1', 'fw-firewalld');
    await send('fwd-2', 'fw-firewalld');
    await send('nd-1', 'fw-ip6-no-nd');
    await send('caps-1', 'dual-stack-services', withFirewallNotRead);
    await send('old-1', 'dual-stack-services');
    const rewrites = () => store.stats().servicesRewritten;
    assert.equal(rewrites(), 6);
    assert.deepEqual(await counters(store), expectedFirewallFiltered([...current.values()]));
    // The cells, as the captured rule sets decide them (test/fixtures/firewall/*/observed.json
    // has what real connects did): nginx on 8080 is dropped for IPv4 by iptables-realistic's
    // LOGDROP and for IPv6 by ip6-no-nd's policy, and restricted to 2001:db8:1::/64 by iptables-realistic;
    // unknown verdicts (caps-1, not read) and hosts without verdicts (old-1) count nowhere.
    const c1 = await counters(store);
    assert.deepEqual(c1.get('tcp/8080/nginx'), { ipv4: 1, ipv6: 2 });
    assert.deepEqual(c1.get('tcp/3306/mariadbd'), { ipv4: 0, ipv6: 4 }, 'dropped (iptables-realistic, ip6-no-nd) or restricted (firewalld)');
    assert.deepEqual(c1.get('tcp/22/sshd'), { ipv4: 1, ipv6: 0 });
    assert.deepEqual(c1.get('tcp/6379/redis-server'), { ipv4: 0, ipv6: 0 }, 'loopback only: nothing to filter');
    // The rows keep each verdict, also the ones that are not counted.
    const stored = peek(file, (db) => db.prepare("SELECT host_id, proto || '/' || port AS service, firewall_ipv4, firewall_ipv6 FROM services WHERE port IN (5432, 8080) ORDER BY 1, 2").raw().all());
    assert.deepEqual(stored, [
      ['caps-1', 'tcp/5432', 'unknown', null],
      ['caps-1', 'tcp/8080', 'unknown', 'unknown'],
      ['fwd-1', 'tcp/5432', 'restricted', null],
      ['fwd-1', 'tcp/8080', 'accepted', 'accepted'],
      ['fwd-2', 'tcp/5432', 'restricted', null],
      ['fwd-2', 'tcp/8080', 'accepted', 'accepted'],
      ['ipt-1', 'tcp/5432', 'unknown', null],
      ['ipt-1', 'tcp/8080', 'dropped', 'restricted'],
      ['nd-1', 'tcp/5432', 'accepted', null],
      ['nd-1', 'tcp/8080', 'accepted', 'dropped'],
      ['old-1', 'tcp/5432', null, null],
      ['old-1', 'tcp/8080', null, null],
    ]);
    // The hosts of a cell are exactly the ones it counts.
    const hostsOf = async (query: Parameters<SqliteStore['listHosts']>[0]) => (await store.listHosts({ limit: 100, ...query }, new Date())).items.map((h) => h.hostId);
    assert.deepEqual(await hostsOf({ proto: 'tcp', port: 8080, process: 'nginx', filtered: 'ipv6' }), ['ipt-1', 'nd-1']);
    assert.deepEqual(await hostsOf({ proto: 'tcp', port: 8080, process: 'nginx', filtered: 'ipv4' }), ['ipt-1']);
    assert.deepEqual(await hostsOf({ proto: 'tcp', port: 3306, filtered: 'ipv6' }), ['fwd-1', 'fwd-2', 'ipt-1', 'nd-1']);

    // The same report again: nothing rewritten (the verdicts are part of the services' hash).
    await send('ipt-1', 'fw-iptables-realistic');
    assert.equal(rewrites(), 6);
    // A firewall change alone (same sockets) rewrites the host's rows and moves the counters.
    await send('fwd-2', 'fw-ip6-no-nd');
    assert.equal(rewrites(), 7);
    // An agent that loses CAP_NET_ADMIN: its verdicts become unknown, and it counts nowhere.
    await send('nd-1', 'fw-ip6-no-nd', withFirewallNotRead);
    // An upgraded agent: verdicts where there were none.
    await send('old-1', 'fw-iptables-realistic');
    // A service gone, and one that is dropped but only listens on loopback (not counted).
    await send('fwd-1', 'fw-firewalld', (r) => ({ ...r, services: r.services.filter((s) => s.port !== 53) }));
    assert.equal(rewrites(), 10);
    const c2 = await counters(store);
    assert.deepEqual(c2, expectedFirewallFiltered([...current.values()]));
    assert.deepEqual(c2.get('tcp/8080/nginx'), { ipv4: 2, ipv6: 3 }, 'ipt-1 and old-1 drop IPv4; ipt-1 and old-1 restrict, fwd-2 drops IPv6');
    assert.deepEqual(c2.get('udp/53/named'), { ipv4: 2, ipv6: 3 });
    // Every counter is what the service rows say (the increments never drift from a recount).
    const recount = peek(file, (db) =>
      db.prepare(`
        SELECT proto || '/' || port || '/' || coalesce(process, '') AS key,
          count(DISTINCT CASE WHEN ipv4 IN ('any', 'addresses') AND firewall_ipv4 IN ('dropped', 'restricted') THEN host_id END) AS ipv4,
          count(DISTINCT CASE WHEN ipv6 IN ('any', 'addresses') AND firewall_ipv6 IN ('dropped', 'restricted') THEN host_id END) AS ipv6
        FROM services GROUP BY proto, port, process`).all() as Array<{ key: string; ipv4: number; ipv6: number }>,
    );
    assert.deepEqual(c2, new Map(recount.map((r) => [r.key, { ipv4: r.ipv4, ipv6: r.ipv6 }])));
  });
});

describe('crash', () => {
  test('SIGKILL in the middle of an ingest stream: the file is intact and every acked report is in it', async (t) => {
    const file = tempFile(t);
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./helpers/ingest-child.ts', import.meta.url)), file], {
      cwd: fileURLToPath(new URL('../../../', import.meta.url)),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    t.after(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    const acked: string[] = [];
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    for await (const line of createInterface({ input: child.stdout })) {
      if (line === 'READY') continue;
      acked.push(line);
      // Kill at an odd count, so the kill lands inside a batch in flight more often than not.
      if (acked.length === 333) {
        child.kill('SIGKILL');
        break;
      }
    }
    assert.equal(await exited, 'SIGKILL');
    assert.equal(acked.length, 333);
    assert.ok(existsSync(`${file}-wal`), 'the WAL was left behind, as after a real crash');

    // A plain connection first: recovery from the WAL, then the checks.
    const db = new Database(file);
    try {
      assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
      assert.deepEqual(db.pragma('foreign_key_check'), []);
      const present = db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM reports WHERE report_id = ?');
      const missing = acked.filter((id) => present.get(id)!.n !== 1);
      assert.deepEqual(missing, [], 'every acknowledged report survived');
    } finally {
      db.close();
    }
    const store = openStore(t, file);
    const counts = await store.counts();
    assert.ok(counts.reports >= acked.length);
    assert.equal(counts.hosts, 40);
    assert.equal(counts.services, 40 * 50);
  });
});
