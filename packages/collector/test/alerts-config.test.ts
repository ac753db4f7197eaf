// The `alerts` configuration: the defaults shipped, JSON and YAML files, and a clear error
// naming the bad key for everything that is wrong.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { ConfigError, readConfigFile, resolveConfig } from '../src/config.js';
import { DEFAULT_SCHEDULE, resolveAlerts } from '../src/alerts/config.js';

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'dualstack-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function configError(layer: Record<string, unknown>): string {
  try {
    resolveConfig([layer], 'collector.json');
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
    return error.message;
  }
  return assert.fail('expected a ConfigError');
}

describe('alerts configuration', () => {
  test('defaults: evaluation every minute, the six rules, no receivers', () => {
    const settings = resolveAlerts(undefined);
    assert.equal(settings.schedule, DEFAULT_SCHEDULE);
    assert.equal(settings.schedule, '* * * * *');
    assert.deepEqual(
      settings.rules.map((r) => r.kind),
      ['host-stale', 'finding', 'service-regressed', 'fleet-readiness-drop', 'endpoint', 'duplicate-identity'],
    );
    const [stale, finding, regressed, drop, endpoint, duplicate] = settings.rules;
    assert.deepEqual(stale, {
      name: 'host-stale',
      kind: 'host-stale',
      severity: 'warning',
      intervalMs: 5 * 60_000,
      missedIntervals: 3,
      timing: { forMs: 0, keepFiringForMs: 0, repeatIntervalMs: 4 * 3600_000, groupWaitMs: 30_000, groupIntervalMs: 5 * 60_000 },
    });
    assert.equal(finding?.kind === 'finding' && finding.minSeverity, 'critical');
    assert.equal(finding?.kind === 'finding' && finding.findingRules, null);
    assert.equal(regressed?.kind === 'service-regressed' && regressed.forgetAfterMs, 7 * 86_400_000);
    assert.equal(drop?.kind === 'fleet-readiness-drop' && drop.points, 10);
    assert.deepEqual(endpoint?.kind === 'endpoint' && [endpoint.minSeverity, endpoint.findingRules], ['warning', null]);
    assert.deepEqual([duplicate?.name, duplicate?.severity], ['duplicate-identity', 'warning']);
    assert.deepEqual(settings.receivers, []);
    assert.deepEqual([...settings.routes.values()], [[], [], [], [], [], []]);
    assert.equal(settings.recentResolvedMs, 24 * 3600_000);
  });

  test('receivers: defaults, the Alertmanager API path appended, every rule routed to every receiver without a route', () => {
    const settings = resolveAlerts({
      receivers: [
        { name: 'ops', type: 'webhook', url: 'https://hooks.example/dualstack', headers: { authorization: 'Bearer x' } },
        { name: 'am', type: 'alertmanager', url: 'http://127.0.0.1:9093/', resendInterval: '30s' },
        { name: 'am-full', type: 'alertmanager', url: 'http://127.0.0.1:9093/api/v2/alerts' },
      ],
    });
    assert.deepEqual(settings.receivers[0], {
      name: 'ops',
      type: 'webhook',
      url: 'https://hooks.example/dualstack',
      timeoutMs: 10_000,
      headers: { authorization: 'Bearer x' },
      retry: { initialMs: 1000, maxMs: 300_000 },
      resendIntervalMs: 60_000,
    });
    assert.equal(settings.receivers[1]?.url, 'http://127.0.0.1:9093/api/v2/alerts');
    assert.equal(settings.receivers[1]?.resendIntervalMs, 30_000);
    assert.equal(settings.receivers[2]?.url, 'http://127.0.0.1:9093/api/v2/alerts');
    for (const receivers of settings.routes.values()) assert.deepEqual(receivers, ['ops', 'am', 'am-full']);
  });

  test('route: rules to receivers, a route without rules takes every rule', () => {
    const settings = resolveAlerts({
      receivers: [
        { name: 'pager', type: 'webhook', url: 'http://127.0.0.1:1/p' },
        { name: 'chat', type: 'slack', url: 'http://127.0.0.1:1/s' },
      ],
      route: [{ rules: ['finding', 'host-stale'], receivers: ['pager'] }, { receivers: ['chat'] }],
    });
    assert.deepEqual(Object.fromEntries(settings.routes), {
      'host-stale': ['pager', 'chat'],
      finding: ['pager', 'chat'],
      'service-regressed': ['chat'],
      'fleet-readiness-drop': ['chat'],
      endpoint: ['chat'],
      'duplicate-identity': ['chat'],
    });
  });

  test('the same configuration as a JSON file and as a YAML file', (t) => {
    const dir = tempDir(t);
    const alerts = {
      schedule: '*/30 * * * * *',
      rules: [
        { name: 'host-stale', interval: '1m', missedIntervals: 5, for: '2m', repeatInterval: '12h' },
        { name: 'pager-findings', kind: 'finding', minSeverity: 'warning', rules: ['ipv6-unroutable', 'bindv6only-set'] },
      ],
      receivers: [{ name: 'ops', type: 'slack', url: 'https://hooks.slack.example/T/B/x', timeoutMs: 5000, retry: { initialMs: 500, maxMs: 60000 } }],
    };
    writeFileSync(join(dir, 'collector.json'), JSON.stringify({ db: '/var/lib/dualstack/dualstack.db', alerts }));
    writeFileSync(
      join(dir, 'collector.yaml'),
      `db: /var/lib/dualstack/dualstack.db
alerts:
  schedule: "*/30 * * * * *"
  rules:
    - name: host-stale
      interval: 1m
      missedIntervals: 5
      for: 2m
      repeatInterval: 12h
    - name: pager-findings
      kind: finding
      minSeverity: warning
      rules: [ipv6-unroutable, bindv6only-set]
  receivers:
    - name: ops
      type: slack
      url: https://hooks.slack.example/T/B/x
      timeoutMs: 5000
      retry: { initialMs: 500, maxMs: 60000 }
`,
    );
    const fromJson = resolveConfig([readConfigFile(join(dir, 'collector.json'))]);
    const fromYaml = resolveConfig([readConfigFile(join(dir, 'collector.yml'.replace('yml', 'yaml')))]);
    assert.deepEqual(fromYaml, fromJson);
    const settings = resolveAlerts(fromYaml.alerts);
    assert.equal(settings.schedule, '*/30 * * * * *');
    const [stale, findings] = settings.rules;
    assert.deepEqual(stale?.timing.forMs, 120_000);
    assert.equal(stale?.kind === 'host-stale' && stale.intervalMs * stale.missedIntervals, 5 * 60_000);
    assert.deepEqual(findings?.kind === 'finding' && findings.findingRules, ['ipv6-unroutable', 'bindv6only-set']);
    assert.deepEqual(settings.receivers[0]?.retry, { initialMs: 500, maxMs: 60_000 });
  });

  test('a broken YAML file is refused with the file named', (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, 'bad.yaml'), 'alerts:\n  rules: [\n');
    assert.throws(() => readConfigFile(join(dir, 'bad.yaml')), (error: unknown) => error instanceof ConfigError && error.message.startsWith(join(dir, 'bad.yaml')));
  });

  test('every mistake names its key', () => {
    const cases: Array<[string, Record<string, unknown>, string]> = [
      ['unknown key in a rule', { alerts: { rules: [{ name: 'host-stale', intervall: '5m' }] } }, "bad key 'alerts.rules.0.intervall': is not a known key"],
      ['unknown key in alerts', { alerts: { reciever: [] } }, "bad key 'alerts.reciever': is not a known key"],
      ['unknown top-level key', { alert: {} }, "bad key 'alert': is not a known key"],
      ['a duration that is not one', { alerts: { rules: [{ name: 'host-stale', for: '5 minutes' }] } }, "bad key 'alerts.rules.0.for': must match pattern"],
      ['an unknown kind', { alerts: { rules: [{ name: 'x', kind: 'disk-full' }] } }, "bad key 'alerts.rules.0.kind': must be one of \"host-stale\", \"finding\", \"service-regressed\", \"fleet-readiness-drop\""],
      ['no kind and a name that is none', { alerts: { rules: [{ name: 'stale-hosts' }] } }, "bad key 'alerts.rules.0.kind': is required when the name is not a kind"],
      ['an option of another kind', { alerts: { rules: [{ name: 'host-stale' }, { name: 'finding', forgetAfter: '1d' }] } }, "bad key 'alerts.rules.1.forgetAfter': is an option of kind 'service-regressed', not of 'finding'"],
      ['a bad severity', { alerts: { rules: [{ name: 'finding', minSeverity: 'high' }] } }, "bad key 'alerts.rules.0.minSeverity': must be one of \"critical\", \"warning\", \"info\""],
      ['two rules with one name', { alerts: { rules: [{ name: 'host-stale' }, { name: 'host-stale' }] } }, "bad key 'alerts.rules.1.name': 'host-stale' is used by another rule"],
      ['a receiver without url', { alerts: { receivers: [{ name: 'ops', type: 'webhook' }] } }, "bad key 'alerts.receivers.0.url': is required"],
      ['a receiver type', { alerts: { receivers: [{ name: 'ops', type: 'email', url: 'http://x' }] } }, "bad key 'alerts.receivers.0.type': must be one of \"webhook\", \"slack\", \"alertmanager\""],
      ['a receiver url', { alerts: { receivers: [{ name: 'ops', type: 'webhook', url: 'ftp://x/y' }] } }, "bad key 'alerts.receivers.0.url': must be http or https, got 'ftp:'"],
      ['resendInterval on a webhook', { alerts: { receivers: [{ name: 'ops', type: 'webhook', url: 'http://x', resendInterval: '1m' }] } }, "bad key 'alerts.receivers.0.resendInterval': is an option of type 'alertmanager', not of 'webhook'"],
      ['retry.maxMs below initialMs', { alerts: { receivers: [{ name: 'ops', type: 'webhook', url: 'http://x', retry: { initialMs: 5000, maxMs: 1000 } }] } }, "bad key 'alerts.receivers.0.retry.maxMs': must be at least retry.initialMs (5000)"],
      ['a route to an unknown receiver', { alerts: { receivers: [{ name: 'ops', type: 'webhook', url: 'http://x' }], route: [{ receivers: ['ops', 'pager'] }] } }, "bad key 'alerts.route.0.receivers.1': no receiver named 'pager' (receivers: ops)"],
      ['a route of an unknown rule', { alerts: { receivers: [{ name: 'ops', type: 'webhook', url: 'http://x' }], route: [{ rules: ['disk'], receivers: ['ops'] }] } }, "bad key 'alerts.route.0.rules.0': no rule named 'disk'"],
      ['a schedule', { alerts: { schedule: '61 * * * *' } }, "bad key 'alerts.schedule': not a cron expression: '61 * * * *'"],
      ['a header name', { alerts: { receivers: [{ name: 'ops', type: 'webhook', url: 'http://x', headers: { 'bad header': 'v' } }] } }, "bad key 'alerts.receivers.0.headers.bad header': is not an HTTP header name"],
    ];
    for (const [what, layer, expected] of cases) {
      const message = configError(layer);
      assert.ok(message.startsWith(`collector.json: ${expected}`), `${what}: got "${message}"`);
    }
  });
});
