// Host and routing rules, on reports replayed from real captures (test/golden/*.json) and
// on copies of them changed at exactly the fact each edge case is about.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Finding } from '../src/report.js';
import type { RuleFacts } from '../src/rules/rule.js';
import { bindv6onlySet, ipv4Unroutable, ipv6AddressDadfailed, ipv6AddressDeprecated, ipv6Disabled, ipv6NoGlobalAddress, ipv6RaIgnored, ipv6Unroutable } from '../src/rules/host-rules.js';

const golden = fileURLToPath(new URL('../../../test/golden/', import.meta.url));
const load = (name: string): RuleFacts => {
  const report = JSON.parse(readFileSync(join(golden, `${name}.json`), 'utf8'));
  delete report.findings;
  return report as RuleFacts;
};
const healthy = () => load('dual-stack-services');
const noDefault = () => load('no-ipv6-default');
const iface = (facts: RuleFacts, name: string) => facts.sysctl.interfaces.find((i) => i.name === name)!;
const commands = (f: Finding[]) => f.flatMap((x) => x.fix.commands);

test('ipv6-unroutable: a global address and ENETUNREACH without any default or candidate', () => {
  const findings = ipv6Unroutable.check(noDefault());
  assert.equal(findings.length, 1);
  const [f] = findings;
  assert.equal(f!.severity, 'critical');
  assert.match(f!.message, /ENETUNREACH for 2001:db8::1: there is no IPv6 default route in any table/);
  // No gateway is known: the command is a comment with a placeholder, never runnable.
  assert.ok(commands(findings).every((c) => c.startsWith('#')), commands(findings).join('\n'));
  assert.ok(commands(findings).some((c) => c.includes('<IPv6-gateway>') && c.includes('dev veth0')));
});

test('ipv6-unroutable: a default only in table 100 with no rule gives its gateway as the fix', () => {
  const facts = noDefault();
  facts.tableDefaults = [{ family: 6, table: '100', type: 'unicast', gateway: '2001:db8:1::1', interface: 'veth0', metric: 1024, protocol: null, expires: false }];
  facts.routingRules = [
    { family: 6, priority: 0, table: 'local', selector: 'all', action: 'lookup' },
    { family: 6, priority: 32766, table: 'main', selector: 'all', action: 'lookup' },
  ];
  const [f] = ipv6Unroutable.check(facts);
  assert.match(f!.message, /table 100 .*no ip -6 rule looks that table up/);
  assert.equal(f!.fix.commands[0], 'ip -6 route add default via 2001:db8:1::1 dev veth0');
  assert.ok(f!.evidence.includes('gateway from the default route in table 100'));
});

test('ipv6-unroutable: the old 2.6 default-route bug adds both half routes', () => {
  const facts = noDefault();
  facts.host.os.kernel = '2.6.18-92.el5';
  facts.networkConfig = { systems: ['ifcfg'], gateways: [{ family: 6, gateway: '2001:db8:1::1', interface: 'veth0', system: 'ifcfg', file: 'sysconfig/network-scripts/ifcfg-veth0' }] };
  const cmds = commands(ipv6Unroutable.check(facts));
  assert.ok(cmds.includes('ip -6 route add ::/1 via 2001:db8:1::1 dev veth0'), cmds.join('\n'));
  assert.ok(cmds.includes('ip -6 route add 8000::/1 via 2001:db8:1::1 dev veth0'));
  assert.ok(cmds.includes('#     IPV6_DEFAULTGW=2001:db8:1::1%veth0'), 'persistent form for RHEL ifcfg');
  facts.host.os.kernel = '2.6.18-128.el5';
  assert.ok(!commands(ipv6Unroutable.check(facts)).some((c) => c.includes('8000::/1')), 'RHEL 5.3 has the fix');
});

const runnable = (f: Finding) => f.fix.commands.filter((c) => !c.trimStart().startsWith('#'));
const persisted = (key: string, value: number) => `grep -qsxF '${key} = ${value}' /etc/sysctl.d/60-dualstack.conf || echo '${key} = ${value}' >> /etc/sysctl.d/60-dualstack.conf`;
const ROUTER_LL = 'fe80::1';

test('ipv6-unroutable: RAs ignored on a forwarding interface -> accept_ra=2, the static default only as a comment', () => {
  const facts = noDefault();
  Object.assign(iface(facts, 'veth0').raw, { forwarding: 1, accept_ra: 1 });
  facts.routers = [{ address: ROUTER_LL, interface: 'veth0', state: 'STALE' }];
  const [f] = ipv6Unroutable.check(facts);
  assert.deepEqual(runnable(f!), ['sysctl -w net.ipv6.conf.veth0.accept_ra=2', persisted('net.ipv6.conf.veth0.accept_ra', 2)]);
  assert.match(f!.fix.summary, /forwards, so accept_ra=1 ignores router advertisements/);
  // The router is known, and the static route is offered, but commented out: run as printed it would shadow the RA default.
  assert.ok(f!.fix.commands.includes(`#   ip -6 route add default via ${ROUTER_LL} dev veth0`), f!.fix.commands.join('\n'));
  // Printed beside ipv6-ra-ignored, running both in order writes the sysctl.d line once.
  const [ignored] = ipv6RaIgnored.check(facts);
  assert.deepEqual(runnable(ignored!), runnable(f!));
});

test('ipv6-unroutable: accept_ra=0 -> accept_ra=1 (2 when forwarding); accept_ra_defrtr=0 -> 1', () => {
  const facts = noDefault();
  facts.routers = [{ address: ROUTER_LL, interface: 'veth0', state: 'STALE' }];
  Object.assign(iface(facts, 'veth0').raw, { forwarding: 0, accept_ra: 0 });
  assert.deepEqual(runnable(ipv6Unroutable.check(facts)[0]!).filter((c) => c.startsWith('sysctl')), ['sysctl -w net.ipv6.conf.veth0.accept_ra=1']);
  Object.assign(iface(facts, 'veth0').raw, { forwarding: 1, accept_ra: 0 });
  assert.deepEqual(runnable(ipv6Unroutable.check(facts)[0]!).filter((c) => c.startsWith('sysctl')), ['sysctl -w net.ipv6.conf.veth0.accept_ra=2']);
  Object.assign(iface(facts, 'veth0').raw, { forwarding: 0, accept_ra: 1, accept_ra_defrtr: 0 });
  const [f] = ipv6Unroutable.check(facts);
  assert.deepEqual(runnable(f!), ['sysctl -w net.ipv6.conf.veth0.accept_ra_defrtr=1', persisted('net.ipv6.conf.veth0.accept_ra_defrtr', 1)]);
  assert.match(f!.fix.summary, /accept_ra_defrtr=0/);
});

test('ipv6-unroutable: RAs off but the network configuration names a static gateway -> the static default stays the fix', () => {
  const facts = noDefault();
  Object.assign(iface(facts, 'veth0').raw, { forwarding: 0, accept_ra: 0 });
  facts.networkConfig = { systems: ['ifupdown'], gateways: [{ family: 6, gateway: '2001:db8:1::1', interface: 'veth0', system: 'ifupdown', file: 'network/interfaces' }] };
  const [f] = ipv6Unroutable.check(facts);
  assert.equal(f!.fix.commands[0], 'ip -6 route add default via 2001:db8:1::1 dev veth0');
  assert.ok(!f!.fix.commands.some((c) => c.includes('accept_ra')), f!.fix.commands.join('\n'));
});

test('ipv6-unroutable: silent when the kernel routes, or when the only address is tentative', () => {
  assert.deepEqual(ipv6Unroutable.check(healthy()), []);
  const facts = noDefault();
  for (const a of facts.addresses) if (a.family === 6 && a.scope === 'global') a.flags = ['tentative', 'permanent'];
  assert.deepEqual(ipv6Unroutable.check(facts), []);
});

test('ipv6-ra-ignored: forwarding=1 with accept_ra=1 and no default of its own', () => {
  const facts = noDefault();
  Object.assign(iface(facts, 'veth0').raw, { forwarding: 1, accept_ra: 1 });
  const [f, ...rest] = ipv6RaIgnored.check(facts);
  assert.equal(rest.length, 0);
  assert.equal(f!.subject, 'veth0');
  assert.deepEqual(f!.fix.commands, ['sysctl -w net.ipv6.conf.veth0.accept_ra=2', "grep -qsxF 'net.ipv6.conf.veth0.accept_ra = 2' /etc/sysctl.d/60-dualstack.conf || echo 'net.ipv6.conf.veth0.accept_ra = 2' >> /etc/sysctl.d/60-dualstack.conf"]);
  Object.assign(iface(facts, 'veth0').raw, { accept_ra: 2 });
  assert.deepEqual(ipv6RaIgnored.check(facts), [], 'accept_ra=2 takes RAs while forwarding');
});

test('ipv6-ra-ignored: a forwarding router with a static default needs no RAs', () => {
  const facts = healthy();
  Object.assign(iface(facts, 'veth0').raw, { forwarding: 1, accept_ra: 1 });
  assert.deepEqual(ipv6RaIgnored.check(facts), []);
  // ...but RA-learned routes on that interface will expire.
  facts.routes.push({ family: 6, destination: '2001:db8:2::', prefixLength: 64, gateway: null, interface: 'veth0', metric: 256, flags: ['up', 'addrconf', 'prefix_rt', 'expires'], origin: 'ra', expires: true });
  assert.equal(ipv6RaIgnored.check(facts).length, 1);
});

test('ipv6-disabled: kernel off, interface off, and on', () => {
  const off = ipv6Disabled.check(load('ipv6-off'));
  assert.equal(off.length, 1);
  assert.match(off[0]!.message, /kernel has IPv6 disabled/);
  assert.deepEqual(ipv6Disabled.check(healthy()), []);
  const facts = healthy();
  iface(facts, 'veth0').raw.disable_ipv6 = 1;
  iface(facts, 'veth0').effective!.disableIpv6 = true;
  const [f] = ipv6Disabled.check(facts);
  assert.equal(f!.subject, 'veth0');
  assert.ok(f!.fix.commands.includes('sysctl -w net.ipv6.conf.veth0.disable_ipv6=0'));
});

test('ipv6-no-global-address: only link-local IPv6 left', () => {
  const facts = healthy();
  facts.addresses = facts.addresses.filter((a) => !(a.family === 6 && a.scope === 'global'));
  const [f] = ipv6NoGlobalAddress.check(facts);
  assert.match(f!.message, /No interface has a usable global IPv6 address/);
  assert.match(f!.fix.commands[0]!, /dev veth0/);
  assert.deepEqual(ipv6NoGlobalAddress.check(healthy()), []);
  assert.deepEqual(ipv6NoGlobalAddress.check(load('ipv6-off')), [], 'ipv6-disabled covers a kernel without IPv6');
});

test('ipv6-address-dadfailed and ipv6-address-deprecated name the address', () => {
  const facts = healthy();
  const v6 = facts.addresses.find((a) => a.address === '2001:db8:1::3')!;
  v6.flags = ['dadfailed', 'tentative', 'permanent'];
  const [dad] = ipv6AddressDadfailed.check(facts);
  assert.equal(dad!.subject, '2001:db8:1::3 on veth0');
  assert.ok(dad!.fix.commands.includes('ip -6 addr del 2001:db8:1::3/64 dev veth0'));
  assert.deepEqual(ipv6AddressDeprecated.check(facts), [], 'dadfailed is not also reported as deprecated');
  v6.flags = ['deprecated', 'permanent'];
  assert.equal(ipv6AddressDeprecated.check(facts)[0]!.severity, 'info');
  assert.deepEqual(ipv6AddressDadfailed.check(healthy()), []);
});

test('ipv4-unroutable uses a configured gateway when there is one', () => {
  const facts = healthy();
  facts.reachability = facts.reachability.map((r) => (r.family === 4 ? { ...r, reachable: false, error: 'ENETUNREACH', sourceAddress: null } : r));
  facts.routes = facts.routes.filter((r) => !(r.family === 4 && r.prefixLength === 0));
  facts.networkConfig = { systems: ['netplan'], gateways: [{ family: 4, gateway: '192.0.2.1', interface: 'veth0', system: 'netplan', file: 'netplan/01-netcfg.yaml' }] };
  const [f] = ipv4Unroutable.check(facts);
  assert.match(f!.message, /there is no IPv4 default route/);
  assert.equal(f!.fix.commands[0], 'ip route add default via 192.0.2.1 dev veth0');
  assert.ok(f!.fix.commands.includes('netplan apply'));
  assert.deepEqual(ipv4Unroutable.check(healthy()), []);
});

test('bindv6only-set lists the services that lost IPv4', () => {
  const [f] = bindv6onlySet.check(load('bindv6only'));
  assert.ok(f!.evidence.includes('tcp/8000 python3: [::] v6only=1 and no IPv4 socket'));
  assert.ok(!f!.evidence.some((e) => e.includes('8081')), 'a V6ONLY=0 socket is not affected');
  assert.deepEqual(bindv6onlySet.check(healthy()), []);
});
