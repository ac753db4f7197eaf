// A real Prometheus Alertmanager (Debian package prometheus-alertmanager; .ci/run installs it)
// on 127.0.0.1 with a config in a temp dir, fed by a real collector process: a firing alert is
// listed by Alertmanager's own API with our labels, stays active while it fires (the collector
// re-sends it every resendInterval), and is gone once it resolves. Skipped, saying why, when the
// binary is missing; under CI (CI=true) that fails instead (test/helpers/requirements.ts).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { request } from 'undici';
import { reportFrom } from './helpers/reports.js';
import { freePort, sleep, startCollectorProcess, stopProcess, waitFor, type CollectorProcess } from './helpers/alerts.js';
import { findOnPath, skipUnlessAvailable } from '../../../test/helpers/requirements.js';

const BINARY = 'prometheus-alertmanager';
const binary = findOnPath(BINARY);
const skip = skipUnlessAvailable(binary === null && `${BINARY} is not installed`, 'prometheus-alertmanager');

interface AmAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  status: { state: string };
}

async function push(collector: CollectorProcess, hostId: string): Promise<void> {
  const res = await request(`${collector.url}/api/v1/reports`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${collector.tokens.agent}` },
    body: JSON.stringify(reportFrom('dual-stack-services', { hostId, collectedAt: new Date() })),
  });
  await res.body.dump();
  assert.equal(res.statusCode, 202);
}

test('Alertmanager lists a firing alert with our labels, keeps it while it fires, and drops it once resolved', { skip }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dualstack-am-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const port = await freePort();
  writeFileSync(
    join(dir, 'alertmanager.yml'),
    `route:
  receiver: blackhole
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: blackhole
`,
  );
  const am = spawn(binary!, [`--config.file=${join(dir, 'alertmanager.yml')}`, `--storage.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address='], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const amLog: string[] = [];
  am.stdout!.on('data', (c: Buffer) => amLog.push(c.toString()));
  am.stderr!.on('data', (c: Buffer) => amLog.push(c.toString()));
  t.after(() => stopProcess(am));
  const base = `http://127.0.0.1:${port}`;
  await waitFor(
    'Alertmanager to be ready',
    async () => {
      if (am.exitCode !== null) throw new Error(`alertmanager exited ${am.exitCode}: ${amLog.join('')}`);
      try {
        const res = await request(`${base}/-/ready`);
        await res.body.dump();
        return res.statusCode === 200;
      } catch {
        return false;
      }
    },
    20_000,
    200,
  );
  const amAlerts = async (): Promise<AmAlert[]> => {
    const res = await request(`${base}/api/v2/alerts`);
    assert.equal(res.statusCode, 200);
    return (await res.body.json()) as AmAlert[];
  };
  const ours = async () => (await amAlerts()).find((a) => a.labels.alertname === 'host-stale' && a.labels.host === 'am-host-1');

  const collector = await startCollectorProcess(t, {
    alerts: {
      schedule: '* * * * * *',
      rules: [{ name: 'host-stale', interval: '1s', missedIntervals: 3, groupWait: '0s', groupInterval: '1s' }],
      receivers: [{ name: 'am', type: 'alertmanager', url: base, resendInterval: '1s', timeoutMs: 2000, retry: { initialMs: 200, maxMs: 1000 } }],
    },
  });
  for (let i = 0; i < 4; i++) {
    await push(collector, 'am-host-1');
    await sleep(500);
  }
  assert.equal(await ours(), undefined);

  // Silence from the host: the collector posts the alert to /api/v2/alerts.
  const alert = await waitFor('Alertmanager to list the alert', ours, 20_000, 250);
  assert.deepEqual(alert.labels, { alertname: 'host-stale', severity: 'warning', host: 'am-host-1' });
  assert.match(alert.annotations.summary ?? '', /^am-host-1\.example \(am-host-1\) stopped reporting/);
  assert.match(alert.annotations.fix ?? '', /systemctl status dualstack-agent/);
  assert.equal(alert.status.state, 'active');
  assert.ok(Date.parse(alert.endsAt) > Date.now(), 'endsAt ahead: it is firing');

  // Longer than 4 x resendInterval: without the re-sends Alertmanager would have resolved it.
  await sleep(6000);
  const still = await ours();
  assert.ok(still, 'still listed while it fires');
  assert.equal(still.status.state, 'active');
  assert.ok(Date.parse(still.endsAt) > Date.parse(alert.endsAt), 'endsAt moved on with each re-send');
  const deliveries = await request(`${collector.url}/api/v1/alerts/deliveries?receiver=am`, { headers: { authorization: `Bearer ${collector.tokens.reader}` } });
  const attempts = (await deliveries.body.json()) as { items: Array<{ kind: string; outcome: string; statusCode: number | null }> };
  assert.ok(attempts.items.some((a) => a.kind === 'notification' && a.outcome === 'delivered' && a.statusCode === 200));
  assert.ok(attempts.items.filter((a) => a.kind === 'refresh' && a.outcome === 'delivered').length >= 3, 'refreshed every second');

  // The host reports again: the resolve carries endsAt in the past, and Alertmanager drops it.
  await push(collector, 'am-host-1');
  const keepReporting = setInterval(() => void push(collector, 'am-host-1').catch(() => undefined), 500);
  t.after(() => clearInterval(keepReporting));
  await waitFor('Alertmanager to drop the resolved alert', async () => {
    const current = await ours();
    return current === undefined || Date.parse(current.endsAt) <= Date.now();
  }, 20_000, 250);
  clearInterval(keepReporting);
});
