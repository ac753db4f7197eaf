// The Store contract, host identity: enroll secrets and host keys (live, pending, accepted,
// revoked), an enroll secret's host limit, and two collectors enrolling at once. Every case runs
// on each backend.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HostLimitError, type EnrollInput } from '../../src/store.js';
import { forEachBackend } from './backends.js';

const enrollment = (hostId: string, hash: string, secretId: string | null = null, extra: Partial<EnrollInput> = {}): EnrollInput => ({
  secretId,
  hostId,
  hostname: `${hostId}.example`,
  facts: { distro: 'Debian 12' },
  peer: '192.0.2.10',
  hash,
  ...extra,
});

forEachBackend((backend) => {
  test('host keys: the first is live, a second for the host id pending until accepted; revoke by host or by key', async (t) => {
    const { store } = await backend.open(t);
    const secret = await store.createToken({ name: 'fleet', role: 'enroll', hash: 'secret-hash', expiresAt: null });
    assert.equal(secret.role, 'enroll');
    assert.deepEqual(await store.findTokenByHash('secret-hash'), secret, 'an enroll secret found by its hash, whole');
    const first = await store.enrollHost(enrollment('web-1', 'k1', secret.id));
    assert.equal(first.state, 'live');
    const clone = await store.enrollHost(enrollment('web-1', 'k2', secret.id));
    assert.equal(clone.state, 'pending');
    assert.equal(clone.live?.id, first.keyId);
    assert.deepEqual(await store.hostsWithPendingKeys(), ['web-1']);
    const found = (await store.findTokenByHash('k2'))!;
    assert.deepEqual([found.id, found.name, found.role, found.hostId, found.keyState, found.revokedAt], [clone.keyId, 'host key of web-1', 'host', 'web-1', 'pending', null]);

    const accepted = await store.acceptHostKey('web-1', clone.keyId);
    assert.ok(accepted.ok);
    assert.deepEqual([accepted.live?.id, accepted.revoked?.id], [clone.keyId, first.keyId]);
    assert.deepEqual(await store.hostsWithPendingKeys(), []);
    assert.deepEqual((await store.hostKeysOf('web-1')).map((k) => k.state).sort(), ['live', 'revoked']);
    assert.deepEqual((await store.hostKeysOf('web-1')).map((k) => k.enrolledWith), ['fleet', 'fleet']);

    assert.deepEqual(await store.acceptHostKey('web-1', first.keyId), { ok: false, reason: 'not-pending', key: (await store.hostKeysOf('web-1')).find((k) => k.id === first.keyId) });
    assert.deepEqual(await store.revokeHostKey('nobody'), { ok: false, reason: 'unknown-host' });
    const revoked = await store.revokeHostKey('web-1');
    assert.ok(revoked.ok && revoked.revoked?.id === clone.keyId);
    assert.deepEqual(await store.revokeHostKey('web-1'), { ok: false, reason: 'no-live-key' });
    assert.equal((await store.enrollHost(enrollment('web-1', 'k3', secret.id))).state, 'live', 'enrolls again as live after the revoke');
    assert.equal((await store.listHostKeys()).length, 1);
  });

  test("an enroll secret's host limit: a new host beyond it is refused, its own hosts enroll again", async (t) => {
    const { store } = await backend.open(t);
    const secret = await store.createToken({ name: 'rack', role: 'enroll', hash: 'rack-hash', maxHosts: 2 });
    assert.equal(secret.maxHosts, 2);
    await store.enrollHost(enrollment('r-1', 'r1', secret.id));
    await store.enrollHost(enrollment('r-2', 'r2', secret.id));
    await assert.rejects(store.enrollHost(enrollment('r-3', 'r3', secret.id)), (error: Error) => error instanceof HostLimitError && error.maxHosts === 2);
    assert.equal((await store.enrollHost(enrollment('r-1', 'r1b', secret.id))).state, 'pending', 'a host it enrolled is no new host');
    const listed = (await store.listTokens()).find((tk) => tk.name === 'rack')!;
    assert.deepEqual([listed.maxHosts, listed.enrolledHosts], [2, 2]);
    // Without a limit of its own, the configuration's default applies.
    const open = await store.createToken({ name: 'open', role: 'enroll', hash: 'open-hash' });
    await store.enrollHost(enrollment('o-1', 'o1', open.id, { defaultMaxHosts: 1 }));
    await assert.rejects(store.enrollHost(enrollment('o-2', 'o2', open.id, { defaultMaxHosts: 1 })), (error: Error) => error instanceof HostLimitError && error.fromDefault);
  });

  test('two stores enrolling one new host id at once: one live key and the rest pending, never two live', async (t) => {
    const [a, b] = await backend.openPair(t);
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => (i % 2 ? a : b).store.enrollHost(enrollment('twin', `twin-${i}`))));
    assert.deepEqual(results.map((r) => r.state).sort(), ['live', 'pending', 'pending', 'pending', 'pending', 'pending']);
    assert.deepEqual((await a.store.hostKeysOf('twin')).filter((k) => k.state === 'live').length, 1);
  });

  test('agent tokens: bound to the first host id they report, once, whichever store binds first', async (t) => {
    const [a, b] = await backend.openPair(t);
    const token = await a.store.createToken({ name: 'agent', role: 'agent', hash: 'agent-hash' });
    const bound = await Promise.all([a.store.bindToken(token.id, 'host-a'), b.store.bindToken(token.id, 'host-b')]);
    assert.equal(bound[0], bound[1], 'both see the one binding');
    assert.equal(await a.store.bindToken(token.id, 'host-c'), bound[0]);
    await assert.rejects(a.store.bindToken('no-such-token', 'h'), /cannot be bound/);
  });
});
