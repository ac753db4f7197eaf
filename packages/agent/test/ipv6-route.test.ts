// /proc/net/ipv6_route: `dst plen src src_plen nexthop metric refcnt use flags dev`, all hex,
// network byte order, every routing table without a table id.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isNullRoute, parseIpv6Route, readIpv6Route, routeOrigin, RTF } from '../src/proc/ipv6-route.js';
import { fixtureProc, fixtureProcText, linesOf, parseErrorOf } from './helpers/proc-fixtures.js';

const ZERO = '00000000000000000000000000000000';

/** A line in the kernel's layout (ipv6_route_native_seq_show). */
const routeLine = (dst: string, plen: string, nexthop: string, metric: string, flags: string, dev: string): string =>
  `${dst} ${plen} ${ZERO} 00 ${nexthop} ${metric} 00000001 00000000 ${flags} ${dev.padStart(8)}`;

/** Every table's null entry, printed exactly as the fixtures show it. */
const NULL_ENTRY = routeLine(ZERO, '00', ZERO, 'ffffffff', '00200200', 'lo');

test('dual-stack-services: the static default via 2001:db8:1::1 dev veth0, origin static', () => {
  const routes = readIpv6Route(fixtureProc('dual-stack-services'));
  assert.ok(routes);
  const defaults = routes.filter((r) => r.prefixLength === 0);
  assert.deepEqual(defaults, [
    { family: 6, destination: '::', prefixLength: 0, gateway: '2001:db8:1::1', interface: 'veth0', metric: 1024, flags: ['up', 'gateway'], origin: 'static', expires: false },
  ]);
});

test('dual-stack-services: the null entry is not a route; the other 8 lines are', () => {
  const text = fixtureProcText('dual-stack-services', 'net/ipv6_route');
  assert.equal(linesOf(text).filter((l) => / ffffffff .* 00200200 +lo$/.test(l)).length, 1, 'the fixture holds a null entry');
  const routes = parseIpv6Route(text);
  assert.equal(routes.length, linesOf(text).length - 1);
  assert.ok(routes.every((r) => r.metric !== 0xffffffff));
  assert.ok(routes.every((r) => r.origin !== 'reject'));
});

test('dual-stack-services: prefix routes are kernel, address routes local, multicast ff00::/8 kernel', () => {
  const routes = readIpv6Route(fixtureProc('dual-stack-services'));
  assert.ok(routes);
  const byKey = new Map(routes.map((r) => [`${r.destination}/${r.prefixLength} ${r.interface}`, r]));
  assert.deepEqual(byKey.get('2001:db8:1::/64 veth0'), {
    family: 6, destination: '2001:db8:1::', prefixLength: 64, gateway: null, interface: 'veth0', metric: 256, flags: ['up'], origin: 'kernel', expires: false,
  });
  assert.equal(byKey.get('fe80::/64 veth0')?.origin, 'kernel');
  assert.equal(byKey.get('ff00::/8 veth0')?.origin, 'kernel');
  assert.deepEqual(byKey.get('2001:db8:1::2/128 veth0'), {
    family: 6, destination: '2001:db8:1::2', prefixLength: 128, gateway: null, interface: 'veth0', metric: 0, flags: ['up', 'nonexthop', 'local'], origin: 'local', expires: false,
  });
  assert.equal(byKey.get('::1/128 lo')?.origin, 'local');
  assert.deepEqual(
    routes.filter((r) => r.origin === 'local').map((r) => r.destination).sort(),
    ['2001:db8:1::2', '2001:db8:1::3', '::1', 'fe80::74f4:5aff:fe15:6d6f'],
  );
});

test('no-ipv6-default: no IPv6 default route although the file has two ::/0 lines (both null entries)', () => {
  const text = fixtureProcText('no-ipv6-default', 'net/ipv6_route');
  assert.equal(linesOf(text).filter((l) => l.startsWith(`${ZERO} 00 `)).length, 2);
  const routes = parseIpv6Route(text);
  assert.deepEqual(routes.filter((r) => r.prefixLength === 0), []);
  assert.equal(routes.length, 6);
  assert.ok(routes.some((r) => r.destination === '2001:db8:1::' && r.prefixLength === 64), 'the on-link prefix is still there');
});

test('the isNullRoute trap: the null entry is dropped, an unreachable default with metric 1024 is kept as reject', () => {
  // `ip -6 route add unreachable default` prints REJECT|NONEXTHOP on lo like the null entry,
  // but with the route's own metric: it is a configured route and blocks IPv6 for real.
  const unreachableDefault = routeLine(ZERO, '00', ZERO, '00000400', '00200200', 'lo');
  const routes = parseIpv6Route(`${NULL_ENTRY}\n${unreachableDefault}\n${NULL_ENTRY}\n`);
  assert.deepEqual(routes, [
    { family: 6, destination: '::', prefixLength: 0, gateway: null, interface: 'lo', metric: 1024, flags: ['reject', 'nonexthop'], origin: 'reject', expires: false },
  ]);
  assert.equal(isNullRoute(0, 0xffffffff, 0x00200200), true);
  assert.equal(isNullRoute(0, 1024, 0x00200200), false);
  assert.equal(isNullRoute(0, 0xffffffff, 0x00000003), false, 'a working route with the largest metric is not the null entry');
  assert.equal(isNullRoute(64, 0xffffffff, 0x00200200), false);
});

test('RA-learned routes (flags seen on real hosts) have origin ra and expire', () => {
  const raDefault = routeLine(ZERO, '00', 'fe800000000000000000000000000001', '00000400', '00450003', 'eth0');
  const raPrefix = routeLine('20010db8000200000000000000000000', '40', ZERO, '00000100', '004c0001', 'eth0');
  const [defaultRoute, prefixRoute] = parseIpv6Route(`${raDefault}\n${raPrefix}`);
  assert.deepEqual(defaultRoute, {
    family: 6, destination: '::', prefixLength: 0, gateway: 'fe80::1', interface: 'eth0', metric: 1024,
    flags: ['up', 'gateway', 'default', 'addrconf', 'expires'], origin: 'ra', expires: true,
  });
  assert.deepEqual(prefixRoute, {
    family: 6, destination: '2001:db8:2::', prefixLength: 64, gateway: null, interface: 'eth0', metric: 256,
    flags: ['up', 'addrconf', 'prefix_rt', 'expires'], origin: 'ra', expires: true,
  });
});

test('routeOrigin on the flag words seen on real hosts (docs/linux-facts.md#ipv6-routes-and-their-flags); RTF bits match the kernel headers', () => {
  assert.equal(routeOrigin(0x80200001), 'local');
  assert.equal(routeOrigin(0x00200200), 'reject');
  assert.equal(routeOrigin(0x00450003), 'ra');
  assert.equal(routeOrigin(0x004c0001), 'ra');
  assert.equal(routeOrigin(0x00000003), 'static');
  assert.equal(routeOrigin(0x00000001), 'kernel');
  assert.deepEqual(
    [RTF.UP, RTF.GATEWAY, RTF.HOST, RTF.REJECT, RTF.DEFAULT, RTF.ADDRCONF, RTF.PREFIX_RT, RTF.NONEXTHOP, RTF.EXPIRES, RTF.LOCAL],
    [0x1, 0x2, 0x4, 0x200, 0x10000, 0x40000, 0x80000, 0x200000, 0x400000, 0x80000000],
  );
});

test('a gateway is reported only with RTF_GATEWAY; upper-case hex is accepted', () => {
  const [onLink] = parseIpv6Route(routeLine('20010DB8000300000000000000000000', '30', '20010DB8000100000000000000000001', '00000100', '00000001', 'eth0'));
  assert.equal(onLink?.destination, '2001:db8:3::');
  assert.equal(onLink?.prefixLength, 48);
  assert.equal(onLink?.gateway, null);
});

test('an empty file gives []; a missing one (ipv6-off) gives null', () => {
  assert.deepEqual(parseIpv6Route(''), []);
  assert.deepEqual(parseIpv6Route('\n'), []);
  assert.equal(readIpv6Route(fixtureProc('ipv6-off')), null);
});

test('ipv6_route-bad-flags: a ProcParseError on net/ipv6_route line 1, field flags, showing the raw line', () => {
  const rawLine = linesOf(fixtureProcText('broken/ipv6_route-bad-flags', 'net/ipv6_route'))[0]!;
  assert.match(rawLine, / 0020G200 +veth0$/);
  const error = parseErrorOf(() => readIpv6Route(fixtureProc('broken/ipv6_route-bad-flags')));
  assert.equal(error.file, 'net/ipv6_route');
  assert.equal(error.line, 1);
  assert.equal(error.field, 'flags');
  assert.equal(error.raw, rawLine);
  assert.ok(error.message.includes(JSON.stringify(rawLine)), error.message);
});

test('bad fields are named with their line: destination, prefix length, next hop, metric, device', () => {
  const good = routeLine(ZERO, '00', ZERO, '00000400', '00000001', 'eth0');
  const fieldAt = (line: string) => {
    const error = parseErrorOf(() => parseIpv6Route(`${good}\n${line}\n`));
    assert.equal(error.line, 2);
    assert.equal(error.file, 'net/ipv6_route');
    return error.field;
  };
  assert.equal(fieldAt(routeLine('2001', '00', ZERO, '00000400', '00000001', 'eth0')), 'destination');
  assert.equal(fieldAt(routeLine(ZERO, '81', ZERO, '00000400', '00000001', 'eth0')), 'prefix length');
  assert.equal(fieldAt(routeLine(ZERO, '00', `${ZERO}0`, '00000400', '00000001', 'eth0')), 'next hop');
  assert.equal(fieldAt(routeLine(ZERO, '00', ZERO, '400', '00000001', 'eth0')), 'metric');
  assert.equal(fieldAt(routeLine(ZERO, '00', ZERO, '00000400', '00000001', '').trimEnd()), 'device');
});
