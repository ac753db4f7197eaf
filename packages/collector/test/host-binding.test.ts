// Agent tokens bound to their host (issue 17): a token writes only the host id it reported
// first, so one stolen token cannot rewrite the fleet. Real HTTP on 127.0.0.1:0, a real SQLite
// file, the collector's own CLI for `token list`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { apiCall, fixtureReport, startTestCollector, type TestCollector } from './helpers/collector.js';
import { generateToken, hashToken } from '../src/tokens.js';
import { endpointProbe, probeBatch } from './helpers/probes.js';

const probeOf = (hostId: string) =>
  probeBatch({ hostId, ipv4: true, ipv6: true }, [endpointProbe({ name: 'www', url: 'https://www.example.net', a: [], aaaa: [], attempts: [] })]);

let c: TestCollector;
before(async () => {
  c = await startTestCollector({ bodyLimitBytes: 64 * 1024, endpoints: { config: [{ name: 'www', url: 'https://www.example.net' }] } });
});
after(async () => c.close());

/** A new agent token named `name`, as `token create --role agent` makes one. */
async function agentToken(name: string): Promise<string> {
  const token = generateToken();
  await c.store.createToken({ name, role: 'agent', hash: hashToken(token) });
  return token;
}

async function postReport(token: string | null, body: unknown, raw?: string) {
  const res = await request(`${c.url}/api/v1/reports`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: raw ?? JSON.stringify(body),
  });
  return { status: res.statusCode, body: (await res.body.json()) as Record<string, any> };
}

test("the issue's forged report: a stolen token cannot rewrite another host; the victim's state is untouched", async () => {
  const victimToken = await agentToken('victim');
  const stolenToken = await agentToken('stolen');
  // The victim reports its findings; the stolen token's own host reports once (binding it).
  const real = fixtureReport('dual-stack-services', 'victim-host');
  assert.equal((await postReport(victimToken, real)).status, 202);
  assert.equal((await postReport(stolenToken, fixtureReport('dual-stack-services', 'attacker-host'))).status, 202);
  const victimBefore = await apiCall(c, 'GET', '/api/v1/hosts/victim-host', c.tokens.reader);
  assert.equal(victimBefore.status, 200);
  assert.ok(victimBefore.body.findings.length > 0, 'the fixture has findings to silence');

  // As the issue tried it: the victim's host id, no findings, collectedAt 23 h 59 min ahead.
  const forged = fixtureReport('dual-stack-services', 'victim-host', new Date(Date.now() + (23 * 60 + 59) * 60_000));
  forged.findings = [];
  const countsBefore = await c.store.counts();
  const refused = await postReport(stolenToken, forged);
  assert.equal(refused.status, 403, JSON.stringify(refused.body));
  assert.match(refused.body.detail, /bound to host attacker-host .*cannot write reports of host victim-host/);
  assert.equal(refused.body.field, '/host/hostId');
  assert.deepEqual(await c.store.counts(), countsBefore, 'nothing stored');
  const victimAfter = await apiCall(c, 'GET', '/api/v1/hosts/victim-host', c.tokens.reader);
  assert.deepEqual(victimAfter.body.findings, victimBefore.body.findings, "the victim's findings stay open");
  assert.deepEqual(victimAfter.body.host, victimBefore.body.host, 'readiness and lastSeen unchanged');

  // The victim's own reports keep being applied.
  const next = fixtureReport('dual-stack-services', 'victim-host');
  assert.equal((await postReport(victimToken, next)).status, 202);
  assert.equal((await apiCall(c, 'GET', '/api/v1/hosts/victim-host', c.tokens.reader)).body.latestReport.reportId, next.reportId);
});

test('a token is bound by its first report: of two first reports at once for two hosts, exactly one is stored', async () => {
  const token = await agentToken('racing');
  const countsBefore = await c.store.counts();
  const answers = await Promise.all([postReport(token, fixtureReport('dual-stack-services', 'race-a')), postReport(token, fixtureReport('dual-stack-services', 'race-b'))]);
  assert.deepEqual(answers.map((a) => a.status).sort(), [202, 403]);
  const after = await c.store.counts();
  assert.equal(after.reports, countsBefore.reports + 1);
  assert.equal(after.hosts, countsBefore.hosts + 1);
  const bound = (await c.store.listTokens()).find((t) => t.name === 'racing')!.hostId;
  assert.equal(bound, answers.find((a) => a.status === 202)!.body.hostId);
});

test('probe results: a bound token probes as its own vantage point only', async () => {
  const token = await agentToken('prober');
  assert.equal((await postReport(token, fixtureReport('dual-stack-services', 'prober-host'))).status, 202);
  const own = probeOf('prober-host');
  assert.equal((await apiCall(c, 'POST', '/api/v1/probe-results', token, own)).status, 202);
  const countsBefore = await c.store.counts();
  const other = await apiCall(c, 'POST', '/api/v1/probe-results', token, probeOf('someone-else'));
  assert.equal(other.status, 403, JSON.stringify(other.body));
  assert.match(other.body.detail, /bound to host prober-host .*probe results of host someone-else/);
  assert.equal(other.body.field, '/vantage/hostId');
  assert.deepEqual(await c.store.counts(), countsBefore);
  const inputs = await c.store.endpointInputs(new Date(), 'www');
  assert.deepEqual(inputs[0]!.views.map((v) => v.vantage.hostId), ['prober-host']);
});

test('admin tokens are not bound (they may do everything anyway)', async () => {
  assert.equal((await postReport(c.tokens.admin, fixtureReport('dual-stack-services', 'admin-a'))).status, 202);
  assert.equal((await postReport(c.tokens.admin, fixtureReport('dual-stack-services', 'admin-b'))).status, 202);
  assert.equal((await c.store.listTokens()).find((t) => t.name === 'test-admin')!.hostId, null);
});

test('an unauthenticated client gets 401 before its body is read: oversized, malformed or invalid', async () => {
  const countsBefore = await c.store.counts();
  const good = fixtureReport('dual-stack-services', 'nobody');
  const cases: Array<[string, string | null, string]> = [
    ['oversized, no token', null, JSON.stringify({ ...good, padding: 'x'.repeat(200 * 1024) })],
    ['malformed, no token', null, '{"schema": '],
    ['invalid, no token', null, JSON.stringify({ schema: 'dualstack.report/v1' })],
    ['oversized, unknown token', 'dsk_unknown', JSON.stringify({ ...good, padding: 'x'.repeat(200 * 1024) })],
    ['malformed, revoked token', c.tokens.revoked, '{'],
  ];
  for (const [name, token, raw] of cases) {
    const res = await postReport(token, null, raw);
    assert.equal(res.status, 401, `${name}: ${JSON.stringify(res.body)}`);
  }
  const probe = await request(`${c.url}/api/v1/probe-results`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"schema":' });
  assert.equal(probe.statusCode, 401);
  await probe.body.dump();
  assert.deepEqual(await c.store.counts(), countsBefore);
});

test('token list shows the host each agent token is bound to', async () => {
  await c.store.createToken({ name: 'unused', role: 'agent', hash: hashToken(generateToken()) });
  const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
  const listed = spawnSync(process.execPath, [cli, 'token', 'list', '--db', join(c.dir, 'dualstack.db')], { encoding: 'utf8' });
  assert.equal(listed.status, 0, listed.stderr);
  assert.match(listed.stdout, /\tvictim\tagent\tcreated \S+\thost victim-host\tactive$/m);
  assert.match(listed.stdout, /\tstolen\tagent\tcreated \S+\thost attacker-host\tactive$/m);
  assert.match(listed.stdout, /\tunused\tagent\tcreated \S+\thost: not bound yet\tactive$/m);
  assert.match(listed.stdout, /\ttest-reader\treader\tcreated \S+\t-\tactive$/m);
});
