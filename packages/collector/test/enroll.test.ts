// Enrollment (issue 17): an enroll secret is exchanged for a host key bound to one host id; a
// second enrollment for a host id with a live key is a duplicate identity, not a takeover.
// Real HTTP on 127.0.0.1:0 and a real SQLite file; the CLI as an operator runs it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { apiCall, fixtureReport, startTestCollector, type TestCollector } from './helpers/collector.js';
import { endpointProbe, probeBatch } from './helpers/probes.js';
import { ENROLL_SECRET_PREFIX, generateToken, hashToken } from '../src/tokens.js';

let c: TestCollector;
before(async () => {
  c = await startTestCollector({ endpoints: { config: [{ name: 'www', url: 'https://www.example.net' }] } });
});
after(async () => c.close());

async function enrollSecret(name: string, expiresAt: string | null = null): Promise<string> {
  const secret = generateToken(ENROLL_SECRET_PREFIX);
  await c.store.createToken({ name, role: 'enroll', hash: hashToken(secret), expiresAt });
  return secret;
}

const enroll = (secret: string, hostId: string, hostname = `${hostId}.example`) =>
  apiCall(c, 'POST', '/api/v1/enroll', secret, { hostId, hostname, facts: { agentVersion: '0.0.0-test', distro: 'Debian 12', kernel: '6.1.0', arch: 'x86_64' } });

const probeOf = (hostId: string) => probeBatch({ hostId, ipv4: true, ipv6: true }, [endpointProbe({ name: 'www', url: 'https://www.example.net', a: [], aaaa: [], attempts: [] })]);

test('a host key writes its own host (reports and probe results) and nothing else', async () => {
  const secret = await enrollSecret('fleet');
  const a = await enroll(secret, 'host-a');
  assert.equal(a.status, 201, JSON.stringify(a.body));
  assert.equal(a.body.state, 'live');
  assert.match(a.body.key, /^dsh_[A-Za-z0-9_-]{43}$/);
  const b = await enroll(secret, 'host-b');
  assert.equal(b.status, 201);
  const first = await apiCall(c, 'POST', '/api/v1/reports', a.body.key, fixtureReport('dual-stack-services', 'host-a'));
  assert.equal(first.status, 202, JSON.stringify(first.body));
  assert.equal((await apiCall(c, 'POST', '/api/v1/probe-results', a.body.key, probeOf('host-a'))).status, 202);

  const countsBefore = await c.store.counts();
  const forged = await apiCall(c, 'POST', '/api/v1/reports', b.body.key, fixtureReport('dual-stack-services', 'host-a'));
  assert.equal(forged.status, 403, JSON.stringify(forged.body));
  assert.match(forged.body.detail, /host host-b .*cannot write reports of host host-a/);
  const vantage = await apiCall(c, 'POST', '/api/v1/probe-results', b.body.key, probeOf('host-a'));
  assert.equal(vantage.status, 403);
  assert.deepEqual(await c.store.counts(), countsBefore, 'nothing stored');
  // A host key is not a reader, nor an enroll secret.
  assert.equal((await apiCall(c, 'GET', '/api/v1/hosts', a.body.key)).status, 403);
  assert.equal((await enroll(a.body.key, 'host-c')).status, 403);
  assert.equal((await enroll(c.tokens.agent, 'host-c')).status, 403);
  // An enroll secret writes nothing itself.
  assert.equal((await apiCall(c, 'POST', '/api/v1/reports', secret, fixtureReport('dual-stack-services', 'host-c'))).status, 403);
});

test('a second enrollment for a host id with a live key is a duplicate identity: a pending key, refused, nothing stored', async () => {
  const secret = await enrollSecret('clones');
  const original = await enroll(secret, 'golden-image', 'web-1');
  assert.equal(original.status, 201);
  const clone = await enroll(secret, 'golden-image', 'web-2');
  assert.equal(clone.status, 202, JSON.stringify(clone.body));
  assert.equal(clone.body.state, 'pending');
  assert.match(clone.body.detail, /rm \/etc\/machine-id && systemd-machine-id-setup/);
  const countsBefore = await c.store.counts();
  const refused = await apiCall(c, 'POST', '/api/v1/reports', clone.body.key, fixtureReport('dual-stack-services', 'golden-image'));
  assert.equal(refused.status, 403, JSON.stringify(refused.body));
  assert.equal(refused.body.type, 'urn:dualstack:problem:duplicate-identity');
  assert.match(refused.body.detail, new RegExp(`already has a live host key; this one \\(${clone.body.keyId}\\)`));
  assert.deepEqual(await c.store.counts(), countsBefore);
  // The original keeps writing its host.
  assert.equal((await apiCall(c, 'POST', '/api/v1/reports', original.body.key, fixtureReport('dual-stack-services', 'golden-image'))).status, 202);
  const keys = (await c.store.hostKeysOf('golden-image')).map((k) => [k.state, k.hostname]);
  assert.deepEqual(keys.sort(), [['live', 'web-1'], ['pending', 'web-2']]);
});

test('a revoked or expired secret enrolls nobody; hosts enrolled with it keep their keys', async () => {
  const secret = await enrollSecret('short-lived');
  const enrolled = await enroll(secret, 'host-kept');
  assert.equal(enrolled.status, 201);
  assert.equal(spawnSync(process.execPath, [cliPath, 'token', 'revoke', 'short-lived', '--db', join(c.dir, 'dualstack.db')]).status, 0);
  const countsBefore = await c.store.counts();
  const refused = await enroll(secret, 'host-new');
  assert.equal(refused.status, 401);
  assert.match(refused.body.detail, /revoked/);
  assert.deepEqual(await c.store.hostKeysOf('host-new'), []);
  assert.equal((await apiCall(c, 'POST', '/api/v1/reports', enrolled.body.key, fixtureReport('dual-stack-services', 'host-kept'))).status, 202);

  const expired = await enrollSecret('expired', new Date(Date.now() - 1000).toISOString());
  const late = await enroll(expired, 'host-late');
  assert.equal(late.status, 401);
  assert.match(late.body.detail, /Enroll secret 'expired' expired at/);
  assert.deepEqual(await c.store.hostKeysOf('host-late'), []);
  assert.equal((await c.store.counts()).hosts, countsBefore.hosts + 1);
});

test('enroll: an unauthenticated body is not read (401); a bad body names the field', async () => {
  const raw = await fetch(`${c.url}/api/v1/enroll`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"hostId": ' });
  assert.equal(raw.status, 401);
  const secret = await enrollSecret('strict');
  const bad = await apiCall(c, 'POST', '/api/v1/enroll', secret, { hostId: '', hostname: 'x', facts: {} });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.field, '/hostId');
});

const cliPath = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

test('token create --role enroll [--expires]: printed once with its own prefix, listed with its expiry', () => {
  const db = join(c.dir, 'dualstack.db');
  const run = (...args: string[]) => spawnSync(process.execPath, [cliPath, ...args, '--db', db], { encoding: 'utf8' });
  const made = run('token', 'create', '--name', 'rollout', '--role', 'enroll', '--expires', '30d');
  assert.equal(made.status, 0, made.stderr);
  assert.match(made.stdout.trim(), /^dse_[A-Za-z0-9_-]{43}$/);
  const expires = /expires (\S+)\)/.exec(made.stderr)![1]!;
  assert.ok(Math.abs(Date.parse(expires) - (Date.now() + 30 * 86_400_000)) < 120_000, made.stderr);
  assert.match(run('token', 'list').stdout, new RegExp(`\\trollout\\tenroll\\tcreated \\S+\\texpires ${expires.replace(/\./g, '\\.')}\\tactive\\thosts 0, no max$`, 'm'));
  assert.match(run('token', 'create', '--name', 'x', '--role', 'enroll', '--expires', 'soon').stderr, /--expires takes a duration like 30d, 12h or 90m, not 'soon'/);
  assert.match(run('token', 'create', '--name', 'x', '--role', 'agent', '--expires', '1d').stderr, /--expires applies to --role enroll only/);
  assert.equal(run('token', 'create', '--name', 'rollout', '--role', 'agent').status, 1, 'one name space with tokens');
});
