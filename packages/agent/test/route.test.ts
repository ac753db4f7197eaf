// /proc/net/route (IPv4 main table): tab-separated with a header; Destination, Gateway and Mask
// are host-order hex words (little-endian here: 010200C0 = 192.0.2.1).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIpv4Route, readIpv4Route } from '../src/proc/route.js';
import { fixtureProc, fixtureProcText, linesOf, parseErrorOf } from './helpers/proc-fixtures.js';

const HEADER = linesOf(fixtureProcText('dual-stack-services', 'net/route'))[0]!;

/** A line in the kernel's layout (fib_route_seq_show): tab-separated, padded to 127 columns. */
const routeLine = (iface: string, dst: string, gw: string, flags: string, metric: string, mask: string): string =>
  `${iface}\t${dst}\t${gw}\t${flags}\t0\t0\t${metric}\t${mask}\t0\t0\t0`.padEnd(127);

test('dual-stack-services: the default via 192.0.2.1 (static) and 192.0.2.0/24 on veth0 (kernel)', () => {
  assert.deepEqual(readIpv4Route(fixtureProc('dual-stack-services')), [
    { family: 4, destination: '0.0.0.0', prefixLength: 0, gateway: '192.0.2.1', interface: 'veth0', metric: 0, flags: ['up', 'gateway'], origin: 'static', expires: false },
    { family: 4, destination: '192.0.2.0', prefixLength: 24, gateway: null, interface: 'veth0', metric: 0, flags: ['up'], origin: 'kernel', expires: false },
  ]);
});

test('no-ipv6-default and ipv6-off keep their IPv4 default route', () => {
  for (const name of ['no-ipv6-default', 'ipv6-off']) {
    const routes = readIpv4Route(fixtureProc(name));
    assert.deepEqual(routes?.filter((r) => r.prefixLength === 0).map((r) => r.gateway), ['192.0.2.1'], name);
  }
});

test('the header line is skipped; header only or an empty file gives []', () => {
  assert.match(HEADER, /^Iface\tDestination\tGateway/);
  assert.deepEqual(parseIpv4Route(`${HEADER}\n`), []);
  assert.deepEqual(parseIpv4Route(''), []);
  const routes = parseIpv4Route(`${HEADER}\n${routeLine('eth0', '0000A8C0', '00000000', '0001', '100', '00FFFFFF')}\n`);
  assert.equal(routes.length, 1);
  assert.equal(routes[0]?.destination, '192.168.0.0');
  assert.equal(routes[0]?.metric, 100);
});

test('host, reject and metric: a /32 via a gateway, an unreachable route on *, lower-case hex', () => {
  const text = [
    HEADER,
    routeLine('eth0', '0A0A0A0A', '0100a8c0', '0007', '5', 'FFFFFFFF'),
    routeLine('*', '0000000A', '00000000', '0201', '0', '000000FF'),
  ].join('\n');
  assert.deepEqual(parseIpv4Route(text), [
    { family: 4, destination: '10.10.10.10', prefixLength: 32, gateway: '192.168.0.1', interface: 'eth0', metric: 5, flags: ['up', 'gateway', 'host'], origin: 'static', expires: false },
    { family: 4, destination: '10.0.0.0', prefixLength: 8, gateway: null, interface: '*', metric: 0, flags: ['up', 'reject'], origin: 'reject', expires: false },
  ]);
});

test('bad fields are ProcParseErrors naming file, line and field', () => {
  const fieldAt = (line: string) => {
    const error = parseErrorOf(() => parseIpv4Route(`${HEADER}\n${routeLine('eth0', '00000000', '010200C0', '0003', '0', '00000000')}\n${line}\n`));
    assert.equal(error.file, 'net/route');
    assert.equal(error.line, 3);
    assert.equal(error.raw, line);
    assert.ok(error.message.includes(JSON.stringify(line.slice(0, 200))), error.message);
    return error.field;
  };
  assert.equal(fieldAt(routeLine('eth0', '0000ZZC0', '00000000', '0001', '0', '00FFFFFF')), 'Destination');
  assert.equal(fieldAt(routeLine('eth0', '000200C0', '0200C0', '0001', '0', '00FFFFFF')), 'Gateway');
  assert.equal(fieldAt(routeLine('eth0', '000200C0', '00000000', '0001', '-1', '00FFFFFF')), 'Metric');
  assert.equal(fieldAt(routeLine('eth0', '000200C0', '00000000', '0001', '0', '00FF00FF')), 'Mask', 'a non-contiguous netmask');
  assert.equal(fieldAt('eth0\t000200C0\t00000000\t0001\t0\t0\t0'), 'Mask', 'a missing Mask column');
});
