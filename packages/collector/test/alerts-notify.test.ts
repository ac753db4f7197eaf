// The bodies receivers get (documented in docs/alerts.md): the generic webhook, the Slack
// message and Alertmanager's postableAlerts, each checked against its schema and its rules.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Compile } from 'typebox/compile';
import { AlertmanagerBody, SlackBody, WebhookBody } from '../src/alerts/api.js';
import { alertmanagerBody, buildNotification, slackBody, testNotification, webhookBody } from '../src/alerts/notify.js';
import type { StoredAlert } from '../src/alerts/store.js';

const T = Date.parse('2030-05-01T10:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();

function staleAlert(i: number, status: 'firing' | 'resolved' = 'firing'): StoredAlert {
  const host = `web-${String(i).padStart(2, '0')}`;
  return {
    fingerprint: `fp${i}`,
    rule: 'host-stale',
    labels: { alertname: 'host-stale', severity: 'warning', host },
    annotations: { title: `${host}.example`, summary: `${host}.example (${host}) stopped reporting <& more>.`, fix: 'Check the agent.', hostname: `${host}.example` },
    state: {
      status,
      activeSince: T,
      firingSince: T,
      resolvedAt: status === 'resolved' ? T + 60_000 : null,
      lastActiveAt: T,
      notifiedStatus: status === 'resolved' ? 'firing' : null,
      lastNotifiedAt: null,
    },
  };
}

const rule = { name: 'host-stale', kind: 'host-stale' } as const;

describe('notification bodies', () => {
  test('generic webhook: the documented shape, firing alerts first', () => {
    const n = buildNotification('3f0c3c53-0000-4000-8000-000000000001', rule, [{ alert: staleAlert(2, 'resolved'), need: 'resolved' }, { alert: staleAlert(1), need: 'firing' }], 7, new Date(T + 61_000));
    const body = webhookBody('ops', n, new Date(T + 62_000));
    const schema = Compile(WebhookBody);
    assert.ok(schema.Check(body), JSON.stringify([...schema.Errors(body)]));
    assert.deepEqual(body, {
      version: 'dualstack.alerts/v1',
      receiver: 'ops',
      notificationId: '3f0c3c53-0000-4000-8000-000000000001',
      rule: 'host-stale',
      kind: 'host-stale',
      status: 'firing',
      summary: '[host-stale] 1 host stopped reporting: web-01.example; 1 host reporting again: web-02.example',
      counts: { firing: 1, resolved: 1 },
      groupFiring: 7,
      alerts: [
        {
          fingerprint: 'fp1',
          status: 'firing',
          repeat: false,
          labels: { alertname: 'host-stale', severity: 'warning', host: 'web-01' },
          summary: 'web-01.example (web-01) stopped reporting <& more>.',
          fix: 'Check the agent.',
          annotations: staleAlert(1).annotations,
          startsAt: iso(T),
          endsAt: null,
        },
        {
          fingerprint: 'fp2',
          status: 'resolved',
          repeat: false,
          labels: { alertname: 'host-stale', severity: 'warning', host: 'web-02' },
          summary: 'web-02.example (web-02) stopped reporting <& more>.',
          fix: 'Check the agent.',
          annotations: staleAlert(2).annotations,
          startsAt: iso(T),
          endsAt: iso(T + 60_000),
        },
      ],
      createdAt: iso(T + 61_000),
      sentAt: iso(T + 62_000),
    });
  });

  test('Slack: a header, the summary, one section per alert up to 20, then how many more; mrkdwn escaped', () => {
    const due = Array.from({ length: 25 }, (_, i) => ({ alert: staleAlert(i), need: 'firing' as const }));
    const n = buildNotification('id-25', rule, due, 25, new Date(T));
    const body = slackBody(n);
    const schema = Compile(SlackBody);
    assert.ok(schema.Check(body), JSON.stringify([...schema.Errors(body)]));
    assert.equal(body.blocks.length, 1 + 1 + 20 + 1);
    assert.deepEqual(body.blocks[0], { type: 'header', text: { type: 'plain_text', text: 'FIRING: host-stale (25 firing, 0 resolved)' } });
    assert.equal(body.blocks[1]?.text?.text, '[host-stale] 25 hosts stopped reporting: web-00.example, web-01.example, web-02.example, web-03.example, web-04.example, web-05.example, web-06.example, web-07.example, web-08.example, web-09.example and 15 more');
    assert.equal(body.blocks[2]?.text?.text, '*firing* web-00.example (web-00) stopped reporting &lt;&amp; more&gt;.\n*Fix:* Check the agent.');
    assert.equal(body.blocks[22]?.type, 'context');
    assert.match(body.blocks[22]?.elements?.[0]?.text ?? '', /^…and 5 more alerts \(GET \/api\/v1\/alerts lists them all\)\. dualstack-collector, notification id-25$/);
    assert.match(body.text, /^FIRING: host-stale \(25 firing, 0 resolved\)\n\[host-stale\] 25 hosts stopped reporting/);
  });

  test('Slack: a resolved alert says so, without its fix', () => {
    const body = slackBody(buildNotification('id', rule, [{ alert: staleAlert(3, 'resolved'), need: 'resolved' }], 0, new Date(T)));
    assert.deepEqual(body.blocks[0], { type: 'header', text: { type: 'plain_text', text: 'RESOLVED: host-stale (0 firing, 1 resolved)' } });
    assert.equal(body.blocks[2]?.text?.text, '*resolved* web-03.example (web-03) stopped reporting &lt;&amp; more&gt;.');
  });

  test('Slack: long texts are cut to the block limits', () => {
    const long = staleAlert(1);
    long.annotations = { ...long.annotations, summary: 'x'.repeat(5000) };
    const body = slackBody(buildNotification('id', rule, [{ alert: long, need: 'firing' }], 1, new Date(T)));
    for (const block of body.blocks) assert.ok((block.text?.text.length ?? 0) <= 3000);
    assert.ok(body.text.length <= 3000);
  });

  test('Alertmanager: labels as they are, summary and fix as annotations; endsAt = now + 4 x resendInterval while firing, the resolve time once resolved', () => {
    const n = buildNotification('id', rule, [{ alert: staleAlert(1), need: 'firing' }, { alert: staleAlert(2, 'resolved'), need: 'resolved' }], 1, new Date(T));
    const sentAt = new Date(T + 90_000);
    const body = alertmanagerBody(n.alerts, sentAt, 60_000);
    const schema = Compile(AlertmanagerBody);
    assert.ok(schema.Check(body), JSON.stringify([...schema.Errors(body)]));
    assert.deepEqual(body[0], {
      labels: { alertname: 'host-stale', severity: 'warning', host: 'web-01' },
      annotations: { title: 'web-01.example', summary: 'web-01.example (web-01) stopped reporting <& more>.', fix: 'Check the agent.', hostname: 'web-01.example' },
      startsAt: iso(T),
      endsAt: iso(T + 90_000 + 240_000),
    });
    assert.equal(body[1]?.endsAt, iso(T + 60_000));
    const empty = alertmanagerBody([{ ...n.alerts[0]!, labels: { alertname: 'x', subject: '' } }], sentAt, 60_000);
    assert.deepEqual(empty[0]?.labels, { alertname: 'x' }, 'an empty label value is left out');
  });

  test('the test notification', () => {
    const n = testNotification('t-1', 'ops', new Date(T));
    const body = webhookBody('ops', n, new Date(T));
    assert.ok(Compile(WebhookBody).Check(body));
    assert.equal(body.kind, 'test');
    assert.deepEqual(body.alerts[0]?.labels, { alertname: 'dualstack-test', severity: 'info', receiver: 'ops' });
    assert.match(body.summary, /^\[test\] Test notification from dualstack-collector to receiver 'ops'/);
  });
});
