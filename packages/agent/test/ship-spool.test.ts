// The on-disk spool: oldest first by name, whole files only, bounded with a line per drop,
// corrupt files moved aside.
import { before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Report } from '@dualstack/core';
import { CORRUPT_DIR, Spool, spoolFileName, type SpoolOptions } from '../src/ship/spool.js';
import { fixtureReport, reportAt } from './ship-fake-collector.js';

let base: Report;
before(async () => {
  base = await fixtureReport();
});

function tempSpool(t: TestContext, options: Omit<SpoolOptions, 'dir' | 'log'> = {}) {
  const dir = join(mkdtempSync(join(tmpdir(), 'dualstack-spool-')), 'spool');
  t.after(() => rmSync(join(dir, '..'), { recursive: true, force: true }));
  const lines: string[] = [];
  const spool = new Spool({ dir, log: (line) => lines.push(line), ...options });
  return { dir, spool, lines };
}

test('spoolFileName: UTC collectedAt with milliseconds, then the reportId; offsets normalised', () => {
  const id = '0b8f6a0e-6f0e-4a43-9d1c-1f0a4c0f1a11';
  assert.equal(spoolFileName({ reportId: id, collectedAt: '2025-01-02T03:04:05.678Z' }), `20250102T030405.678Z_${id}.json`);
  assert.equal(spoolFileName({ reportId: id, collectedAt: '2025-01-02T12:00:00+09:00' }), `20250102T030000.000Z_${id}.json`);
  assert.throws(() => spoolFileName({ reportId: id, collectedAt: 'yesterday' }), /not a date/);
  assert.throws(() => spoolFileName({ reportId: '../../etc/passwd', collectedAt: '2025-01-02T03:04:05Z' }), /cannot name a spool file/);
});

test('add/list: one file per report, listed oldest first whatever the order they came in', async (t) => {
  const { spool, dir } = tempSpool(t);
  const times = ['2025-03-01T00:00:00Z', '2025-01-01T00:00:00Z', '2025-02-01T00:00:00+01:00', '2025-02-01T00:00:00Z'];
  const reports = times.map((time) => reportAt(base, time));
  for (const report of reports) await spool.add(report);
  const entries = await spool.list();
  assert.deepEqual(
    entries.map((e) => e.time),
    ['2025-01-01T00:00:00.000Z', '2025-01-31T23:00:00.000Z', '2025-02-01T00:00:00.000Z', '2025-03-01T00:00:00.000Z'],
  );
  assert.deepEqual(entries.map((e) => e.id), [reports[1], reports[2], reports[3], reports[0]].map((r) => r!.reportId));
  const first = entries[0]!;
  assert.deepEqual(JSON.parse(readFileSync(first.path, 'utf8')), reports[1]);
  assert.deepEqual(await spool.read(first), reports[1]);
  assert.equal(first.bytes, Buffer.byteLength(JSON.stringify(reports[1])));
  assert.equal(statSync(first.path).mode & 0o777, 0o600, 'reports describe the host: owner only');
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  assert.deepEqual(await spool.size(), { reports: 4, bytes: entries.reduce((s, e) => s + e.bytes, 0) });
});

test('writes leave no temp file behind; a leftover temp file (a writer that died) and a foreign file are not entries, and a fresh temp file is kept', async (t) => {
  const { spool, dir, lines } = tempSpool(t);
  await spool.add(reportAt(base, '2025-01-01T00:00:00Z'));
  assert.deepEqual(readdirSync(dir).filter((n) => n.startsWith('.')), []);
  // Half a report under a temp name, as a crash between write and rename leaves it.
  writeFileSync(join(dir, '.tmp-4242-deadbeef0000'), '{"schema":"dualstack.report/v1","repo');
  writeFileSync(join(dir, 'notes.txt'), 'not a report');
  const entries = await spool.list();
  assert.equal(entries.length, 1);
  assert.equal(readdirSync(dir).includes('.tmp-4242-deadbeef0000'), true, 'a fresh temp file may be a writer at work: kept');
  assert.deepEqual(lines, []);
});

test('a temp file older than ten minutes is removed, with a line saying so', async (t) => {
  const { spool, dir, lines } = tempSpool(t);
  await spool.init();
  const temp = join(dir, '.tmp-4242-0123456789ab');
  writeFileSync(temp, '{"half":');
  const old = new Date(Date.now() - 3600_000);
  utimesSync(temp, old, old);
  assert.deepEqual(await spool.list(), []);
  assert.equal(readdirSync(dir).includes('.tmp-4242-0123456789ab'), false);
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, /removed .*\.tmp-4242-0123456789ab: a partial spool write left by an interrupted agent/);
});

test('bounded by count: the oldest are dropped first, each with a log line naming it', async (t) => {
  const { spool, lines } = tempSpool(t, { maxReports: 3 });
  const reports = [1, 2, 3, 4, 5].map((day) => reportAt(base, `2025-01-0${day}T00:00:00Z`));
  const dropped: string[] = [];
  for (const report of reports) dropped.push(...(await spool.add(report)).dropped.map((e) => e.id));
  assert.deepEqual(dropped, [reports[0]!.reportId, reports[1]!.reportId]);
  assert.deepEqual((await spool.list()).map((e) => e.id), reports.slice(2).map((r) => r.reportId));
  assert.equal(lines.length, 2);
  assert.match(lines[0]!, new RegExp(`^dropped spooled report ${reports[0]!.reportId} \\(collected 2025-01-01T00:00:00.000Z, [\\d.]+ KiB\\): spool .* over its bound of 3 reports$`));
});

test('bounded by bytes: the oldest are dropped until the total fits', async (t) => {
  const size = Buffer.byteLength(JSON.stringify(reportAt(base, '2025-01-01T00:00:00Z')));
  const { spool, lines } = tempSpool(t, { maxBytes: size * 2 + 10 });
  const reports = [1, 2, 3].map((day) => reportAt(base, `2025-01-0${day}T00:00:00Z`));
  for (const report of reports) await spool.add(report);
  assert.deepEqual((await spool.list()).map((e) => e.id), [reports[1]!.reportId, reports[2]!.reportId]);
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, new RegExp(`dropped spooled report ${reports[0]!.reportId} .*over its bound of [\\d.]+ KiB$`));
});

test('a report larger than the whole byte bound is dropped alone; the waiting ones stay', async (t) => {
  const size = Buffer.byteLength(JSON.stringify(reportAt(base, '2025-01-01T00:00:00Z')));
  const { spool, lines } = tempSpool(t, { maxBytes: size + 100 });
  const kept = reportAt(base, '2025-01-01T00:00:00Z');
  await spool.add(kept);
  const huge = { ...reportAt(base, '2025-01-02T00:00:00Z'), services: [...base.services, ...base.services] };
  const result = await spool.add(huge);
  assert.equal(result.entry, null);
  assert.deepEqual((await spool.list()).map((e) => e.id), [kept.reportId]);
  assert.match(lines.at(-1)!, new RegExp(`^dropped report ${huge.reportId} .*larger than the spool's bound`));
});

test("the report just added goes last even when its collectedAt is the oldest (a replayed capture's)", async (t) => {
  const { spool } = tempSpool(t, { maxReports: 2 });
  const a = reportAt(base, '2025-05-01T00:00:00Z');
  const b = reportAt(base, '2025-05-02T00:00:00Z');
  const old = reportAt(base, '2020-01-01T00:00:00Z');
  await spool.add(a);
  await spool.add(b);
  const { dropped } = await spool.add(old);
  assert.deepEqual(dropped.map((e) => e.id), [a.reportId]);
  assert.deepEqual((await spool.list()).map((e) => e.id), [old.reportId, b.reportId]);
});

test('a corrupt file is moved into corrupt/, not deleted, and reported; the others still read', async (t) => {
  const { spool, dir, lines } = tempSpool(t);
  const good = reportAt(base, '2025-01-02T00:00:00Z');
  await spool.add(good);
  const truncated = `20250101T000000.000Z_11111111-1111-4111-8111-111111111111.json`;
  writeFileSync(join(dir, truncated), JSON.stringify(good).slice(0, 100));
  const mismatched = `20250101T000001.000Z_22222222-2222-4222-8222-222222222222.json`;
  writeFileSync(join(dir, mismatched), JSON.stringify(good));

  const entries = await spool.list();
  assert.equal(entries.length, 3);
  const read = [];
  for (const entry of entries) read.push(await spool.read(entry));
  assert.deepEqual(read.map((r) => r?.reportId ?? null), [null, null, good.reportId]);
  assert.deepEqual(readdirSync(join(dir, CORRUPT_DIR)).sort(), [truncated, mismatched]);
  assert.equal(readFileSync(join(dir, CORRUPT_DIR, truncated), 'utf8'), JSON.stringify(good).slice(0, 100), 'kept as it was');
  assert.deepEqual((await spool.list()).map((e) => e.id), [good.reportId]);
  assert.equal(lines.length, 2);
  assert.match(lines[0]!, new RegExp(`^moved corrupt spool file ${truncated} aside to .*/corrupt/${truncated}: not JSON`));
  assert.match(lines[1]!, /reportId .* does not match the file name/);
});

test('remove: gone after, and removing an entry already removed (by another process) is fine', async (t) => {
  const { spool } = tempSpool(t);
  await spool.add(reportAt(base, '2025-01-01T00:00:00Z'));
  const [entry] = await spool.list();
  await spool.remove(entry!);
  await spool.remove(entry!);
  assert.deepEqual(await spool.list(), []);
  assert.equal(await spool.read(entry!), null);
});

test('a spool directory that does not exist yet is an empty spool; bounds below 1 are refused', async (t) => {
  const { spool } = tempSpool(t);
  assert.deepEqual(await spool.list(), []);
  assert.throws(() => new Spool({ dir: '/nonexistent', maxReports: 0 }), /at least 1 report/);
  assert.throws(() => new Spool({ dir: '/nonexistent', maxBytes: 0 }), /at least 1 byte/);
});

test('a spool directory that exists with a wider mode than 0700 is set to 0700, with a warning; one at 0700 is left quiet', async (t) => {
  const { dir, spool, lines } = tempSpool(t);
  mkdirSync(dir);
  chmodSync(dir, 0o755); // made by hand, or under a umask of 022 by an older agent
  await spool.add(base);
  assert.equal(statSync(dir).mode & 0o777, 0o700, 'other users can no longer list or read the waiting reports');
  assert.deepEqual(lines, [`warning: spool ${dir} had mode 0755 (other users could read the waiting reports); set it to 0700`]);
  await spool.add(reportAt(base, '2025-01-02T03:04:06Z'));
  assert.equal(lines.length, 1, 'no warning once it is 0700');
});
