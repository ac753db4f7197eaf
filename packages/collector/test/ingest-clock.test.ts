// The agent's clock orders nothing (issue 17): a host's current report is the one the
// collector received last, a report is never refused for its collectedAt, and one whose clock
// is off by more than maxClockSkewSeconds is stored with a host-clock-skew finding, shown in
// the host API and the findings API and alerted on like any finding. Real HTTP on 127.0.0.1:0,
// a real SQLite file.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { request } from 'undici';
import type { Report } from '@dualstack/core';
import { apiCall, startTestCollector, type TestCollector } from './helpers/collector.js';
import { finding, reportFrom } from './helpers/reports.js';

const MIN = 60_000;

/** POSTs a report; `sent` is the Date header (the agent's clock when sending), none by default. */
async function post(c: TestCollector, report: Report, sent?: Date) {
  const res = await request(`${c.url}/api/v1/reports`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${c.tokens.agent}`, ...(sent ? { date: sent.toUTCString() } : {}) },
    body: JSON.stringify(report),
  });
  return { status: res.statusCode, body: (await res.body.json()) as Record<string, any> };
}

test('a forged report 23 h 59 min ahead does not pin the host: the next real report is applied, lastSeen and findings follow it', async (t) => {
  const c = await startTestCollector({
    alerts: { config: { rules: [{ name: 'clock', kind: 'finding', minSeverity: 'warning', rules: ['host-clock-skew'], groupWait: '0s' }], receivers: [] } },
  });
  t.after(() => c.close());
  const real = [finding('ipv6-unroutable', 'host', 'critical'), finding('service-ipv4-only', 'tcp/25')];

  const first = await post(c, reportFrom('no-ipv6-default', { hostId: 'victim', collectedAt: new Date(), findings: real }));
  assert.equal(first.status, 202);
  // The attacker's report: no findings, collected "tomorrow". Stored (never refused for its clock).
  const forged = reportFrom('dual-stack-services', { hostId: 'victim', collectedAt: new Date(Date.now() + 23 * 60 * MIN + 59 * MIN), findings: [] });
  const fake = await post(c, forged);
  assert.equal(fake.status, 202);
  let host = (await apiCall(c, 'GET', '/api/v1/hosts/victim', c.tokens.reader)).body;
  assert.equal(host.latestReport.reportId, forged.reportId);
  const skew = host.findings.find((f: { rule: string; resolvedAt: string | null }) => f.rule === 'host-clock-skew' && f.resolvedAt === null);
  assert.ok(skew, 'the skewed report raised host-clock-skew');
  assert.equal(skew.severity, 'warning');
  assert.match(skew.message, /23 h 59 min ahead of the collector's/);
  assert.ok(skew.fix.commands.some((cmd: string) => cmd.includes('chronyc makestep')), 'the fix names chrony');
  assert.ok(skew.fix.commands.some((cmd: string) => cmd.includes('timedatectl set-ntp true')), 'the fix names timesyncd');
  assert.ok(skew.evidence.some((line: string) => /^offset \+23 h 59 min/.test(line)), skew.evidence.join('\n'));

  // Alerted like every finding.
  await c.app.alerts.evaluate();
  const alerts = (await apiCall(c, 'GET', '/api/v1/alerts', c.tokens.reader)).body;
  assert.deepEqual(
    alerts.alerts.map((a: { labels: { rule: string; host: string } }) => [a.labels.rule, a.labels.host]),
    [['host-clock-skew', 'victim']],
  );
  const byRule = (await apiCall(c, 'GET', '/api/v1/findings', c.tokens.reader)).body;
  assert.ok(JSON.stringify(byRule).includes('host-clock-skew'), 'GET /api/v1/findings lists it');

  // The host's real agent reports again, with its real (correct) clock.
  const next = reportFrom('no-ipv6-default', { hostId: 'victim', collectedAt: new Date(), findings: real });
  const ack = await post(c, next);
  assert.equal(ack.status, 202);
  assert.deepEqual(ack.body.findings, { open: 2, opened: 2, resolved: 1 }, 'the real findings reopen, the skew finding resolves');
  host = (await apiCall(c, 'GET', '/api/v1/hosts/victim', c.tokens.reader)).body;
  assert.equal(host.latestReport.reportId, next.reportId, 'the real report is the host\'s current one');
  assert.equal(host.host.lastSeen, ack.body.receivedAt);
  assert.equal(host.host.stale, false);
  assert.deepEqual(
    host.findings.filter((f: { resolvedAt: string | null }) => f.resolvedAt === null).map((f: { rule: string }) => f.rule),
    ['ipv6-unroutable', 'service-ipv4-only'],
  );
  assert.deepEqual(host.host.findings, { critical: 1, warning: 1, info: 0 });
});

test('a clock years behind (the Date header says so) is stored too, with the finding saying behind; a spooled report is no skew', async (t) => {
  const c = await startTestCollector();
  t.after(() => c.close());
  const rtc = new Date('1999-12-31T23:00:00.000Z');
  const old = await post(c, reportFrom('ipv6-off', { hostId: 'rtc-reset', collectedAt: rtc }), rtc);
  assert.equal(old.status, 202, JSON.stringify(old.body));
  const host = (await apiCall(c, 'GET', '/api/v1/hosts/rtc-reset', c.tokens.reader)).body;
  const skew = host.findings.find((f: { rule: string }) => f.rule === 'host-clock-skew');
  assert.match(skew.message, / d .* behind the collector's/);
  assert.match(skew.evidence[0], /^request Date header/);

  // Collected 3 h ago, sent now with a right clock: it waited in the spool, the clock is fine.
  const spooled = await post(c, reportFrom('ipv6-off', { hostId: 'rtc-reset', collectedAt: new Date(Date.now() - 180 * MIN) }), new Date());
  assert.equal(spooled.status, 202);
  assert.equal(spooled.body.findings.resolved, 1, 'the skew finding resolves');
  const after = (await apiCall(c, 'GET', '/api/v1/hosts/rtc-reset', c.tokens.reader)).body;
  assert.equal(after.findings.filter((f: { rule: string; resolvedAt: string | null }) => f.rule === 'host-clock-skew' && f.resolvedAt === null).length, 0);
});

test('maxClockSkewSeconds is a collector setting: a 2 min offset is skew when the limit is 60 s', async (t) => {
  const c = await startTestCollector({ maxClockSkewSeconds: 60 });
  t.after(() => c.close());
  const ack = await post(c, reportFrom('ipv6-off', { hostId: 'tight', collectedAt: new Date(Date.now() + 2 * MIN) }));
  assert.equal(ack.status, 202);
  const host = (await apiCall(c, 'GET', '/api/v1/hosts/tight', c.tokens.reader)).body;
  const skew = host.findings.find((f: { rule: string }) => f.rule === 'host-clock-skew');
  assert.ok(skew, 'raised');
  assert.ok(skew.evidence.some((line: string) => line.includes('allowed: 1 min')), skew.evidence.join('\n'));
});
