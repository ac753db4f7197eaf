// docs/operations.md: "the agent re-reads its token file before each delivery: no restart". A
// running `dualstack-agent run` (the built binary, --interval 1s) delivers to a real
// `dualstack-collector serve`; the operator creates a new token, rewrites the agent's token file
// with it (atomically, as install-agent.sh does) and revokes the old one. The same agent process
// must deliver its next report with the new token and have it stored.
// How "with the new token" is known: the collector stores the id of the token each report came
// with (reports.token_id). The agent reads the token after the scan and before the delivery, and
// collectedAt is set at the end of the scan, so every report collected after the rewrite was
// sent with whatever the file held then. Needs `npx turbo run build` first.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { chmodSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import {
  AGENT_CLI,
  COLLECTOR_CLI,
  Collector,
  Harness,
  agentEvents,
  createToken,
  goldenNames,
  linesOf,
  lossLines,
  openReadonly,
  procRootOf,
  realisticReport,
  spooledIds,
  until,
} from './harness.js';
import { collectorPosts } from './collector-log.js';

interface Row {
  report_id: string;
  collected_at: string;
  received_at: string;
  token_id: string | null;
}

function reportsOf(db: string, hostId: string): Row[] {
  const file = openReadonly(db);
  try {
    return file.prepare<[string], Row>('SELECT report_id, collected_at, received_at, token_id FROM reports WHERE host_id = ? ORDER BY collected_at').all(hostId);
  } finally {
    file.close();
  }
}

function tokenRow(db: string, name: string): { id: string; revoked_at: string | null; last_used_at: string | null } {
  const file = openReadonly(db);
  try {
    return file.prepare<[string], { id: string; revoked_at: string | null; last_used_at: string | null }>('SELECT id, revoked_at, last_used_at FROM tokens WHERE name = ?').get(name)!;
  } finally {
    file.close();
  }
}

/** Writes the token file as install-agent.sh does: a temp file in the same directory, 0600, renamed over it. */
function writeTokenFile(path: string, token: string): void {
  const temp = `${path}.tmp-${process.pid}`;
  writeFileSync(temp, `${token}\n`, { mode: 0o600 });
  chmodSync(temp, 0o600);
  renameSync(temp, path);
}

test('run: the token file is rewritten with a new token and the old one revoked; the same process delivers its next report with the new token, stored (202), nothing lost, no restart', async (t) => {
  const t0 = Date.now();
  const h = Harness.create(t, 'rotate');
  const db = join(h.dir, 'collector.db');
  const old = await createToken(h, db, 'rotate-old', 'agent');
  const tokenFile = join(h.dir, 'agent-token');
  writeTokenFile(tokenFile, old.token);
  const collector = await Collector.start(h, db);
  const spool = join(h.dir, 'spool');
  const hostId = `e2e-rotate-${randomUUID().slice(0, 8)}`;
  const agent = h.spawn('agent run', AGENT_CLI, [
    'run', '--interval', '1s', '--collector', collector.url, '--token-file', tokenFile, '--spool', spool,
    '--proc-root', procRootOf('dual-stack-services'), '--host-id', hostId, '--timeout', '2s',
  ]);
  const context = () => `${agent.describe(30)}\n${collector.describe(10)}`;
  const delivered = () => agentEvents(linesOf(agent)).filter((e) => e.kind !== 'spooled' && e.status === 202);

  // 1. Running with the old token: reports are stored under it.
  await until(() => delivered().length >= 1, 10_000, 'a first report delivered with the old token', context);
  const oldId = tokenRow(db, 'rotate-old').id;
  assert.ok(reportsOf(db, hostId).some((r) => r.token_id === oldId), 'stored with the old token');

  // 2. Rotation, while the agent runs: new token, file rewritten, old token revoked.
  const fresh = await createToken(h, db, 'rotate-new', 'agent');
  const newId = tokenRow(db, 'rotate-new').id;
  const rewrittenAt = new Date();
  writeTokenFile(tokenFile, fresh.token);
  const revoke = await h.run('token revoke', COLLECTOR_CLI, ['token', 'revoke', '--db', db, 'rotate-old']);
  assert.equal(revoke.code, 0, revoke.stderr);
  const revokedAt = tokenRow(db, 'rotate-old').revoked_at;
  assert.ok(revokedAt, 'the old token is revoked');
  // The premise: the collector refuses the old token now, so only the new one can deliver.
  // (A valid report, though the route authenticates before it reads the body.)
  const probe = realisticReport(goldenNames()[0]!, `${hostId}-probe`, new Date());
  const refused = await request(`${collector.url}/api/v1/reports`, { method: 'POST', headers: { authorization: `Bearer ${old.token}`, 'content-type': 'application/json' }, body: JSON.stringify(probe) });
  const refusal = await refused.body.text();
  assert.equal(refused.statusCode, 401, `the revoked token is refused: ${refusal}`);

  // 3. The next report the agent collects after the revocation is delivered and stored.
  const afterRevoke = () => delivered().filter((e) => Date.parse(e.collectedAt) > Date.parse(revokedAt));
  await until(() => afterRevoke().length >= 1, 10_000, 'a report collected after the revocation delivered (202)', context);
  await until(() => spooledIds(spool).length === 0, 10_000, 'the spool empty', context);
  assert.ok(agent.running, `the agent kept running: no restart\n${context()}`);

  agent.signal('SIGTERM');
  assert.deepEqual(await agent.waitExit(5000, 'exit after SIGTERM'), { code: 0, signal: null }, context());
  const lines = linesOf(agent);
  assert.deepEqual(lossLines(lines), [], context());
  const events = agentEvents(lines);

  // 4. The reports collected after the rewrite: each delivered at once (202, never spooled or
  // held), and stored with the new token's id.
  const rows = reportsOf(db, hostId);
  const rowsAfter = rows.filter((r) => Date.parse(r.collected_at) > rewrittenAt.getTime());
  assert.ok(rowsAfter.length >= 1, context());
  assert.deepEqual(rowsAfter.filter((r) => r.token_id !== newId).map((r) => [r.report_id, r.collected_at, r.token_id]), [], `every report collected after the rewrite came with the new token (${newId})`);
  const eventsAfter = events.filter((e) => Date.parse(e.collectedAt) > rewrittenAt.getTime());
  assert.deepEqual(eventsAfter.filter((e) => e.kind === 'spooled').map((e) => e.line), [], 'none of them waited in the spool');
  assert.ok(eventsAfter.some((e) => e.kind === 'delivered' && e.status === 202), context());
  // Before the rewrite, the old token; none stored with it after it was revoked.
  assert.ok(rows.filter((r) => Date.parse(r.collected_at) < rewrittenAt.getTime()).every((r) => r.token_id === oldId));
  assert.deepEqual(rows.filter((r) => r.token_id === oldId && r.received_at >= revokedAt).map((r) => r.report_id), []);
  // Nothing lost: every report the agent made is stored (a cycle that raced the rotation may
  // have been refused once, held in the spool, and sent with the new token by the next one).
  const made = new Set(events.map((e) => e.reportId));
  const stored = new Set(rows.map((r) => r.report_id));
  assert.deepEqual([...made].filter((id) => !stored.has(id)), [], context());
  // The collector's record: reports received after the revocation, under the new token.
  assert.ok(rows.some((r) => r.token_id === newId && r.received_at > revokedAt), 'stored after the revocation with the new token');
  assert.ok(tokenRow(db, 'rotate-new').last_used_at, 'the collector saw the new token in use');
  const posts = collectorPosts(collector);
  assert.deepEqual(await collector.stop(), { code: 0, signal: null }, collector.describe());
  t.diagnostic(
    `rotation: ${rows.length} reports stored (${rows.filter((r) => r.token_id === oldId).length} with the old token, ${rows.filter((r) => r.token_id === newId).length} with the new), ` +
      `${posts.filter((p) => p.status === 401).length} POSTs refused 401; ${((Date.now() - t0) / 1000).toFixed(1)} s`,
  );
});
