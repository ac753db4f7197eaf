// The alert API and metrics over HTTP: GET /api/v1/alerts (firing, pending, recent), the
// history, the delivery attempts, the alert and delivery series on /metrics, the OpenAPI
// document, and the reader role. The app runs with a controllable clock.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { request } from 'undici';
import { buildApp } from '../src/app.js';
import { openStore } from '../src/open-store.js';
import { generateToken, hashToken } from '../src/tokens.js';
import { reportFrom } from './helpers/reports.js';
import { startReceiver, waitFor } from './helpers/alerts.js';

const M = 60_000;
const T0 = Date.parse('2030-06-01T08:00:00.000Z');

test('GET /api/v1/alerts, /history, /deliveries and the alert metrics', async (t) => {
  const receiver = await startReceiver(t);
  const dir = mkdtempSync(join(tmpdir(), 'dualstack-alerts-api-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const store = openStore({ db: join(dir, 'c.db'), staleAfterSeconds: 900 });
  const reader = generateToken();
  const agent = generateToken();
  await store.createToken({ name: 'reader', role: 'reader', hash: hashToken(reader) });
  await store.createToken({ name: 'agent', role: 'agent', hash: hashToken(agent) });
  let now = T0;
  const app = await buildApp({
    store,
    config: { bodyLimitBytes: 1024 * 1024, openReadsOnLoopback: false },
    alerts: {
      clock: () => new Date(now),
      config: {
        rules: [
          { name: 'host-stale', interval: '5m', groupWait: '0s' },
          { name: 'finding', groupWait: '0s', for: '30m' },
        ],
        receivers: [{ name: 'ops', type: 'webhook', url: `${receiver.url}/hook`, retry: { initialMs: 100, maxMs: 200 } }],
      },
    },
  });
  t.after(() => app.close());
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  const get = async (path: string, token: string | null = reader) => {
    const res = await request(`${url}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    const text = await res.body.text();
    return { status: res.statusCode, body: text.startsWith('{') ? JSON.parse(text) : text };
  };

  for (const [host, fixture] of [['api-1', 'dual-stack-services'], ['api-2', 'no-ipv6-default']] as const) {
    await store.ingestReport(reportFrom(fixture, { hostId: host, collectedAt: new Date(T0) }), { receivedAt: new Date(T0).toISOString(), tokenId: null, bytes: 1 });
  }
  assert.equal((await get('/api/v1/alerts')).body.lastEvaluation, null);
  now = T0 + M;
  await app.alerts.evaluate();
  now = T0 + 20 * M;
  await app.alerts.evaluate();
  await app.alerts.startDelivery();
  await waitFor('the delivery', () => receiver.received.length === 1, 5000, 20);

  const alerts = await get('/api/v1/alerts');
  assert.equal(alerts.status, 200);
  assert.deepEqual(
    alerts.body.alerts.map((a: { rule: string; status: string; labels: { host: string } }) => [a.rule, a.status, a.labels.host]),
    [['host-stale', 'firing', 'api-1'], ['host-stale', 'firing', 'api-2'], ['finding', 'pending', 'api-2']],
    'firing first, then pending',
  );
  const stale = alerts.body.alerts[0];
  assert.equal(stale.firingSince, new Date(T0 + 20 * M).toISOString());
  assert.equal(stale.notifiedStatus, 'firing');
  assert.match(stale.summary, /^api-1\.example \(api-1\) stopped reporting/);
  assert.match(stale.fix, /systemctl status dualstack-agent/);
  const pending = alerts.body.alerts[2];
  assert.equal(pending.activeSince, new Date(T0 + M).toISOString());
  assert.equal(pending.firingSince, null);
  assert.deepEqual(alerts.body.lastEvaluation.startedAt, new Date(T0 + 20 * M).toISOString());
  await waitFor('the receiver queue to empty', async () => (await get('/api/v1/alerts')).body.receivers[0].pending === 0, 5000, 20);
  const queue = (await get('/api/v1/alerts')).body.receivers[0];
  assert.equal(queue.name, 'ops');
  assert.equal(queue.type, 'webhook');
  assert.equal(queue.lastAttempt.outcome, 'delivered');
  assert.equal(queue.lastAttempt.statusCode, 200);

  const history = await get('/api/v1/alerts/history?rule=host-stale&limit=1');
  assert.equal(history.body.total, 2);
  assert.equal(history.body.items.length, 1);
  assert.equal(history.body.items[0].to, 'firing');
  assert.equal((await get('/api/v1/alerts/history')).body.total, 3, 'two firing and one pending');

  const deliveries = await get('/api/v1/alerts/deliveries?receiver=ops');
  assert.equal(deliveries.body.total, 1);
  assert.deepEqual(deliveries.body.items[0].fingerprints, [stale.fingerprint, alerts.body.alerts[1].fingerprint], 'the alerts it carried');
  assert.equal(deliveries.body.items[0].kind, 'notification');

  // Resolved alerts stay listed as recent.
  await store.ingestReport(reportFrom('dual-stack-services', { hostId: 'api-1', collectedAt: new Date(T0 + 21 * M) }), { receivedAt: new Date(T0 + 21 * M).toISOString(), tokenId: null, bytes: 1 });
  now = T0 + 26 * M;
  await app.alerts.evaluate();
  const after = await get('/api/v1/alerts');
  assert.deepEqual(after.body.alerts.map((a: { status: string; labels: { host: string } }) => [a.status, a.labels.host]), [['firing', 'api-2'], ['pending', 'api-2'], ['resolved', 'api-1']]);

  const metrics = await get('/metrics', null);
  metrics.body = (metrics.body as string).split('\n').filter((line) => line.startsWith('dualstack_alert')).join('\n');
  assert.match(metrics.body, /dualstack_alert_evaluations_total\{result="ok"\} 3/);
  assert.match(metrics.body, /dualstack_alert_evaluation_duration_seconds_count 3/);
  assert.match(metrics.body, /dualstack_alert_transitions_total\{rule="host-stale",to="firing"\} 2/);
  assert.match(metrics.body, /dualstack_alert_transitions_total\{rule="host-stale",to="resolved"\} 1/);
  assert.match(metrics.body, /dualstack_alert_transitions_total\{rule="finding",to="pending"\} 1/);
  assert.match(metrics.body, /dualstack_alert_notifications_total\{rule="host-stale",receiver="ops"\} 2/);
  assert.match(metrics.body, /dualstack_alert_delivery_attempts_total\{receiver="ops",outcome="delivered"\} [1-9]/);
  assert.match(metrics.body, /dualstack_alert_delivery_attempts_total\{receiver="ops",outcome="retry"\} 0/);
  assert.match(metrics.body, /dualstack_alerts\{rule="host-stale",status="firing"\} 1/);
  assert.match(metrics.body, /dualstack_alerts\{rule="finding",status="pending"\} 1/);
  assert.match(metrics.body, /dualstack_alert_outbox_pending\{receiver="ops"\} \d/);
  assert.match(metrics.body, /^dualstack_alert_leader 1$/m, 'one collector per SQLite database: it always evaluates');

  assert.equal((await get('/api/v1/alerts', null)).status, 401);
  assert.equal((await get('/api/v1/alerts/history', agent)).status, 403);
  assert.equal((await get('/api/v1/alerts/history?limit=0')).status, 400);
  const openapi = await get('/docs/json', null);
  for (const path of ['/api/v1/alerts', '/api/v1/alerts/history', '/api/v1/alerts/deliveries']) assert.ok(openapi.body.paths[path].get, path);
});
