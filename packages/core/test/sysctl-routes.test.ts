import { test } from 'node:test';
import assert from 'node:assert/strict';
import { effectiveSysctls } from '../src/analyze/sysctl.js';
import { lookupRoute } from '../src/analyze/routes.js';
import type { InterfaceSysctlsRaw, Route } from '../src/report.js';

const raw = (over: Partial<InterfaceSysctlsRaw>): InterfaceSysctlsRaw => ({
  accept_ra: 1, accept_ra_defrtr: 1, autoconf: 1, forwarding: 0, disable_ipv6: 0, accept_redirects: 1, accept_source_route: 0, use_tempaddr: 0, ...over,
});

test('accept_ra=1 is ignored once forwarding is on; accept_ra=2 is not', () => {
  assert.equal(effectiveSysctls(raw({}), null).acceptRa, true);
  const forwarding = effectiveSysctls(raw({ forwarding: 1 }), null);
  assert.equal(forwarding.acceptRa, false);
  assert.equal(forwarding.acceptRaDefrtr, false);
  assert.equal(forwarding.autoconf, false);
  assert.equal(forwarding.acceptRedirects, false);
  assert.equal(effectiveSysctls(raw({ forwarding: 1, accept_ra: 2 }), null).acceptRa, true);
  assert.equal(effectiveSysctls(raw({ accept_ra_defrtr: 0 }), null).acceptRaDefrtr, false);
});

test('all does not override accept_ra; accept_source_route is min(all, interface)', () => {
  const all = raw({ accept_ra: 0, accept_source_route: -1 });
  const eff = effectiveSysctls(raw({}), all);
  assert.equal(eff.acceptRa, true);
  assert.equal(eff.acceptSourceRoute, -1);
  assert.equal(effectiveSysctls(raw({ accept_source_route: -1 }), raw({ accept_source_route: 0 })).acceptSourceRoute, -1);
});

test('use_tempaddr: <=0 off, 1 on, >1 prefer', () => {
  assert.equal(effectiveSysctls(raw({ use_tempaddr: -1 }), null).useTempaddr, 'off');
  assert.equal(effectiveSysctls(raw({ use_tempaddr: 1 }), null).useTempaddr, 'on');
  assert.equal(effectiveSysctls(raw({ use_tempaddr: 2 }), null).useTempaddr, 'prefer');
});

const route = (destination: string, prefixLength: number, over: Partial<Route> = {}): Route => ({
  family: destination.includes(':') ? 6 : 4, destination, prefixLength, gateway: null, interface: 'eth0', metric: 1024, flags: ['up'], origin: 'kernel', expires: false, ...over,
});

test('longest prefix wins, then the lowest metric; local routes are skipped', () => {
  const routes = [
    route('::', 0, { gateway: 'fe80::1', metric: 1024, origin: 'static' }),
    route('::', 0, { gateway: 'fe80::2', metric: 100, origin: 'ra' }),
    route('2001:db8:1::', 64, { metric: 256 }),
    route('2001:db8:1::2', 128, { origin: 'local', interface: 'lo' }),
  ];
  assert.equal(lookupRoute(routes, '2001:db8:1::2')?.prefixLength, 64);
  assert.equal(lookupRoute(routes, '2001:db8:ffff::1')?.gateway, 'fe80::2');
  assert.equal(lookupRoute([route('2001:db8:1::', 64)], '2001:db8:2::1'), null);
  assert.equal(lookupRoute([route('0.0.0.0', 0, { gateway: '192.0.2.1' })], '2001:db8::1'), null, 'families never mix');
});

// disable_ipv6 (ip-sysctl.rst): writing conf/all/disable_ipv6 writes conf/default and every
// interface's own value, so afterwards the interface's value is the one in force; reading
// `all` "does not have any particular meaning" (an interface re-enabled later reads 0 beside
// all=1). The kernel treats any nonzero value as disabled: writing -1 or 2 removes every IPv6
// address of the interface (checked in test/netns/sysctl-effective.test.ts).
test('disable_ipv6: the interface value decides, all does not; any nonzero value disables', () => {
  const off = (iface: number | null, all: number | null): boolean =>
    effectiveSysctls(raw({ disable_ipv6: iface }), all === null ? null : raw({ disable_ipv6: all })).disableIpv6;
  assert.equal(off(1, 0), true, 'disabled on the interface alone');
  assert.equal(off(1, 1), true, 'after all=1 the kernel wrote 1 into the interface');
  assert.equal(off(1, null), true);
  assert.equal(off(0, 1), false, 'all=1, then the interface re-enabled: it has IPv6');
  assert.equal(off(0, 0), false);
  assert.equal(off(0, null), false);
  assert.equal(off(-1, 0), true, 'the kernel stores -1 as written and treats it as disabled');
  assert.equal(off(2, 0), true);
  assert.equal(off(null, 1), false, 'unknown claims nothing');
});
