// `dualstack-collector` on PostgreSQL, as real processes: `--db postgres://…` (and DUALSTACK_DB)
// selects the PostgreSQL store; a token made by one process authenticates a report sent to a
// `serve` process on 127.0.0.1:0, which stores it and serves it back; bad databases are one line
// and exit 1 with nothing written; `backup` checks the connection and names pg_dump.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, test, type TestContext } from 'node:test';
import { COLLECTOR_CLI as CLI, runCollectorCli } from './helpers/cli.js';
import { reportFrom } from './helpers/reports.js';
import { skipUnlessPostgres, startPostgresCluster, type PostgresCluster } from '../../../test/helpers/postgres.js';

/** `dualstack-collector serve` on 127.0.0.1:0; its port from its log. Killed by PID after the test. */
async function serve(t: TestContext, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ child: ChildProcess; base: string }> {
  const child = spawn(process.execPath, [CLI, 'serve', '--listen', '127.0.0.1:0', '--log-level', 'info', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  t.after(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`collector did not start: ${stderr}`)), 30_000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const match = /Server listening at http:\/\/127\.0\.0\.1:(\d+)/.exec(line);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.once('exit', (code) => reject(new Error(`collector exited with ${code}: ${stderr}`)));
  });
  return { child, base: `http://127.0.0.1:${port}` };
}

describe('dualstack-collector --db postgres://', { skip: skipUnlessPostgres() }, () => {
  let cluster: PostgresCluster;
  before(async () => {
    cluster = await startPostgresCluster();
  });
  after(async () => {
    await cluster?.stop();
  });

  test('serve on PostgreSQL: a report sent with a token made by another process is stored and served back; /healthz answers', async (t) => {
    const url = await cluster.createDatabase();
    const agent = await runCollectorCli(['token', 'create', '--name', 'agent-1', '--role', 'agent', '--db', url]);
    assert.equal(agent.code, 0, agent.stderr);
    // DUALSTACK_DB selects PostgreSQL too.
    const reader = await runCollectorCli(['token', 'create', '--name', 'reader-1', '--role', 'reader'], { DUALSTACK_DB: url });
    assert.equal(reader.code, 0, reader.stderr);
    const { base } = await serve(t, ['--db', url]);

    const report = reportFrom('dual-stack-services', { hostId: 'pg-e2e-1', collectedAt: new Date(Date.now() - 60_000) });
    const post = () =>
      fetch(`${base}/api/v1/reports`, { method: 'POST', headers: { authorization: `Bearer ${agent.stdout.trim()}`, 'content-type': 'application/json' }, body: JSON.stringify(report) });
    const first = await post();
    const ack = (await first.json()) as { reportId: string; hostId: string; duplicate: boolean };
    assert.ok(first.status >= 200 && first.status < 300, JSON.stringify(ack));
    assert.deepEqual([ack.reportId, ack.hostId, ack.duplicate], [report.reportId, 'pg-e2e-1', false]);
    const again = (await (await post()).json()) as { duplicate: boolean };
    assert.equal(again.duplicate, true);

    const read = await fetch(`${base}/api/v1/hosts/pg-e2e-1`, { headers: { authorization: `Bearer ${reader.stdout.trim()}` } });
    assert.equal(read.status, 200);
    const detail = (await read.json()) as { host: { hostId: string }; services: unknown[] };
    assert.equal(detail.host.hostId, 'pg-e2e-1');
    assert.deepEqual(detail.services, report.services);
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    const metrics = await (await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${reader.stdout.trim()}` } })).text();
    assert.match(metrics, /^dualstack_db_pool_connections\{state="max"\} 10$/m, 'the pool is in /metrics');
    assert.match(metrics, /^dualstack_db_pool_connections\{state="idle"\} [1-9]/m);
    assert.match(metrics, /^dualstack_db_pool_waiting \d+$/m);
    // Stored in PostgreSQL itself, not in some file.
    const rows = await cluster.query<{ n: string }>('SELECT count(*) AS n FROM reports', [], new URL(url).pathname.slice(1));
    assert.equal(Number(rows.rows[0]!.n), 1);
  });

  test('two serve processes on one database: each report sent to both at once is stored once with the same ack; either serves what the other stored', async (t) => {
    const url = await cluster.createDatabase();
    const agent = await runCollectorCli(['token', 'create', '--name', 'agent-2', '--role', 'agent', '--db', url]);
    const reader = await runCollectorCli(['token', 'create', '--name', 'reader-2', '--role', 'reader', '--db', url]);
    const [one, two] = await Promise.all([serve(t, ['--db', url]), serve(t, ['--db', url])]);
    const post = (base: string, report: object) =>
      fetch(`${base}/api/v1/reports`, { method: 'POST', headers: { authorization: `Bearer ${agent.stdout.trim()}`, 'content-type': 'application/json' }, body: JSON.stringify(report) }).then(
        async (r) => ({ status: r.status, ack: (await r.json()) as { reportId: string; receivedAt: string; duplicate: boolean; findings: unknown } }),
      );
    const reports = Array.from({ length: 8 }, (_, i) => reportFrom(i % 2 ? 'bindv6only' : 'ipv6-off', { hostId: 'pg-two', collectedAt: new Date(Date.now() - 60_000 + i * 1000) }));
    for (const report of reports) {
      const [a, b] = await Promise.all([post(one.base, report), post(two.base, report)]);
      assert.ok(a.status < 300 && b.status < 300, `${a.status} ${b.status}`);
      assert.equal([a.ack.duplicate, b.ack.duplicate].filter(Boolean).length, 1, 'one of the two is the duplicate');
      assert.deepEqual({ ...a.ack, duplicate: null }, { ...b.ack, duplicate: null });
    }
    const dbName = new URL(url).pathname.slice(1);
    assert.equal(Number((await cluster.query<{ n: string }>('SELECT count(*) AS n FROM reports', [], dbName)).rows[0]!.n), reports.length);
    for (const base of [one.base, two.base]) {
      const detail = (await (await fetch(`${base}/api/v1/hosts/pg-two`, { headers: { authorization: `Bearer ${reader.stdout.trim()}` } })).json()) as { latestReport: { reportId: string } };
      assert.equal(detail.latestReport.reportId, reports.at(-1)!.reportId);
    }
  });

  test('bad databases: one line naming the problem, exit 1, nothing written', async () => {
    const missing = await runCollectorCli(['migrate', '--db', cluster.url('no_such_db')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /database "no_such_db" does not exist/);
    assert.equal(missing.stderr.trim().split('\n').length, 1, missing.stderr);

    const refused = await runCollectorCli(['migrate', '--db', 'postgres://someone:s3cret@127.0.0.1:1/dualstack']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /ECONNREFUSED/);
    assert.doesNotMatch(refused.stderr, /s3cret/, 'the password is never printed');
    assert.equal(refused.stderr.trim().split('\n').length, 1, refused.stderr);

    const url = await cluster.createDatabase();
    assert.equal((await runCollectorCli(['migrate', '--db', url])).code, 0);
    const dbName = new URL(url).pathname.slice(1);
    await cluster.query("INSERT INTO schema_migrations VALUES (999, 'from a newer collector', 'x')", [], dbName);
    const newer = await runCollectorCli(['token', 'create', '--name', 'x', '--role', 'agent', '--db', url]);
    assert.equal(newer.code, 1);
    assert.match(newer.stderr, /schema version 999 is newer than this collector understands/);
    assert.equal((await cluster.query<{ n: string }>('SELECT count(*) AS n FROM tokens', [], dbName)).rows[0]!.n, '0');
  });

  test('backup on PostgreSQL checks the connection and names pg_dump; no file is written', async (t) => {
    const url = await cluster.createDatabase();
    const dir = mkdtempSync(join(tmpdir(), 'dualstack-pg-backup-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const result = await runCollectorCli(['backup', join(dir, 'copy.db'), '--db', url]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /reached and healthy; back it up with PostgreSQL's own tools: pg_dump/);
    assert.match(result.stderr, /pg_basebackup/);
    assert.equal(existsSync(join(dir, 'copy.db')), false);
  });
});
