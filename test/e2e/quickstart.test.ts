// The README's main command (npm start = build + scripts/quickstart.mjs): a collector with a
// SQLite file, tokens, one push of this host, and the URL to open; Ctrl-C stops it. Another
// port with --listen or DUALSTACK_LISTEN; a port already taken said plainly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('../../scripts/quickstart.mjs', import.meta.url));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

test('quickstart starts a collector, pushes this host, prints the URL and a reader token, and stops cleanly on Ctrl-C', async (t) => {
  const data = mkdtempSync(join(tmpdir(), 'dualstack-quickstart-'));
  t.after(() => rmSync(data, { recursive: true, force: true }));
  const port = await freePort();
  // Its own process group, as a command started in a terminal is: Ctrl-C signals that group.
  const child = spawn(process.execPath, [script, '--data', data, '--listen', `127.0.0.1:${port}`], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  t.after(async () => {
    if (child.exitCode !== null) return;
    child.kill('SIGTERM'); // forwarded to the collector
    await new Promise((r) => setTimeout(r, 5000));
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const ready = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), 30_000);
    const check = () => {
      if (output.includes('Ctrl-C stops the collector')) {
        clearTimeout(timer);
        resolve(true);
      }
    };
    child.stdout.on('data', check);
    child.stderr.on('data', check);
    child.on('exit', () => resolve(false));
  });
  assert.ok(ready, output);
  assert.match(output, /delivered report [0-9a-f-]{36} .*: 202 stored/);
  const reader = /reader token: (dsk_\S+)/.exec(output)?.[1];
  assert.ok(reader, output);
  assert.match(output, new RegExp(`open http://127\\.0\\.0\\.1:${port}/`));
  for (const role of ['agent', 'reader']) assert.equal(statSync(join(data, `${role}.token`)).mode & 0o777, 0o600);
  const summary = await fetch(`http://127.0.0.1:${port}/api/v1/summary`, { headers: { authorization: `Bearer ${reader}` } });
  assert.equal(summary.status, 200);
  assert.equal(((await summary.json()) as { hosts: number }).hosts, 1);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  // Ctrl-C: SIGINT to the whole group. The collector, in a group of its own, is stopped once by
  // the script (signalled twice, it would read the second as "exit now" and exit 1).
  process.kill(-child.pid!, 'SIGINT');
  assert.equal(await exited, 0, output);
  assert.match(output, /quickstart: collector stopped \(0\)\n$/);
});

test('quickstart --help says how to pick another port (--listen, DUALSTACK_LISTEN)', () => {
  const r = spawnSync(process.execPath, [script, '--help'], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^Usage: npm start \[-- \[--listen HOST:PORT\] \[--data DIR\]\]\n/);
  assert.match(r.stdout, /--listen HOST:PORT .*default 127\.0\.0\.1:8080, or env\s+DUALSTACK_LISTEN/s);
  assert.match(r.stdout, /npm start -- --listen 127\.0\.0\.1:8081/);
});

test('quickstart on a port already in use (DUALSTACK_LISTEN): one line saying how to pick another, exit 1, nothing created', async (t) => {
  const data = join(mkdtempSync(join(tmpdir(), 'dualstack-quickstart-')), 'data');
  t.after(() => rmSync(dirname(data), { recursive: true, force: true }));
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  t.after(() => taken.close());
  const { port } = taken.address() as AddressInfo;
  const r = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
    // Its own process group: if it hangs, the timeout kills it with whatever it started.
    const child = spawn(process.execPath, [script, '--data', data], { env: { ...process.env, DUALSTACK_LISTEN: `127.0.0.1:${port}` }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 20_000);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
  assert.equal(r.status, 1, `still running after 20 s (killed): ${r.stderr}`);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, `quickstart: 127.0.0.1:${port} is already in use (another collector, or npm start still running?): pick another port, e.g. npm start -- --listen 127.0.0.1:${port + 1}\n`);
  assert.ok(!existsSync(data), 'no data directory, no tokens');
});
