// The database as an operator sees it (issue 18), on both backends: every Store call timed in
// dualstack_db_query_seconds{backend,operation} after real requests. Collectors in process on
// 127.0.0.1:0 with a SQLite file in a temp dir and a database on a throw-away PostgreSQL cluster.
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { buildApp } from '../src/app.js';
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
    return { status: res.statusCode, text: await res.body.text() };
  };
  return { app, call };
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
  const counts = queryCounts((await call('GET', '/metrics')).text, backend);
  for (const [operation, least] of [['ingestReport', 3], ['listHosts', 1], ['getHost', 1], ['summary', 1], ['servicesMatrix', 1], ['findingsByRule', 1], ['findTokenByHash', 8]] as const) {
    assert.ok((counts.get(operation) ?? 0) >= least, `${backend} ${operation}: ${counts.get(operation)} observations, expected at least ${least} (${JSON.stringify([...counts])})`);
  }
  // Only Store methods that return a promise: no series for the counters /metrics reads synchronously.
  assert.equal(counts.has('ingestBatches'), false);
}

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
});
