// The firewall source's privileges, checked against the kernel: a host namespace with a real
// nftables rule set (an inet table, policy drop, ports 22 and 25 accepted) and a real legacy
// iptables rule (`iptables-legacy -A INPUT -p tcp --dport 25 -j DROP`: IPv4 only), root-owned
// listeners on 22, 25 and 8080 (0.0.0.0 and [::] V6ONLY=1), and the built agent
// (packages/agent/dist/cli.js) scanning from inside it as an unprivileged user (nobody)
// through setpriv, holding:
//   (a) exactly the capabilities of deploy/systemd/dualstack-agent.service: the firewall is
//       not read, and every verdict says so instead of guessing;
//   (b) those plus the drop-in's (deploy/systemd/dualstack-agent.service.d/firewall.conf):
//       the verdicts the rules give, the same as root's;
//   (c) the unit's plus CAP_NET_ADMIN without CAP_NET_RAW: nft lists its rule set but
//       iptables-legacy-save is refused ("Permission denied (you must be root)", it opens a
//       raw socket); the legacy rule still drops IPv4 on 25, so the report must say the legacy
//       tables were not read, not judge from nftables alone.
// The capability lists are parsed from the two files, so the test follows them.
//
// Needs root, ip, ss, setpriv, nft, iptables-legacy and a build (npx turbo run build).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { FamilyFirewall, Report } from '../../packages/core/src/index.js';
import { validateReport } from '../../packages/core/src/schema.js';
import { rootSkipReason, startListeners, type Listeners, type Netns } from '../helpers/netns.js';
import { skipUnlessCommands } from '../helpers/requirements.js';
import { HOST4, HOST6, twoHosts, type TwoHosts } from '../helpers/scenarios.js';
import { capabilities, capEffMask, NOBODY, setprivAs } from '../helpers/unit-capabilities.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const UNIT = join(REPO, 'deploy/systemd/dualstack-agent.service');
const DROP_IN = join(REPO, 'deploy/systemd/dualstack-agent.service.d/firewall.conf');
const CLI = join(REPO, 'packages/agent/dist/cli.js');
const NOT_PERMITTED = 'firewall not read (needs CAP_NET_ADMIN: see docs/firewall.md)';
const LEGACY_NOT_PERMITTED = 'legacy iptables tables not read: iptables-legacy-save refused (needs CAP_NET_RAW besides CAP_NET_ADMIN: see docs/firewall.md)';
const [OPEN, LEGACY_DROPPED, CLOSED] = [22, 25, 8080];
const PORTS = [OPEN, LEGACY_DROPPED, CLOSED];

const skip = rootSkipReason() || skipUnlessCommands({ setpriv: 'util-linux', ss: 'iproute2', nft: 'nftables', 'iptables-legacy': 'iptables', 'iptables-legacy-save': 'iptables' });

const FIREWALL_RULES = /^firewall-/;
const exposed = (reach: string) => reach === 'any' || reach === 'addresses';

describe('the firewall source as an unprivileged user with the unit (and drop-in) capabilities', { skip }, () => {
  let pair: TwoHosts;
  let host: Netns;
  let listeners: Listeners;
  const unitCaps = skip ? [] : capabilities([UNIT], 'AmbientCapabilities');
  const withDropIn = skip ? [] : capabilities([UNIT, DROP_IN], 'AmbientCapabilities');
  const dropInOnly = skip ? [] : capabilities([DROP_IN], 'AmbientCapabilities');

  before(async () => {
    pair = await twoHosts('fwcaps');
    host = pair.host;
    const nft = await host.exec('nft', ['-f', '-'], {
      input: `table inet filter {
  chain input {
    type filter hook input priority filter; policy drop;
    ct state established,related accept
    iifname "lo" accept
    icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, packet-too-big } accept
    tcp dport { ${OPEN}, ${LEGACY_DROPPED} } accept
  }
}
`,
    });
    assert.equal(nft.code, 0, nft.stderr);
    const legacy = await host.exec('iptables-legacy', ['-A', 'INPUT', '-p', 'tcp', '--dport', String(LEGACY_DROPPED), '-j', 'DROP']);
    assert.equal(legacy.code, 0, legacy.stderr);
    listeners = await startListeners(
      host,
      PORTS.flatMap((port) => [
        { proto: 'tcp' as const, address: '0.0.0.0', port, title: 'rootd' },
        { proto: 'tcp' as const, address: '::', port, ipv6Only: true, title: 'rootd' },
      ]),
    );
  });
  after(async () => {
    await listeners?.stop();
    await pair?.destroy();
  });

  /** The built agent scanning the host namespace as nobody with `caps` ambient, inheritable and bounding, and no_new_privs. */
  async function scanAs(caps: string[]): Promise<{ report: Report; capEff: string }> {
    const setpriv = setprivAs(caps);
    const r = await host.exec('setpriv', [...setpriv, process.execPath, CLI, 'scan', '--json'], { timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr);
    const status = await host.exec('setpriv', [...setpriv, 'sh', '-c', 'grep -E "^(Uid|CapEff):" /proc/self/status']);
    assert.match(status.stdout, new RegExp(`^Uid:\\s+${NOBODY}\\s`, 'm'), 'the agent runs as nobody');
    const v = validateReport(JSON.parse(r.stdout) as unknown);
    assert.ok(v.ok, JSON.stringify(!v.ok && v.problems));
    return { report: v.report, capEff: /CapEff:\s+(\S+)/.exec(status.stdout)![1]! };
  }

  const source = (report: Report) => report.sources.find((s) => s.name === 'firewall')!;
  const service = (report: Report, port: number) => {
    const found = report.services.find((s) => s.proto === 'tcp' && s.port === port);
    assert.ok(found, `tcp ${port} in ${JSON.stringify(report.services.map((s) => s.port))}`);
    return found;
  };
  const verdicts = (report: Report) =>
    Object.fromEntries(PORTS.map((port) => [port, [service(report, port).firewall?.ipv4?.verdict, service(report, port).firewall?.ipv6?.verdict]]));

  /** Not read: every exposed family of every service is unknown, saying `why`, and nothing is concluded from it. */
  function assertNothingGuessed(report: Report, why: string) {
    assert.equal(report.firewall?.read, false);
    assert.equal(report.firewall?.why, why);
    assert.deepEqual(report.firewall?.icmpv6, []);
    let checked = 0;
    for (const s of report.services) {
      for (const [family, reach] of [['ipv4', s.ipv4], ['ipv6', s.ipv6]] as const) {
        const decision: FamilyFirewall | null | undefined = s.firewall?.[family];
        if (!exposed(reach)) continue;
        assert.deepEqual(
          decision && { verdict: decision.verdict, by: decision.by, unmodelled: decision.unmodelled, allowedSources: decision.allowedSources },
          { verdict: 'unknown', by: null, unmodelled: why, allowedSources: [] },
          `${s.proto}/${s.port} ${family}`,
        );
        checked++;
      }
    }
    assert.ok(checked >= PORTS.length * 2, `${checked} verdicts checked`);
    assert.deepEqual(report.findings.filter((f) => FIREWALL_RULES.test(f.rule)).map((f) => `${f.rule} ${f.subject}`), []);
  }

  test('the drop-in adds exactly CAP_NET_ADMIN and CAP_NET_RAW, bounded as granted; the rules are in place', async () => {
    assert.deepEqual(dropInOnly, ['net_admin', 'net_raw']);
    assert.deepEqual(capabilities([DROP_IN], 'CapabilityBoundingSet'), dropInOnly);
    assert.deepEqual(capabilities([UNIT, DROP_IN], 'CapabilityBoundingSet'), withDropIn);
    assert.equal(unitCaps.some((c) => dropInOnly.includes(c)), false, 'the unit alone has neither');
    // Root sees both backends: the scenario is what the cases below assume.
    const saved = await host.exec('iptables-legacy-save', []);
    assert.match(saved.stdout, new RegExp(`^-A INPUT -p tcp -m tcp --dport ${LEGACY_DROPPED} -j DROP$`, 'm'));
    assert.equal(readFileSync(`/proc/${listeners.pid}/status`, 'utf8').match(/^Uid:\s+(\d+)/m)![1], '0', 'the listeners are root-owned');
  });

  test("(a) the unit's capabilities: not read, every verdict unknown saying it needs CAP_NET_ADMIN, no firewall finding", async () => {
    const { report, capEff } = await scanAs(unitCaps);
    assert.equal(capEff, capEffMask(unitCaps));
    assert.deepEqual(source(report), { ...source(report), status: 'partial', detail: NOT_PERMITTED });
    assert.deepEqual(report.firewall?.rulesets, []);
    assertNothingGuessed(report, NOT_PERMITTED);
  });

  test('(b) with the drop-in: both backends read, the verdicts the rules give, the same as root', async () => {
    const { report, capEff } = await scanAs(withDropIn);
    assert.equal(capEff, capEffMask(withDropIn));
    assert.equal(source(report).status, 'ok', JSON.stringify(source(report)));
    assert.equal(report.firewall?.read, true);
    assert.equal(report.firewall?.why, null);
    assert.deepEqual(
      report.firewall?.rulesets.map((r) => [r.backend, r.command, r.tables, r.rules]),
      [['nftables', 'nft -j list ruleset', 1, 4], ['iptables-legacy', 'iptables-legacy-save', 1, 1]],
    );
    assert.deepEqual(verdicts(report), {
      [OPEN]: ['accepted', 'accepted'],
      [LEGACY_DROPPED]: ['dropped', 'accepted'],
      [CLOSED]: ['dropped', 'dropped'],
    });
    const legacyDrop = service(report, LEGACY_DROPPED).firewall!.ipv4!.by!;
    assert.deepEqual([legacyDrop.backend, legacyDrop.chain, legacyDrop.text], ['iptables-legacy', 'INPUT', `-A INPUT -p tcp -m tcp --dport ${LEGACY_DROPPED} -j DROP`]);
    assert.deepEqual([service(report, CLOSED).firewall!.ipv6!.by!.backend, service(report, CLOSED).firewall!.ipv6!.by!.text], ['nftables', 'policy drop']);
    assert.deepEqual(service(report, OPEN).firewall!.ipv4!.interfaces, ['veth0']);
    assert.deepEqual(report.firewall?.icmpv6.map((m) => [m.name, m.verdict]), [['nd-neighbor-solicit', 'accepted'], ['nd-neighbor-advert', 'accepted'], ['packet-too-big', 'accepted']]);
    assert.deepEqual(report.findings.filter((f) => FIREWALL_RULES.test(f.rule)).map((f) => `${f.rule} ${f.subject}`), [`firewall-ipv4-blocked tcp/${LEGACY_DROPPED}`]);
    // Root reads the same: the drop-in's capabilities are all the firewall source needs.
    const asRoot = await host.exec(process.execPath, [CLI, 'scan', '--json'], { timeoutMs: 60_000 });
    assert.equal(asRoot.code, 0, asRoot.stderr);
    const rootReport = JSON.parse(asRoot.stdout) as Report;
    assert.deepEqual(verdicts(report), verdicts(rootReport));
    assert.deepEqual(report.firewall?.rulesets, rootReport.firewall?.rulesets);
    assert.ok([HOST4, HOST6].every((a) => report.addresses.some((x) => x.address === a && x.interface === 'veth0')));
  });

  test('(c) CAP_NET_ADMIN without CAP_NET_RAW: nftables read, the refused legacy tables are said so, no verdict from nftables alone', async () => {
    const caps = withDropIn.filter((c) => c !== 'net_raw');
    assert.ok(caps.includes('net_admin') && !caps.includes('net_raw'));
    // What the agent runs into, as the kernel says it.
    const refused = await host.exec('setpriv', [...setprivAs(caps), 'iptables-legacy-save']);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /Permission denied \(you must be root\)/);

    const { report, capEff } = await scanAs(caps);
    assert.equal(capEff, capEffMask(caps));
    assert.deepEqual(source(report), { ...source(report), status: 'partial', detail: LEGACY_NOT_PERMITTED });
    assert.doesNotMatch(source(report).detail!, /needs CAP_NET_ADMIN:/, 'it has CAP_NET_ADMIN');
    // nftables was listed (and kept for a capture), the legacy tables were not.
    assert.deepEqual(report.firewall?.rulesets.map((r) => [r.backend, r.rules]), [['nftables', 4]]);
    // Judged from nftables alone, IPv4 on 25 would be "accepted": the legacy rule drops it.
    assertNothingGuessed(report, LEGACY_NOT_PERMITTED);
  });
});
