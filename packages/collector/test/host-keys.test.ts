// Host-key administration (issue 17): GET /api/v1/host-keys, revoke one host's live key, accept
// a pending key (a duplicate identity) in place of the live one. Role admin only; 404 for an
// unknown host or key, 409 for a key in the wrong state, rows unchanged when refused. Real HTTP
// on 127.0.0.1:0 and a real SQLite file; the CLI (`host list|revoke|accept`) on that file.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { apiCall, fixtureReport, startTestCollector, type TestCollector } from './helpers/collector.js';
import { ENROLL_SECRET_PREFIX, generateToken, hashToken } from '../src/tokens.js';

let c: TestCollector;
let secret: string;
before(async () => {
  c = await startTestCollector();
  secret = generateToken(ENROLL_SECRET_PREFIX);
  await c.store.createToken({ name: 'fleet', role: 'enroll', hash: hashToken(secret), expiresAt: null });
});
after(async () => c.close());

const enroll = (hostId: string, hostname: string) =>
  apiCall(c, 'POST', '/api/v1/enroll', secret, { hostId, hostname, facts: { agentVersion: '0.0.0-test', distro: 'Debian 12', kernel: '6.1.0', arch: 'x86_64' } });
const report = (key: string, hostId: string) => apiCall(c, 'POST', '/api/v1/reports', key, fixtureReport('dual-stack-services', hostId));
const states = async (hostId: string) => (await c.store.hostKeysOf(hostId)).map((k) => [k.id, k.state]).sort();

test('GET /api/v1/host-keys: each host with its live key and its pending keys (duplicate identities); admin only', async () => {
  const live = await enroll('list-a', 'web-1');
  const clone = await enroll('list-a', 'web-2');
  assert.equal(clone.status, 202);
  const b = await enroll('list-b', 'db-1');
  assert.equal((await report(live.body.key, 'list-a')).status, 202);

  for (const token of [c.tokens.reader, c.tokens.agent, live.body.key, secret]) assert.equal((await apiCall(c, 'GET', '/api/v1/host-keys', token)).status, 403);
  assert.equal((await apiCall(c, 'GET', '/api/v1/host-keys', 'dsk_nope')).status, 401);

  const listed = await apiCall(c, 'GET', '/api/v1/host-keys', c.tokens.admin);
  assert.equal(listed.status, 200, JSON.stringify(listed.body));
  const a = listed.body.items.find((h: { hostId: string }) => h.hostId === 'list-a');
  assert.equal(a.live.id, live.body.keyId);
  assert.equal(a.live.hostname, 'web-1');
  assert.equal(a.live.enrolledWith, 'fleet');
  assert.equal(a.live.createdAt, live.body.createdAt);
  assert.deepEqual(a.pending.map((k: { id: string; hostname: string }) => [k.id, k.hostname]), [[clone.body.keyId, 'web-2']]);
  assert.match(a.fix, /rm \/etc\/machine-id && systemd-machine-id-setup/);
  assert.match(a.fix, new RegExp(`host accept list-a ${clone.body.keyId}`));
  const other = listed.body.items.find((h: { hostId: string }) => h.hostId === 'list-b');
  assert.equal(other.live.id, b.body.keyId);
  assert.deepEqual(other.pending, []);
  assert.equal(other.fix, null);
});

test('POST /api/v1/host-keys/:hostId/revoke: the live key gets 401 and its host enrolls again with the secret', async () => {
  const live = await enroll('revoke-a', 'app-1');
  assert.equal((await report(live.body.key, 'revoke-a')).status, 202);
  const before = await states('revoke-a');

  // Refused: not an admin, or no such host; nothing changes.
  for (const token of [c.tokens.reader, c.tokens.agent, live.body.key]) assert.equal((await apiCall(c, 'POST', '/api/v1/host-keys/revoke-a/revoke', token)).status, 403);
  assert.equal((await apiCall(c, 'POST', '/api/v1/host-keys/revoke-a/revoke', 'dsk_nope')).status, 401);
  const unknown = await apiCall(c, 'POST', '/api/v1/host-keys/no-such-host/revoke', c.tokens.admin);
  assert.equal(unknown.status, 404, JSON.stringify(unknown.body));
  assert.match(unknown.body.detail, /no-such-host/);
  assert.deepEqual(await states('revoke-a'), before);

  const revoked = await apiCall(c, 'POST', '/api/v1/host-keys/revoke-a/revoke', c.tokens.admin);
  assert.equal(revoked.status, 200, JSON.stringify(revoked.body));
  assert.equal(revoked.body.revoked.id, live.body.keyId);
  assert.deepEqual(await states('revoke-a'), [[live.body.keyId, 'revoked']]);
  const countsBefore = await c.store.counts();
  const refused = await report(live.body.key, 'revoke-a');
  assert.equal(refused.status, 401, JSON.stringify(refused.body));
  assert.match(refused.body.detail, /was revoked at/);
  assert.deepEqual(await c.store.counts(), countsBefore, 'nothing stored');
  // Revoking again: the host has no live key.
  assert.equal((await apiCall(c, 'POST', '/api/v1/host-keys/revoke-a/revoke', c.tokens.admin)).status, 409);

  // Its agent enrolls again with its secret: a live key (not a duplicate), which writes.
  const again = await enroll('revoke-a', 'app-1');
  assert.equal(again.status, 201, JSON.stringify(again.body));
  assert.equal((await report(again.body.key, 'revoke-a')).status, 202);
});

test('POST /api/v1/host-keys/:hostId/accept/:keyId: the pending key becomes the live one, the old one revoked', async () => {
  const old = await enroll('accept-a', 'old-box');
  const clone = await enroll('accept-a', 'new-box');
  assert.equal(clone.status, 202);
  const stranger = await enroll('accept-b', 'elsewhere');
  const before = await states('accept-a');

  for (const token of [c.tokens.reader, c.tokens.agent, old.body.key]) assert.equal((await apiCall(c, 'POST', `/api/v1/host-keys/accept-a/accept/${clone.body.keyId}`, token)).status, 403);
  const noHost = await apiCall(c, 'POST', `/api/v1/host-keys/no-such-host/accept/${clone.body.keyId}`, c.tokens.admin);
  assert.equal(noHost.status, 404, JSON.stringify(noHost.body));
  // A key of another host is no key of this one.
  const noKey = await apiCall(c, 'POST', `/api/v1/host-keys/accept-a/accept/${stranger.body.keyId}`, c.tokens.admin);
  assert.equal(noKey.status, 404, JSON.stringify(noKey.body));
  assert.match(noKey.body.detail, new RegExp(`no key ${stranger.body.keyId}`));
  // The live key is not pending: nothing to accept.
  assert.equal((await apiCall(c, 'POST', `/api/v1/host-keys/accept-a/accept/${old.body.keyId}`, c.tokens.admin)).status, 409);
  assert.deepEqual(await states('accept-a'), before);

  const accepted = await apiCall(c, 'POST', `/api/v1/host-keys/accept-a/accept/${clone.body.keyId}`, c.tokens.admin);
  assert.equal(accepted.status, 200, JSON.stringify(accepted.body));
  assert.equal(accepted.body.live.id, clone.body.keyId);
  assert.equal(accepted.body.revoked.id, old.body.keyId);
  assert.deepEqual(await states('accept-a'), [[clone.body.keyId, 'live'], [old.body.keyId, 'revoked']].sort());
  assert.equal((await report(clone.body.key, 'accept-a')).status, 202);
  const countsBefore = await c.store.counts();
  assert.equal((await report(old.body.key, 'accept-a')).status, 401);
  assert.deepEqual(await c.store.counts(), countsBefore);
});

test('dualstack-collector host list|revoke|accept on the database file', async () => {
  const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
  const db = join(c.dir, 'dualstack.db');
  const run = (...args: string[]) => spawnSync(process.execPath, [cli, 'host', ...args, '--db', db], { encoding: 'utf8' });
  const old = await enroll('cli-a', 'cli-old');
  const clone = await enroll('cli-a', 'cli-new');

  const help = spawnSync(process.execPath, [cli, 'host', '--help'], { encoding: 'utf8' });
  assert.equal(help.status, 0);
  assert.match(help.stdout, /host accept HOSTID KEYID/);
  const list = run('list');
  assert.equal(list.status, 0, list.stderr);
  assert.match(list.stdout, new RegExp(`cli-a\\tlive\\t${old.body.keyId}\\tcli-old\\t.*enrolled with fleet`));
  assert.match(list.stdout, new RegExp(`cli-a\\tpending\\t${clone.body.keyId}\\tcli-new\\t`));

  const wrong = run('accept', 'cli-a', 'no-such-key');
  assert.equal(wrong.status, 1);
  assert.match(wrong.stderr, /host cli-a has no key no-such-key/);
  assert.equal(run('accept', 'cli-a').status, 1, 'KEYID is required');
  // The command the clone's refusal tells the operator to run is the one that accepts it.
  const refusal = await report(clone.body.key, 'cli-a');
  const told = /dualstack-collector (host accept \S+ \S+)\./.exec(refusal.body.detail);
  assert.deepEqual(told?.[1]?.split(' '), ['host', 'accept', 'cli-a', clone.body.keyId]);
  const accepted = run(...told![1]!.split(' ').slice(1));
  assert.equal(accepted.status, 0, accepted.stderr);
  assert.match(accepted.stderr, new RegExp(`${clone.body.keyId} is now the live key of host cli-a; ${old.body.keyId} revoked`));
  assert.equal((await report(clone.body.key, 'cli-a')).status, 202);

  const revoked = run('revoke', 'cli-a');
  assert.equal(revoked.status, 0, revoked.stderr);
  assert.equal((await report(clone.body.key, 'cli-a')).status, 401);
  assert.equal(run('revoke', 'cli-a').status, 1, 'no live key left');
  assert.equal(run('revoke', 'no-such-host').status, 1);
});

test('revoking one pending key by its id (API and CLI) settles the duplicate identity; the live key keeps writing', async () => {
  const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
  const db = join(c.dir, 'dualstack.db');
  const live = await enroll('drop-a', 'drop-live');
  const cloneApi = await enroll('drop-a', 'drop-clone-1');
  const cloneCli = await enroll('drop-a', 'drop-clone-2');
  const pendingOf = async () => (await apiCall(c, 'GET', '/api/v1/host-keys', c.tokens.admin)).body.items.find((i: { hostId: string }) => i.hostId === 'drop-a').pending.map((k: { id: string }) => k.id);
  assert.deepEqual(await pendingOf(), [cloneApi.body.keyId, cloneCli.body.keyId]);
  // A clone that only got a new machine id still sends its pending key: refused for that id too.
  const newId = await report(cloneApi.body.key, 'drop-a-new-machine-id');
  assert.equal(newId.status, 403);
  assert.equal(newId.body.type, 'urn:dualstack:problem:duplicate-identity');

  const byApi = await apiCall(c, 'POST', `/api/v1/host-keys/drop-a/revoke/${cloneApi.body.keyId}`, c.tokens.admin);
  assert.equal(byApi.status, 200, JSON.stringify(byApi.body));
  assert.equal(byApi.body.revoked.id, cloneApi.body.keyId);
  assert.equal(byApi.body.live.id, live.body.keyId, 'the live key stays');
  assert.equal((await apiCall(c, 'POST', `/api/v1/host-keys/drop-a/revoke/${cloneApi.body.keyId}`, c.tokens.admin)).status, 409, 'revoked already');
  assert.equal((await apiCall(c, 'POST', `/api/v1/host-keys/drop-a/revoke/${cloneApi.body.keyId}`, c.tokens.reader)).status, 403);
  assert.equal((await report(cloneApi.body.key, 'drop-a')).status, 401, 'a revoked pending key is 401');

  const byCli = spawnSync(process.execPath, [cli, 'host', 'revoke', 'drop-a', cloneCli.body.keyId, '--db', db], { encoding: 'utf8' });
  assert.equal(byCli.status, 0, byCli.stderr);
  assert.match(byCli.stderr, new RegExp(`host key ${cloneCli.body.keyId} of host drop-a revoked; ${live.body.keyId} stays the live key`));
  const again = spawnSync(process.execPath, [cli, 'host', 'revoke', 'drop-a', cloneCli.body.keyId, '--db', db], { encoding: 'utf8' });
  assert.equal(again.status, 1);
  assert.match(again.stderr, /was revoked already/);
  assert.deepEqual(await pendingOf(), []);
  assert.equal((await report(live.body.key, 'drop-a')).status, 202, 'the host itself keeps writing');
});

test('GET /api/v1/hosts/:id shows a duplicate identity as host-level state: pending keys and the fix', async () => {
  const live = await enroll('state-a', 'state-1');
  assert.equal((await report(live.body.key, 'state-a')).status, 202);
  const plain = await apiCall(c, 'GET', '/api/v1/hosts/state-a', c.tokens.reader);
  assert.equal(plain.status, 200);
  const usedAt = plain.body.identity.live.lastUsedAt;
  assert.ok(usedAt, 'the report just sent used the key');
  assert.deepEqual(plain.body.identity, { enrolled: true, pendingKeys: 0, fix: null, live: { createdAt: live.body.createdAt, lastUsedAt: usedAt }, pending: [] });
  const marks = async () => {
    const page = await apiCall(c, 'GET', '/api/v1/hosts?q=state-a', c.tokens.reader);
    return [page.body.items.map((x: { hostId: string; duplicateIdentity: boolean }) => [x.hostId, x.duplicateIdentity]), (await apiCall(c, 'GET', '/api/v1/summary', c.tokens.reader)).body.duplicateIdentities];
  };
  const othersBefore = (await marks())[1];

  const clone = await enroll('state-a', 'state-2');
  const dup = await apiCall(c, 'GET', '/api/v1/hosts/state-a', c.tokens.reader);
  assert.equal(dup.body.identity.pendingKeys, 1);
  assert.match(dup.body.identity.fix, /rm \/etc\/machine-id && systemd-machine-id-setup/);
  assert.match(dup.body.identity.fix, new RegExp(`host accept state-a ${clone.body.keyId}`));
  assert.deepEqual(dup.body.identity.pending, [{ id: clone.body.keyId, hostname: 'state-2', peer: '127.0.0.1', createdAt: clone.body.createdAt }]);
  // The host list marks it, the summary counts it.
  assert.deepEqual(await marks(), [[['state-a', true]], othersBefore + 1]);

  assert.equal((await apiCall(c, 'POST', `/api/v1/host-keys/state-a/accept/${clone.body.keyId}`, c.tokens.admin)).status, 200);
  assert.deepEqual((await apiCall(c, 'GET', '/api/v1/hosts/state-a', c.tokens.reader)).body.identity, { enrolled: true, pendingKeys: 0, fix: null, live: { createdAt: clone.body.createdAt, lastUsedAt: null }, pending: [] });
  assert.deepEqual(await marks(), [[['state-a', false]], othersBefore]);
  // A host that reports with an agent token has no host key: not enrolled.
  const token = await c.store.createToken({ name: 'agent-state-b', role: 'agent', hash: hashToken('dsk_state_b_token') });
  assert.ok(token);
  assert.equal((await report('dsk_state_b_token', 'state-b')).status, 202);
  assert.deepEqual((await apiCall(c, 'GET', '/api/v1/hosts/state-b', c.tokens.reader)).body.identity, { enrolled: false, pendingKeys: 0, fix: null, live: null, pending: [] });
});
