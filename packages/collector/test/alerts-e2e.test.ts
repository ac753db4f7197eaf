// Alerts end to end: a real collector process (dist/cli.js serve) on a config file with short
// intervals (evaluation every second, stale after 4 s), real agents (dualstack-agent run,
// replaying captured fixtures) or fixture reports pushed over HTTP, and webhook receivers on
// 127.0.0.1 recording what they get. Every process is killed by its PID at the end.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Compile } from 'typebox/compile';
import { request } from 'undici';
import { WebhookBody, type NotificationAlert } from '../src/alerts/api.js';
import { reportFrom } from './helpers/reports.js';
import { sleep, startAgent, startCollectorProcess, startReceiver, waitFor, type CollectorProcess, type Receiver } from './helpers/alerts.js';

const webhookSchema = Compile(WebhookBody);

/** Alert timing for a test run: stale after 4 missed 1 s intervals; groups gathered 1 s, spaced 2 s. */
const quick = { groupWait: '1s', groupInterval: '2s' };
function alertsConfig(receivers: Array<Record<string, unknown>>, hostStale: Record<string, unknown> = {}) {
  return {
    schedule: '* * * * * *',
    rules: [
      { name: 'host-stale', interval: '1s', missedIntervals: 4, ...quick, ...hostStale },
      { name: 'finding', ...quick },
      { name: 'service-regressed', ...quick },
    ],
    receivers,
  };
}
const webhook = (name: string, receiver: Receiver) => ({ name, type: 'webhook', url: `${receiver.url}/hook`, timeoutMs: 2000, retry: { initialMs: 200, maxMs: 1000 } });

/** Every alert a receiver got, with the notification it came in. */
function alertsOf(receiver: Receiver): Array<NotificationAlert & { notificationId: string; rule: string }> {
  return receiver.received.flatMap((r) => (r.body as WebhookBody).alerts.map((a) => ({ ...a, notificationId: (r.body as WebhookBody).notificationId, rule: (r.body as WebhookBody).rule })));
}

function assertValidBodies(receiver: Receiver): void {
  for (const r of receiver.received) {
    assert.ok(webhookSchema.Check(r.body), `a webhook body off its documented schema: ${JSON.stringify([...webhookSchema.Errors(r.body)].slice(0, 3))}`);
    assert.equal(r.headers['content-type'], 'application/json');
    assert.equal(r.path, '/hook');
  }
}

/** Posts a report as `hostId` with the admin token (it writes any host; the agent processes use the agent token). */
async function push(collector: CollectorProcess, hostId: string, fixture: Parameters<typeof reportFrom>[0] = 'dual-stack-services'): Promise<number> {
  const res = await request(`${collector.url}/api/v1/reports`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${collector.tokens.admin}` },
    body: JSON.stringify(reportFrom(fixture, { hostId, collectedAt: new Date() })),
  });
  await res.body.dump();
  return res.statusCode;
}

async function getJson(collector: CollectorProcess, path: string): Promise<any> {
  const res = await request(`${collector.url}${path}`, { headers: { authorization: `Bearer ${collector.tokens.reader}` } });
  assert.equal(res.statusCode, 200, path);
  return res.body.json();
}

const staleOf = (receiver: Receiver, host: string) => alertsOf(receiver).filter((a) => a.labels.alertname === 'host-stale' && a.labels.host === host);

// The four run at once: each has its own collector, agents and receivers, and most of their
// time is the waiting that proves "once" (sleeps past the next ticks); one after the other
// they took ~85 s of the suite.
describe('alerts end to end', { concurrency: true }, () => {
  test('a host whose agent stops fires host-stale once, and resolves once when the agent is back', async (t) => {
    const hook = await startReceiver(t);
    const collector = await startCollectorProcess(t, { alerts: alertsConfig([webhook('hook', hook)]) });
    let agent = startAgent(t, collector, 'stale-1', 'dual-stack-services');
    await waitFor('the agent to report', async () => (await getJson(collector, '/api/v1/hosts?q=stale-1')).total === 1);
    await sleep(2000);
    assert.deepEqual(staleOf(hook, 'stale-1'), [], 'not stale while it reports every second');

    await agent.stop();
    const firing = await waitFor('host-stale firing', () => staleOf(hook, 'stale-1').find((a) => a.status === 'firing'), 20_000);
    assert.equal(firing.labels.severity, 'warning');
    assert.match(firing.summary, /^stale-1\.example \(stale-1\) stopped reporting: its last report arrived at .*, and agents report every 1s \(stale after 4 missed, 4s\)\.$/);
    assert.match(firing.fix, /systemctl status dualstack-agent/);
    await sleep(3000);
    assert.equal(staleOf(hook, 'stale-1').length, 1, 'told once while it stays silent');

    agent = startAgent(t, collector, 'stale-1', 'dual-stack-services');
    const resolved = await waitFor('host-stale resolved', () => staleOf(hook, 'stale-1').find((a) => a.status === 'resolved'), 20_000);
    assert.equal(resolved.fingerprint, firing.fingerprint);
    assert.ok(resolved.endsAt && resolved.endsAt > resolved.startsAt);
    await sleep(3000);
    assert.deepEqual(
      staleOf(hook, 'stale-1').map((a) => a.status),
      ['firing', 'resolved'],
    );
    assertValidBodies(hook);

    // The API shows the alert as recently resolved, and its history.
    const alerts = await getJson(collector, '/api/v1/alerts');
    const view = alerts.alerts.find((a: { fingerprint: string }) => a.fingerprint === firing.fingerprint);
    assert.equal(view.status, 'resolved');
    assert.equal(view.notifiedStatus, 'resolved');
    assert.ok(alerts.lastEvaluation.durationMs >= 0);
    const history = await getJson(collector, `/api/v1/alerts/history?fingerprint=${firing.fingerprint}`);
    assert.deepEqual(history.items.map((e: { to: string }) => e.to), ['resolved', 'firing']);
  });

  test('a new critical finding fires once (and the dual-stack services it took away fire service-regressed once)', async (t) => {
    const hook = await startReceiver(t);
    const collector = await startCollectorProcess(t, { alerts: alertsConfig([webhook('hook', hook)]) });
    let agent = startAgent(t, collector, 'crit-1', 'dual-stack-services');
    await waitFor('the agent to report', async () => (await getJson(collector, '/api/v1/hosts?q=crit-1')).total === 1);
    await sleep(2500);
    // The same host, now replaying a capture whose kernel cannot route IPv6 (ipv6-unroutable, critical).
    await agent.stop();
    agent = startAgent(t, collector, 'crit-1', 'no-ipv6-default');
    const findingAlerts = () => alertsOf(hook).filter((a) => a.labels.alertname === 'finding' && a.labels.host === 'crit-1');
    const fired = await waitFor('the finding alert', () => findingAlerts()[0], 20_000);
    assert.deepEqual(fired.labels, { alertname: 'finding', severity: 'critical', host: 'crit-1', rule: 'ipv6-unroutable', subject: 'host' });
    assert.match(fired.fix, /ip -6 route add default via/);
    await sleep(5000);
    assert.deepEqual(findingAlerts().map((a) => a.status), ['firing'], 'once, though every evaluation sees it');
    const regressed = alertsOf(hook).filter((a) => a.labels.alertname === 'service-regressed' && a.labels.host === 'crit-1');
    assert.ok(regressed.some((a) => a.labels.service === 'tcp/8080 nginx' && /now gone/.test(a.summary)), JSON.stringify(regressed.map((a) => a.labels)));
    assert.equal(new Set(regressed.map((a) => a.fingerprint)).size, regressed.length, 'each regression told once');
    assertValidBodies(hook);
  });

  test('50 hosts going stale at once arrive as one grouped notification, and come back as one', async (t) => {
    const hook = await startReceiver(t);
    // groupWait 3 s: the 50 reports are pushed at once, but on a busy machine they may take
    // longer than a second to arrive, and so cross the stale threshold a second or two apart.
    const collector = await startCollectorProcess(t, { alerts: alertsConfig([webhook('hook', hook)], { groupWait: '3s' }) });
    const hosts = Array.from({ length: 50 }, (_, i) => `fleet-${String(i).padStart(2, '0')}`);
    const statuses = await Promise.all(hosts.map((h) => push(collector, h)));
    assert.ok(statuses.every((s) => s === 202), String(statuses));

    const stale = () => hook.received.filter((r) => (r.body as WebhookBody).rule === 'host-stale');
    await waitFor('the host-stale notification', () => stale().length > 0, 20_000);
    await sleep(3000);
    assert.equal(stale().length, 1, 'one notification, not 50');
    const body = stale()[0]!.body as WebhookBody;
    assert.equal(body.status, 'firing');
    assert.deepEqual(body.counts, { firing: 50, resolved: 0 });
    assert.deepEqual(body.alerts.map((a) => a.labels.host), hosts);
    assert.match(body.summary, /^\[host-stale\] 50 hosts stopped reporting: fleet-00\.example, .*, fleet-09\.example and 40 more$/);

    // They come back, and keep reporting every second (or they would go stale again).
    assert.ok((await Promise.all(hosts.map((h) => push(collector, h)))).every((s) => s === 202));
    let reporting = true;
    const keepReporting = (async () => {
      while (reporting) {
        await sleep(1000);
        if (reporting) await Promise.all(hosts.map((h) => push(collector, h).catch(() => 0)));
      }
    })();
    t.after(async () => {
      reporting = false;
      await keepReporting;
    });
    await waitFor('the resolve', () => stale().length > 1, 20_000);
    await sleep(3000);
    assert.equal(stale().length, 2);
    const back = stale()[1]!.body as WebhookBody;
    assert.equal(back.status, 'resolved');
    assert.deepEqual(back.counts, { firing: 0, resolved: 50 });
    reporting = false;
    await keepReporting;
    assertValidBodies(hook);
  });

  test('a receiver that is down: ingest and evaluation go on, the other receiver is served, and when it returns everything arrives in order, once', async (t) => {
    const up = await startReceiver(t);
    const down = await startReceiver(t, { down: true });
    const collector = await startCollectorProcess(t, { alerts: alertsConfig([webhook('down', down), webhook('up', up)]) });
    let agent = startAgent(t, collector, 'outage-1', 'dual-stack-services');
    await waitFor('the agent to report', async () => (await getJson(collector, '/api/v1/hosts?q=outage-1')).total === 1);
    await sleep(1500);
    await agent.stop();
    await waitFor('the firing at the receiver that is up', () => staleOf(up, 'outage-1').length === 1, 20_000);

    // While `down` refuses connections: ingest answers, evaluations go on, attempts are recorded.
    const before = (await getJson(collector, '/api/v1/alerts')).lastEvaluation.startedAt;
    assert.equal(await push(collector, 'bystander-1'), 202);
    await sleep(2000);
    const during = await getJson(collector, '/api/v1/alerts');
    assert.ok(during.lastEvaluation.startedAt > before, 'evaluation goes on');
    const queue = during.receivers.find((r: { name: string }) => r.name === 'down');
    assert.ok(queue.pending >= 1, JSON.stringify(queue));
    assert.equal(queue.lastAttempt.outcome, 'retry');
    assert.match(queue.lastAttempt.error, /ECONNREFUSED/);
    const attempts = await getJson(collector, '/api/v1/alerts/deliveries?receiver=down');
    assert.ok(attempts.total >= 2, 'retried with backoff, each attempt recorded');

    // The host comes back while the receiver is still down: the resolve queues behind the firing.
    agent = startAgent(t, collector, 'outage-1', 'dual-stack-services');
    await waitFor('the resolve at the receiver that is up', () => staleOf(up, 'outage-1').length === 2, 20_000);
    assert.equal(down.received.length, 0);

    await down.up();
    await waitFor('the receiver that was down to catch up', () => down.received.length >= up.received.length, 20_000);
    await sleep(2500);
    assert.deepEqual(
      staleOf(down, 'outage-1').map((a) => a.status),
      ['firing', 'resolved'],
      'in order',
    );
    const ids = (r: Receiver) => r.received.map((x) => (x.body as WebhookBody).notificationId);
    assert.equal(new Set(ids(down)).size, ids(down).length, 'nothing doubled');
    assert.deepEqual([...ids(down)].sort(), [...ids(up)].sort(), 'nothing lost: the same notifications as the receiver that was up');
    const final = await getJson(collector, '/api/v1/alerts');
    assert.equal(final.receivers.find((r: { name: string }) => r.name === 'down').pending, 0);
    assertValidBodies(down);
    assertValidBodies(up);
  });
});
