// The single-file agent (scripts/package-agent.mjs) run from an empty directory with no
// node_modules anywhere above it, as on a server: it must print what the unbundled agent
// prints, and push and run (undici, node-cron, pino, systeminformation all inside the one
// file) must deliver to a real collector on 127.0.0.1. Needs `npx turbo run build` first
// (the unbundled reference is packages/agent/dist/cli.js).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { hostToken, startTestCollector, type TestCollector } from '../../packages/collector/test/helpers/collector.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const UNBUNDLED = join(REPO, 'packages/agent/dist/cli.js');
const PROC = join(REPO, 'test/fixtures/dual-stack-services/proc');

let dir = '';
let bundle = '';
let bytes = 0;
let packages: string[] = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dualstack-bundle-'));
  const { packageAgent } = (await import(join(REPO, 'scripts/package-agent.mjs'))) as {
    packageAgent(o: { outfile: string }): Promise<{ outfile: string; bytes: number; packages: string[] }>;
  };
  ({ outfile: bundle, bytes, packages } = await packageAgent({ outfile: join(dir, 'dualstack-agent.mjs') }));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/**
 * spawnSync's default 1 MiB of output is less than a live report of a busy host (1.5 MB on the
 * shared test machine, its other namespaces' sockets in it): the child was killed, status null.
 */
const MAX_OUTPUT = 64 * 1024 * 1024;

/** Runs a file with node from the bundle's directory; no NODE_PATH, no node_modules. */
function node(file: string, args: string[]) {
  const env = { ...process.env };
  delete env.NODE_PATH;
  delete env.NODE_OPTIONS;
  return spawnSync(process.execPath, [file, ...args], { cwd: dir, env, encoding: 'utf8', timeout: 30_000, maxBuffer: MAX_OUTPUT });
}

/** node() without blocking the event loop (the collector of a test runs in this process). */
function nodeAsync(file: string, args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [file, ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => process.kill(child.pid!, 'SIGKILL'), 30_000);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** The report without what differs between two runs. */
function stable(json: string): unknown {
  const report = JSON.parse(json) as Record<string, unknown> & { sources: Array<Record<string, unknown>> };
  delete report.reportId;
  delete report.collectedAt;
  for (const source of report.sources) delete source.durationMs;
  return report;
}

test('the bundle is one file in an otherwise empty directory, with no node_modules above it and no TypeBox', () => {
  assert.deepEqual(readdirSync(dir), ['dualstack-agent.mjs']);
  for (let d = dir; d !== dirname(d); d = dirname(d)) assert.ok(!existsSync(join(d, 'node_modules')), `${d}/node_modules exists: the test would not prove self-containment`);
  assert.ok(!packages.includes('typebox'), packages.join(', '));
  for (const needed of ['undici', 'node-cron', 'systeminformation', 'pino', 'ipaddr.js']) assert.ok(packages.includes(needed), `${needed} bundled`);
  assert.ok(bytes < 2 * 1024 * 1024, `${bytes} bytes: past 2 MiB something unexpected was bundled`);
  assert.match(readFileSync(bundle, 'utf8').slice(0, 100), /^#!\/usr\/bin\/env node\n/);
});

test('scan --json from the bundle equals the unbundled agent (volatile fields aside); so do the text report, --version and sources', () => {
  assert.ok(existsSync(UNBUNDLED), `${UNBUNDLED} is missing: run npx turbo run build first`);
  const bundled = node(bundle, ['scan', '--proc-root', PROC, '--json']);
  assert.equal(bundled.status, 0, bundled.stderr);
  const reference = node(UNBUNDLED, ['scan', '--proc-root', PROC, '--json']);
  assert.equal(reference.status, 0, reference.stderr);
  assert.deepEqual(stable(bundled.stdout), stable(reference.stdout));
  for (const args of [['scan', '--proc-root', PROC], ['--version'], ['sources'], ['run', '--help']]) {
    const a = node(bundle, args);
    const b = node(UNBUNDLED, args);
    assert.equal(a.stdout, b.stdout, args.join(' '));
    assert.equal(a.status, b.status, args.join(' '));
  }
});

test('a live scan from the bundle (systeminformation is imported lazily inside it) has host facts', () => {
  const live = node(bundle, ['scan', '--json']);
  assert.equal(live.status, 0, live.stderr);
  const report = JSON.parse(live.stdout) as { host: { hostname: string; os: { distro: string | null } }; sources: Array<{ name: string; status: string; error?: string }> };
  const host = report.sources.find((s) => s.name === 'host')!;
  assert.ok(host.status === 'ok' || host.status === 'partial', JSON.stringify(host));
  assert.ok(report.host.hostname.length > 0);
});

test('a live scan that reads a socket table on a worker thread: the bundle, run again as the worker, prints one report only', () => {
  // The bundle is its own worker module: without the entry's main-thread guard, the worker
  // ran the CLI too and printed its usage into the report (seen at 100k sockets, where the
  // worker path is taken). DUALSTACK_WORKER_MIN_SOCKETS=0 takes that path on this small host.
  const env: NodeJS.ProcessEnv = { ...process.env, DUALSTACK_WORKER_MIN_SOCKETS: '0' };
  delete env.NODE_PATH;
  delete env.NODE_OPTIONS;
  const live = spawnSync(process.execPath, [bundle, 'scan', '--json'], { cwd: dir, env, encoding: 'utf8', timeout: 30_000, maxBuffer: MAX_OUTPUT });
  assert.equal(live.status, 0, live.stderr);
  assert.doesNotMatch(live.stdout, /Usage: dualstack-agent/);
  const report = JSON.parse(live.stdout) as { sources: Array<{ name: string; status: string; detail?: string }> };
  for (const name of ['tcp', 'tcp6']) assert.equal(report.sources.find((s) => s.name === name)?.status, 'ok', name);
  // One table went to the worker (the bundle's embedded worker code), and it really ran there.
  const onWorker = report.sources.filter((s) => s.detail?.includes('worker'));
  assert.equal(onWorker.length, 1, JSON.stringify(report.sources.slice(0, 2)));
  // The bundle has no native module: the table came from /proc, and the detail says so.
  assert.match(onWorker[0]!.detail ?? '', /^\/proc \(no sockdiag\.node beside .*\); read on a worker thread$/);
});

test('the bundle loaded on a worker thread (as the socket-table worker loads it) runs no CLI and prints nothing', async () => {
  const worker = new Worker(pathToFileURL(bundle), { argv: ['scan', '--json'], stdout: true, stderr: true });
  let output = '';
  worker.stdout.on('data', (d: Buffer) => (output += d.toString()));
  worker.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const code = await new Promise<number>((resolve) => worker.once('exit', resolve));
  assert.equal(output, '', 'a worker with no socket-table job must stay silent');
  assert.equal(code, 0);
});

test('push and run from the bundle deliver to a real collector on 127.0.0.1; run logs pino JSON on stdout', async (t) => {
  const collector: TestCollector = await startTestCollector();
  t.after(() => collector.close());
  const token = join(dir, 'token');
  writeFileSync(token, `${collector.tokens.agent}\n`);
  chmodSync(token, 0o600);
  const spool = join(dir, 'spool');
  t.after(() => rmSync(spool, { recursive: true, force: true }));
  const common = ['--collector', collector.url, '--token-file', token, '--spool', spool, '--proc-root', PROC];

  const push = await nodeAsync(bundle, ['push', ...common, '--host-id', 'bundle-push']);
  assert.equal(push.status, 0, push.stderr);
  assert.match(push.stderr, /^delivered report \S+ \(collected [^)]+\): 202 stored/m);
  assert.ok(await collector.store.getHost('bundle-push', new Date()));

  // Another host, so its own token: an agent token is bound to the first host it reports.
  const runToken = join(dir, 'token-run');
  writeFileSync(runToken, `${await hostToken(collector, 'bundle-run')}\n`);
  chmodSync(runToken, 0o600);
  const runCommon = common.map((arg) => (arg === token ? runToken : arg));
  const child = spawn(process.execPath, [bundle, 'run', ...runCommon, '--host-id', 'bundle-run', '--interval', '1s', '--jitter', '0s'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, 'SIGKILL');
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const deadline = Date.now() + 15_000;
  while (!/"event":"delivered"/.test(stdout)) {
    assert.ok(Date.now() < deadline, `no delivery from run within 15 s:\n${stdout}\n${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  process.kill(child.pid!, 'SIGTERM');
  assert.equal(await exited, 0, stderr);
  assert.equal(stderr, '');
  const events = stdout.trim().split('\n').map((line) => JSON.parse(line) as { name: string; event: string; level: number });
  assert.ok(events.every((e) => e.name === 'dualstack-agent'));
  assert.deepEqual([events[0]!.event, events.at(-1)!.event], ['running', 'stopped']);
  assert.ok(await collector.store.getHost('bundle-run', new Date()));
});

test('npm run package:agent prints the artifact\'s path and size (bytes, MiB); the README quotes no size of its own', (t) => {
  const out = mkdtempSync(join(tmpdir(), 'dualstack-bundle-cli-'));
  t.after(() => rmSync(out, { recursive: true, force: true }));
  const r = spawnSync(process.execPath, [join(REPO, 'scripts/package-agent.mjs'), '--outfile', 'agent/dualstack-agent.mjs'], { cwd: out, encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  const line = /^wrote agent\/dualstack-agent\.mjs: (\d+) bytes \((\d+\.\d\d) MiB\); bundled: .*node-cron.*\n$/.exec(r.stdout);
  assert.ok(line, r.stdout);
  const size = statSync(join(out, 'agent/dualstack-agent.mjs')).size;
  assert.equal(Number(line[1]), size);
  assert.equal(line[2], (size / 1024 / 1024).toFixed(2));
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  const install = readme.slice(readme.indexOf('## Install on servers'), readme.indexOf('\n## ', readme.indexOf('## Install on servers') + 1));
  assert.doesNotMatch(install, /\d[\d,.]*\s*(bytes|KiB|MiB|MB)\b/, 'a size written by hand goes stale: the script prints it');
  assert.match(install, /prints the artifact's path and\s+size/);
});
