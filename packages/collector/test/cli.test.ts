// dualstack-collector's commands as an operator runs them: tokens (printed once, stored
// hashed, listed without the secret, revoked), migrate, configuration errors that name
// the bad key, and serve on a port already taken.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const env = { ...process.env };
for (const name of ['DUALSTACK_DB', 'DUALSTACK_LISTEN', 'DUALSTACK_LOG_LEVEL']) delete env[name];
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env });

test('token create prints the token once; list never shows it; revoke by name', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dualstack-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const db = join(dir, 'c.db');
  const created = run('token', 'create', '--name', 'web', '--role', 'agent', '--db', db);
  assert.equal(created.status, 0, created.stderr);
  const token = created.stdout.trim();
  assert.match(token, /^dsk_[A-Za-z0-9_-]{43}$/);
  assert.ok(!readFileSync(db).includes(Buffer.from(token)), 'the database holds no token in clear');
  const listed = run('token', 'list', '--db', db);
  assert.match(listed.stdout, /\tweb\tagent\t.*\tactive$/m);
  assert.ok(!listed.stdout.includes(token));
  assert.equal(run('token', 'create', '--name', 'web', '--role', 'reader', '--db', db).status, 1, 'names are unique');
  assert.equal(run('token', 'revoke', 'web', '--db', db).status, 0);
  assert.match(run('token', 'list', '--db', db).stdout, /\tweb\tagent\t.*\trevoked /);
  const again = run('token', 'revoke', 'web', '--db', db);
  assert.equal(again.status, 1);
  assert.match(again.stderr, /no active token named or with id 'web'/);
  const badRole = run('token', 'create', '--name', 'x', '--role', 'root', '--db', db);
  assert.equal(badRole.status, 1);
  assert.match(badRole.stderr, /--role must be agent, reader, admin or enroll/);
});

test('migrate creates the database; a bad configuration key is named', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dualstack-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const db = join(dir, 'sub', 'c.db');
  const migrated = run('migrate', '--db', db);
  assert.equal(migrated.status, 0, migrated.stderr);
  assert.match(migrated.stderr, /is up to date/);
  const config = join(dir, 'collector.json');
  writeFileSync(config, JSON.stringify({ db, listen: '127.0.0.1:0', staleAfterSecs: 60 }));
  const bad = run('serve', '--config', config);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /bad key 'staleAfterSecs'/);
  writeFileSync(config, JSON.stringify({ db, listen: 'localhost' }));
  assert.match(run('serve', '--config', config).stderr, /bad key 'listen'/);
  // An empty environment variable does not override the file.
  const empty = spawnSync(process.execPath, [cli, 'migrate', '--config', config], { encoding: 'utf8', env: { ...env, DUALSTACK_DB: '' } });
  assert.match(empty.stderr, /bad key 'listen'/, 'the file was read, the empty DUALSTACK_DB ignored');
});

test('output into a pipe whose reader is gone (| head, | true) ends quietly with exit 0', () => {
  // `true` exits at once, long before node has started, so the CLI's first write gets EPIPE.
  const piped = spawnSync('bash', ['-c', `"${process.execPath}" "${cli}" --help | true; echo "collector exit \${PIPESTATUS[0]}"`], { encoding: 'utf8', env });
  assert.equal(piped.stderr, '', 'no EPIPE trace');
  assert.equal(piped.stdout, 'collector exit 0\n');
});

test('serve on a port already in use: one line naming it, exit 1, at once (the jobs do not keep it alive)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dualstack-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  t.after(() => taken.close());
  const { port } = taken.address() as AddressInfo;
  const r = await new Promise<{ status: number | null; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [cli, 'serve', '--listen', `127.0.0.1:${port}`, '--db', join(dir, 'c.db'), '--log-level', 'silent'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stderr });
    });
  });
  assert.equal(r.status, 1, `still running after 15 s (killed): ${r.stderr}`);
  assert.equal(r.stderr, `dualstack-collector: error: listen EADDRINUSE: address already in use 127.0.0.1:${port}\n`);
});
