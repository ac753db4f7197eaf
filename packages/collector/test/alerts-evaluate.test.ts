// Alert evaluation on both backends (helpers/alert-backends.ts: a SQLite file, a PostgreSQL
// database; the Store and the AlertStore on one database), with a controllable clock: reports are ingested with the time the test chooses and the
// evaluator runs at the time the test chooses. The outbox is read back as written.
import assert from 'node:assert/strict';
import { after, before, describe, test, type TestContext } from 'node:test';
import type { Report, Service } from '@dualstack/core';
import { Compile } from 'typebox/compile';
import { Notification } from '../src/alerts/api.js';
import { resolveAlerts, type AlertsConfig } from '../src/alerts/config.js';
import { AlertService } from '../src/alerts/service.js';
import { alertBackends, type AlertBackend } from './helpers/alert-backends.js';
import { finding, reportFrom, type GoldenName } from './helpers/reports.js';

const S = 1000;
const M = 60 * S;
const H = 60 * M;
const T0 = Date.parse('2030-03-01T12:00:00.000Z');
const notificationSchema = Compile(Notification);

interface Outbox {
  id: number;
  receiver: string;
  rule: string;
  status: string;
  notification: Notification;
}

async function setup(t: TestContext, backend: AlertBackend, alerts: AlertsConfig, options: { staleAfterSeconds?: number } = {}) {
  const db = await (await backend.database(t, options)).open();
  const { store, alertStore } = db;
  let now = T0;
  const service = new AlertService({ store: alertStore, settings: resolveAlerts(alerts), clock: () => new Date(now), staleAfterMs: (options.staleAfterSeconds ?? 900) * 1000 });
  t.after(async () => {
    await service.stop();
    await db.close();
  });
  return {
    store,
    alertStore,
    service,
    rows: db.rows,
    exec: db.exec,
    at: (ms: number) => (now = T0 + ms),
    /** Ingest a report received at T0 + ms (collected a second earlier). */
    async report(ms: number, hostId: string, fixture: GoldenName = 'dual-stack-services', extra: { findings?: Report['findings']; services?: Service[] } = {}) {
      const report = reportFrom(fixture, { hostId, collectedAt: new Date(T0 + ms - S), ...extra });
      await store.ingestReport(report, { receivedAt: new Date(T0 + ms).toISOString(), tokenId: null, bytes: 1000 });
      return report;
    },
    /** Ingests `count` reports of distinct hosts, 20 at a time, as 20 agent connections would send them. */
    async reports(count: number, report: (i: number) => [ms: number, hostId: string]) {
      for (let start = 0; start < count; start += 20) {
        await Promise.all(Array.from({ length: Math.min(20, count - start) }, (_, k) => this.report(...report(start + k))));
      }
    },
    async evaluate(ms: number) {
      now = T0 + ms;
      const result = await service.evaluate(new Date(now));
      assert.equal(result.error, null, `evaluation failed: ${result.error}`);
      return result;
    },
    async outbox(): Promise<Outbox[]> {
      const rows = await db.rows<{ id: number; receiver: string; rule: string; status: string; payload: string }>('SELECT id, receiver, rule, status, payload FROM alert_outbox ORDER BY id');
      return rows.map((r) => {
        const notification = JSON.parse(r.payload) as Notification;
        assert.ok(notificationSchema.Check(notification), JSON.stringify([...notificationSchema.Errors(notification)].slice(0, 3)));
        return { id: r.id, receiver: r.receiver, rule: r.rule, status: r.status, notification };
      });
    },
  };
}

const hostStaleOnly: AlertsConfig = {
  rules: [{ name: 'host-stale', interval: '5m', missedIntervals: 3 }],
  receivers: [{ name: 'ops', type: 'webhook', url: 'http://127.0.0.1:9/hook' }],
};

for (const backend of alertBackends()) {
  describe(`alert evaluation (${backend.name})`, { skip: backend.skip }, () => {
    before(() => backend.start());
    after(() => backend.stop());

    describe('host-stale', () => {
      test('fires once after N x interval of silence, resolves once when the host reports again, repeats after repeatInterval', async (t) => {
        const a = await setup(t, backend, hostStaleOnly);
        for (const host of ['h1', 'h2', 'h3']) await a.report(0, host);
        await a.evaluate(15 * M - S);
        assert.deepEqual(await a.alertStore.liveAlerts(), [], 'not stale before 3 x 5 min');

        await a.evaluate(15 * M + S);
        const live = await a.alertStore.liveAlerts();
        assert.deepEqual(live.map((x) => [x.labels.host, x.state.status]).sort(), [['h1', 'firing'], ['h2', 'firing'], ['h3', 'firing']]);
        assert.deepEqual(live[0]!.labels, { alertname: 'host-stale', severity: 'warning', host: live[0]!.labels.host });
        assert.match(live[0]!.annotations.summary!, /stopped reporting: its last report arrived at 2030-03-01T12:00:00.000Z, and agents report every 5m \(stale after 3 missed, 15m\)/);
        assert.match(live[0]!.annotations.fix!, /systemctl status dualstack-agent/);
        assert.equal((await a.outbox()).length, 0, 'groupWait (30 s) gathers the group first');

        await a.evaluate(15 * M + 31 * S);
        let outbox = (await a.outbox());
        assert.equal(outbox.length, 1, 'one notification for the three hosts');
        const n = outbox[0]!.notification;
        assert.equal(outbox[0]!.receiver, 'ops');
        assert.equal(n.status, 'firing');
        assert.deepEqual(n.counts, { firing: 3, resolved: 0 });
        assert.deepEqual(n.alerts.map((x) => x.labels.host), ['h1', 'h2', 'h3']);
        assert.match(n.summary, /^\[host-stale\] 3 hosts stopped reporting: h1\.example, h2\.example, h3\.example$/);

        for (let m = 16; m < 20; m++) await a.evaluate(m * M);
        assert.equal((await a.outbox()).length, 1, 'nothing more while they stay stale');

        await a.report(20 * M, 'h1');
        await a.evaluate(20 * M);
        await a.evaluate(20 * M + 20 * S);
        assert.equal((await a.outbox()).length, 1, 'groupInterval (5 min since the last notification) not over');
        await a.evaluate(21 * M);
        outbox = (await a.outbox());
        assert.equal(outbox.length, 2);
        const resolved = outbox[1]!.notification;
        assert.equal(resolved.status, 'resolved');
        assert.deepEqual(resolved.alerts.map((x) => [x.labels.host, x.status, x.endsAt]), [['h1', 'resolved', new Date(T0 + 20 * M).toISOString()]]);
        assert.equal(resolved.groupFiring, 2);
        assert.match(resolved.summary, /1 host reporting again: h1\.example/);

        // 4 h after the first notification, the two still stale are told again, together.
        await a.report(4 * H + 10 * M, 'h1');
        await a.evaluate(15 * M + 31 * S + 4 * H - S);
        assert.equal((await a.outbox()).length, 2);
        await a.evaluate(15 * M + 31 * S + 4 * H + S);
        outbox = (await a.outbox());
        assert.equal(outbox.length, 3);
        assert.deepEqual(outbox[2]!.notification.alerts.map((x) => [x.labels.host, x.status, x.repeat]), [['h2', 'firing', true], ['h3', 'firing', true]]);

        const history = await a.alertStore.history({ limit: 100, offset: 0, rule: 'host-stale' });
        assert.deepEqual(history.items.map((e) => `${e.labels.host}:${e.from ?? '-'}>${e.to}`).sort(), ['h1:-:>firing', 'h1:firing>resolved', 'h2:->firing', 'h3:->firing'].map((x) => x.replace('-:', '-')).sort());
      });

      test('500 hosts going stale at once are one notification listing them all, not 500', async (t) => {
        const a = await setup(t, backend, { ...hostStaleOnly, receivers: [...hostStaleOnly.receivers!, { name: 'chat', type: 'slack', url: 'http://127.0.0.1:9/slack' }] });
        // Their last reports arrived over 20 s (a fleet never reports in the same second): they
        // cross the threshold at different evaluations, all within groupWait (30 s) of the first.
        await a.reports(500, (i) => [Math.floor((i / 500) * 20 * S), `fleet-${String(i).padStart(3, '0')}`]);
        for (let s = 15 * M; s <= 17 * M; s += 10 * S) await a.evaluate(s);
        const outbox = (await a.outbox());
        assert.deepEqual(outbox.map((o) => o.receiver), ['ops', 'chat'], 'one notification per receiver');
        const n = outbox[0]!.notification;
        assert.equal(n.alerts.length, 500);
        assert.equal(n.notificationId, outbox[1]!.notification.notificationId, 'the same notification to every receiver');
        assert.match(n.summary, /500 hosts stopped reporting: fleet-000\.example, .* and 490 more$/);
        assert.equal((await a.alertStore.history({ limit: 1, offset: 0 })).total, 500);
      });

      test('hosts going stale over several minutes: the first notification after groupWait, the rest together after groupInterval', async (t) => {
        const a = await setup(t, backend, hostStaleOnly);
        // Last reports spread over 5 minutes (agents on a 5 min interval, cut off at once).
        await a.reports(300, (i) => [i * S, `spread-${String(i).padStart(3, '0')}`]);
        for (let s = 15 * M; s <= 26 * M; s += 10 * S) await a.evaluate(s);
        const sizes = (await a.outbox()).map((o) => [o.notification.createdAt, o.notification.alerts.length]);
        assert.deepEqual(sizes, [
          [new Date(T0 + 15 * M + 40 * S).toISOString(), 40], // 30 s after the first crossed (at 15m10s), those stale by then
          [new Date(T0 + 20 * M + 40 * S).toISOString(), 260], // 5 min later: the rest
        ]);
      });
    });

    describe('finding', () => {
      const config: AlertsConfig = {
        rules: [{ name: 'finding', groupWait: '0s' }, { name: 'v6only-warnings', kind: 'finding', minSeverity: 'warning', rules: ['bindv6only-set'], groupWait: '0s' }],
        receivers: [{ name: 'ops', type: 'webhook', url: 'http://127.0.0.1:9/hook' }],
      };

      test('a new critical finding fires once with its fix, and resolves when the finding does', async (t) => {
        const a = await setup(t, backend, config);
        await a.report(0, 'web-2', 'dual-stack-services');
        await a.evaluate(S);
        assert.equal((await a.outbox()).length, 0, 'warnings and infos only: nothing at critical');

        await a.report(M, 'web-2', 'no-ipv6-default');
        for (let s = M + S; s < 10 * M; s += M) {
          await a.report(s, 'web-2', 'no-ipv6-default');
          await a.evaluate(s);
        }
        let outbox = (await a.outbox());
        assert.equal(outbox.length, 1, 'one notification, however many evaluations see it');
        const alert = outbox[0]!.notification.alerts[0]!;
        assert.deepEqual(alert.labels, { alertname: 'finding', severity: 'critical', host: 'web-2', rule: 'ipv6-unroutable', subject: 'host' });
        assert.match(alert.summary, /^web-2\.example: The host has 2001:db8:1::2, 2001:db8:1::3 but the kernel answers ENETUNREACH/);
        assert.match(alert.fix, /^Add a default route via your IPv6 router.*\n# ip -6 route add default via <IPv6-gateway> dev veth0/s);

        await a.report(10 * M, 'web-2', 'dual-stack-services');
        await a.evaluate(10 * M + S);
        outbox = (await a.outbox());
        assert.equal(outbox.length, 2);
        assert.deepEqual(outbox[1]!.notification.alerts.map((x) => [x.labels.rule, x.status]), [['ipv6-unroutable', 'resolved']]);
      });

      test('a rule filtered by finding rule id and a lower severity sees only those', async (t) => {
        const a = await setup(t, backend, config);
        await a.report(0, 'b1', 'bindv6only');
        await a.evaluate(S);
        const live = await a.alertStore.liveAlerts();
        assert.deepEqual(live.map((x) => [x.rule, x.labels.rule, x.labels.severity]), [['v6only-warnings', 'bindv6only-set', 'warning']]);
      });
    });

    describe('service-regressed', () => {
      const config: AlertsConfig = {
        rules: [{ name: 'service-regressed', groupWait: '0s', groupInterval: '0s', forgetAfter: '2h' }],
        receivers: [{ name: 'ops', type: 'webhook', url: 'http://127.0.0.1:9/hook' }],
      };

      test('a dual-stack service that turns single-family or disappears fires; dual-stack again resolves; an old regression is forgotten', async (t) => {
        const a = await setup(t, backend, config);
        const base = await a.report(0, 'svc-1');
        await a.evaluate(S);
        assert.equal((await a.outbox()).length, 0, 'the first look only remembers what is dual-stack');

        // apache2 on tcp/80 loses IPv6 (with the finding that says how to fix it); nginx on 8080 is gone.
        const apache = base.services.find((s) => s.port === 80)!;
        const v4only: Service = { ...apache, mode: 'ipv4-only', ipv6: 'none', bindings: apache.bindings.map((b) => ({ ...b, address: '0.0.0.0', family: 4 as const })) };
        const services = base.services.filter((s) => s.port !== 8080 && s.port !== 80).concat(v4only);
        const ipv4Only = { ...finding('service-ipv4-only', 'tcp/80'), fix: { summary: 'Make apache2 listen on [::]:80 too.', commands: ['Listen [::]:80', 'systemctl restart apache2'] } };
        await a.report(M, 'svc-1', 'dual-stack-services', { services, findings: [...base.findings, ipv4Only] });
        await a.evaluate(M + S);
        let outbox = (await a.outbox());
        assert.equal(outbox.length, 1);
        const alerts = outbox[0]!.notification.alerts;
        assert.deepEqual(alerts.map((x) => x.labels), [
          { alertname: 'service-regressed', severity: 'warning', host: 'svc-1', service: 'tcp/80 apache2' },
          { alertname: 'service-regressed', severity: 'warning', host: 'svc-1', service: 'tcp/8080 nginx' },
        ]);
        assert.match(alerts[0]!.summary, /^tcp\/80 apache2 on svc-1\.example was dual-stack \(dual-mapped\) and is now ipv4-only/);
        assert.equal(alerts[0]!.fix, 'Make apache2 listen on [::]:80 too.\nListen [::]:80\nsystemctl restart apache2', 'the fix of the open finding about that service');
        assert.match(alerts[1]!.summary, /tcp\/8080 nginx on svc-1\.example was dual-stack \(dual-separate\) and is now gone/);
        assert.match(outbox[0]!.notification.summary, /2 services no longer dual-stack/);

        // apache2 is dual-stack again: resolved. nginx stays gone until the regression is 2 h old.
        await a.report(10 * M, 'svc-1', 'dual-stack-services', { services: base.services.filter((s) => s.port !== 8080) });
        await a.evaluate(10 * M + S);
        outbox = (await a.outbox());
        assert.deepEqual(outbox[1]!.notification.alerts.map((x) => [x.labels.service, x.status]), [['tcp/80 apache2', 'resolved']]);
        await a.evaluate(M + 2 * H);
        assert.equal((await a.outbox()).length, 2);
        await a.evaluate(M + 2 * H + 2 * S);
        outbox = (await a.outbox());
        assert.deepEqual(outbox[2]!.notification.alerts.map((x) => [x.labels.service, x.status]), [['tcp/8080 nginx', 'resolved']], 'accepted after forgetAfter');
        const [snapshot] = await a.rows<{ n: number }>('SELECT count(*) AS n FROM alert_service_snapshot WHERE port = 8080');
        assert.equal(Number(snapshot!.n), 0, 'and no longer tracked');
      });
    });

    describe('fleet-readiness-drop', () => {
      const config: AlertsConfig = {
        rules: [{ name: 'fleet-readiness-drop', points: 10, groupWait: '0s', groupInterval: '0s', resetAfter: '6h', repeatInterval: '1d' }],
        receivers: [{ name: 'ops', type: 'webhook', url: 'http://127.0.0.1:9/hook' }],
      };

      test('a drop of more than X points against the previous evaluation fires, is held while it lasts, resolves on recovery', async (t) => {
        const a = await setup(t, backend, config, { staleAfterSeconds: 3600 });
        for (let i = 0; i < 10; i++) await a.report(0, `r${i}`, 'dual-stack-services');
        await a.evaluate(S);
        assert.equal((await a.outbox()).length, 0);
        const refs = await a.alertStore.readinessReferences();
        assert.deepEqual(refs.map((r) => [r.metric, r.value]).sort(), [['dual-stack-services', 5 / 9], ['ipv6-routable', 1]]);

        // One host loses its IPv6 route: 90%, a drop of exactly 10 points is not more than 10.
        await a.report(M, 'r0', 'no-ipv6-default');
        await a.evaluate(M + S);
        assert.equal((await a.outbox()).length, 0);
        // Two more: 70% against the previous evaluation's 90%: 20 points.
        await a.report(2 * M, 'r1', 'no-ipv6-default');
        await a.report(2 * M, 'r2', 'no-ipv6-default');
        await a.evaluate(2 * M + S);
        let outbox = (await a.outbox());
        assert.equal(outbox.length, 1);
        assert.equal((await a.store.summary(new Date(T0 + 2 * M + S))).ipv6RoutableShare, 0.7, 'the share as the summary shows it');
        const alert = outbox[0]!.notification.alerts[0]!;
        assert.deepEqual(alert.labels, { alertname: 'fleet-readiness-drop', severity: 'warning', metric: 'ipv6-routable' });
        assert.match(alert.summary, /the share of fresh hosts whose kernel routes global IPv6 fell from 90% \(at .*\) to 70%, 20\.0 points, more than the 10 allowed/);
        assert.match(alert.fix, /GET \/api\/v1\/hosts\?rule=ipv6-unroutable/);

        // The next evaluation sees the same 70%: the reference is held at 90%, still firing.
        await a.evaluate(3 * M);
        assert.equal((await a.outbox()).length, 1);
        assert.deepEqual((await a.alertStore.liveAlerts()).map((x) => x.state.status), ['firing']);
        // Recovery to 90%: within 10 points of the held reference: resolved.
        await a.report(4 * M, 'r1', 'dual-stack-services');
        await a.report(4 * M, 'r2', 'dual-stack-services');
        await a.evaluate(4 * M + S);
        outbox = (await a.outbox());
        assert.deepEqual(outbox[1]!.notification.alerts.map((x) => x.status), ['resolved']);
      });

      test('a drop that lasts resetAfter becomes the new reference: resolved, quiet afterwards', async (t) => {
        const a = await setup(t, backend, config, { staleAfterSeconds: 24 * 3600 });
        for (let i = 0; i < 4; i++) await a.report(0, `q${i}`, 'dual-stack-services');
        await a.evaluate(S);
        await a.report(M, 'q0', 'no-ipv6-default');
        await a.evaluate(M + S);
        assert.equal((await a.outbox()).length, 1, '75%: 25 points down');
        await a.evaluate(M + S + 6 * H - S);
        assert.equal((await a.outbox()).length, 1, 'still held just before resetAfter');
        await a.evaluate(M + S + 6 * H);
        const outbox = (await a.outbox());
        assert.deepEqual(outbox[1]!.notification.alerts.map((x) => x.status), ['resolved']);
        await a.evaluate(7 * H);
        assert.equal((await a.outbox()).length, 2);
        const ref = (await a.alertStore.readinessReferences()).find((r) => r.metric === 'ipv6-routable')!;
        assert.deepEqual([ref.value, ref.dropSince], [0.75, null]);
      });

      test('too few fresh hosts: no comparison at all', async (t) => {
        const a = await setup(t, backend, { ...config, rules: [{ name: 'fleet-readiness-drop', minHosts: 5, groupWait: '0s' }] });
        for (let i = 0; i < 4; i++) await a.report(0, `m${i}`, 'dual-stack-services');
        await a.evaluate(S);
        await a.report(M, 'm0', 'no-ipv6-default');
        await a.evaluate(M + S);
        assert.equal((await a.outbox()).length, 0);
        assert.deepEqual(await a.alertStore.readinessReferences(), []);
      });
    });

    describe('evaluation', () => {
      test('the outbox is written in the same transaction as the state change: a failed write leaves neither', async (t) => {
        const a = await setup(t, backend, { ...hostStaleOnly, rules: [{ name: 'host-stale', interval: '1m', groupWait: '0s' }] });
        await a.report(0, 'tx-1');
        await a.exec(
          backend.name === 'sqlite'
            ? "CREATE TRIGGER refuse_outbox BEFORE INSERT ON alert_outbox BEGIN SELECT RAISE(ABORT, 'outbox refused by the test'); END"
            : `CREATE FUNCTION refuse_outbox() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'outbox refused by the test'; END $$;
               CREATE TRIGGER refuse_outbox BEFORE INSERT ON alert_outbox FOR EACH ROW EXECUTE FUNCTION refuse_outbox()`,
        );
        const failed = await a.service.evaluate(new Date(T0 + 4 * M));
        assert.match(failed.error ?? '', /outbox refused by the test/);
        assert.deepEqual(await a.alertStore.liveAlerts(), [], 'no state without its notification');
        assert.equal((await a.alertStore.history({ limit: 10, offset: 0 })).total, 0);
        const recorded = await a.alertStore.lastEvaluation();
        assert.equal(recorded?.error, failed.error, 'the failed evaluation is recorded with its error');

        await a.exec(backend.name === 'sqlite' ? 'DROP TRIGGER refuse_outbox' : 'DROP TRIGGER refuse_outbox ON alert_outbox');
        const ok = await a.evaluate(5 * M);
        assert.equal(ok.transitions, 1);
        assert.equal(ok.notifications, 1);
        assert.equal((await a.outbox()).length, 1);
        assert.equal((await a.alertStore.liveAlerts()).length, 1);
      });

      test('each evaluation is recorded with its duration and counts', async (t) => {
        const a = await setup(t, backend, hostStaleOnly);
        await a.report(0, 'd1');
        const result = await a.evaluate(16 * M);
        const recorded = await a.alertStore.lastEvaluation();
        assert.ok(recorded);
        assert.equal(recorded.startedAt, new Date(T0 + 16 * M).toISOString());
        assert.ok(recorded.durationMs > 0 && recorded.durationMs < 5000);
        assert.deepEqual([recorded.active, recorded.transitions, recorded.notifications, recorded.error], [1, 1, 0, null]);
        assert.equal(result.durationMs, recorded.durationMs);
      });

      test('routes send each rule to its receivers only; a rule without a route is evaluated but sent nowhere', async (t) => {
        const a = await setup(t, backend, {
          rules: [{ name: 'host-stale', interval: '1m', groupWait: '0s' }, { name: 'finding', groupWait: '0s' }],
          receivers: [
            { name: 'pager', type: 'webhook', url: 'http://127.0.0.1:9/pager' },
            { name: 'am', type: 'alertmanager', url: 'http://127.0.0.1:9' },
          ],
          route: [{ rules: ['finding'], receivers: ['pager', 'am'] }],
        });
        await a.report(0, 'rt-1', 'no-ipv6-default');
        await a.evaluate(5 * M);
        const outbox = (await a.outbox());
        assert.deepEqual(outbox.map((o) => [o.rule, o.receiver]), [['finding', 'pager'], ['finding', 'am']]);
        assert.deepEqual((await a.alertStore.liveAlerts()).map((x) => x.rule).sort(), ['finding', 'host-stale']);
        const hostStale = (await a.alertStore.liveAlerts()).find((x) => x.rule === 'host-stale')!;
        assert.equal(hostStale.state.notifiedStatus, 'firing', 'its group was notified (to no receiver)');
      });

      test('prune: old history, evaluations, finished outbox entries and settled alerts go; live alerts and pending entries stay', async (t) => {
        const a = await setup(t, backend, { ...hostStaleOnly, rules: [{ name: 'host-stale', interval: '1m', groupWait: '0s', groupInterval: '0s' }] });
        await a.report(0, 'p1');
        await a.report(0, 'p2');
        await a.evaluate(5 * M); // both fire, one notification
        await a.report(6 * M, 'p1');
        await a.evaluate(6 * M); // p1 resolves, one notification
        await a.exec(`UPDATE alert_outbox SET status = 'delivered', finished_at = '${new Date(T0 + 5 * M).toISOString()}' WHERE id = 1`);
        const removed = await a.service.prune(new Date(T0 + 10 * M));
        const count = async (table: string) => Number((await a.rows<{ n: number }>(`SELECT count(*) AS n FROM ${table}`))[0]!.n);
        assert.equal(await count('alert_events'), 0);
        assert.equal(await count('alert_evaluations'), 0);
        assert.deepEqual((await a.outbox()).map((o) => o.status), ['pending'], 'the delivered entry went, the pending one stays');
        assert.deepEqual((await a.alertStore.listAlerts(new Date(0))).map((x) => [x.labels.host, x.state.status]), [['p2', 'firing']]);
        assert.equal(removed, 3 + 2 + 1 + 1);
      });

      test('alerts of a rule removed from the configuration are resolved quietly', async (t) => {
        const db = await (await backend.database(t)).open();
        t.after(() => db.close());
        const { store, alertStore } = db;
        await store.ingestReport(reportFrom('dual-stack-services', { hostId: 'gone-1', collectedAt: new Date(T0) }), { receivedAt: new Date(T0).toISOString(), tokenId: null, bytes: 1 });
        const first = new AlertService({ store: alertStore, settings: resolveAlerts({ rules: [{ name: 'host-stale', interval: '1m', groupWait: '0s' }] }) });
        await first.evaluate(new Date(T0 + 5 * M));
        assert.equal((await alertStore.liveAlerts()).length, 1);
        const second = new AlertService({ store: alertStore, settings: resolveAlerts({ rules: [] }) });
        const result = await second.evaluate(new Date(T0 + 6 * M));
        assert.equal(result.error, null);
        assert.deepEqual(await alertStore.liveAlerts(), []);
        const history = await alertStore.history({ limit: 1, offset: 0 });
        assert.match(history.items[0]!.summary, /rule host-stale is no longer configured/);
      });
    });

    describe('duplicate-identity', () => {
      const config: AlertsConfig = {
        rules: [{ name: 'duplicate-identity', groupWait: '0s', groupInterval: '0s' }],
        receivers: [{ name: 'ops', type: 'webhook', url: 'http://127.0.0.1:9/hook' }],
      };
      const enroll = (a: Awaited<ReturnType<typeof setup>>, hostId: string, hostname: string, peer: string) =>
        a.store.enrollHost({ secretId: null, hostId, hostname, facts: {}, peer, hash: `hash-${hostname}-${peer}` });

      test('a host id enrolled by a second machine fires with the clone, the time and the fix; revoking or accepting the pending key resolves it', async (t) => {
        const a = await setup(t, backend, config);
        assert.equal((await enroll(a, 'web-1', 'web-1.enrolled', '192.0.2.10')).state, 'live');
        await a.report(0, 'web-1');
        await a.evaluate(S);
        assert.equal((await a.outbox()).length, 0, 'one machine per host id: nothing');

        const clone = await enroll(a, 'web-1', 'web-1-clone.example', '192.0.2.99');
        assert.equal(clone.state, 'pending');
        await a.evaluate(M);
        await a.evaluate(2 * M);
        let outbox = (await a.outbox());
        assert.equal(outbox.length, 1, 'told once, however many evaluations see it');
        const fired = outbox[0]!.notification.alerts[0]!;
        assert.equal(fired.status, 'firing');
        assert.deepEqual(fired.labels, { alertname: 'duplicate-identity', severity: 'warning', host: 'web-1' });
        assert.match(fired.summary, new RegExp(`^web-1\\.example \\(web-1\\): 1 other machine\\(s\\) enrolled with its host id since ${clone.createdAt}.*web-1-clone\\.example from 192\\.0\\.2\\.99 at ${clone.createdAt} \\(key ${clone.keyId}\\)`));
        assert.match(fired.fix, /rm \/etc\/machine-id && systemd-machine-id-setup; rm -f \/var\/lib\/dualstack\/host\.key \/var\/lib\/dualstack\/spool\/\*\.json/);
        assert.match(fired.fix, new RegExp(`host revoke web-1 ${clone.keyId}\\. .*host accept web-1 ${clone.keyId}\\.`));
        assert.equal(fired.annotations.since, clone.createdAt);
        assert.equal(fired.annotations.hostname, 'web-1.example', "the name of the host's reports, before what its agent said when enrolling");
        assert.match(outbox[0]!.notification.summary, /^\[duplicate-identity\] 1 host id enrolled by more than one machine: duplicate identity: web-1\.example$/);

        // The clone fixed: its pending key revoked. The host's own key stays live.
        const revoked = await a.store.revokeHostKey('web-1', clone.keyId);
        assert.ok(revoked.ok && revoked.live?.hostname === 'web-1.enrolled' && revoked.revoked?.id === clone.keyId);
        await a.evaluate(3 * M);
        outbox = (await a.outbox());
        assert.equal(outbox.length, 2);
        assert.deepEqual(outbox[1]!.notification.alerts.map((x) => [x.labels.host, x.status]), [['web-1', 'resolved']]);

        // A replacement machine: pending again, then accepted as the live key: resolved again.
        const replacement = await enroll(a, 'web-1', 'web-1-new.example', '192.0.2.11');
        await a.evaluate(4 * M);
        assert.deepEqual((await a.outbox()).slice(2).map((o) => o.notification.alerts.map((x) => x.status)), [['firing']]);
        assert.ok((await a.store.acceptHostKey('web-1', replacement.keyId)).ok);
        await a.evaluate(5 * M);
        assert.deepEqual((await a.outbox()).slice(3).map((o) => o.notification.alerts.map((x) => [x.labels.host, x.status])), [[['web-1', 'resolved']]]);
      });

      test('one alert per host id, listing every pending key; a host id that never reported is named by what its agent said', async (t) => {
        const a = await setup(t, backend, config);
        await enroll(a, 'db-1', 'db-1.example', '198.51.100.1');
        const first = await enroll(a, 'db-1', 'db-1.example', '198.51.100.2');
        const second = await enroll(a, 'db-1', 'db-1.example', '198.51.100.3');
        await enroll(a, 'quiet', 'quiet.example', '198.51.100.4');
        await a.evaluate(S);
        const live = await a.alertStore.liveAlerts();
        assert.deepEqual(live.map((x) => [x.labels.host, x.state.status]), [['db-1', 'firing']]);
        // Keys are listed by creation time, then id: two enrolled in the same millisecond come in
        // id order, so the two are compared as a set.
        const pending = live[0]!.annotations.pendingKeys!.split(' ');
        assert.deepEqual([...pending].sort(), [first.keyId, second.keyId].sort());
        assert.match(live[0]!.annotations.summary!, /^db-1\.example \(db-1\): 2 other machine\(s\)/);
        assert.match(live[0]!.annotations.fix!, new RegExp(`host accept db-1 ${pending[0]}\\|${pending[1]}`));
      });
    });
  });
}
