// A collector whose database disk fills up, for real: its database on a 12 MB tmpfs, a filler
// file taking most of it, reports over HTTP until SQLite refuses. Each refused write must be a
// 503 with Retry-After saying "disk full" (not a 500 with a stack trace per request), /healthz
// and the gauge must say so, the log must say it once, every acknowledged report must still be
// there, and when the filler goes the next report is stored and all of it clears, by itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmdirSync, statfsSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import Database from 'better-sqlite3';
import type { FastifyInstance } from 'fastify';
import { request } from 'undici';
import { buildApp } from '../src/app.js';
import { openStore } from '../src/open-store.js';
import { generateToken, hashToken } from '../src/tokens.js';
import { fixtureReport } from './helpers/collector.js';
import { probeBatch } from './helpers/probes.js';
import { skipUnlessAvailable, skipUnlessCommands } from '../../../test/helpers/requirements.js';

const skip =
  (process.getuid?.() !== 0 && skipUnlessAvailable('needs root (mounts a tmpfs)', { how: 'run the tests as root (.ci/run runs as root)' })) ||
  skipUnlessCommands({ mount: 'mount', umount: 'mount' }, { ...process.env, PATH: `${process.env.PATH}:/usr/sbin:/sbin` });

/** Room left beside the filler: about ten reports of new hosts (each ~120 KB of WAL and pages). */
const LEFT_FREE = 1536 * 1024;

test('a full disk: 503 + Retry-After, /healthz and the gauge say so, one log line each way, nothing acknowledged lost, recovery by itself', { skip }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dualstack-disk-full-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=12m', 'tmpfs', dir]);
  let app: FastifyInstance | null = null;
  // One hook, in this order: the collector lets go of the database before the unmount.
  t.after(async () => {
    try {
      await app?.close();
    } finally {
      // Lazy: detached even if a failed close left the database open, so no mount outlives the test.
      execFileSync('umount', ['--lazy', dir]);
      rmdirSync(dir);
    }
  });
  const file = join(dir, 'collector.db');
  const store = openStore({ db: file, staleAfterSeconds: 900 });
  const token = generateToken();
  await store.createToken({ name: 'admin', role: 'admin', hash: hashToken(token) });
  const secret = generateToken();
  await store.createToken({ name: 'enroll', role: 'enroll', hash: hashToken(secret) });
  const log: Array<{ level: number; msg: string }> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line) log.push(JSON.parse(line) as { level: number; msg: string });
      done();
    },
  });
  app = await buildApp({ store, config: { bodyLimitBytes: 2 * 1024 * 1024, openReadsOnLoopback: false }, logger: { level: 'info', stream } });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  const call = async (method: 'GET' | 'POST', path: string, body?: unknown, bearer = token) => {
    const res = await request(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${bearer}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.body.text();
    return { status: res.statusCode, retryAfter: res.headers['retry-after'], type: res.headers['content-type'], text, json: text.startsWith('{') ? (JSON.parse(text) as any) : null };
  };
  const gauge = async () => Number(/^dualstack_disk_full (\d+)$/m.exec((await call('GET', '/metrics')).text)?.[1]);
  const lines = (text: string) => log.filter((l) => l.msg.includes(text)).length;

  const acked: string[] = [];
  let host = 0;
  const report = () => fixtureReport('dual-stack-services', `disk-full-${host++}`);
  assert.equal((await call('POST', '/api/v1/reports', report())).status, 202, 'the first report, before the filler');
  acked.push(`disk-full-0`);
  assert.equal(await gauge(), 0);

  const { bavail, bsize } = statfsSync(dir);
  const filler = join(dir, 'filler');
  writeFileSync(filler, Buffer.alloc(Math.max(0, bavail * bsize - LEFT_FREE)));

  // Reports of new hosts until the disk is full: every one acknowledged must survive.
  let refused: Awaited<ReturnType<typeof call>> | null = null;
  while (refused === null && host < 200) {
    const r = report();
    const answer = await call('POST', '/api/v1/reports', r);
    if (answer.status === 202) acked.push(r.host.hostId);
    else refused = answer;
  }
  assert.ok(refused, 'the disk never filled');
  assert.ok(acked.length > 2, `reports were stored beside the filler before it filled (${acked.length})`);
  assert.equal(refused.status, 503, refused.text);
  assert.equal(refused.retryAfter, '30');
  assert.match(String(refused.type), /application\/problem\+json/);
  assert.equal(refused.json.type, 'urn:dualstack:problem:disk-full');
  assert.match(refused.json.detail, /disk is full/);

  // Many more refusals (reports, a probe batch, an enrollment): the same answer, and not one log line each.
  for (let i = 0; i < 20; i++) {
    const answer = await call('POST', '/api/v1/reports', report());
    assert.deepEqual([answer.status, answer.retryAfter, answer.json?.type], [503, '30', 'urn:dualstack:problem:disk-full']);
  }
  const probes = await call('POST', '/api/v1/probe-results', probeBatch({ hostId: 'disk-full-vantage', ipv4: true, ipv6: true }, []));
  assert.deepEqual([probes.status, probes.retryAfter, probes.json?.type], [503, '30', 'urn:dualstack:problem:disk-full'], probes.text);
  const enroll = await call('POST', '/api/v1/enroll', { hostId: 'disk-full-new', hostname: 'new', facts: { agentVersion: '0.0.0-test', distro: 'Debian 12', kernel: '6.1.0', arch: 'x86_64' } }, secret);
  assert.deepEqual([enroll.status, enroll.retryAfter, enroll.json?.type], [503, '30', 'urn:dualstack:problem:disk-full'], enroll.text);

  const health = await call('GET', '/healthz');
  assert.equal(health.status, 503);
  assert.equal(health.retryAfter, '30');
  assert.equal(health.json.title, 'Disk full');
  assert.match(health.json.detail, /^disk full: database writes fail since \S+ \(23 refused\)/);
  assert.equal(await gauge(), 1);
  assert.match((await call('GET', '/metrics')).text, /^dualstack_disk_full_refusals_total 23$/m);
  assert.equal(lines('disk full: database writes fail'), 1, 'one line when it started');
  assert.equal(lines('request failed'), 0, 'no stack trace per refused request');
  // The alert evaluation records each run (every minute): no error line per run either.
  await app.alerts.evaluate();
  assert.equal(lines('alerts: could not record the evaluation'), 0);
  assert.equal(lines('disk full: database writes fail'), 1);
  // Reads go on.
  assert.equal((await call('GET', '/api/v1/hosts?limit=1')).status, 200);

  // Nothing acknowledged is lost, and the database is sound, while the disk is still full.
  const check = new Database(file, { readonly: true });
  try {
    assert.equal(check.pragma('integrity_check', { simple: true }), 'ok');
    const stored = new Set(check.prepare('SELECT host_id FROM reports').pluck().all() as string[]);
    assert.deepEqual(acked.filter((h) => !stored.has(h)), [], 'acknowledged reports missing');
    assert.equal(stored.size, acked.length, 'only acknowledged reports are stored');
  } finally {
    check.close();
  }

  // A collector stopped while the disk is full still closes its database (its statistics
  // update, PRAGMA optimize, fails with SQLITE_FULL after reads like these).
  const second = openStore({ db: file, staleAfterSeconds: 900 });
  await second.listHosts({ limit: 10 }, new Date());
  await second.summary(new Date());
  await second.close();

  // A health check while still full tries one write itself, which fails: still 503, not counted as a refused request.
  const refusals = async () => Number(/^dualstack_disk_full_refusals_total (\d+)$/m.exec((await call('GET', '/metrics')).text)?.[1]);
  const refusedBefore = await refusals();
  const stillFull = await call('GET', '/healthz');
  assert.equal(stillFull.status, 503);
  assert.equal(await refusals(), refusedBefore);

  // Space returns: /healthz sees it before any agent's write gets through (a load balancer
  // that took the collector out for its 503 lets it back in), and the next report is stored.
  unlinkSync(filler);
  const healthy = await call('GET', '/healthz');
  assert.deepEqual([healthy.status, healthy.json.status, healthy.json.database.backend], [200, 'ok', 'sqlite']);
  assert.equal(await gauge(), 0);
  assert.equal(lines('disk full: recovered'), 1, 'one line when it recovered');
  const again = report();
  assert.equal((await call('POST', '/api/v1/reports', again)).status, 202);
  acked.push(again.host.hostId);
  assert.equal(lines('disk full: database writes fail'), 1);
  assert.equal((await call('POST', '/api/v1/probe-results', probeBatch({ hostId: 'disk-full-vantage', ipv4: true, ipv6: true }, []))).status, 202);
  assert.equal(lines('disk full:'), 2, 'two lines in all');
  const { total } = (await call('GET', '/api/v1/hosts?limit=1')).json as { total: number };
  assert.equal(total, acked.length);
});
