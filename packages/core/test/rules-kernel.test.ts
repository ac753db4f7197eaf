// kernel-ipv6-advisory against the replayed fixtures with the kernel release swapped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernelIpv6Advisory } from '../src/rules/kernel-rules.js';
import type { RuleFacts } from '../src/rules/rule.js';
import { assertRunnableOrCommented, golden, type GoldenName } from './golden-facts.js';

function onKernel(name: GoldenName, release: string | null, edit?: (facts: RuleFacts) => void): RuleFacts {
  const facts = golden(name);
  facts.host.os.kernel = release;
  edit?.(facts);
  return facts;
}

const titles = (facts: RuleFacts) => kernelIpv6Advisory.check(facts).map((f) => f.message);

interface Case {
  name: string;
  facts: () => RuleFacts;
  /** Advisory ids expected, in table order. */
  expect: Array<'default-route' | 'rh0'>;
  check?: (findings: ReturnType<typeof kernelIpv6Advisory.check>) => void;
}

const cases: Case[] = [
  { name: 'the captured kernel (6.18) has no known IPv6 advisory', facts: () => golden('dual-stack-services'), expect: [] },
  {
    name: 'RHEL 5.2 (2.6.18-92.el5): the default-route bug, workaround with the configured gateway and interface',
    facts: () => onKernel('dual-stack-services', '2.6.18-92.el5'),
    expect: ['default-route'],
    check([f]) {
      assert.equal(f!.subject, 'kernel');
      assert.equal(f!.severity, 'warning');
      assert.match(f!.message, /^Kernel 2\.6\.18-92\.el5: Configured IPv6 default route not used/);
      assert.deepEqual(f!.fix.commands.slice(0, 2), ['ip -6 route add ::/1 via 2001:db8:1::1 dev veth0', 'ip -6 route add 8000::/1 via 2001:db8:1::1 dev veth0']);
      assert.match(f!.fix.commands[2]!, /^# keep them across reboots.*route6-veth0/);
      assert.ok(f!.evidence.includes('gateway 2001:db8:1::1 on veth0 from the configured IPv6 default route'));
      assert.ok(f!.evidence.some((e) => e.startsWith('source: ')));
      assert.ok(f!.evidence.some((e) => e.startsWith('IPv6 routing works now')));
      assert.ok(!f!.evidence.some((e) => e.startsWith('not a RHEL kernel')));
    },
  },
  { name: 'RHEL 5.3 (2.6.18-128.el5) has both fixes', facts: () => onKernel('dual-stack-services', '2.6.18-128.el5'), expect: [] },
  { name: 'RHEL 5.0 GA (2.6.18-8.el5) predates the RH0 errata too', facts: () => onKernel('dual-stack-services', '2.6.18-8.el5'), expect: ['default-route', 'rh0'] },
  {
    name: 'upstream 2.6.20: both advisories, RH0 with its ip6tables workaround and the backport caveat',
    facts: () => onKernel('dual-stack-services', '2.6.20'),
    expect: ['default-route', 'rh0'],
    check(findings) {
      const rh0 = findings[1]!;
      assert.match(rh0.message, /CVE-2007-2242/);
      assert.ok(rh0.fix.commands.includes('ip6tables -I INPUT -m rt --rt-type 0 -j DROP'));
      assert.ok(rh0.evidence.some((e) => e.startsWith('not a RHEL kernel')));
    },
  },
  {
    name: 'no gateway anywhere (no-ipv6-default fixture): the workaround lines are comments with placeholders',
    facts: () => onKernel('no-ipv6-default', '2.6.18-92.el5'),
    expect: ['default-route'],
    check([f]) {
      assert.ok(f!.fix.commands.every((c) => c.startsWith('#')));
      assert.match(f!.fix.commands[0]!, /^# ip -6 route add ::\/1 via <IPv6-gateway> dev veth0 /);
      assert.ok(f!.evidence.some((e) => e.startsWith('IPv6 routing fails now: 2001:db8::1 answered ENETUNREACH')));
    },
  },
  {
    name: 'no default route but a configured gateway: the workaround uses it',
    facts: () =>
      onKernel('no-ipv6-default', '2.6.18-92.el5', (facts) => {
        facts.networkConfig = { systems: ['ifcfg'], gateways: [{ family: 6, gateway: '2001:db8:1::fe', interface: 'veth0', system: 'ifcfg', file: 'sysconfig/network-scripts/ifcfg-veth0' }] };
      }),
    expect: ['default-route'],
    check([f]) {
      assert.equal(f!.fix.commands[0], 'ip -6 route add ::/1 via 2001:db8:1::fe dev veth0');
      assert.ok(f!.evidence.some((e) => e.includes('from ifcfg configuration')));
    },
  },
  { name: 'unknown kernel release: nothing claimed', facts: () => onKernel('dual-stack-services', null), expect: [] },
  { name: 'kernel with IPv6 off: not raised (ipv6-disabled says what matters)', facts: () => onKernel('ipv6-off', '2.6.20'), expect: [] },
];

const ids = { 'default-route': /default route not used/, rh0: /CVE-2007-2242/ };

for (const c of cases) {
  test(`kernel-ipv6-advisory: ${c.name}`, () => {
    const facts = c.facts();
    const findings = kernelIpv6Advisory.check(facts);
    assert.equal(findings.length, c.expect.length, JSON.stringify(titles(facts)));
    c.expect.forEach((id, i) => assert.match(findings[i]!.message, ids[id]));
    assertRunnableOrCommented(findings);
    c.check?.(findings);
  });
}
