// `dualstack-collector copy` as a real process: a 5,000-host SQLite fleet (written through the
// SQLite store's own ingest, enrollment, endpoint, probe and alert code, so every table holds
// rows the collector itself wrote) copied into a real PostgreSQL cluster (helpers/postgres.ts):
// every table counted equal on both sides, one host's detail and the fleet reads deep-equal
// through each backend's Store; a copy SIGKILLed after its first progress lines, run again with
// its connections cut, again stopped by Ctrl-C, and run a fourth time finishes without copying
// any batch twice; the error cases are one line and exit 1.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { COLLECTOR_CLI, runCollectorCli } from './helpers/cli.js';
import { DETAIL_HOST, seedCopyFleet } from './helpers/copy-fleet.js';
import { reportFrom } from './helpers/reports.js';
import { copyCommand } from '../src/copy/command.js';
import { copyFleet } from '../src/copy/copy.js';
import { CopyError } from '../src/copy/errors.js';
import { COPIED_TABLES } from '../src/copy/tables.js';
import { SqliteAlertStore } from '../src/db/sqlite-alert-store.js';
import { SqliteStore } from '../src/db/sqlite-store.js';
import { PostgresStore } from '../src/db/postgres/store.js';
import { PostgresAlertStore } from '../src/db/postgres/alert-store.js';
import { generateToken, hashToken } from '../src/tokens.js';
import { skipUnlessPostgres, startPostgresCluster, type PostgresCluster } from '../../../test/helpers/postgres.js';

const run = runCollectorCli;
const HOSTS = 5000;
const NOW = new Date();

function sqliteCounts(file: string): Record<string, number> {
  const db = new Database(file, { readonly: true });
  try {
    return Object.fromEntries(COPIED_TABLES.map(({ name }) => [name, db.prepare(`SELECT count(*) FROM ${name}`).pluck().get() as number]));
  } finally {
    db.close();
  }
}

async function postgresCounts(cluster: PostgresCluster, url: string): Promise<Record<string, number>> {
  const database = decodeURIComponent(new URL(url).pathname.slice(1));
  const counts: Record<string, number> = {};
  for (const { name } of COPIED_TABLES) counts[name] = Number((await cluster.query<{ n: string }>(`SELECT count(*) AS n FROM ${name}`, [], database)).rows[0]!.n);
  return counts;
}

/** The verification table copy prints: table -> [sqlite, postgresql]. */
function printedCounts(stdout: string): Record<string, [number, number]> {
  const rows: Record<string, [number, number]> = {};
  for (const line of stdout.trim().split('\n').slice(1)) {
    const [table, source, target] = line.trim().split(/\s+/);
    rows[table!] = [Number(source), Number(target)];
  }
  return rows;
}

describe('dualstack-collector copy (SQLite -> PostgreSQL)', { skip: skipUnlessPostgres() }, () => {
  let cluster: PostgresCluster;
  let dir: string;
  let source: string;
  let expected: Record<string, number>;
  // The copied database (first test), for the error cases that need a target holding a copy.
  let copiedTarget: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dualstack-copy-'));
    source = join(dir, 'dualstack.db');
    const began = performance.now();
    const seeded = seedCopyFleet(source, HOSTS, NOW).then(() => console.error(`# seeded ${HOSTS} hosts in ${((performance.now() - began) / 1000).toFixed(1)} s`));
    [cluster] = await Promise.all([startPostgresCluster(), seeded]);
    expected = sqliteCounts(source);
  });
  after(async () => {
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the seeded fleet has rows in every table copy moves', () => {
    const empty = Object.entries(expected).filter(([, n]) => n === 0);
    assert.deepEqual(empty, [], 'a table without rows would prove nothing');
    assert.equal(expected.hosts, HOSTS);
  });

  test('SIGKILLed after its first progress lines, run again and its connections cut, again and stopped by Ctrl-C, run a fourth time: the copy finishes with counts equal, no batch copied twice, one host and the fleet read the same on both stores', async (t) => {
    const url = await cluster.createDatabase();
    copiedTarget = url;
    const database = decodeURIComponent(new URL(url).pathname.slice(1));

    // Killed in the report history: hosts and latest reports committed, the rest not.
    const child = spawn(process.execPath, [COLLECTOR_CLI, 'copy', '--from', source, '--to', url, '--batch', '200'], { stdio: ['ignore', 'ignore', 'pipe'] });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const seen: string[] = [];
    for await (const line of createInterface({ input: child.stderr! })) {
      seen.push(line);
      if (/^copy: reports /.test(line)) {
        child.kill('SIGKILL');
        break;
      }
    }
    await exited;
    assert.equal(child.signalCode, 'SIGKILL', `the copy was killed, not finished: ${seen.join('\n')}`);
    assert.match(seen[0]!, /^copy: tokens 2\/2 rows \(\d+ rows\/s\)$/);
    const cut = await postgresCounts(cluster, url);
    assert.ok(cut.reports! > 0 && cut.reports! < expected.reports!, `killed mid-way through reports: ${cut.reports} of ${expected.reports}`);
    assert.equal(cut.latest_reports, expected.latest_reports);
    assert.equal(cut.alert_events, 0);

    // Run again, and this time its connections are cut (the database restarted, a network
    // drop) after its first progress line: one line saying to run again, exit 1.
    const second = spawn(process.execPath, [COLLECTOR_CLI, 'copy', '--from', source, '--to', url, '--batch', '200'], { stdio: ['ignore', 'ignore', 'pipe'] });
    const secondExit = new Promise<number | null>((resolve) => second.once('exit', resolve));
    const secondLines: string[] = [];
    let cutting: NodeJS.Timeout | undefined;
    createInterface({ input: second.stderr! }).on('line', (line) => {
      secondLines.push(line);
      // Terminated every 50 ms until it gives up: a connection cut between two batches is
      // replaced by the pool without an error, one cut inside a batch's transaction is not.
      cutting ??= setInterval(() => {
        cluster.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'dualstack-collector copy'").catch(() => {});
      }, 50);
    });
    const secondCode = await secondExit;
    clearInterval(cutting);
    assert.equal(secondCode, 1, secondLines.join('\n'));
    const failure = secondLines.filter((line) => !line.startsWith('copy: '));
    assert.equal(failure.length, 1, secondLines.join('\n'));
    assert.match(failure[0]!, /^dualstack-collector: --to postgres:.*: the database went away while copying \w+ after key .*: run the same copy command again, it resumes after the last committed batch$/);
    const cut2 = await postgresCounts(cluster, url);
    assert.ok(Object.keys(cut2).some((table) => cut2[table]! > cut[table]!), 'the second run committed batches before its connection was cut');

    // A third run stopped with Ctrl-C (SIGINT) after its first progress line: it finishes the
    // batch in flight and says how to go on.
    const third = spawn(process.execPath, [COLLECTOR_CLI, 'copy', '--from', source, '--to', url, '--batch', '200'], { stdio: ['ignore', 'ignore', 'pipe'] });
    const thirdExit = new Promise<number | null>((resolve) => third.once('exit', resolve));
    const thirdLines: string[] = [];
    createInterface({ input: third.stderr! }).on('line', (line) => {
      if (thirdLines.push(line) === 1) third.kill('SIGINT');
    });
    assert.equal(await thirdExit, 1, thirdLines.join('\n'));
    assert.match(thirdLines.at(-1)!, /^dualstack-collector: interrupted while copying \w+ \(\d+\/\d+ rows committed\): run the same copy command again to resume$/);
    const cut3 = await postgresCounts(cluster, url);
    const committed = Object.values(cut3).reduce((a, b) => a + b, 0);
    assert.ok(committed > Object.values(cut2).reduce((a, b) => a + b, 0), 'the third run committed batches before it stopped');

    const resumed = await run(['copy', '--from', source, '--to', url]);
    assert.equal(resumed.code, 0, resumed.stderr);
    t.diagnostic(resumed.stderr.trim().split('\n').at(-1)!);
    assert.deepEqual(await postgresCounts(cluster, url), expected);
    assert.deepEqual(printedCounts(resumed.stdout), Object.fromEntries(Object.entries(expected).map(([table, n]) => [table, [n, n]])));
    // No batch sent twice: the second run read exactly the rows the first had not committed,
    // and the progress rows add up to each source row once.
    const total = Object.values(expected).reduce((a, b) => a + b, 0);
    assert.equal(Number(/copy resumed and finished: (\d+) rows/.exec(resumed.stderr)?.[1]), total - committed, resumed.stderr);
    const progress = await cluster.query<{ n: string }>('SELECT sum(rows_copied) AS n FROM copy_progress', [], database);
    assert.equal(Number(progress.rows[0]!.n), total);

    const sqlite = new SqliteStore(source, { staleAfterSeconds: 900 });
    const postgres = await PostgresStore.open(url, { staleAfterSeconds: 900 });
    try {
      const detail = await sqlite.getHost(DETAIL_HOST, NOW);
      assert.ok(detail && detail.namespaces.length === 1 && detail.history.length === 2 && detail.findings.length > 0, 'the detail host has namespaces, history and findings');
      assert.deepEqual(await postgres.getHost(DETAIL_HOST, NOW), detail);
      assert.deepEqual(await postgres.summary(NOW), await sqlite.summary(NOW));
      const matrix = { limit: 1000, offset: 0, scope: 'all' } as const;
      assert.deepEqual(await postgres.servicesMatrix(matrix), await sqlite.servicesMatrix(matrix));
      assert.deepEqual(await postgres.findingsByRule(), await sqlite.findingsByRule());
      assert.deepEqual(await postgres.listTokens(), await sqlite.listTokens());
      assert.deepEqual(await postgres.hostKeysOf(DETAIL_HOST), await sqlite.hostKeysOf(DETAIL_HOST));
      assert.deepEqual(await postgres.probeHistory('www', 10), await sqlite.probeHistory('www', 10));
      const since = new Date(NOW.getTime() - 86_400_000);
      assert.deepEqual(await new PostgresAlertStore(postgres.pool).listAlerts(since), await new SqliteAlertStore(sqlite.database).listAlerts(since));

      // Each host's history count (a trigger on PostgreSQL, recounted after the copy) as on SQLite.
      const historyCounts = (rows: Array<{ host_id: string; history_reports: number }>) => Object.fromEntries(rows.map((r) => [r.host_id, Number(r.history_reports)]));
      const sqliteHistory = historyCounts(sqlite.database.prepare('SELECT host_id, history_reports FROM hosts').all() as Array<{ host_id: string; history_reports: number }>);
      assert.equal(sqliteHistory[DETAIL_HOST], 2);
      assert.deepEqual(historyCounts((await postgres.pool.query('SELECT host_id, history_reports FROM hosts')).rows), sqliteHistory);

      // The identity sequences were set past the copied ids: a new row gets the next id.
      const next = await postgres.pool.query<{ id: number }>(
        "INSERT INTO alert_evaluations (started_at, duration_ms, active, transitions, notifications) VALUES ('2030-01-01T00:00:00.000Z', 1, 0, 0, 0) RETURNING id",
      );
      assert.equal(Number(next.rows[0]!.id), expected.alert_evaluations! + 1);
      await postgres.pool.query('DELETE FROM alert_evaluations WHERE id = $1', [next.rows[0]!.id]);
    } finally {
      await sqlite.close();
      await postgres.close();
    }

    // Run again on the finished copy: nothing copied, verified again.
    const again = await run(['copy', '--from', source, '--to', url]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /copy was complete already: 0 rows/);
  });

  test('a table whose progress was lost is copied again without duplicates; a count that differs exits 1 naming the table', async () => {
    assert.ok(copiedTarget, 'runs after the copy');
    const database = decodeURIComponent(new URL(copiedTarget).pathname.slice(1));
    // The second guard: with its progress reset, the report history is read again from the
    // start and every row is already there (ON CONFLICT DO NOTHING), not a duplicate-key failure.
    await cluster.query("UPDATE copy_progress SET last_key = NULL, rows_copied = 0, done = 0 WHERE table_name = 'reports'", [], database);
    const replay = await run(['copy', '--from', source, '--to', copiedTarget]);
    assert.equal(replay.code, 0, replay.stderr);
    assert.match(replay.stderr, new RegExp(`copy resumed and finished: ${expected.reports} rows`));
    assert.deepEqual(await postgresCounts(cluster, copiedTarget), expected);

    await cluster.query('DELETE FROM findings WHERE ctid = (SELECT ctid FROM findings LIMIT 1)', [], database);
    const short = await run(['copy', '--from', source, '--to', copiedTarget]);
    assert.equal(short.code, 1);
    assert.match(short.stderr, /^dualstack-collector: copy: counts differ for findings: /m);
    assert.match(short.stdout, new RegExp(`^findings\\s+${expected.findings}\\s+${expected.findings! - 1}  MISMATCH$`, 'm'));
  });

  test('bad input is refused with one line (exit 1 from the command), nothing written; --dry-run writes nothing', async () => {
    const url = await cluster.createDatabase();
    const database = decodeURIComponent(new URL(url).pathname.slice(1));
    const tables = async (name: string) => Number((await cluster.query("SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = 'public'", [], name)).rows[0]!.n);
    // Through the real process: exit 1 and one line on stderr.
    const oneLine = async (args: string[], pattern: RegExp) => {
      const result = await run(['copy', ...args]);
      assert.equal(result.code, 1, `${args.join(' ')}: ${result.stderr}`);
      assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
      assert.match(result.stderr, pattern);
    };
    // In this process (each CLI start costs ~1.5 s of CPU): the same command, its CopyError (the
    // CLI prints a CopyError's message as its one line, exit 1, as the cases above show).
    const refused = (args: string[], pattern: RegExp) =>
      assert.rejects(copyCommand(args), (error: Error) => {
        assert.ok(error instanceof CopyError, `${args.join(' ')}: ${error.stack}`);
        assert.doesNotMatch(error.message, /\n/);
        assert.match(error.message, pattern);
        return true;
      });

    await oneLine(['--from', join(dir, 'missing.db'), '--to', url], /^dualstack-collector: --from .*missing\.db: no such file/);
    await oneLine(['--from', source, '--to', 'postgres://u@127.0.0.1:1/db'], /^dualstack-collector: --to: PostgreSQL postgres:\/\/u@127\.0\.0\.1:1\/db: .*ECONNREFUSED/);
    const text = join(dir, 'not-a-db.db');
    writeFileSync(text, 'hello\n'.repeat(200));
    await refused(['--from', text, '--to', url], /--from .*not-a-db\.db: not a dualstack database/);
    const empty = join(dir, 'empty.db');
    new Database(empty).close();
    await refused(['--from', empty, '--to', url], /--from .*empty\.db: not a dualstack database/);
    // A database of another schema version: a small one the real store made, then marked older.
    const older = join(dir, 'older.db');
    await new SqliteStore(older, { staleAfterSeconds: 900 }).close();
    const db = new Database(older);
    db.pragma('user_version = 9');
    db.close();
    await refused(['--from', older, '--to', url], /schema version is 9 and this collector's is \d+: run 'dualstack-collector migrate --db .*older\.db' with this version first/);
    await refused(['--from', source, '--to', 'mysql://u@h/db'], /--to mysql:\/\/u@h\/db: not a postgres:\/\/ or postgresql:\/\/ URL/);
    await refused(['--from', source, '--to', 'postgres://u:secret@localhost/'], /--to postgres:\/\/u:\*\*\*@localhost\/: the URL names no database/);
    await refused(['--from', source, '--to', cluster.url('no_such_db')], /--to: PostgreSQL .*no_such_db.*: database "no_such_db" does not exist/);
    await refused(['--from', source, '--to', url, '--batch', '0'], /--batch takes a whole number of rows from 1, not '0'/);
    await refused(['--from', source], /--to URL is required/);
    // Nothing was written by any of these: the target was never migrated.
    assert.equal(await tables(database), 0);

    // --dry-run counts the source, checks the target, writes nothing.
    const dry = await copyFleet({ from: source, to: url, batch: 1000, dryRun: true });
    assert.deepEqual(Object.fromEntries(dry.counts.map((c) => [c.table, [c.source, c.target]])), Object.fromEntries(Object.entries(expected).map(([table, n]) => [table, [n, null]])));
    assert.equal(dry.start, 'fresh');
    assert.equal(await tables(database), 0);

    // A database that already holds a fleet (a collector ran on it): refused, saying what to do.
    const store = await PostgresStore.open(url, { staleAfterSeconds: 900 });
    await store.createToken({ name: 'existing', role: 'admin', hash: hashToken(generateToken()) });
    await store.close();
    await oneLine(['--from', source, '--to', url], /already holds fleet data \(tokens: 1\) and no interrupted copy to resume: copy into a new, empty database \(createdb NAME\)/);
    assert.equal((await cluster.query('SELECT count(*) AS n FROM hosts', [], database)).rows[0]!.n, '0');

    // A database holding another file's copy: refused, naming that file.
    assert.ok(copiedTarget, 'runs after the copy');
    const other = join(dir, 'other.db');
    await new SqliteStore(other, { staleAfterSeconds: 900 }).close();
    await refused(['--from', other, '--to', copiedTarget], /holds a copy of .*dualstack\.db, not of .*other\.db: finish that one with --from .*dualstack\.db, or copy into a new, empty database/);

    // The source written to since its copy started (a collector still ran): a resume would miss
    // rows changed in place, so it is refused (last: this changes the shared source).
    const writer = new SqliteStore(source, { staleAfterSeconds: 900 });
    await writer.ingestReport(reportFrom('ipv6-off', { hostId: 'host-00007', collectedAt: NOW }), { receivedAt: NOW.toISOString(), tokenId: null, bytes: 9000 });
    await writer.close();
    await refused(['--from', source, '--to', copiedTarget], /--from .*dualstack\.db: changed since the copy into .* started \(a collector wrote to it\): stop the collector, then copy again into a new, empty database/);
  });
});
