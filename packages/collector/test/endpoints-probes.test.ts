// POST /api/v1/probe-results over real HTTP on 127.0.0.1:0 with a real SQLite file: the agent
// role, schema validation naming the field, another schema major refused by name, idempotency
// on batchId, undeclared endpoint names, all-or-nothing storage, retention, and a restart that
// keeps API-declared endpoints and results.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { request } from 'undici';
import { buildApp } from '../src/app.js';
import { openStore } from '../src/open-store.js';
import { startTestCollector, writerToken, type TestCollector } from './helpers/collector.js';
import { attempt, endpointProbe, probeBatch } from './helpers/probes.js';

const WWW = 'https://www.example.net';
const www = (probedAt?: Date) => endpointProbe({ name: 'www', url: WWW, a: ['192.0.2.10'], aaaa: ['2001:db8::10'], attempts: [attempt('192.0.2.10', 443, 'ok'), attempt('2001:db8::10', 443, 'ok')], ...(probedAt ? { probedAt } : {}) });
const dualStack = { hostId: 'vp-dual', ipv4: true, ipv6: true };

let c: TestCollector;
before(async () => {
  c = await startTestCollector({ endpoints: { config: [{ name: 'www', url: WWW }] } });
});
after(async () => c.close());

/** Posts a batch with the given token, by default its vantage point's own agent token. */
async function post(body: unknown, token?: string | null) {
  if (token === undefined) token = await writerToken(c, body);
  const res = await request(`${c.url}/api/v1/probe-results`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  return { status: res.statusCode, body: (await res.body.json()) as any };
}

/** Probe rows in the database: nothing may change on a refused batch. */
function probeRows(): { batches: number; results: number; latest: number } {
  const db = (c.store as unknown as { database: import('better-sqlite3').Database }).database;
  return db.prepare('SELECT (SELECT count(*) FROM probe_batches) AS batches, (SELECT count(*) FROM probe_results) AS results, (SELECT count(*) FROM probe_latest) AS latest').get() as any;
}

test('a batch needs an agent token', async () => {
  const batch = probeBatch(dualStack, [www()]);
  assert.equal((await post(batch, null)).status, 401);
  assert.equal((await post(batch, c.tokens.reader)).status, 403);
  assert.equal((await post(batch, c.tokens.revoked)).status, 401);
  assert.deepEqual(probeRows(), { batches: 0, results: 0, latest: 0 });
});

test('stored once: 202, then the same ack with 200 and duplicate; unknown names listed, not stored', async () => {
  const other = endpointProbe({ name: 'not-declared', url: 'https://x.example.net', a: [], aaaa: [], attempts: [] });
  const batch = probeBatch(dualStack, [www(), other]);
  const first = await post(batch);
  assert.equal(first.status, 202);
  assert.equal(first.body.batchId, batch.batchId);
  assert.equal(first.body.duplicate, false);
  assert.equal(first.body.results, 1);
  assert.deepEqual(first.body.unknown, ['not-declared']);
  const rows = probeRows();
  assert.deepEqual(rows, { batches: 1, results: 1, latest: 1 });

  const replay = await post(batch);
  assert.equal(replay.status, 200);
  assert.deepEqual(replay.body, { ...first.body, duplicate: true, results: 0 });
  assert.deepEqual(probeRows(), rows);
  const metrics = await (await request(`${c.url}/metrics`)).body.text();
  assert.match(metrics, /^dualstack_probe_batches_total\{result="stored"\} 1$/m);
  assert.match(metrics, /^dualstack_probe_batches_total\{result="duplicate"\} 1$/m);
});

test('batch ids are compared in canonical lower case: the same batch with an upper-case batchId is a duplicate', async () => {
  const batch = probeBatch({ hostId: 'vp-case', ipv4: true, ipv6: true }, [www()]);
  const upper = { ...batch, batchId: batch.batchId.toUpperCase() };
  assert.notEqual(upper.batchId, batch.batchId);
  const first = await post(upper);
  assert.equal(first.status, 202);
  assert.equal(first.body.batchId, batch.batchId, 'the ack names the id in lower case');
  const rows = probeRows();
  const db = (c.store as unknown as { database: import('better-sqlite3').Database }).database;
  assert.equal(db.prepare('SELECT count(*) FROM probe_batches WHERE batch_id = ?').pluck().get(batch.batchId), 1, 'stored in lower case');
  const again = await post(batch);
  assert.equal(again.status, 200);
  assert.equal(again.body.duplicate, true);
  const mixed = await post({ ...batch, batchId: batch.batchId.replace(/[a-f]/, (ch) => ch.toUpperCase()) });
  assert.equal(mixed.status, 200);
  assert.equal(mixed.body.duplicate, true);
  assert.deepEqual(probeRows(), rows);
});

test('a bad field is refused naming it, and nothing is stored', async () => {
  const before = probeRows();
  const badOutcome = probeBatch(dualStack, [www()]) as any;
  badOutcome.results[0].attempts[1].outcome = 'maybe';
  const res = await post(badOutcome);
  assert.equal(res.status, 400);
  assert.equal(res.body.field, '/results/0/attempts/1/outcome');
  const noVantage = probeBatch(dualStack, [www()]) as any;
  delete noVantage.vantage.ipv6;
  const missing = await post(noVantage);
  assert.equal(missing.status, 400);
  assert.equal(missing.body.field, '/vantage/ipv6');
  const notUuid = await post({ ...probeBatch(dualStack, [www()]), batchId: 'batch-1' });
  assert.equal(notUuid.status, 400);
  assert.equal(notUuid.body.field, '/batchId');
  assert.deepEqual(probeRows(), before);
});

test('a batch of another schema major is refused by name', async () => {
  const res = await post({ ...probeBatch(dualStack, [www()]), schema: 'dualstack.probe/v2' });
  assert.equal(res.status, 400);
  assert.equal(res.body.field, '/schema');
  assert.match(res.body.detail, /understands dualstack\.probe\/v1; the batch is dualstack\.probe\/v2/);
});

test('all or nothing: a result the database refuses after others were written leaves no trace', async () => {
  await request(`${c.url}/api/v1/endpoints`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${c.tokens.admin}` },
    body: JSON.stringify({ name: 'long', url: 'https://long.example.net' }),
  });
  const before = probeRows();
  // The schema takes any url; the table keeps at most 2048 characters (probe_url_length).
  const long = endpointProbe({ name: 'long', url: `https://long.example.net/${'x'.repeat(3000)}`, a: [], aaaa: [], attempts: [] });
  const res = await post(probeBatch({ hostId: 'vp-other', ipv4: true, ipv6: true }, [www(), long]));
  assert.equal(res.status, 400);
  assert.equal(res.body.field, '/results/1/url');
  assert.deepEqual(probeRows(), before, 'the first result or the batch row was kept');
  const twice = await post(probeBatch(dualStack, [www(), www()]));
  assert.equal(twice.status, 400);
  assert.equal(twice.body.field, '/results/1/name');
  assert.deepEqual(probeRows(), before);
});

test('a batch replayed from a spool after a newer one stays in history and does not become the latest', async () => {
  const newer = probeBatch({ hostId: 'vp-spool', ipv4: true, ipv6: true }, [www(new Date('2030-01-01T10:05:00Z'))]);
  const older = probeBatch({ hostId: 'vp-spool', ipv4: true, ipv6: true }, [www(new Date('2030-01-01T10:00:00Z'))]);
  assert.equal((await post(newer)).status, 202);
  assert.equal((await post(older)).status, 202);
  const [input] = await c.store.endpointInputs(new Date(), 'www');
  assert.equal(input!.views.find((v) => v.vantage.hostId === 'vp-spool')?.probe.probedAt, '2030-01-01T10:05:00.000Z');
  const limited = await request(`${c.url}/api/v1/endpoints/www?limit=1`, { headers: { authorization: `Bearer ${c.tokens.reader}` } });
  const detail = (await limited.body.json()) as any;
  assert.deepEqual(
    detail.history.find((h: any) => h.hostId === 'vp-spool').results.map((r: any) => r.probedAt),
    ['2030-01-01T10:05:00.000Z'],
  );
  const history = await c.store.probeHistory('www', 10);
  assert.deepEqual(
    history.get('vp-spool')?.map((h) => h.probe.probedAt),
    ['2030-01-01T10:05:00.000Z', '2030-01-01T10:00:00.000Z'],
  );
});

test('retention prunes old batches but never a latest result', async () => {
  const rows = probeRows();
  // Everything was received just now: a cutoff in the future would take all but the latest.
  const removed = await c.store.pruneProbes(new Date(Date.now() + 60_000));
  const after = probeRows();
  assert.equal(after.latest, rows.latest);
  assert.equal(after.results, rows.latest, 'only the latest results are left');
  assert.ok(removed > 0);
});

test('a restart keeps API endpoints and results; config endpoints follow the new configuration', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dualstack-endpoints-restart-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const db = join(dir, 'c.db');
  const config = { bodyLimitBytes: 1 << 20, openReadsOnLoopback: false };
  const first = await buildApp({ store: openStore({ db, staleAfterSeconds: 900 }), config, endpoints: { config: [{ name: 'www', url: WWW }, { name: 'old', url: 'ssh://old.example.net' }] } });
  await first.store.addEndpoint({ name: 'api-db', url: 'tcp://db.example.net:5432' });
  const batch = probeBatch(dualStack, [
    www(),
    endpointProbe({ name: 'api-db', url: 'tcp://db.example.net:5432', a: ['192.0.2.5'], aaaa: [], attempts: [attempt('192.0.2.5', 5432, 'ok')] }),
    endpointProbe({ name: 'old', url: 'ssh://old.example.net', a: ['192.0.2.6'], aaaa: [], attempts: [attempt('192.0.2.6', 22, 'ok')] }),
  ]);
  assert.equal((await first.store.ingestProbeBatch(batch, { receivedAt: new Date().toISOString(), tokenId: null })).results, 3);
  await first.close();

  const second = await buildApp({ store: openStore({ db, staleAfterSeconds: 900 }), config, endpoints: { config: [{ name: 'www', url: `${WWW}/status` }] } });
  t.after(() => second.close());
  const declared = await second.store.listEndpoints();
  assert.deepEqual(
    declared.map((d) => [d.spec.name, d.spec.url, d.source]),
    [
      ['api-db', 'tcp://db.example.net:5432', 'api'],
      ['www', `${WWW}/status`, 'config'],
    ],
  );
  const inputs = await second.store.endpointInputs(new Date());
  assert.deepEqual(
    inputs.map((i) => [i.declared.spec.name, i.views.map((v) => v.vantage.hostId)]),
    [
      ['api-db', ['vp-dual']],
      ['www', ['vp-dual']],
    ],
  );
  // 'old', gone from the configuration, went with its results.
  const database = (second.store as unknown as { database: import('better-sqlite3').Database }).database;
  assert.deepEqual(database.prepare('SELECT endpoint FROM probe_results ORDER BY endpoint').pluck().all(), ['api-db', 'www']);
  // The same batch again is still a duplicate after the restart.
  assert.equal((await second.store.ingestProbeBatch(batch, { receivedAt: new Date().toISOString(), tokenId: null })).duplicate, true);
});

test('a config endpoint whose name the API declared stops the start, naming the key', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dualstack-endpoints-clash-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const db = join(dir, 'c.db');
  const config = { bodyLimitBytes: 1 << 20, openReadsOnLoopback: false };
  const first = await buildApp({ store: openStore({ db, staleAfterSeconds: 900 }), config });
  await first.store.addEndpoint({ name: 'www', url: WWW });
  await first.close();
  const store = openStore({ db, staleAfterSeconds: 900 });
  t.after(() => store.close());
  await assert.rejects(
    buildApp({ store, config, closeStore: false, endpoints: { config: [{ name: 'mx', url: 'smtp://mx.example.net' }, { name: 'www', url: WWW }] } }),
    /bad key 'endpoints\.1\.name': 'www' was declared through the API; delete it there first/,
  );
});
