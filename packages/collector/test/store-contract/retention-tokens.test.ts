// The Store contract, retention and tokens. Moved from sqlite-store.test.ts; every case runs
// on each backend.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Report } from '@dualstack/core';
import { TokenNameTakenError } from '../../src/db/sqlite-store.js';
import { finding, reportFrom } from '../helpers/reports.js';
import { forEachBackend } from './backends.js';
import { meta, minutesAgo } from './reports.js';

forEachBackend((backend) => {
  test('pruneReports deletes old history but never a host current report, and old resolved findings', async (t) => {
    const { store } = await backend.open(t);
    const days = (n: number) => minutesAgo(n * 24 * 60);
    for (const [n, findings] of [[40, [finding('a', 'host'), finding('b', 'host')]], [35, [finding('a', 'host')]], [1, [finding('a', 'host')]]] as const) {
      await store.ingestReport(reportFrom('ipv6-off', { hostId: 'busy', collectedAt: days(n), findings: [...findings] }), meta());
    }
    await store.ingestReport(reportFrom('ipv6-off', { hostId: 'silent', collectedAt: days(50) }), meta(days(50)));
    assert.deepEqual(await store.counts(), { hosts: 2, reports: 4, services: 12, findings: 3, tokens: 0 });

    assert.equal(await store.pruneReports(days(30)), 2, 'busy loses its two old reports; silent keeps its only one');
    assert.deepEqual(await store.counts(), { hosts: 2, reports: 2, services: 12, findings: 2, tokens: 0 });
    const busy = (await store.getHost('busy', new Date()))!;
    assert.equal(busy.history.length, 1);
    assert.equal(busy.history[0]!.reportId, (busy.latestReport as Report).reportId);
    assert.deepEqual(
      busy.findings.map((f) => [f.rule, f.resolvedAt]),
      [['a', null]],
      'b, resolved 35 days ago, is gone',
    );
    assert.equal((await store.getHost('silent', new Date()))!.history.length, 1);
    assert.equal(await store.pruneReports(days(30)), 0);
  });

  test('tokens: create, unique names, find by hash, revoke by name or id, last use recorded', async (t) => {
    const opened = await backend.open(t);
    const store = opened.store;
    const agent = await store.createToken({ name: 'agent-1', role: 'agent', hash: 'hash-1' });
    const reader = await store.createToken({ name: 'dashboard', role: 'reader', hash: 'hash-2' });
    assert.deepEqual({ ...agent, id: undefined, createdAt: undefined }, { id: undefined, createdAt: undefined, name: 'agent-1', role: 'agent', revokedAt: null, lastUsedAt: null, hostId: null });
    await assert.rejects(store.createToken({ name: 'agent-1', role: 'admin', hash: 'hash-3' }), TokenNameTakenError);
    assert.equal(await store.findTokenByHash('no-such-hash'), null);
    assert.deepEqual(await store.findTokenByHash('hash-1'), agent);

    // The lookup's last-use time is written later, without a commit of its own on the request's path.
    await opened.idle();
    const used = (await store.listTokens()).find((tk) => tk.id === agent.id)!;
    assert.ok(used.lastUsedAt !== null && Date.parse(used.lastUsedAt) >= Date.parse(agent.createdAt));

    assert.equal(await store.revokeToken('agent-1'), true);
    assert.equal(await store.revokeToken('agent-1'), false, 'already revoked');
    assert.equal(await store.revokeToken(reader.id), true);
    assert.equal(await store.revokeToken('nobody'), false);
    const tokens = await store.listTokens();
    assert.deepEqual(
      tokens.map((tk) => [tk.name, tk.revokedAt !== null]),
      [
        ['agent-1', true],
        ['dashboard', true],
      ],
    );
    assert.notEqual((await store.findTokenByHash('hash-1'))!.revokedAt, null);
    assert.equal((await store.counts()).tokens, 2);
  });
});
