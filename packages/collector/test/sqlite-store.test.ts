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
import { prepareReport, ReportRejectedError, SqliteStore, TokenNameTakenError, type SqliteStoreOptions } from '../src/db/sqlite-store.js';
import { IngestThread } from '../src/db/ingest-thread.js';
import { migrate, migrations, SCHEMA_VERSION, SchemaTooNewError } from '../src/db/migrations.js';
import { openDatabase, PAGE_SIZE } from '../src/db/open.js';
import type { IngestMeta } from '../src/store.js';
import { finding, golden, realisticReport, reportFrom, withFirewallNotRead, type GoldenName } from './helpers/reports.js';
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
for (const ingestThread of [true, false]) describe(`ingest (${ingestThread ? 'on the worker thread' : 'inline'})`, () => {
  const open = (t: TestContext, file = tempFile(t), options: Partial<SqliteStoreOptions> = {}) => openStore(t, file, { ingestThread, ...options });

  test('stores a report once; a replay returns the same ack with duplicate=true and writes nothing', async (t) => {
    const store = open(t);
    const report = reportFrom('dual-stack-services', { hostId: 'dup-1', collectedAt: minutesAgo(2) });
    const receivedAt = new Date();
    const ack = await store.ingestReport(report, meta(receivedAt));
    assert.deepEqual(ack, {
      reportId: report.reportId,
      hostId: 'dup-1',
      duplicate: false,
      receivedAt: receivedAt.toISOString(),
      findings: { open: 9, opened: 9, resolved: 0 },
    });
    const counts = await store.counts();
    assert.deepEqual(counts, { hosts: 1, reports: 1, services: 11, findings: 9, tokens: 0 });

    const replay = await store.ingestReport(report, meta(new Date(Date.now() + 5000)));
    assert.deepEqual(replay, { ...ack, duplicate: true });
    assert.deepEqual(await store.counts(), counts);
    assert.equal(store.stats().duplicates, 1);
    assert.equal(store.stats().stored, 1);
  });

  test('a reportId already stored for another host is rejected', async (t) => {
    const store = open(t);
    const report = reportFrom('bindv6only', { hostId: 'first', collectedAt: minutesAgo(2) });
    await store.ingestReport(report, meta());
    const error = await rejectionOf(store.ingestReport({ ...report, host: { ...report.host, hostId: 'second' } }, meta()));
    assert.equal(error.field, '/reportId');
    assert.equal(error.statusCode, 409);
    assert.deepEqual(await store.counts(), { hosts: 1, reports: 1, services: 2, findings: 3, tokens: 0 });
  });

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

  test('an ingest naming a token that does not exist is rejected by its foreign key', async (t) => {
    const store = open(t);
    const token = await store.createToken({ name: 'agent', role: 'agent', hash: 'hash-agent' });
    const ok = reportFrom('ipv6-off', { hostId: 'tok-1', collectedAt: minutesAgo(1) });
    const bad = reportFrom('ipv6-off', { hostId: 'tok-2', collectedAt: minutesAgo(1) });
    const [stored, rejected] = await Promise.allSettled([
      store.ingestReport(ok, { ...meta(), tokenId: token.id }),
      store.ingestReport(bad, { ...meta(), tokenId: 'no-such-token' }),
    ]);
    assert.equal(stored.status, 'fulfilled');
    assert.equal(rejected.status, 'rejected');
    assert.ok((rejected as PromiseRejectedResult).reason instanceof ReportRejectedError);
    assert.equal((await store.counts()).reports, 1);
  });

  test('collectedAt a day ahead of the collector clock is stored, with a host-clock-skew finding', async (t) => {
    const store = open(t);
    const report = reportFrom('ipv6-off', { hostId: 'future', collectedAt: new Date(Date.now() + 30 * 3600_000), findings: [] });
    const ack = await store.ingestReport(report, meta());
    assert.deepEqual(ack.findings, { open: 1, opened: 1, resolved: 0 });
    const detail = (await store.getHost('future', new Date()))!;
    assert.deepEqual(detail.findings.map((f) => [f.rule, f.subject, f.severity]), [['host-clock-skew', 'host', 'warning']]);
    assert.match(detail.findings[0]!.message, /1 d 6 h 0 min ahead of the collector's/);
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

  test('finding lifecycle: open, resolved when gone, reopened when back (first_seen reset)', async (t) => {
    const file = tempFile(t);
    const store = open(t, file);
    const a = finding('ipv6-unroutable', 'host', 'critical');
    const b = finding('service-ipv4-only', 'tcp/25');
    const t1 = minutesAgo(30);
    const t2 = minutesAgo(20);
    const t3 = minutesAgo(10);

    const ack1 = await store.ingestReport(reportFrom('no-ipv6-default', { hostId: 'life', collectedAt: t1, findings: [a, b] }), meta());
    assert.deepEqual(ack1.findings, { open: 2, opened: 2, resolved: 0 });

    const ack2 = await store.ingestReport(reportFrom('no-ipv6-default', { hostId: 'life', collectedAt: t2, findings: [{ ...a, message: 'reworded' }] }), meta());
    assert.deepEqual(ack2.findings, { open: 1, opened: 0, resolved: 1 });
    let detail = (await store.getHost('life', new Date()))!;
    assert.deepEqual(
      detail.findings.map((f) => [f.rule, f.message, f.firstSeen, f.lastSeen, f.resolvedAt]),
      [
        ['ipv6-unroutable', 'reworded', t1.toISOString(), t2.toISOString(), null],
        ['service-ipv4-only', b.message, t1.toISOString(), t1.toISOString(), t2.toISOString()],
      ],
    );
    assert.deepEqual(detail.host.findings, { critical: 1, warning: 0, info: 0 });

    const ack3 = await store.ingestReport(reportFrom('no-ipv6-default', { hostId: 'life', collectedAt: t3, findings: [a, b] }), meta());
    assert.deepEqual(ack3.findings, { open: 2, opened: 1, resolved: 0 });
    detail = (await store.getHost('life', new Date()))!;
    assert.deepEqual(
      detail.findings.map((f) => [f.rule, f.firstSeen, f.lastSeen, f.resolvedAt]),
      [
        ['ipv6-unroutable', t1.toISOString(), t3.toISOString(), null],
        ['service-ipv4-only', t3.toISOString(), t3.toISOString(), null],
      ],
    );
    assert.deepEqual(detail.host.findings, { critical: 1, warning: 1, info: 0 });
    assert.equal((await store.counts()).findings, 2, 'one row per (host, rule, subject) whatever its history');

    // The same findings again: nothing opened or resolved, last_seen moves on.
    const t4 = minutesAgo(5);
    const ack4 = await store.ingestReport(reportFrom('no-ipv6-default', { hostId: 'life', collectedAt: t4, findings: [b, a] }), meta());
    assert.deepEqual(ack4.findings, { open: 2, opened: 0, resolved: 0 });
    detail = (await store.getHost('life', new Date()))!;
    assert.deepEqual(
      detail.findings.map((f) => f.lastSeen),
      [t4.toISOString(), t4.toISOString()],
    );
  });

  test('the report received last is the current one, whatever its collectedAt; one received before it (collector clock stepped back) is history only', async (t) => {
    const store = open(t);
    const first = reportFrom('dual-stack-services', { hostId: 'ooo', collectedAt: minutesAgo(5) });
    const collectedEarlier = reportFrom('ipv6-off', { hostId: 'ooo', collectedAt: minutesAgo(10) });
    await store.ingestReport(first, meta(minutesAgo(4)));
    const lateArrival = new Date();
    const applied = await store.ingestReport(collectedEarlier, meta(lateArrival));
    assert.equal(store.stats().outOfOrder, 0);
    let detail = (await store.getHost('ooo', new Date()))!;
    assert.equal((detail.latestReport as Report).reportId, collectedEarlier.reportId, 'received last: applied');
    assert.deepEqual(applied.findings.open, collectedEarlier.findings.length);

    const steppedBack = reportFrom('dual-stack-services', { hostId: 'ooo', collectedAt: minutesAgo(1) });
    const ack = await store.ingestReport(steppedBack, meta(minutesAgo(3)));
    assert.deepEqual(ack.findings, { open: collectedEarlier.findings.length, opened: 0, resolved: 0 }, 'the open findings of the host, unchanged');
    assert.equal(ack.duplicate, false);
    assert.equal(store.stats().outOfOrder, 1);
    detail = (await store.getHost('ooo', new Date()))!;
    assert.equal((detail.latestReport as Report).reportId, collectedEarlier.reportId);
    assert.deepEqual(detail.services, collectedEarlier.services);
    assert.equal(detail.host.lastSeen, lateArrival.toISOString());
    assert.deepEqual(await store.counts().then((c) => c.reports), 3);
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
    const worker = (thread as unknown as { worker: Worker | null }).worker;
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
    assert.notEqual((thread as unknown as { worker: Worker | null }).worker, worker, 'a new worker');
  });
});

describe('reads', () => {
  // web-1: dual-stack-services (9 exposed, 5 dual, 6 warning + 3 info, IPv6 routes)
  // bind-1: bindv6only (2 exposed, 1 dual, 2 warning + 1 info, IPv6 routes)
  // off-1: ipv6-off (5 exposed, 0 dual, 1 warning, no IPv6 answer)
  // nodef-1: no-ipv6-default (2 exposed, 2 dual, 1 critical + 1 info, IPv6 does not route)
  // old-1: dual-stack-services last heard from 2 hours ago (stale)
  async function fleet(t: TestContext): Promise<{ store: SqliteStore; file: string }> {
    const file = tempFile(t);
    const store = openStore(t, file);
    await store.ingestReport(reportFrom('dual-stack-services', { hostId: 'web-1', hostname: 'WEB-1.example', collectedAt: minutesAgo(2) }), meta());
    await store.ingestReport(reportFrom('bindv6only', { hostId: 'bind-1', collectedAt: minutesAgo(2) }), meta());
    await store.ingestReport(reportFrom('ipv6-off', { hostId: 'off-1', collectedAt: minutesAgo(2) }), meta());
    await store.ingestReport(reportFrom('no-ipv6-default', { hostId: 'nodef-1', collectedAt: minutesAgo(2) }), meta());
    await store.ingestReport(reportFrom('dual-stack-services', { hostId: 'old-1', collectedAt: minutesAgo(121) }), meta(minutesAgo(120)));
    return { store, file };
  }

  test('summary: an empty fleet has no shares', async (t) => {
    const store = openStore(t);
    const now = new Date();
    assert.deepEqual(await store.summary(now), {
      hosts: 0,
      staleHosts: 0,
      ipv6RoutableShare: null,
      dualStackServiceShare: null,
      ipv6ConnectionShare: null,
      connections: { ipv4: 0, ipv6: 0, mapped: 0 },
      findings: { critical: 0, warning: 0, info: 0 },
      generatedAt: now.toISOString(),
    });
  });

  test('summary: fleet shares, stale hosts excluded from the IPv6 routing share', async (t) => {
    const { store } = await fleet(t);
    const now = new Date();
    assert.deepEqual(await store.summary(now), {
      hosts: 5,
      staleHosts: 1,
      ipv6RoutableShare: 2 / 4,
      dualStackServiceShare: (5 + 1 + 0 + 2 + 5) / (9 + 2 + 5 + 2 + 9),
      ipv6ConnectionShare: 6 / (9 + 6 + 8),
      connections: { ipv4: 6 + 3, ipv6: 6, mapped: 8 },
      findings: { critical: 1, warning: 6 + 2 + 1 + 6, info: 3 + 1 + 1 + 3 },
      generatedAt: now.toISOString(),
    });
  });

  test('listHosts: summaries, filters and pages', async (t) => {
    const { store } = await fleet(t);
    const now = new Date();
    const ids = async (query: Parameters<SqliteStore['listHosts']>[0]) => {
      const page = await store.listHosts(query, now);
      return { total: page.total, ids: page.items.map((h) => h.hostId) };
    };

    const all = await store.listHosts({ limit: 100, offset: 0 }, now);
    assert.equal(all.total, 5);
    assert.deepEqual(
      all.items.map((h) => h.hostname),
      ['WEB-1.example', 'bind-1.example', 'nodef-1.example', 'off-1.example', 'old-1.example'],
    );
    const web = all.items[0]!;
    assert.deepEqual(
      { ...web, firstSeen: undefined, lastSeen: undefined },
      {
        hostId: 'web-1',
        hostname: 'WEB-1.example',
        distro: 'Debian GNU/Linux',
        kernel: golden('dual-stack-services').host.os.kernel,
        firstSeen: undefined,
        lastSeen: undefined,
        stale: false,
        ipv6Routable: true,
        ipv4Routable: true,
        services: { exposed: 9, dual: 5 },
        findings: { critical: 0, warning: 6, info: 3 },
        readiness: 5 / 9,
      },
    );
    const byId = new Map(all.items.map((h) => [h.hostId, h]));
    assert.equal(byId.get('off-1')!.ipv6Routable, null);
    assert.equal(byId.get('off-1')!.readiness, 0);
    assert.equal(byId.get('nodef-1')!.ipv6Routable, false);
    assert.equal(byId.get('nodef-1')!.readiness, 1);
    assert.equal(byId.get('old-1')!.stale, true);

    assert.deepEqual(await ids({ rule: 'ipv6-unroutable' }), { total: 1, ids: ['nodef-1'] });
    assert.deepEqual(await ids({ rule: 'service-dual-mapped' }), { total: 4, ids: ['web-1', 'bind-1', 'nodef-1', 'old-1'] });
    assert.deepEqual(await ids({ severity: 'critical' }), { total: 1, ids: ['nodef-1'] });
    assert.deepEqual(await ids({ severity: 'warning' }), { total: 4, ids: ['web-1', 'bind-1', 'off-1', 'old-1'] });
    assert.deepEqual(await ids({ mode: 'ipv4-only' }), { total: 3, ids: ['web-1', 'off-1', 'old-1'] });
    assert.deepEqual(await ids({ mode: 'dual-separate' }), { total: 3, ids: ['web-1', 'nodef-1', 'old-1'] });
    assert.deepEqual(await ids({ stale: true }), { total: 1, ids: ['old-1'] });
    assert.deepEqual(await ids({ stale: false }), { total: 4, ids: ['web-1', 'bind-1', 'nodef-1', 'off-1'] });
    assert.deepEqual(await ids({ q: 'web' }), { total: 1, ids: ['web-1'] });
    assert.deepEqual(await ids({ q: 'OFF-' }), { total: 1, ids: ['off-1'] });
    assert.deepEqual(await ids({ q: 'nothing-like-it' }), { total: 0, ids: [] });
    assert.deepEqual(await ids({ mode: 'dual-mapped', severity: 'warning', stale: false }), { total: 2, ids: ['web-1', 'bind-1'] });
    assert.deepEqual(await ids({ limit: 2, offset: 0 }), { total: 5, ids: ['web-1', 'bind-1'] });
    assert.deepEqual(await ids({ limit: 2, offset: 4 }), { total: 5, ids: ['old-1'] });
    const page = await store.listHosts({ limit: 2, offset: 2 }, now);
    assert.deepEqual([page.limit, page.offset, page.items.length], [2, 2, 2]);
  });

  test('readiness is 1 without exposed services when IPv6 routes, 0 when it does not', async (t) => {
    const store = openStore(t);
    await store.ingestReport(reportFrom('bindv6only', { hostId: 'quiet-v6', collectedAt: minutesAgo(1), services: [] }), meta());
    await store.ingestReport(reportFrom('no-ipv6-default', { hostId: 'quiet-v4', collectedAt: minutesAgo(1), services: [] }), meta());
    const page = await store.listHosts({}, new Date());
    assert.deepEqual(
      page.items.map((h) => [h.hostId, h.services.exposed, h.readiness]),
      [
        ['quiet-v4', 0, 0],
        ['quiet-v6', 0, 1],
      ],
    );
  });

  test('getHost: summary, services, open then recently resolved findings, history, latest report', async (t) => {
    const store = openStore(t);
    assert.equal(await store.getHost('nobody', new Date()), null);
    const a = finding('bindv6only-set', 'host');
    const b = finding('service-ipv6-only', 'tcp/8000');
    const c = finding('service-dual-mapped', 'tcp/8081', 'info');
    const d = finding('kernel-ipv6-advisory', 'kernel', 'critical');
    const send = (collectedAt: Date, findings: ReturnType<typeof finding>[]) => {
      const report = reportFrom('bindv6only', { hostId: 'detail', collectedAt, findings });
      return store.ingestReport(report, meta()).then(() => report);
    };
    await send(minutesAgo(60 * 24 * 10), [a, b, c, d]); // 10 days ago
    await send(minutesAgo(60 * 24 * 9), [a, b, c]); // d resolved 9 days ago: not shown
    await send(minutesAgo(60 * 24 * 2), [a, c]); // b resolved 2 days ago: shown
    for (let i = 0; i < 102; i++) await send(minutesAgo(60 * 24 - i), [a, c]);
    const last = await send(minutesAgo(1), [c, a]);

    const detail = (await store.getHost('detail', new Date()))!;
    assert.equal(detail.host.hostId, 'detail');
    assert.deepEqual(detail.host.findings, { critical: 0, warning: 1, info: 1 });
    assert.deepEqual(detail.services, last.services);
    assert.deepEqual(detail.latestReport, last);
    assert.deepEqual(
      detail.findings.map((f) => [f.rule, f.resolvedAt === null ? 'open' : 'resolved']),
      [
        ['bindv6only-set', 'open'],
        ['service-dual-mapped', 'open'],
        ['service-ipv6-only', 'resolved'],
      ],
    );
    assert.deepEqual(detail.findings[0]!.evidence, a.evidence);
    assert.deepEqual(detail.findings[0]!.fix, a.fix);
    assert.equal(detail.history.length, 100);
    assert.equal(detail.history[0]!.reportId, last.reportId);
    const times = detail.history.map((h) => h.collectedAt);
    assert.deepEqual(times, [...times].sort().reverse(), 'newest first');
    assert.deepEqual(
      { ...detail.history[0]!, reportId: undefined, collectedAt: undefined },
      { reportId: undefined, collectedAt: undefined, ipv6Routable: true, exposed: 2, dual: 1, critical: 0, warning: 1 },
    );
    assert.deepEqual(await store.counts(), { hosts: 1, reports: 106, services: 2, findings: 4, tokens: 0 });
  });

  test('servicesMatrix: hosts per (proto, port, process) and per mode, kept in step with service changes', async (t) => {
    const { store, file } = await fleet(t);
    // nodef-1 loses apache2 and gains a udp service: the matrix follows.
    const changed = reportFrom('no-ipv6-default', { hostId: 'nodef-1', collectedAt: minutesAgo(1) });
    changed.services = [changed.services[0]!, { ...changed.services[0]!, proto: 'udp', port: 5000, process: null, pid: null }];
    await store.ingestReport(changed, meta());

    const matrix = await store.servicesMatrix({ limit: 1000, offset: 0 });
    const recomputed = peek(file, (db) =>
      db
        .prepare<[], { proto: string; port: number; process: string | null; hosts: number; ds: number; dm: number; v4: number; v6: number; lo: number }>(`
          SELECT proto, port, process, count(DISTINCT host_id) AS hosts,
            count(DISTINCT CASE WHEN mode = 'dual-separate' THEN host_id END) AS ds,
            count(DISTINCT CASE WHEN mode = 'dual-mapped' THEN host_id END) AS dm,
            count(DISTINCT CASE WHEN mode = 'ipv4-only' THEN host_id END) AS v4,
            count(DISTINCT CASE WHEN mode = 'ipv6-only' THEN host_id END) AS v6,
            count(DISTINCT CASE WHEN mode = 'loopback-only' THEN host_id END) AS lo
          FROM services GROUP BY proto, port, process`)
        .all(),
    );
    assert.equal(matrix.total, recomputed.length);
    const key = (r: { proto: string; port: number; process: string | null }) => `${r.proto}/${r.port}/${r.process ?? '-'}`;
    assert.deepEqual(
      new Map(matrix.items.map((r) => [key(r), [r.hosts, r.modes['dual-separate'], r.modes['dual-mapped'], r.modes['ipv4-only'], r.modes['ipv6-only'], r.modes['loopback-only']]])),
      new Map(recomputed.map((r) => [key(r), [r.hosts, r.ds, r.dm, r.v4, r.v6, r.lo]])),
    );
    const apache80 = matrix.items.find((r) => key(r) === 'tcp/80/apache2')!;
    assert.deepEqual([apache80.hosts, apache80.modes['dual-mapped']], [2, 2], 'web-1 and old-1; nodef-1 dropped it');
    const anonymous = matrix.items.find((r) => key(r) === 'udp/5000/-')!;
    assert.equal(anonymous.process, null);
    const sshd = matrix.items.find((r) => key(r) === 'tcp/22/sshd')!;
    assert.deepEqual(sshd.modes, { 'dual-separate': 3, 'dual-mapped': 0, 'ipv4-only': 1, 'ipv6-only': 0, 'loopback-only': 0 });
    const hosts = matrix.items.map((r) => r.hosts);
    assert.deepEqual(hosts, [...hosts].sort((x, y) => y - x), 'most common first');

    const page = await store.servicesMatrix({ limit: 3, offset: 3 });
    assert.deepEqual([page.total, page.items.length], [matrix.total, 3]);
    assert.deepEqual(page.items, matrix.items.slice(3, 6));
  });

  test('findingsByRule: open findings per rule with host counts and host ids', async (t) => {
    const { store } = await fleet(t);
    // off-1 is fixed: ipv6-disabled resolves and is no longer counted.
    await store.ingestReport(reportFrom('ipv6-off', { hostId: 'off-1', collectedAt: minutesAgo(1), findings: [] }), meta());
    const rows = await store.findingsByRule();
    const byRule = new Map(rows.map((r) => [r.rule, r]));
    assert.equal(byRule.has('ipv6-disabled'), false);
    assert.deepEqual(byRule.get('ipv6-unroutable'), { rule: 'ipv6-unroutable', severity: 'critical', hosts: 1, findings: 1, hostIds: ['nodef-1'] });
    assert.deepEqual(byRule.get('service-ipv4-only'), { rule: 'service-ipv4-only', severity: 'warning', hosts: 2, findings: 4, hostIds: ['old-1', 'web-1'] });
    assert.deepEqual(byRule.get('service-dual-mapped'), { rule: 'service-dual-mapped', severity: 'info', hosts: 4, findings: 6, hostIds: ['bind-1', 'nodef-1', 'old-1', 'web-1'] });
    assert.equal(rows[0]!.severity, 'critical', 'critical rules first');
    assert.equal(rows.reduce((sum, r) => sum + r.findings, 0), 9 + 3 + 2 + 9);
  });

  test('findingsByRule lists at most 100 host ids', async (t) => {
    const store = openStore(t);
    await Promise.all(Array.from({ length: 120 }, (_, i) => store.ingestReport(reportFrom('no-ipv6-default', { hostId: `h-${String(i).padStart(3, '0')}`, collectedAt: minutesAgo(1) }), meta())));
    const row = (await store.findingsByRule()).find((r) => r.rule === 'ipv6-unroutable')!;
    assert.equal(row.hosts, 120);
    assert.equal(row.hostIds.length, 100);
    assert.equal(row.hostIds[0], 'h-000');
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

describe('retention and tokens', () => {
  test('pruneReports deletes old history but never a host current report, and old resolved findings', async (t) => {
    const store = openStore(t);
    const days = (n: number) => minutesAgo(n * 24 * 60);
    for (const [n, findings] of [[40, [finding('a', 'host'), finding('b', 'host')]], [35, [finding('a', 'host')]], [1, [finding('a', 'host')]]] as const) {
      await store.ingestReport(reportFrom('ipv6-off', { hostId: 'busy', collectedAt: days(n), findings: [...findings] }), meta());
    }
    await store.ingestReport(reportFrom('ipv6-off', { hostId: 'silent', collectedAt: days(50) }), meta(days(50)));
    assert.deepEqual(await store.counts(), { hosts: 2, reports: 4, services: 12, findings: 3, tokens: 0 });

    assert.equal(await store.pruneReports(days(30)), 2, 'busy loses its two old reports; silent keeps its only one');
    assert.deepEqual(await store.counts(), { hosts: 2, reports: 2, services: 12, findings: 2, tokens: 0 });
    const busy = (await store.getHost('busy', new Date()))!;
    assert.equal(busy.history.length, 1);
    assert.equal(busy.history[0]!.reportId, (busy.latestReport as Report).reportId);
    assert.deepEqual(
      busy.findings.map((f) => [f.rule, f.resolvedAt]),
      [['a', null]],
      'b, resolved 35 days ago, is gone',
    );
    assert.equal((await store.getHost('silent', new Date()))!.history.length, 1);
    assert.equal(await store.pruneReports(days(30)), 0);
  });

  test('tokens: create, unique names, find by hash, revoke by name or id, last use recorded', async (t) => {
    const store = openStore(t);
    const agent = await store.createToken({ name: 'agent-1', role: 'agent', hash: 'hash-1' });
    const reader = await store.createToken({ name: 'dashboard', role: 'reader', hash: 'hash-2' });
    assert.deepEqual({ ...agent, id: undefined, createdAt: undefined }, { id: undefined, createdAt: undefined, name: 'agent-1', role: 'agent', revokedAt: null, lastUsedAt: null, hostId: null });
    await assert.rejects(store.createToken({ name: 'agent-1', role: 'admin', hash: 'hash-3' }), TokenNameTakenError);
    assert.equal(await store.findTokenByHash('no-such-hash'), null);
    assert.deepEqual(await store.findTokenByHash('hash-1'), agent);

    // The lookup's last-use time is written with the next flush, without a commit of its own.
    await store.idle();
    const used = (await store.listTokens()).find((tk) => tk.id === agent.id)!;
    assert.ok(used.lastUsedAt !== null && Date.parse(used.lastUsedAt) >= Date.parse(agent.createdAt));

    assert.equal(await store.revokeToken('agent-1'), true);
    assert.equal(await store.revokeToken('agent-1'), false, 'already revoked');
    assert.equal(await store.revokeToken(reader.id), true);
    assert.equal(await store.revokeToken('nobody'), false);
    const tokens = await store.listTokens();
    assert.deepEqual(
      tokens.map((tk) => [tk.name, tk.revokedAt !== null]),
      [
        ['agent-1', true],
        ['dashboard', true],
      ],
    );
    assert.notEqual((await store.findTokenByHash('hash-1'))!.revokedAt, null);
    assert.equal((await store.counts()).tokens, 2);
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
