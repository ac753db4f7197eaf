// The scan CLI's promises to operators: exit codes (0 done, 1 cannot run with one line, 2 a
// finding at or above --fail-on), the hardening profile, switching a source off, --help.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { FIXTURES } from './helpers/proc-fixtures.js';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
const replay = (fixture: string, ...args: string[]) => run('scan', '--proc-root', `${FIXTURES}${fixture}/proc`, ...args);

test('--fail-on exits 2 at or above the severity, 0 below it', () => {
  assert.equal(replay('no-ipv6-default', '--fail-on', 'critical').status, 2, 'ipv6-unroutable is critical');
  assert.equal(replay('bindv6only', '--fail-on', 'warning').status, 2, 'bindv6only-set is a warning');
  assert.equal(replay('bindv6only', '--fail-on', 'critical').status, 0);
  assert.equal(replay('bindv6only').status, 0, 'without --fail-on findings never change the exit code');
});

test('usage errors exit 1 with one line naming the problem', () => {
  for (const [args, pattern] of [
    [['scan', '--fail-on', 'loud'], /--fail-on takes warning or critical, not 'loud'/],
    [['scan', '--profile', 'paranoid'], /unknown profile 'paranoid'/],
    [['scan', '--disable-source', 'nope'], /unknown source 'nope'/],
    [['scan', '--proc-root', '/nonexistent-dir'], /is not a directory/],
    [['frobnicate'], /unknown command 'frobnicate'/],
  ] as const) {
    const result = run(...args);
    assert.equal(result.status, 1, args.join(' '));
    assert.match(result.stderr, pattern);
    assert.equal(result.stderr.trim().split('\n').length, 1, `one line: ${result.stderr}`);
  }
});

test('the hardening profile runs only when asked for', () => {
  const rules = (args: string[]) => (JSON.parse(replay('dual-stack-services', '--json', ...args).stdout).findings as Array<{ rule: string }>).map((f) => f.rule);
  assert.ok(!rules([]).some((r) => r.startsWith('hardening-')));
  assert.ok(rules(['--profile', 'hardening']).includes('hardening-accept-ra'));
});

test('a source switched off is reported as skipped, and its facts are missing', () => {
  const report = JSON.parse(replay('dual-stack-services', '--json', '--disable-source', 'owners').stdout);
  assert.deepEqual(report.sources.find((s: { name: string }) => s.name === 'owners'), { name: 'owners', status: 'skipped', ok: true, durationMs: 0, detail: 'switched off' });
  assert.ok(report.services.every((s: { process: string | null }) => s.process === null));
});

test('--help and sources answer with exit 0', () => {
  const help = run('--help');
  assert.equal(help.status, 0);
  assert.match(help.stdout, /Exit codes: 0 done; 1 could not run/);
  assert.match(run('scan', '--help').stdout, /--fail-on SEVERITY/);
  const sources = run('sources');
  assert.equal(sources.status, 0);
  for (const name of ['tcp6', 'sockdiag', 'owners', 'reachability', 'route-tables']) assert.match(sources.stdout, new RegExp(`^${name} `, 'm'));
});

test('output into a pipe whose reader is gone (| head, | true) ends quietly with exit 0', () => {
  // `true` exits at once (long before node has started), so the agent's first write gets EPIPE.
  for (const args of ['sources', `scan --json --proc-root ${FIXTURES}dual-stack-services/proc`]) {
    const piped = spawnSync('bash', ['-c', `"${process.execPath}" "${cli}" ${args} | true; echo "agent exit \${PIPESTATUS[0]}"`], { encoding: 'utf8' });
    assert.equal(piped.stderr, '', `no EPIPE trace for ${args}`);
    assert.equal(piped.stdout, 'agent exit 0\n', args);
  }
});

test('a process named with escape sequences is printed escaped: its name cannot rewrite the operator\'s terminal', async () => {
  // A real listener whose comm is ESC[2K ESC[1A (erase the line, move up) and a bell: printed raw,
  // it would erase the table row above it.
  const evil = '\x1b[2K\x1b[1A\x07evil';
  const listener = spawn('python3', ['-c', [
    'import socket, sys',
    `open('/proc/self/comm', 'w').write(${JSON.stringify(evil)})`,
    "s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen()",
    'print(s.getsockname()[1], flush=True)',
    'sys.stdin.read()',
  ].join('\n')], { stdio: ['pipe', 'pipe', 'inherit'] });
  try {
    const [chunk] = (await once(listener.stdout!, 'data')) as [Buffer];
    const port = Number(chunk.toString().trim());
    const scan = run('scan', '--namespaces', 'host', '--disable-source', 'reachability', '--disable-source', 'sockdiag');
    assert.equal(scan.status, 0, scan.stderr);
    const row = scan.stdout.split('\n').find((line) => new RegExp(`^tcp +${port} `).test(line));
    assert.ok(row, `a row for port ${port}`);
    assert.match(row, /\\x1b\[2K\\x1b\[1A\\x07evil\[\d+\]/, 'the name is shown with its control characters escaped');
    assert.doesNotMatch(scan.stdout, /[\x00-\x08\x0b-\x1f\x7f]/, 'no control character but newline reaches the terminal');
    // --json keeps the name as the process set it (JSON escapes it itself).
    const json = JSON.parse(run('scan', '--json', '--namespaces', 'host', '--disable-source', 'reachability', '--disable-source', 'sockdiag').stdout);
    assert.equal(json.services.find((s: { port: number }) => s.port === port)?.process, evil);
  } finally {
    listener.kill();
  }
});
