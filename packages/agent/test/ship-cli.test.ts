// The built binary: `push` and `run` as an operator runs them, against a fake collector on
// 127.0.0.1. Needs `npx turbo run build` first (dist/cli.js). Every child is killed by pid.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { validateReport } from '@dualstack/core/schema';
import { FakeCollector, badBodyProblem } from './ship-fake-collector.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const CLI = join(REPO, 'packages/agent/dist/cli.js');
const PROC = 'test/fixtures/dual-stack-services/proc';
const TOKEN = 'cli-test-token-5f2e';

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** The environment without the operator's own DUALSTACK_* defaults. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.DUALSTACK_COLLECTOR;
  delete env.DUALSTACK_TOKEN_FILE;
  return { ...env, ...extra };
}

function start(t: TestContext, args: string[], env = cleanEnv()) {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<Run>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  t.after(() => killChild(child));
  return { child, done, stdout: () => stdout, stderr: () => stderr };
}

interface LogEvent {
  level: number;
  time: number;
  name: string;
  event: string;
  msg: string;
  reportId?: string;
}

/** run's pino JSON lines on stdout; every line must be one. */
function events(stdout: string): LogEvent[] {
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const event = JSON.parse(line) as LogEvent;
      assert.equal(event.name, 'dualstack-agent', line);
      assert.equal(typeof event.time, 'number', line);
      return event;
    });
}

const messages = (stdout: string): string => events(stdout).map((e) => e.msg).join('\n');

function killChild(child: ChildProcess): void {
  if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
}

/** Runs the CLI to the end, bounded: a hung child is killed and fails the test. */
async function runCli(t: TestContext, args: string[], env = cleanEnv(), limitMs = 20_000): Promise<Run> {
  const { child, done } = start(t, args, env);
  const timer = setTimeout(() => killChild(child), limitMs);
  const result = await done;
  clearTimeout(timer);
  assert.equal(result.signal, null, `dualstack-agent ${args[0]} was killed after ${limitMs} ms:\n${result.stderr}`);
  return result;
}

async function until(condition: () => boolean | Promise<boolean>, limitMs: number, what: string): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${limitMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function workspace(t: TestContext, tokenMode = 0o600) {
  const dir = mkdtempSync(join(tmpdir(), 'dualstack-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, `${TOKEN}\n`);
  chmodSync(tokenFile, tokenMode);
  const spool = join(dir, 'spool');
  const spooled = () => {
    try {
      return readdirSync(spool).filter((n) => n.endsWith('.json'));
    } catch {
      return [];
    }
  };
  return { dir, tokenFile, spool, spooled };
}

async function collectorFor(t: TestContext, port = 0): Promise<FakeCollector> {
  const collector = await FakeCollector.start(port);
  t.after(() => collector.close());
  return collector;
}

const pushArgs = (url: string, tokenFile: string, spool: string) => ['push', '--collector', url, '--token-file', tokenFile, '--proc-root', PROC, '--spool', spool];

test('push: one scan, delivered with the bearer token; the body is a valid report', async (t) => {
  const ws = workspace(t);
  const collector = await collectorFor(t);
  const run = await runCli(t, pushArgs(`http://127.0.0.1:${collector.port}`, ws.tokenFile, ws.spool));
  assert.equal(run.code, 0, run.stderr);
  assert.equal(collector.received.length, 1);
  const request = collector.received[0]!;
  assert.equal(request.path, '/api/v1/reports');
  assert.equal(request.headers.authorization, `Bearer ${TOKEN}`);
  const validation = validateReport(JSON.parse(request.body));
  assert.ok(validation.ok, JSON.stringify(validation.ok ? null : validation.problems.slice(0, 3)));
  assert.equal(validation.report.host.replay, true);
  assert.match(run.stderr, new RegExp(`^delivered report ${request.reportId} \\(collected [^)]+\\): 202 stored; 2 findings open`, 'm'));
  assert.doesNotMatch(run.stderr, /warning/);
  assert.deepEqual(ws.spooled(), []);
});

test('push: collector down -> spooled (exit 0, a line saying so); back up -> the next push sends both, oldest first', async (t) => {
  const ws = workspace(t);
  const port = await FakeCollector.freePort();
  const url = `http://127.0.0.1:${port}`;
  const down = await runCli(t, pushArgs(url, ws.tokenFile, ws.spool));
  assert.equal(down.code, 0, down.stderr);
  assert.match(down.stderr, /^spooled report \S+ \(collected [^;]+; collector unavailable: .*ECONNREFUSED.*\); 1 report waiting in /m);
  assert.equal(ws.spooled().length, 1);
  const spooledId = /spooled report (\S+)/.exec(down.stderr)![1]!;

  const collector = await collectorFor(t, port);
  const up = await runCli(t, pushArgs(url, ws.tokenFile, ws.spool));
  assert.equal(up.code, 0, up.stderr);
  assert.equal(collector.received.length, 2);
  assert.equal(collector.receivedIds[0], spooledId);
  assert.match(up.stderr, new RegExp(`^delivered spooled report ${spooledId} `, 'm'));
  assert.deepEqual(ws.spooled(), []);
});

test("push: 400 -> exit 3 with the collector's detail; the report is not kept", async (t) => {
  const ws = workspace(t);
  const collector = await collectorFor(t);
  collector.answer({ status: 400, body: badBodyProblem });
  const run = await runCli(t, pushArgs(collector.base, ws.tokenFile, ws.spool));
  assert.equal(run.code, 3, run.stderr);
  assert.match(run.stderr, /^rejected report \S+ .*: 400 Invalid report: services\/0\/port must be an integer \(field \/services\/0\/port\); dropped, not retried$/m);
  assert.deepEqual(ws.spooled(), []);
});

test('push: the token file must exist, be a readable file and hold one token: each refusal is exit 1 with one line and nothing sent; readable by others is a warning', async (t) => {
  const ws = workspace(t, 0o644);
  const collector = await collectorFor(t);
  const file = (name: string, text: string) => {
    const path = join(ws.dir, name);
    writeFileSync(path, text, { mode: 0o600 });
    return path;
  };
  const cases: Array<[string, string, string]> = [
    ['missing', join(ws.dir, 'nope'), 'does not exist'],
    ['empty', file('empty', '\n'), 'is empty'],
    ['two lines', file('two-lines', 'abc\nX-Injected: 1\n'), 'must hold one token on one line (no spaces or control characters)'],
    ['a directory', ws.dir, 'is a directory'],
  ];
  if (process.getuid?.() !== 0) {
    // root reads any file: this case only exists for other users.
    const locked = file('locked', `${TOKEN}\n`);
    chmodSync(locked, 0o000);
    cases.push(['not readable', locked, 'is not readable by this user']);
  } else t.diagnostic('running as root: the unreadable-file case is skipped (root reads a mode 000 file)');
  // In parallel: each is a whole process start for a one-line refusal.
  const runs = await Promise.all(cases.map(([, path]) => runCli(t, pushArgs(collector.base, path, ws.spool))));
  for (const [i, [what, path, why]] of cases.entries()) {
    const run = runs[i]!;
    assert.equal(run.code, 1, `${what}: exit code\n${run.stderr}`);
    assert.equal(run.stderr, `dualstack-agent: push: token file ${path} ${why}\n`, `${what}: one line on stderr`);
    assert.equal(run.stdout, '', what);
  }
  assert.equal(collector.received.length, 0, 'no refused token file led to a request');
  assert.deepEqual(ws.spooled(), [], 'nor to a spooled report');

  const loose = await runCli(t, pushArgs(collector.base, ws.tokenFile, ws.spool));
  assert.equal(loose.code, 0, loose.stderr);
  assert.match(loose.stderr, new RegExp(`^warning: token file ${ws.tokenFile} is readable by others \\(mode 0644\\); chmod 600 `, 'm'));
  assert.deepEqual(collector.answers.map(([, answer]) => answer), [202], 'the warning does not stop the delivery');
  assert.equal(collector.received[0]!.headers.authorization, `Bearer ${TOKEN}`);
});

test('push: DUALSTACK_COLLECTOR and DUALSTACK_TOKEN_FILE are the defaults; without either, a usage error naming it', async (t) => {
  const ws = workspace(t);
  const collector = await collectorFor(t);
  const run = await runCli(t, ['push', '--proc-root', PROC, '--spool', ws.spool], cleanEnv({ DUALSTACK_COLLECTOR: collector.base, DUALSTACK_TOKEN_FILE: ws.tokenFile }));
  assert.equal(run.code, 0, run.stderr);
  assert.equal(collector.received.length, 1);
  assert.equal(collector.received[0]!.headers.authorization, `Bearer ${TOKEN}`, 'the token of DUALSTACK_TOKEN_FILE');
  const none = await runCli(t, ['push', '--proc-root', PROC, '--spool', ws.spool]);
  assert.equal(none.code, 1);
  assert.equal(none.stderr, 'dualstack-agent: push: --collector URL is required (or set DUALSTACK_COLLECTOR)\n');
  const noToken = await runCli(t, ['push', '--proc-root', PROC, '--spool', ws.spool], cleanEnv({ DUALSTACK_COLLECTOR: collector.base }));
  assert.equal(noToken.code, 1);
  assert.equal(noToken.stderr, "dualstack-agent: push: --token-file FILE or --secret-file FILE is required (or set DUALSTACK_TOKEN_FILE), unless /var/lib/dualstack holds a host key ('dualstack-agent enroll')\n");
  assert.equal(collector.received.length, 1, 'the refused runs sent nothing');
});

test('help: push and run are listed, exit code 3 is documented; bad run options are usage errors', async (t) => {
  const help = await runCli(t, ['--help']);
  assert.match(help.stdout, /^ {2}push {2,}/m);
  assert.match(help.stdout, /^ {2}run {2,}/m);
  assert.match(help.stdout, /3 the collector rejected the report/);
  const ws = workspace(t);
  const base = ['run', '--collector', 'http://127.0.0.1:1', '--token-file', ws.tokenFile, '--spool', ws.spool];
  const odd = await runCli(t, [...base, '--interval', '7m']);
  assert.equal(odd.code, 1);
  assert.match(odd.stderr, /^dualstack-agent: run: --interval 7m does not divide/);
  const both = await runCli(t, [...base, '--interval', '5m', '--schedule', '* * * * *']);
  assert.equal(both.code, 1);
  assert.equal(both.stderr, 'dualstack-agent: run: give --interval or --schedule, not both\n');
  const jitter = await runCli(t, [...base, '--interval', '30s', '--jitter', '1m']);
  assert.equal(jitter.code, 1);
  assert.match(jitter.stderr, /^dualstack-agent: run: --jitter 1m must be shorter than the interval between scans \(30s\)\n$/);
});

test('run --interval 1s: collector down, then up: spooled reports are delivered, each once; SIGTERM stops it cleanly', async (t) => {
  const ws = workspace(t);
  const port = await FakeCollector.freePort();
  const { child, done, stdout } = start(t, ['run', '--collector', `http://127.0.0.1:${port}`, '--token-file', ws.tokenFile, '--proc-root', PROC, '--spool', ws.spool, '--interval', '1s', '--timeout', '2s']);
  // The spool file is written before its log line: wait for both, or a loaded machine reads
  // the log between the two (seen under CI with two test files at a time).
  const spooledEvents = () => events(stdout().slice(0, stdout().lastIndexOf('\n') + 1)).filter((e) => e.event === 'spooled');
  await until(() => ws.spooled().length >= 2 && spooledEvents().length >= 2, 10_000, 'two reports spooled (and logged) while the collector is down');
  const spooledIds = spooledEvents().map((e) => e.reportId!);
  assert.ok(spooledIds.length >= 2, stdout());

  const collector = await collectorFor(t, port);
  await until(() => spooledIds.every((id) => collector.stored.has(id)) && ws.spooled().length === 0 && collector.stored.size > spooledIds.length, 10_000, 'the spool flushed and a fresh report delivered');
  process.kill(child.pid!, 'SIGTERM');
  const timer = setTimeout(() => killChild(child), 5000);
  const result = await done;
  clearTimeout(timer);

  assert.equal(result.signal, null, 'exited by itself after SIGTERM');
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stderr, '', 'run logs to stdout only');
  const log = events(result.stdout);
  assert.match(messages(result.stdout), /^running \(pid \d+\): scan every 1s after a random delay of up to 200ms, deliver to http:\/\/127\.0\.0\.1:\d+\/api\/v1\/reports, spool /m);
  assert.match(messages(result.stdout), /^stopping \(SIGTERM\)/m);
  assert.deepEqual(log.at(-1), { ...log.at(-1)!, event: 'stopped', msg: 'stopped', level: 30 });
  // pino levels: spooled is a warning (40), delivered is info (30).
  assert.ok(log.some((e) => e.event === 'spooled' && e.level === 40 && spooledIds.includes(e.reportId!)));
  assert.ok(log.some((e) => e.event === 'delivered' && e.level === 30 && e.reportId !== undefined));
  // Each once: every POST the fake got (it records all of them) was a new report answered
  // 202; no report was sent twice and none was answered 200 (no ack was lost, nothing resent).
  const sends = new Map<string, number>();
  for (const id of collector.receivedIds) sends.set(id, (sends.get(id) ?? 0) + 1);
  for (const [id, count] of sends) assert.equal(count, 1, `${id} sent ${count} times`);
  assert.deepEqual(collector.answers.filter(([, answer]) => answer !== 202), [], 'every POST answered 202');
  for (const id of spooledIds) assert.ok(sends.has(id), `spooled report ${id} was sent once the collector was up`);
  // Oldest first: the reports spooled while down reached the collector in the order collected.
  const order = collector.receivedIds.filter((id) => spooledIds.includes(id));
  assert.deepEqual(order, spooledIds.filter((id) => order.includes(id)));
  for (const request of collector.received) assert.ok(validateReport(JSON.parse(request.body)).ok);
});

test('run: SIGTERM during a push the collector stalls: the push is abandoned, its report kept in the spool', async (t) => {
  const ws = workspace(t);
  const collector = await collectorFor(t);
  collector.fallback = 'stall';
  const { child, done } = start(t, ['run', '--collector', collector.base, '--token-file', ws.tokenFile, '--proc-root', PROC, '--spool', ws.spool, '--interval', '1s', '--timeout', '30s']);
  await until(() => collector.received.length >= 1, 10_000, 'a push to arrive');
  const started = Date.now();
  process.kill(child.pid!, 'SIGTERM');
  const timer = setTimeout(() => killChild(child), 8000);
  const result = await done;
  clearTimeout(timer);
  assert.equal(result.signal, null);
  assert.equal(result.code, 0, result.stderr);
  assert.ok(Date.now() - started < 5000, `stopped in ${Date.now() - started} ms, not after the 30 s timeout`);
  assert.match(messages(result.stdout), /stopping \(SIGTERM\): abandoning the current cycle; undelivered reports stay in the spool/);
  assert.match(messages(result.stdout), /spooled report \S+ \(collected [^;]+; stopping\)/);
  const kept = ws.spooled();
  assert.equal(kept.length, 1);
  assert.ok(kept[0]!.includes(collector.receivedIds[0]!), 'the report in flight is the one kept');
});

test("--config: push reads a JSON file that may also hold run's keys (one file for both, like /etc/dualstack/agent.json); flags win; an unknown key, broken JSON and a missing file are exit 1", async (t) => {
  const ws = workspace(t);
  const collector = await collectorFor(t);
  const config = join(ws.dir, 'agent.json');
  // `interval` and `log-level` are run's: push ignores them, so one file serves both.
  writeFileSync(config, JSON.stringify({ collector: collector.base, 'token-file': ws.tokenFile, spool: ws.spool, 'proc-root': PROC, interval: '5m', 'log-level': 'warn', 'spool-max-reports': 50 }));
  const push = await runCli(t, ['push', '--config', config]);
  assert.equal(push.code, 0, push.stderr);
  assert.equal(collector.received.length, 1);
  // A flag overrides the file: this collector is down, so the report is spooled.
  const port = await FakeCollector.freePort();
  const flagged = await runCli(t, ['push', '--config', config, '--collector', `http://127.0.0.1:${port}`]);
  assert.equal(flagged.code, 0, flagged.stderr);
  assert.match(flagged.stderr, /^spooled report /m);
  assert.equal(collector.received.length, 1);

  writeFileSync(config, JSON.stringify({ collector: collector.base, 'token-flie': ws.tokenFile }));
  const typo = await runCli(t, ['push', '--config', config]);
  assert.equal(typo.code, 1);
  assert.match(typo.stderr, /^dualstack-agent: push: --config \S+agent\.json: unknown key 'token-flie' \(the keys are the long options of push and run: /);
  writeFileSync(config, '{"collector": ');
  const broken = await runCli(t, ['push', '--config', config]);
  assert.equal(broken.code, 1);
  assert.match(broken.stderr, /^dualstack-agent: push: --config \S+agent\.json is not valid JSON: /);
  const absent = await runCli(t, ['run', '--config', join(ws.dir, 'nope.json')]);
  assert.equal(absent.code, 1);
  assert.equal(absent.stderr, `dualstack-agent: run: --config ${join(ws.dir, 'nope.json')} does not exist\n`);
  assert.equal(collector.received.length, 1, 'refused configurations sent nothing');
});

test('run --log-level: warn keeps warnings and errors only; a bad level is a usage error', async (t) => {
  const ws = workspace(t);
  const port = await FakeCollector.freePort();
  const config = join(ws.dir, 'agent.json');
  writeFileSync(config, JSON.stringify({ collector: `http://127.0.0.1:${port}`, 'token-file': ws.tokenFile, spool: ws.spool, 'proc-root': PROC, interval: '1s', 'log-level': 'warn', timeout: '1s' }));
  const { child, done, stdout } = start(t, ['run', '--config', config]);
  await until(() => ws.spooled().length >= 1 && stdout().includes('\n'), 10_000, 'a report spooled while the collector is down');
  process.kill(child.pid!, 'SIGTERM');
  const timer = setTimeout(() => killChild(child), 5000);
  const result = await done;
  clearTimeout(timer);
  assert.equal(result.code, 0, result.stderr);
  const log = events(result.stdout);
  assert.ok(log.length > 0);
  for (const e of log) assert.ok(e.level >= 40, `an info line at --log-level warn: ${JSON.stringify(e)}`);
  assert.ok(log.some((e) => e.event === 'spooled'));

  const bad = await runCli(t, ['run', '--config', config, '--log-level', 'loud']);
  assert.equal(bad.code, 1);
  assert.equal(bad.stderr, "dualstack-agent: run: --log-level takes fatal, error, warn, info, debug, trace, silent, not 'loud'\n");
});
