// Issue 12, proven in namespaces: published endpoints behind a real dnsmasq, a real haproxy
// and real nginx/sshd backends (test/helpers/endpoint-topology.ts), seen from a dual-stack and
// an IPv6-only vantage point. First the topology itself is checked with the oracle (dig, nc,
// curl, openssl s_client in each prober namespace): every scenario really does what its table
// row says, for each family, and the issue's rules judged from those observations alone give
// the row's findings. Then the real collector and agents run in it: GET /api/v1/endpoints/:name
// gives exactly the row's findings, with the vantage points as evidence, and every address's
// outcome, certificate and banner as the oracle saw them.
//
// Run: node scripts/run-tests.mjs test/netns/endpoints   (root, dnsmasq-base, haproxy, nginx,
// openssh-server, curl, netcat-openbsd, bind9-dnsutils; skipped otherwise, failed under CI)
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { EndpointSpec, Finding, ProbeAttempt, EndpointProbe } from '../../packages/core/src/index.js';
import { rootSkipReason, waitFor, type Netns } from '../helpers/netns.js';
import { skipUnlessCommands } from '../helpers/requirements.js';
import { ENDPOINT_COMMANDS, SBIN_PATH } from '../helpers/endpoint-daemons.js';
import {
  BLACKHOLE6,
  ROUTER_ON_P6,
  ROUTER_ON_PD,
  ROUTER_ON_WEB,
  SCENARIOS,
  SSH_OTHER_ADDENDUM,
  WEB6,
  WEB_BACKEND_HOSTNAME,
  endpointTopology,
  type AddressTruth,
  type EndpointScenario,
  type EndpointTopology,
} from '../helpers/endpoint-topology.js';
import { certificateFacts, curlStatus, findingsByOracle, observe, type Observed, type Seen } from '../helpers/endpoint-oracle.js';
import { AGENT_CLI, spawnNode, startCollectorIn, type NamespacedCollector } from '../helpers/endpoint-collector.js';

const skip = rootSkipReason() || skipUnlessCommands(ENDPOINT_COMMANDS, SBIN_PATH);

/** The per-attempt budget the collector hands the vantage points: the blackholed address takes all of it. */
const PROBE_TIMEOUT_MS = 3000;

describe('published endpoints in namespaces (issue 12)', { skip }, () => {
  let topo: EndpointTopology;
  /** observed.get(ns.name).get(scenario id), filled once: the oracle is slow (nc waits out banners and the blackhole). */
  const observed = new Map<string, Map<string, Observed>>();
  /** The oracle reached the no-aaaa scenario's backend over IPv6 directly. */
  let backendServesIpv6 = false;
  const byOracle = (s: EndpointScenario) =>
    findingsByOracle(
      [
        { observed: observed.get(topo.pd.name)!.get(s.id)!, ipv4: true },
        { observed: observed.get(topo.p6.name)!.get(s.id)!, ipv4: false },
      ],
      s.backends !== undefined && backendServesIpv6,
    );

  before(async () => {
    topo = await endpointTopology();
    for (const ns of [topo.pd, topo.p6]) {
      const byScenario = new Map<string, Observed>();
      await Promise.all(SCENARIOS.map(async (s) => byScenario.set(s.id, await observe(ns, s, topo.certs.caFile))));
      observed.set(ns.name, byScenario);
    }
    backendServesIpv6 = (await curlStatus(topo.pd, 'noaaaa.example.net', WEB6, 443, topo.certs.caFile)).status === 200;
  });
  after(async () => {
    await topo?.destroy();
  });

  test('the topology does what each scenario says, per family and vantage point (dig, nc, curl, openssl s_client)', () => {
    const main = certificateFacts(topo.certs.main.cert).fingerprint256;
    const other = certificateFacts(topo.certs.other.cert).fingerprint256;
    assert.notEqual(main, other);
    const expectSeen = (s: EndpointScenario, truth: AddressTruth, routed: boolean): Partial<Seen> => {
      if (!routed) return { reach: 'unreachable' };
      if (truth === 'refused') return { reach: 'refused' };
      if (truth === 'blackhole') return { reach: 'timeout' };
      if (s.url.startsWith('ssh:')) return { reach: 'ok' };
      return { reach: 'ok', status: 200, fingerprint: truth === 'main' ? main : other };
    };
    assert.equal(backendServesIpv6, true, `the web backend serves 443 over IPv6 at ${WEB6}`);
    for (const [ns, hasV4] of [[topo.pd, true], [topo.p6, false]] as const) {
      for (const s of SCENARIOS) {
        const { a, aaaa, seen: seenAt } = observed.get(ns.name)!.get(s.id)!;
        const where = `${s.id} from ${ns.name}`;
        assert.equal(a.rcode, s.id === 'unresolvable' ? 'NXDOMAIN' : 'NOERROR', where);
        assert.equal(aaaa.rcode, a.rcode, where);
        assert.deepEqual(a.addresses, Object.keys(s.a).sort(), `${where}: A`);
        assert.deepEqual(aaaa.addresses, Object.keys(s.aaaa).sort(), `${where}: AAAA`);
        assert.deepEqual(aaaa.cnames, s.cnameTo ? [s.cnameTo] : [], `${where}: CNAME`);
        for (const [family, records, routed] of [[4, s.a, hasV4], [6, s.aaaa, true]] as const) {
          for (const [address, truth] of Object.entries(records)) {
            const seen = seenAt.get(address)!;
            const expected = expectSeen(s, truth, routed);
            assert.deepEqual(Object.fromEntries(Object.keys(expected).map((k) => [k, seen[k as keyof Seen]])), expected, `${where}: IPv${family} ${address} (${truth})`);
            if (seen.banner !== undefined) {
              assert.match(seen.banner ?? '', /^SSH-2\.0-OpenSSH_/, `${where}: ${address} greets as SSH`);
              assert.equal(seen.banner?.endsWith(` ${SSH_OTHER_ADDENDUM}`), truth === 'other', `${where}: ${address} banner ${seen.banner}`);
            }
          }
        }
      }
    }
    // The issue's rules, judged from what the oracle saw, give each row's findings.
    for (const s of SCENARIOS) assert.deepEqual(byOracle(s), [...s.findings].sort(), `${s.id}: the oracle's findings`);
  });

  describe('the collector and two vantage points', () => {
    const VANTAGES = [
      { id: 'vantage-dual', ns: () => topo.pd, router: ROUTER_ON_PD[6], ipv4: true },
      { id: 'vantage-v6only', ns: () => topo.p6, router: ROUTER_ON_P6, ipv4: false },
    ] as const;
    let collector: NamespacedCollector;
    interface Detail {
      vantages: Array<{ hostId: string; hostname: string; ipv4: { verdict: string }; ipv6: { verdict: string }; probe: EndpointProbe }>;
      findings: Finding[];
      backends: Array<{ declared: string; found: boolean; ipv6: boolean | null }>;
    }
    const details = new Map<string, Detail>();

    before(async () => {
      const endpoints: EndpointSpec[] = SCENARIOS.map((s) => ({ name: s.name, url: s.url, ...(s.backends ? { backends: s.backends } : {}) }));
      collector = await startCollectorIn(topo.router, join(topo.dir, 'collector'), { endpoints, probeTimeoutMs: PROBE_TIMEOUT_MS, agents: [WEB_BACKEND_HOSTNAME, ...VANTAGES.map((v) => v.id)] });
      // The backend reports what it serves (nginx on [::]:443 and 0.0.0.0:443) under the hostname the endpoint's backends: names.
      const push = spawnNode(topo.web, 'push', AGENT_CLI, ['push', '--collector', collector.urlVia(ROUTER_ON_WEB[6]), '--token-file', collector.tokenFile(WEB_BACKEND_HOSTNAME),
        '--spool', join(topo.dir, 'web-spool'), '--host-id', WEB_BACKEND_HOSTNAME, '--hostname', WEB_BACKEND_HOSTNAME]);
      assert.equal(await push.exited, 0, push.output());
      assert.match(push.output(), /delivered report/, push.output());
      // The vantage points: agents with --probe, trusting the test CAs as an operator's private CA.
      const agents = VANTAGES.map((v) =>
        spawnNode(v.ns(), v.id, AGENT_CLI, ['run', '--probe', '--collector', collector.urlVia(v.router), '--token-file', collector.tokenFile(v.id),
          '--spool', join(topo.dir, `${v.id}-spool`), '--host-id', v.id, '--hostname', v.id, '--interval', '5m', '--probe-interval', '10s'], { NODE_EXTRA_CA_CERTS: topo.certs.caFile }),
      );
      try {
        // One batch per vantage point holds every endpoint: once both are in for one, they are for all.
        await waitFor(
          async () => {
            const r = await collector.get<Detail>(`/api/v1/endpoints/${SCENARIOS[0]!.name}`);
            return r.status === 200 && VANTAGES.every((v) => r.body.vantages.some((x) => x.hostId === v.id));
          },
          { timeoutMs: 60_000, intervalMs: 250, message: `both vantage points' probe batches\n${agents.map((a) => `--- ${a.name}\n${a.output()}`).join('\n')}\n--- collector\n${collector.proc.output()}` },
        );
      } finally {
        await Promise.all(agents.map((a) => a.stop()));
      }
      for (const s of SCENARIOS) {
        const r = await collector.get<Detail>(`/api/v1/endpoints/${s.name}`);
        assert.equal(r.status, 200, JSON.stringify(r.body));
        details.set(s.id, r.body);
      }
    });
    after(async () => {
      await collector?.stop();
    });

    for (const s of SCENARIOS) {
      test(`${s.id}: GET /api/v1/endpoints/${s.name} gives ${s.findings.join(', ') || 'no finding'}, agreeing with the oracle`, () => {
        const d = details.get(s.id)!;
        assert.deepEqual(d.findings.map((f) => f.rule).sort(), [...s.findings].sort(), JSON.stringify(d.findings, null, 1));
        assert.deepEqual(d.findings.map((f) => f.rule).sort(), byOracle(s), 'the collector and the oracle agree');
        for (const f of d.findings) {
          assert.equal(f.subject, s.name);
          // The evidence names the vantage points that saw it: both, except where only the dual-stack one can compare the families.
          const named = VANTAGES.filter((v) => f.evidence.some((line) => line.startsWith(`${v.id},`))).map((v) => v.id);
          const expected = f.rule === 'endpoint-family-differs' ? ['vantage-dual'] : VANTAGES.map((v) => v.id);
          assert.deepEqual(named, expected, `${f.rule} evidence: ${f.evidence.join(' | ')}`);
        }
        // Every address as the oracle saw it from the same namespace: outcome, certificate, banner.
        for (const v of VANTAGES) {
          const view = d.vantages.find((x) => x.hostId === v.id);
          assert.ok(view, `${v.id} probed ${s.name}`);
          const o = observed.get(v.ns().name)!.get(s.id)!;
          assert.equal(view.ipv4.verdict === 'untested', !v.ipv4 && o.a.addresses.length > 0, `${v.id} IPv4 verdict ${view.ipv4.verdict}`);
          const dnsStatus = (x: Observed['a']) => (x.rcode === 'NXDOMAIN' ? 'nxdomain' : x.addresses.length ? 'ok' : 'nodata');
          assert.equal(view.probe.dns.a.status, dnsStatus(o.a), `${v.id} A`);
          assert.equal(view.probe.dns.aaaa.status, dnsStatus(o.aaaa), `${v.id} AAAA`);
          assert.deepEqual(view.probe.dns.aaaa.cname, o.aaaa.cnames, `${v.id} CNAME chain`);
          for (const [address, seen] of o.seen) {
            const attempts: ProbeAttempt[] = view.probe.attempts.filter((a) => a.address === address);
            // Without a route for the family, the prober may not try at all (untested either way).
            if (seen.reach === 'unreachable' && attempts.length === 0) continue;
            assert.equal(attempts.length, 1, `${v.id} ${address}: one attempt`);
            const attempt = attempts[0]!;
            assert.equal(attempt.outcome, seen.reach, `${v.id} ${address}: ${JSON.stringify(attempt)}`);
            if (seen.fingerprint) assert.equal(attempt.tls?.fingerprint256, seen.fingerprint, `${v.id} ${address}: the certificate openssl saw`);
            if (seen.status) assert.equal(attempt.http?.status, seen.status, `${v.id} ${address}: the status curl got`);
            if (seen.banner) assert.equal(attempt.banner, seen.banner, `${v.id} ${address}: the banner nc read`);
            if (address === BLACKHOLE6) assert.ok(attempt.totalMs >= PROBE_TIMEOUT_MS * 0.9, `the blackholed address ends at the ${PROBE_TIMEOUT_MS} ms budget, not before: ${attempt.totalMs}`);
          }
        }
        if (s.backends) assert.deepEqual(d.backends.map((b) => [b.declared, b.found, b.ipv6]), s.backends.map((b) => [b, true, true]), 'the backend as its own report shows it');
      });
    }
  });
});
