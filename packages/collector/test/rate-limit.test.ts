// Request rate per credential (issue 17, Quotas): beyond its role's limit a credential gets 429
// with Retry-After and a problem naming the limit, nothing of the refused request is stored,
// and other credentials at the same time are unaffected. Real HTTP on 127.0.0.1:0, a real
// SQLite file; the limits small so the test sends a handful of requests.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { fixtureReport, hostToken, startTestCollector, type TestCollector } from './helpers/collector.js';
import { parseRateLimitOption, resolveRateLimit, DEFAULT_RATE_LIMIT } from '../src/limits/rate-limit-config.js';
import { ConfigError, resolveConfig } from '../src/config.js';

let c: TestCollector;
before(async () => {
  c = await startTestCollector({ openReadsOnLoopback: true, rateLimit: { windowSeconds: 60, agent: 3, anonymous: 2 } });
});
after(async () => c.close());

async function post(token: string, hostId: string) {
  const res = await request(`${c.url}/api/v1/reports`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(fixtureReport('dual-stack-services', hostId, new Date(Date.now() - 60_000))),
  });
  return { status: res.statusCode, retryAfter: res.headers['retry-after'], type: res.headers['content-type'], body: (await res.body.json()) as Record<string, any> };
}

test('a credential beyond its limit gets 429 + Retry-After naming the limit, nothing stored; another credential at the same time is unaffected', async () => {
  const hammer = await hostToken(c, 'hammer-1');
  const quiet = await hostToken(c, 'quiet-1');
  const before = await c.store.counts();
  // Both at once: 5 from the hammering credential, 3 (its whole allowance) from the other.
  const [hammered, calm] = await Promise.all([
    Promise.all([1, 2, 3, 4, 5].map(() => post(hammer, 'hammer-1'))),
    Promise.all([1, 2, 3].map(() => post(quiet, 'quiet-1'))),
  ]);
  assert.deepEqual(calm.map((r) => r.status), [202, 202, 202], 'the other credential is unaffected');
  assert.deepEqual(hammered.map((r) => r.status).sort(), [202, 202, 202, 429, 429]);
  for (const refused of hammered.filter((r) => r.status === 429)) {
    const seconds = Number(refused.retryAfter);
    assert.ok(Number.isInteger(seconds) && seconds >= 1 && seconds <= 60, `Retry-After ${refused.retryAfter}`);
    assert.match(String(refused.type), /^application\/problem\+json/);
    assert.equal(refused.body.type, 'urn:dualstack:problem:rate-limited');
    assert.equal(refused.body.status, 429);
    assert.match(refused.body.detail, /token 'agent-hammer-1' exceeded its rate limit of 3 requests per 60 s \(rateLimit\.agent\)/);
  }
  const afterCounts = await c.store.counts();
  assert.equal(afterCounts.reports - before.reports, 6, 'the 6 accepted reports, none of the refused');
  // Still refused: the window has not passed.
  assert.equal((await post(hammer, 'hammer-1')).status, 429);
  assert.equal((await c.store.counts()).reports, afterCounts.reports);

  const metrics = await (await request(`${c.url}/metrics`)).body.text();
  assert.match(metrics, /dualstack_rate_limited_requests_total\{role="agent"\} 3/);
});

test('without a token (loopback reads) the count is of the client address; /healthz and /metrics are never limited', async () => {
  const get = async (path: string) => (await request(`${c.url}${path}`)).statusCode;
  assert.deepEqual([await get('/api/v1/hosts'), await get('/api/v1/hosts'), await get('/api/v1/hosts')], [200, 200, 429]);
  for (let i = 0; i < 5; i += 1) {
    assert.equal(await get('/healthz'), 200);
    assert.equal(await get('/metrics'), 200);
  }
  // A reader token is its own credential, with its own (default) limit.
  const res = await request(`${c.url}/api/v1/hosts`, { headers: { authorization: `Bearer ${c.tokens.reader}` } });
  assert.equal(res.statusCode, 200);
  await res.body.dump();
});

test('configuration: defaults filled in per role, false turns it off, a bad key is named; --rate-limit parsing', () => {
  assert.deepEqual(resolveRateLimit({ agent: 10 }), { ...DEFAULT_RATE_LIMIT, agent: 10 });
  assert.equal(resolveRateLimit(false), null);
  assert.equal(resolveConfig([{ rateLimit: false }]).rateLimit, false);
  assert.throws(() => resolveConfig([{ rateLimit: { agnet: 5 } }]), (e: Error) => e instanceof ConfigError && /rateLimit/.test(e.message));
  assert.throws(() => resolveConfig([{ rateLimit: { agent: 0 } }]), (e: Error) => e instanceof ConfigError && /rateLimit/.test(e.message));
  assert.equal(parseRateLimitOption('off'), false);
  assert.deepEqual(parseRateLimitOption('agent=5000,windowSeconds=30'), { agent: 5000, windowSeconds: 30 });
  assert.throws(() => parseRateLimitOption('agent=lots'), /not 'agent=lots'/);
  assert.throws(() => parseRateLimitOption('agents=5'), /unknown key 'agents'/);
});
