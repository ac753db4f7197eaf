// The built binary (npx turbo run build first): `probe URL...` as an operator runs it, and
// `run --probe` as a vantage point against the fake collector on 127.0.0.1 (targets fetched,
// one batch per round delivered; a collector without probing answers 404, logged once).
// Every child is killed by pid.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { validateProbeBatch } from '@dualstack/core/schema';
import { FakeCollector } from './ship-fake-collector.js';
import { listen } from './helpers/probe-servers.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const CLI = join(REPO, 'packages/agent/dist/cli.js');
const PROC = 'test/fixtures/dual-stack-services/proc';

function start(t: TestContext, args: string[]) {
  const child: ChildProcess = spawn(process.execPath, [CLI, ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
  });
  return { child, done, stdout: () => stdout };
}

async function until(condition: () => boolean, limitMs: number, what: string): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${limitMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('probe: a table per endpoint; --json is the EndpointProbe list; exit 0 when all answer, 2 when not', async (t) => {
  const port = await listen(t, createHttpServer((_req, res) => res.writeHead(204, { server: 'cli-test' }).end()), '::1');
  const ok = await start(t, ['probe', `http://[::1]:${port}/`]).done;
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /IPv6 +\[::1\]:\d+ +ok +[\d.]+ ms +HTTP 204 server=cli-test/);
  const json = await start(t, ['probe', '--json', `http://[::1]:${port}/`, 'tcp://127.0.0.1:1']).done;
  assert.equal(json.code, 2);
  const probes = JSON.parse(json.stdout) as Array<{ attempts: Array<{ outcome: string }> }>;
  assert.deepEqual(
    probes.map((p) => p.attempts.map((a) => a.outcome)),
    [['ok'], ['refused']],
  );
  const bad = await start(t, ['probe', 'gopher://x.example']).done;
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /unknown scheme 'gopher'/);
});

test('run --probe: targets fetched from the collector, a batch delivered per round; a 404 is logged once', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dualstack-probe-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, 'probe-cli-token\n');
  chmodSync(tokenFile, 0o600);
  const collector = await FakeCollector.start();
  t.after(() => collector.close());
  const target = await listen(t, createHttpServer((_req, res) => res.end('ok')), '127.0.0.1');
  // prettier-ignore
  const args = ['run', '--collector', collector.base, '--token-file', tokenFile, '--spool', join(dir, 'spool'), '--proc-root', PROC,
    '--interval', '1h', '--probe', '--probe-interval', '1s', '--host-id', 'vantage-cli'];
  // First rounds: a collector without probing (404).
  const run = start(t, args);
  await until(() => collector.requestsTo('/api/v1/probe-targets').length >= 3, 20_000, 'three target fetches');
  const missing = run.stdout().split('\n').filter((l) => l.includes('answered 404'));
  assert.equal(missing.length, 1, run.stdout());
  assert.equal(collector.requestsTo('/api/v1/probe-results').length, 0);
  // Then the collector declares an endpoint.
  collector.probeTargets = { targets: [{ name: 'web', url: `http://127.0.0.1:${target}/` }], timeoutMs: 2000 };
  await until(() => collector.requestsTo('/api/v1/probe-results').length >= 1, 20_000, 'a probe batch');
  const [post] = collector.requestsTo('/api/v1/probe-results');
  assert.equal(post!.headers.authorization, 'Bearer probe-cli-token');
  assert.equal(post!.answer, 202);
  const batch = JSON.parse(post!.body);
  const check = validateProbeBatch(batch);
  assert.ok(check.ok, JSON.stringify(!check.ok && check.problems));
  assert.equal(batch.vantage.hostId, 'vantage-cli');
  assert.deepEqual(
    batch.results.map((r: { name: string; attempts: Array<{ outcome: string; http?: { status: number } }> }) => [r.name, r.attempts.map((a) => [a.outcome, a.http?.status])]),
    [['web', [['ok', 200]]]],
  );
  process.kill(run.child.pid!, 'SIGTERM');
  const end = await run.done;
  assert.equal(end.code, 0);
  const events = end.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { msg: string; batchId?: string });
  assert.ok(events.some((e) => e.batchId === batch.batchId && /^delivered probe batch /.test(e.msg)), end.stdout);
});

test('run: --probe-interval without --probe is a usage error', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dualstack-probe-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'token'), 'x\n', { mode: 0o600 });
  const run = await start(t, ['run', '--collector', 'http://127.0.0.1:1', '--token-file', join(dir, 'token'), '--spool', join(dir, 'spool'), '--proc-root', PROC, '--probe-interval', '1m']).done;
  assert.equal(run.code, 1);
  assert.match(run.stderr, /--probe-interval and --probe-concurrency need --probe/);
});
