// A PostgreSQL collector whose database's disk fills up, for real: the fleet's database in a
// tablespace on a 12 MB tmpfs (only the tablespace: pg_wal stays on the cluster's own disk, a
// full WAL disk PANICs the server), a filler file taking most of it, reports over HTTP until
// PostgreSQL cannot extend a table (SQLSTATE 53100). As on SQLite (disk-full.test.ts): each
// refused write a 503 disk-full with Retry-After, /healthz and the gauge say so, one log line,
// every acknowledged report there, reads served, the server itself up; when the filler goes,
// /healthz's probe write (migration 5's row) clears it and the next report is stored.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmdirSync, statfsSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { request } from 'undici';
import { buildApp } from '../src/app.js';
import { PostgresStore } from '../src/db/postgres/store.js';
import { generateToken, hashToken } from '../src/tokens.js';
import { isDiskFullError } from '../src/plugins/disk-full.js';
import { fixtureReport } from './helpers/collector.js';
import { skipUnlessAvailable, skipUnlessCommands } from '../../../test/helpers/requirements.js';
import { skipUnlessPostgres, startPostgresCluster, type PostgresCluster } from '../../../test/helpers/postgres.js';

const skip =
  (process.getuid?.() !== 0 && skipUnlessAvailable('needs root (mounts a tmpfs)', { how: 'run the tests as root (.ci/run runs as root)' })) ||
  skipUnlessCommands({ mount: 'mount', umount: 'mount', chown: 'coreutils' }, { ...process.env, PATH: `${process.env.PATH}:/usr/sbin:/sbin` }) ||
  skipUnlessPostgres();

/** Room left beside the filler: a few reports of new hosts (each a few pages in several tables and indexes). */
const LEFT_FREE = 512 * 1024;

test('PostgreSQL out of space in its tablespace: 503 disk-full + Retry-After, /healthz and the gauge say so, nothing acknowledged lost, recovery by itself', { skip }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dualstack-pg-disk-full-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=12m,mode=0700', 'tmpfs', dir]);
  let cluster: PostgresCluster | null = null;
  let app: FastifyInstance | null = null;
  // One hook, in this order: the collector, then the server let go of the tablespace before the unmount.
  t.after(async () => {
    try {
      await app?.close();
      await cluster?.stop();
    } finally {
      execFileSync('umount', ['--lazy', dir]);
      rmdirSync(dir);
    }
  });
  cluster = await startPostgresCluster();
  execFileSync('chown', [`${cluster.user}:`, dir]);
  await cluster.query(`CREATE TABLESPACE small LOCATION '${dir}'`);
  await cluster.query('CREATE DATABASE fleet TABLESPACE small');
  const store = await PostgresStore.open(cluster.url('fleet'), { staleAfterSeconds: 900 });
  const token = generateToken();
  await store.createToken({ name: 'admin', role: 'admin', hash: hashToken(token) });
  const log: Array<{ level: number; msg: string; code?: string; err?: { message: string } }> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line) log.push(JSON.parse(line) as { level: number; msg: string });
      done();
    },
  });
  app = await buildApp({ store, config: { bodyLimitBytes: 2 * 1024 * 1024, openReadsOnLoopback: false }, logger: { level: 'info', stream } });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  const call = async (method: 'GET' | 'POST', path: string, body?: unknown) => {
    const res = await request(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.body.text();
    return { status: res.statusCode, retryAfter: res.headers['retry-after'], text, json: text.startsWith('{') ? (JSON.parse(text) as any) : null };
  };
  const gauge = async () => Number(/^dualstack_disk_full (\d+)$/m.exec((await call('GET', '/metrics')).text)?.[1]);
  const lines = (text: string) => log.filter((l) => l.msg.includes(text));

  const acked: string[] = [];
  let host = 0;
  const report = () => fixtureReport('dual-stack-services', `pg-full-${host++}`);
  assert.equal((await call('POST', '/api/v1/reports', report())).status, 202, 'the first report, before the filler');
  acked.push('pg-full-0');
  assert.equal((await call('GET', '/healthz')).status, 200);
  // Probes before (an earlier episode): what they left must not let a probe pass on a full disk.
  await store.probeWrite();
  await store.probeWrite();

  const { bavail, bsize } = statfsSync(dir);
  const filler = join(dir, 'filler');
  writeFileSync(filler, Buffer.alloc(Math.max(0, bavail * bsize - LEFT_FREE)));

  let refused: Awaited<ReturnType<typeof call>> | null = null;
  while (refused === null && host < 400) {
    const r = report();
    const answer = await call('POST', '/api/v1/reports', r);
    if (answer.status === 202) acked.push(r.host.hostId);
    else refused = answer;
  }
  assert.ok(refused, 'the tablespace never filled');
  assert.equal(refused.status, 503, refused.text);
  assert.equal(refused.retryAfter, '30');
  assert.equal(refused.json.type, 'urn:dualstack:problem:disk-full');
  for (let i = 0; i < 5; i++) {
    const answer = await call('POST', '/api/v1/reports', report());
    assert.deepEqual([answer.status, answer.retryAfter, answer.json?.type], [503, '30', 'urn:dualstack:problem:disk-full']);
  }
  const started = lines('disk full: database writes fail');
  assert.equal(started.length, 1, 'one line when it started');
  assert.equal(started[0]!.code, '53100', "PostgreSQL's disk_full");
  assert.match(started[0]!.err!.message, /could not extend file .*No space left on device/);
  assert.equal(lines('request failed').length, 0, 'no stack trace per refused request');

  const health = await call('GET', '/healthz');
  assert.equal(health.status, 503, health.text);
  assert.equal(health.retryAfter, '30');
  assert.equal(health.json.title, 'Disk full');
  assert.equal(await gauge(), 1);
  // Reads go on, the server is up, and everything acknowledged is stored.
  assert.equal((await call('GET', '/api/v1/hosts?limit=1')).status, 200);
  process.kill(cluster.pid, 0);
  const stored = new Set((await cluster.query<{ host_id: string }>('SELECT host_id FROM reports', [], 'fleet')).rows.map((r) => r.host_id));
  assert.deepEqual(acked.filter((h) => !stored.has(h)), [], 'acknowledged reports missing');
  assert.equal(stored.size, acked.length, 'only acknowledged reports are stored');

  // Space returns: /healthz's own write sees it before any agent's, and the next report is stored.
  unlinkSync(filler);
  const healthy = await call('GET', '/healthz');
  assert.equal(healthy.status, 200, healthy.text);
  assert.equal(await gauge(), 0);
  assert.equal(lines('disk full: recovered').length, 1, 'one line when it recovered');
  assert.equal((await call('POST', '/api/v1/reports', report())).status, 202);

  // The rest of class 53 (the server's own error objects) takes the same answer; 53300, too
  // many connections, is the database busy (503 busy, Retry-After 5), not a full disk.
  for (const [name, code, full] of [['disk_full', '53100', true], ['insufficient_resources', '53000', true], ['out_of_memory', '53200', true], ['configuration_limit_exceeded', '53400', true], ['too_many_connections', '53300', false]] as const) {
    const error: { code?: string } | null = await cluster.query(`DO $$ BEGIN RAISE EXCEPTION 'test' USING ERRCODE = '${name}'; END $$`).then(() => null, (e: unknown) => e as { code?: string });
    assert.equal(error?.code, code);
    assert.equal(isDiskFullError(error), full, name);
  }
});
