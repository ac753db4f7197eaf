// The database as an operator sees it (issue 18), on both backends: every Store call timed in
// dualstack_db_query_seconds{backend,operation} after real requests; on PostgreSQL the pool
// sized by --db-pool-size (a real `serve` process), bad sizes refused naming the option.
// Collectors on 127.0.0.1:0 with a SQLite file in a temp dir and a database on a throw-away
// PostgreSQL cluster.
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { buildApp } from '../src/app.js';
import { ConfigError, configFromEnv, parsePoolSize, resolveConfig } from '../src/config.js';
import { openStore } from '../src/open-store.js';
import { PostgresStore } from '../src/db/postgres/store.js';
import type { Store } from '../src/store.js';
import { generateToken, hashToken } from '../src/tokens.js';
import { fixtureReport } from './helpers/collector.js';
import { skipUnlessPostgres, startPostgresCluster, type PostgresCluster } from '../../../test/helpers/postgres.js';

/** A collector in process on `store`; the API as its admin. */
async function collector(t: TestContext, store: Store) {
  const token = generateToken();
  await store.createToken({ name: 'admin', role: 'admin', hash: hashToken(token) });
  const app = await buildApp({ store, config: { bodyLimitBytes: 2 * 1024 * 1024, openReadsOnLoopback: false } });
  t.after(() => app.close());
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  const call = async (method: 'GET' | 'POST', path: string, body?: unknown) => {
    const res = await request(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.statusCode, retryAfter: res.headers['retry-after'], text: await res.body.text() };
  };
  return { app, call };
}

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

/**
 * `dualstack-collector ARGS` as a process. With `listening`, resolves with its base URL once it
 * listens (killed by PID after the test); else with its exit code and stderr.
 */
function cli(t: TestContext, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stderr: string; base: string | null }> {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(line);
      if (match) resolve({ code: null, stderr, base: match[1]! });
    });
    child.once('close', (code) => resolve({ code, stderr, base: null }));
  });
}

/** The histogram's observation counts by operation, for one backend. */
function queryCounts(metrics: string, backend: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const line of metrics.split('\n')) {
    const match = /^dualstack_db_query_seconds_count\{(.*)\} (\d+)$/.exec(line);
    if (!match) continue;
    const labels = Object.fromEntries([...match[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (labels.backend === backend) counts.set(labels.operation!, Number(match[2]));
  }
  return counts;
}

async function queryMetricsAfterRequests(t: TestContext, store: Store, backend: string): Promise<void> {
  const { call } = await collector(t, store);
  for (let i = 0; i < 3; i++) assert.equal((await call('POST', '/api/v1/reports', fixtureReport('dual-stack-services', `timed-${i}`))).status, 202);
  for (const path of ['/api/v1/hosts', '/api/v1/hosts/timed-1', '/api/v1/summary', '/api/v1/services', '/api/v1/findings']) assert.equal((await call('GET', path)).status, 200, path);
  const health = JSON.parse((await call('GET', '/healthz')).text) as { status: string; database: { backend: string; reachable: boolean; latencyMs: number } };
  assert.deepEqual([health.status, health.database.backend, health.database.reachable], ['ok', backend, true]);
  assert.ok(health.database.latencyMs > 0, `latency ${health.database.latencyMs} ms`);
  const counts = queryCounts((await call('GET', '/metrics')).text, backend);
  for (const [operation, least] of [['ingestReport', 3], ['listHosts', 1], ['getHost', 1], ['summary', 1], ['servicesMatrix', 1], ['findingsByRule', 1], ['findTokenByHash', 8]] as const) {
    assert.ok((counts.get(operation) ?? 0) >= least, `${backend} ${operation}: ${counts.get(operation)} observations, expected at least ${least} (${JSON.stringify([...counts])})`);
  }
  // Only Store methods that return a promise: no series for the counters /metrics reads synchronously.
  assert.equal(counts.has('ingestBatches'), false);
}

test('a database pool size out of 1..1000 is refused naming where it came from: --db-pool-size (one line, exit 1), the environment, the configuration', async (t) => {
  const { code, stderr } = await cli(t, ['serve', '--db-pool-size', '0', '--db', 'postgres://nobody@127.0.0.1:1/never']);
  assert.equal(code, 1, stderr);
  assert.equal(stderr, "dualstack-collector: serve: --db-pool-size: the database pool size is a whole number of connections from 1 to 1000, not '0'\n");
  assert.throws(() => parsePoolSize('many', '--db-pool-size'), /--db-pool-size: .* not 'many'/);
  const refused = (pattern: RegExp) => (error: unknown) => error instanceof ConfigError && pattern.test(error.message);
  assert.throws(() => configFromEnv({ DUALSTACK_DB_POOL_SIZE: '1001' }), refused(/^DUALSTACK_DB_POOL_SIZE: the database pool size is a whole number of connections from 1 to 1000, not '1001'$/));
  assert.throws(() => resolveConfig([{ dbPoolSize: 5000 }], 'collector.json'), refused(/^collector\.json: bad key 'dbPoolSize'/));
  assert.equal(configFromEnv({ DUALSTACK_DB_POOL_SIZE: '25' }).dbPoolSize, 25);
  assert.equal(resolveConfig([{ dbPoolSize: 1000 }]).dbPoolSize, 1000);
});

describe('sqlite', () => {
  test('dualstack_db_query_seconds counts each Store operation the requests made', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'dualstack-dbops-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    await queryMetricsAfterRequests(t, openStore({ db: join(dir, 'collector.db'), staleAfterSeconds: 900 }), 'sqlite');
  });
});

describe('postgres', { skip: skipUnlessPostgres() }, () => {
  let cluster: PostgresCluster | undefined;
  before(async () => {
    cluster = await startPostgresCluster();
  });
  after(async () => {
    await cluster?.stop();
  });

  test('dualstack_db_query_seconds counts each Store operation the requests made', async (t) => {
    const store = await PostgresStore.open(await cluster!.createDatabase(), { staleAfterSeconds: 900 });
    await queryMetricsAfterRequests(t, store, 'postgres');
  });

  test('/healthz names the database: reachable with its latency, 503 with Retry-After while it refuses connections, ok again after', async (t) => {
    const url = await cluster!.createDatabase();
    const name = new URL(url).pathname.slice(1);
    const { call } = await collector(t, await PostgresStore.open(url, { staleAfterSeconds: 900, connectionTimeoutMs: 2000 }));
    const ok = await call('GET', '/healthz');
    assert.equal(ok.status, 200, ok.text);
    assert.equal(JSON.parse(ok.text).database.backend, 'postgres');
    // The database stops taking connections and its sessions end: what a stopped server looks like to the pool.
    await cluster!.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`);
    await cluster!.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [name]);
    const down = await call('GET', '/healthz');
    assert.equal(down.status, 503, down.text);
    assert.equal(down.retryAfter, '5');
    const problem = JSON.parse(down.text) as { type: string; detail: string };
    assert.equal(problem.type, 'urn:dualstack:problem:database-unreachable');
    assert.match(problem.detail, /^database unreachable: the postgres database does not answer \(/);
    assert.doesNotMatch(down.text, /password/);
    await cluster!.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`);
    assert.equal((await call('GET', '/healthz')).status, 200, 'the pool connects again by itself');
  });

  test('serve --db-pool-size N: the pool opens at most N connections, its max gauge says N', async (t) => {
    const url = await cluster!.createDatabase();
    const reader = generateToken();
    const setup = await PostgresStore.open(url, { staleAfterSeconds: 900 });
    await setup.createToken({ name: 'reader', role: 'reader', hash: hashToken(reader) });
    await setup.close();
    const { base, stderr } = await cli(t, ['serve', '--listen', '127.0.0.1:0', '--db', url, '--db-pool-size', '3']);
    assert.ok(base, stderr);
    const read = () => fetch(`${base}/api/v1/hosts`, { headers: { authorization: `Bearer ${reader}` } });
    await Promise.all(Array.from({ length: 12 }, read)); // more requests at once than connections
    const metrics = await (await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${reader}` } })).text();
    assert.match(metrics, /^dualstack_db_pool_connections\{state="max"\} 3$/m);
    // The server's own view: this collector's connections (application_name) never above 3.
    const { rows } = await cluster!.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'dualstack-collector'");
    assert.ok(rows[0]!.n >= 1 && rows[0]!.n <= 3, `${rows[0]!.n} connections`);
  });
});
