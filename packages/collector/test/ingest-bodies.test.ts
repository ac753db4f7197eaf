// What the collector stores of a body (issue 17): JSON nested deeper than MAX_JSON_DEPTH is
// refused at parse time with a 400 naming the limit (a 5,000-deep report was stored and then
// made the host API answer 500), and properties the report schema does not name are removed
// before storage (not refused: newer agents add optional fields). Real HTTP, real SQLite.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { request } from 'undici';
import { apiCall, startTestCollector, type TestCollector } from './helpers/collector.js';
import { golden, realisticReport, reportFrom, type GoldenName } from './helpers/reports.js';
import { jsonDepthBeyond, MAX_JSON_DEPTH } from '../src/ingest/json-depth.js';
import { hasUnknownProperties } from '../src/ingest/unknown-properties.js';

let c: TestCollector;
before(async () => {
  c = await startTestCollector();
});
after(() => c.close());

async function postRaw(text: string) {
  const res = await request(`${c.url}/api/v1/reports`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${c.tokens.agent}` },
    body: text,
  });
  return { status: res.statusCode, body: (await res.body.json()) as Record<string, any> };
}

const nested = (levels: number) => '['.repeat(levels) + ']'.repeat(levels);

test('a report nested 5,000 levels deep is refused with 400 naming the limit; nothing is stored and the host API keeps answering', async () => {
  const good = reportFrom('ipv6-off', { hostId: 'deep', collectedAt: new Date() });
  assert.equal((await postRaw(JSON.stringify(good))).status, 202);
  const counts = await c.store.counts();
  const deep = reportFrom('ipv6-off', { hostId: 'deep', collectedAt: new Date() });
  const text = JSON.stringify(deep).replace(/}$/, `,"x":${nested(5000)}}`);
  const answer = await postRaw(text);
  assert.equal(answer.status, 400);
  assert.match(answer.body.detail, new RegExp(`deeper than ${MAX_JSON_DEPTH} levels`));
  assert.deepEqual(await c.store.counts(), counts, 'nothing stored');
  const host = await apiCall(c, 'GET', '/api/v1/hosts/deep', c.tokens.reader);
  assert.equal(host.status, 200);
  assert.equal(host.body.latestReport.reportId, good.reportId);

  // The limit counts brackets, not the ones inside strings.
  const inString = reportFrom('ipv6-off', { hostId: 'deep', collectedAt: new Date(), hostname: `${'['.repeat(200)}.example` });
  const ok = await postRaw(JSON.stringify(inString));
  assert.notEqual(ok.status, 400, JSON.stringify(ok.body));
});

test('every body the agents send today (goldens, firewall replays, a 50-service report) is within the depth limit and has no unknown property', () => {
  const names: GoldenName[] = ['dual-stack-services', 'bindv6only', 'ipv6-off', 'no-ipv6-default', 'broken-tcp-bad-hex', 'fw-iptables-realistic', 'fw-firewalld', 'fw-ip6-no-nd'];
  for (const name of names) {
    const report = reportFrom(name, { hostId: name, collectedAt: new Date() });
    assert.equal(hasUnknownProperties(report), false, `${name}: ${JSON.stringify(golden(name)).slice(0, 80)}`);
    assert.equal(jsonDepthBeyond(JSON.stringify(report), 12), 0, `${name} nests deeper than 12`);
  }
  assert.equal(hasUnknownProperties(realisticReport({ hostId: 'big', collectedAt: new Date(), round: 0 })), false);
});

test('unknown properties are removed before storage, at the top and nested; the report is stored (202)', async () => {
  const report = reportFrom('dual-stack-services', { hostId: 'deep', collectedAt: new Date() }) as unknown as Record<string, any>;
  report.payload = 'x'.repeat(50_000);
  report.host.shell = '$(reboot)';
  report.services[0].comment = 'not in the schema';
  const answer = await postRaw(JSON.stringify(report));
  assert.equal(answer.status, 202, JSON.stringify(answer.body));
  const host = (await apiCall(c, 'GET', '/api/v1/hosts/deep', c.tokens.reader)).body;
  assert.equal('payload' in host.latestReport, false);
  assert.equal(host.latestReport.host.shell, undefined);
  assert.equal(host.latestReport.services[0].comment, undefined);
  assert.equal(host.latestReport.services.length, report.services.length);
  const stored = new Database(join(c.dir, 'dualstack.db'), { readonly: true });
  try {
    const body = stored.prepare<[string], string>('SELECT body FROM latest_reports WHERE host_id = ?').pluck().get('deep')!;
    assert.doesNotMatch(body, /reboot|not in the schema|xxxxxxxx/);
    const { payload: _p, ...rest } = report;
    delete rest.host.shell;
    delete rest.services[0].comment;
    assert.deepEqual(JSON.parse(body), rest, 'everything the schema names is kept as sent');
  } finally {
    stored.close();
  }
});
