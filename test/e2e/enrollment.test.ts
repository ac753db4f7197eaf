// Enrollment end to end (issue 17) with the built binaries: a real `dualstack-collector serve`
// and real `dualstack-agent enroll|push` processes replaying a captured /proc tree, each with
// its own state directory. One enroll secret, two hosts; a host key cannot write another host;
// a clone with the same host id gets a pending key (a duplicate identity), not the host; a
// first push with only a secret enrolls by itself; a revoked secret stops new enrollments but
// not the hosts enrolled with it.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import Database from 'better-sqlite3';
import { AGENT_CLI, COLLECTOR_CLI, Collector, Harness, createToken, goldenNames, procRootOf, readApi, realisticReport } from './harness.js';

/** The reports stored in the collector's database file, read from a connection of its own. */
function reportCount(db: string): number {
  const file = new Database(db, { readonly: true });
  try {
    return file.prepare('SELECT count(*) FROM reports').pluck().get() as number;
  } finally {
    file.close();
  }
}

// The two run at once: each has its own harness directory, database and collector, and most
// of their time is one agent command after another.
describe('enrollment with the real binaries', { concurrency: true }, () => {
  test('two agents enroll with one secret; B cannot write A; a clone is a duplicate identity; a revoked secret enrolls nobody new', async (t) => {
    const h = Harness.create(t, 'enroll');
    const db = join(h.dir, 'collector.db');
    const reader = await createToken(h, db, 'reader', 'reader');
    const made = await h.run('token create enroll', COLLECTOR_CLI, ['token', 'create', '--db', db, '--name', 'fleet-secret', '--role', 'enroll', '--expires', '1d']);
    assert.equal(made.code, 0, made.stderr);
    const secretFile = join(h.dir, 'enroll.secret');
    writeFileSync(secretFile, made.stdout, { mode: 0o600 });
    // Alerts evaluated every second: the clone's duplicate identity is seen firing and resolving.
    const config = join(h.dir, 'collector.json');
    writeFileSync(config, JSON.stringify({ alerts: { schedule: '* * * * * *', rules: [{ name: 'duplicate-identity' }] } }));
    const collector = await Collector.start(h, db, ['--config', config]);
    const hostA = `e2e-enroll-a-${randomUUID().slice(0, 8)}`;
    const hostB = `e2e-enroll-b-${randomUUID().slice(0, 8)}`;
    const stateOf = (name: string) => join(h.dir, `state-${name}`);
    const enroll = (name: string, hostId: string) =>
      h.run(`enroll ${name}`, AGENT_CLI, ['enroll', '--collector', collector.url, '--secret-file', secretFile, '--state-dir', stateOf(name), '--proc-root', procRootOf('dual-stack-services'), '--host-id', hostId, '--timeout', '5s']);
    const push = (name: string, hostId: string, extra: string[] = []) =>
      h.run(`push ${name}`, AGENT_CLI, ['push', '--collector', collector.url, '--state-dir', stateOf(name), '--spool', join(h.dir, `spool-${name}`), '--proc-root', procRootOf('dual-stack-services'), '--host-id', hostId, '--timeout', '5s', ...extra]);

    // 1. Two agents enroll with the one secret; each key is stored 0600 and writes its own host.
    for (const [name, hostId] of [['a', hostA], ['b', hostB]] as const) {
      const run = await enroll(name, hostId);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stderr, new RegExp(`enrolled as ${hostId} .*host key \\S+ stored in ${stateOf(name)}/host.key`));
      assert.equal(statSync(join(stateOf(name), 'host.key')).mode & 0o777, 0o600);
      const pushed = await push(name, hostId);
      assert.equal(pushed.code, 0, pushed.stderr);
      assert.match(pushed.stderr, /202 stored/);
    }

    // 2. B's key cannot write A's report: 403 naming both, nothing stored.
    const keyB = readFileSync(join(stateOf('b'), 'host.key'), 'utf8').trim();
    const rows = () => reportCount(db);
    const before = rows();
    const forged = await request(`${collector.url}/api/v1/reports`, { method: 'POST', headers: { authorization: `Bearer ${keyB}`, 'content-type': 'application/json' }, body: JSON.stringify(realisticReport(goldenNames()[0]!, hostA, new Date())) });
    const refusal = (await forged.body.json()) as { detail: string };
    assert.equal(forged.statusCode, 403);
    assert.match(refusal.detail, new RegExp(`host ${hostB} .*cannot write reports of host ${hostA}`));
    assert.equal(rows(), before);

    // 3. A clone of A (same host id): its enrollment stores a PENDING key; its push is refused
    //    (403, held in its spool, exit 3) and A keeps reporting.
    const clone = await enroll('clone', hostA);
    assert.equal(clone.code, 0, clone.stderr);
    assert.match(clone.stderr, /key is PENDING: Host id \S+ already has a live host key.*rm \/etc\/machine-id && systemd-machine-id-setup/);
    const clonePush = await push('clone', hostA);
    assert.equal(clonePush.code, 3, clonePush.stderr);
    assert.match(clonePush.stderr, /spooled report .*the collector refused this agent: .*Duplicate host identity|already has a live host key/);
    assert.equal(rows(), before, 'the clone wrote nothing');
    assert.equal((await push('a', hostA)).code, 0);

    // 3b. The duplicate identity alerts, naming A and the clone's pending key. The clone fixed the
    //     way the alert says: removing its pending key is not enough (its spool holds reports of
    //     the old id, which its new key may not write, and they go first); without them too it
    //     enrolls under the new id and delivers. The pending key revoked, the alert resolves.
    const pendingKey = /key is PENDING: .*; key (\S+) stored in/.exec(clone.stderr)![1]!;
    const duplicateAlert = async (status: string) => {
      for (let i = 0; i < 100; i++) {
        const listed = await readApi<{ alerts: Array<{ rule: string; status: string; labels: Record<string, string>; fix: string; summary: string }> }>(collector.url, '/api/v1/alerts', reader.token);
        const found = listed.body.alerts.find((x) => x.rule === 'duplicate-identity' && x.labels.host === hostA && x.status === status);
        if (found) return found;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      return assert.fail(`no ${status} duplicate-identity alert for ${hostA}\n${collector.describe()}`);
    };
    const firing = await duplicateAlert('firing');
    assert.match(firing.summary, new RegExp(`\\(key ${pendingKey}\\)`));
    assert.match(firing.fix, new RegExp(`host revoke ${hostA} ${pendingKey}\\. .*host accept ${hostA} ${pendingKey}\\.`));
    // (That the pending key is refused for the new host id too is host-keys.test.ts's, over HTTP.)
    const newId = `e2e-enroll-clone-${randomUUID().slice(0, 8)}`;
    rmSync(join(stateOf('clone'), 'host.key'));
    const oldId = await push('clone', newId, ['--secret-file', secretFile]);
    assert.equal(oldId.code, 3, 'the reports spooled under the old id block the spool');
    assert.match(oldId.stderr, new RegExp(`enrolled as ${newId} \\(no host key yet\\)`));
    assert.match(oldId.stderr, /cannot write reports of host e2e-enroll-a-/);
    for (const name of readdirSync(join(h.dir, 'spool-clone'))) if (name.endsWith('.json')) rmSync(join(h.dir, 'spool-clone', name));
    const fixed = await push('clone', newId, ['--secret-file', secretFile]);
    assert.equal(fixed.code, 0, fixed.stderr);
    assert.match(fixed.stderr, /202 stored/);
    const dropped = await h.run('host revoke', COLLECTOR_CLI, ['host', 'revoke', hostA, pendingKey, '--db', db]);
    assert.equal(dropped.code, 0, dropped.stderr);
    await duplicateAlert('resolved');
    const stored = rows();

    // 4. A first push with only a secret enrolls, then delivers.
    const hostC = `e2e-enroll-c-${randomUUID().slice(0, 8)}`;
    const first = await push('c', hostC, ['--secret-file', secretFile]);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, new RegExp(`enrolled as ${hostC} \\(no host key yet\\)`));
    assert.match(first.stderr, /202 stored/);

    // 5. The secret revoked: a new host cannot enroll; the enrolled ones keep reporting.
    const revoked = await h.run('token revoke', COLLECTOR_CLI, ['token', 'revoke', '--db', db, 'fleet-secret']);
    assert.equal(revoked.code, 0, revoked.stderr);
    const late = await enroll('d', `e2e-enroll-d-${randomUUID().slice(0, 8)}`);
    assert.equal(late.code, 1);
    assert.match(late.stderr, /refused \(401\): Token 'fleet-secret' was revoked/);
    for (const [name, hostId] of [['a', hostA], ['b', hostB], ['c', hostC]] as const) assert.equal((await push(name, hostId)).code, 0, `${name} keeps reporting`);
    const hosts = await readApi<{ items: Array<{ hostId: string }> }>(collector.url, '/api/v1/hosts?limit=100', reader.token);
    assert.deepEqual(hosts.body.items.map((x) => x.hostId).sort(), [hostA, hostB, hostC, newId].sort());
    assert.ok(rows() > stored);
  });

  // Host-key administration with the real binaries: `host revoke` makes the agent get 401, enroll
  // again with its secret and deliver; `host accept` makes a clone's pending key the live one (its
  // held report delivered) and the old key gets 401.
  test('a revoked host key makes the agent re-enroll with its secret and deliver; host accept lets the clone write and refuses the old key', async (t) => {
    const h = Harness.create(t, 'host-keys');
    const db = join(h.dir, 'collector.db');
    const made = await h.run('token create enroll', COLLECTOR_CLI, ['token', 'create', '--db', db, '--name', 'fleet-secret', '--role', 'enroll']);
    assert.equal(made.code, 0, made.stderr);
    const secretFile = join(h.dir, 'enroll.secret');
    writeFileSync(secretFile, made.stdout, { mode: 0o600 });
    const collector = await Collector.start(h, db);
    const hostA = `e2e-keys-a-${randomUUID().slice(0, 8)}`;
    const stateOf = (name: string) => join(h.dir, `state-${name}`);
    const keyOf = (name: string) => readFileSync(join(stateOf(name), 'host.key'), 'utf8').trim();
    const push = (name: string, extra: string[] = []) =>
      h.run(`push ${name}`, AGENT_CLI, ['push', '--collector', collector.url, '--state-dir', stateOf(name), '--spool', join(h.dir, `spool-${name}`), '--proc-root', procRootOf('dual-stack-services'), '--host-id', hostA, '--timeout', '5s', ...extra]);
    const host = (...args: string[]) => h.run(`host ${args[0]}`, COLLECTOR_CLI, ['host', ...args, '--db', db]);
    const rows = () => reportCount(db);

    // 1. A enrolls on its first push; its key is revoked; the next push gets 401, enrolls again
    //    with the secret (a new live key) and delivers.
    const first = await push('a', ['--secret-file', secretFile]);
    assert.equal(first.code, 0, first.stderr);
    const firstKey = keyOf('a');
    const revoked = await host('revoke', hostA);
    assert.equal(revoked.code, 0, revoked.stderr);
    const before = rows();
    const again = await push('a', ['--secret-file', secretFile]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, new RegExp(`enrolled as ${hostA} \\(the collector answered 401: .*was revoked`));
    assert.notEqual(keyOf('a'), firstKey, 'a new host key');
    assert.equal(rows(), before + 1, 'the report was delivered with the new key');

    // 2. A clone of A enrolls: pending, its push held. The admin accepts its key: the clone's
    //    next push delivers (its held report too) and A's key, now revoked, gets 401.
    const clone = await h.run('enroll clone', AGENT_CLI, ['enroll', '--collector', collector.url, '--secret-file', secretFile, '--state-dir', stateOf('clone'), '--proc-root', procRootOf('dual-stack-services'), '--host-id', hostA, '--timeout', '5s']);
    assert.equal(clone.code, 0, clone.stderr);
    const held = await push('clone');
    assert.equal(held.code, 3, held.stderr);
    assert.equal(rows(), before + 1, 'the pending key wrote nothing');
    const listed = await host('list');
    assert.equal(listed.code, 0, listed.stderr);
    const pending = new RegExp(`^${hostA}\\tpending\\t(\\S+)\\t`, 'm').exec(listed.stdout);
    assert.ok(pending, listed.stdout);
    const accepted = await host('accept', hostA, pending[1]!);
    assert.equal(accepted.code, 0, accepted.stderr);
    const cloneWrites = await push('clone');
    assert.equal(cloneWrites.code, 0, cloneWrites.stderr);
    assert.equal(rows(), before + 3, 'the held report and the new one');
    const oldKey = await push('a');
    assert.equal(oldKey.code, 3, oldKey.stderr);
    assert.match(oldKey.stderr, /401|was revoked/);
    assert.equal(rows(), before + 3, 'the old key wrote nothing');
  });
});
