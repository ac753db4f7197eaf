// docs/alerts.md is written by hand; this keeps it true: its example configuration is valid
// and routes as described, its example bodies are exactly what the code sends for the same
// alert, every configuration key is documented, and every metric it lists exists.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Compile } from 'typebox/compile';
import { parse as parseYaml } from 'yaml';
import { AlertmanagerBody, SlackBody, WebhookBody } from '../src/alerts/api.js';
import { AlertRuleInput, AlertsConfig, ReceiverInput, resolveAlerts } from '../src/alerts/config.js';
import { alertmanagerBody, buildNotification, slackBody, webhookBody } from '../src/alerts/notify.js';
import type { StoredAlert } from '../src/alerts/store.js';
import { buildApp } from '../src/app.js';
import { resolveConfig } from '../src/config.js';
import { openStore } from '../src/open-store.js';

const doc = readFileSync(new URL('../../../docs/alerts.md', import.meta.url), 'utf8');

/** The fenced block whose info string is `info` (e.g. "json webhook"). */
function block(info: string): string {
  const match = new RegExp('```' + info + '\\n([\\s\\S]*?)\\n```').exec(doc);
  assert.ok(match, `docs/alerts.md has a \`\`\`${info} block`);
  return match[1]!;
}

// The alert of the examples.
const T = Date.parse('2030-05-01T10:15:00.000Z');
const alert: StoredAlert = {
  fingerprint: '3c1f9e0a7b2d4e58',
  rule: 'finding',
  labels: { alertname: 'finding', severity: 'critical', host: '8f14e45fceea167a5a36dedd4bea2543', rule: 'ipv6-unroutable', subject: 'host' },
  annotations: {
    title: 'ipv6-unroutable on web-2.example.net (host)',
    summary: 'web-2.example.net: The host has 2001:db8:1::2 but the kernel answers ENETUNREACH for 2001:db8::1: there is no IPv6 default route in any table.',
    fix: "Add a default route via your IPv6 router; none could be found on this host.\n# ip -6 route add default via <IPv6-gateway> dev eth0   (no gateway found on this host: replace <IPv6-gateway> with your router's address)",
    hostname: 'web-2.example.net',
    firstSeen: '2030-05-01T10:14:12.530Z',
  },
  state: { status: 'firing', activeSince: T, firingSince: T, resolvedAt: null, lastActiveAt: T, notifiedStatus: null, lastNotifiedAt: null },
};
const notification = buildNotification('0b5e8a52-6d1c-4f0e-9a51-1f2d3c4b5a69', { name: 'finding', kind: 'finding' }, [{ alert, need: 'firing' }], 1, new Date(T + 30_000));
const sentAt = new Date(T + 30_012);

test('the example bodies are what the code sends', () => {
  const webhook = JSON.parse(block('json webhook')) as unknown;
  assert.deepEqual(webhook, webhookBody('ops', notification, sentAt));
  assert.ok(Compile(WebhookBody).Check(webhook));
  const slack = JSON.parse(block('json slack')) as unknown;
  assert.deepEqual(slack, slackBody(notification));
  assert.ok(Compile(SlackBody).Check(slack));
  const am = JSON.parse(block('json alertmanager')) as unknown;
  assert.deepEqual(am, alertmanagerBody(notification.alerts, sentAt, 60_000));
  assert.ok(Compile(AlertmanagerBody).Check(am));
});

test('the example configuration is valid and routes as it says', () => {
  const config = resolveConfig([parseYaml(block('yaml config')) as Record<string, unknown>], 'docs/alerts.md');
  const settings = resolveAlerts(config.alerts);
  assert.deepEqual(settings.rules.map((r) => [r.name, r.kind]), [
    ['host-stale', 'host-stale'],
    ['finding', 'finding'],
    ['warnings-we-page-for', 'finding'],
    ['service-regressed', 'service-regressed'],
    ['fleet-readiness-drop', 'fleet-readiness-drop'],
  ]);
  assert.equal(settings.receivers.find((r) => r.name === 'am')?.url, 'http://alertmanager.example.net:9093/api/v2/alerts');
  assert.deepEqual(Object.fromEntries(settings.routes), {
    'host-stale': ['chat'],
    finding: ['ops', 'am', 'chat'],
    'warnings-we-page-for': ['ops', 'am', 'chat'],
    'service-regressed': ['chat'],
    'fleet-readiness-drop': ['chat'],
  });
});

test('every configuration key is documented', () => {
  const keys = new Set([...Object.keys(AlertsConfig.properties), ...Object.keys(AlertRuleInput.properties), ...Object.keys(ReceiverInput.properties)]);
  for (const key of keys) assert.ok(doc.includes(`\`${key}\``), `docs/alerts.md does not mention \`${key}\``);
});

test('every metric listed exists on /metrics', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dualstack-alerts-docs-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const app = await buildApp({ store: openStore({ db: join(dir, 'c.db'), staleAfterSeconds: 900 }), config: { bodyLimitBytes: 1 << 20, openReadsOnLoopback: false } });
  t.after(() => app.close());
  const metrics = (await app.inject({ url: '/metrics' })).body;
  const listed = [...doc.matchAll(/^\| `(dualstack_alert\w*)/gm)].map((m) => m[1]!);
  assert.equal(listed.length, 8);
  for (const name of listed) assert.match(metrics, new RegExp(`^# TYPE ${name} `, 'm'), name);
});
