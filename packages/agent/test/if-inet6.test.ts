// /proc/net/if_inet6: `addr ifindex plen scope flags dev`, all hex, network byte order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addressFlagBits, parseIfInet6, readIfInet6 } from '../src/proc/if-inet6.js';
import { fixtureProc, fixtureProcText, linesOf, parseErrorOf } from './helpers/proc-fixtures.js';

/** A line in the kernel's layout: "%pi6 %02x %02x %02x %02x %8s". */
const ifLine = (addr: string, ifindex: string, plen: string, scope: string, flags: string, dev: string): string =>
  `${addr} ${ifindex} ${plen} ${scope} ${flags} ${dev.padStart(8)}`;

test('dual-stack-services: 2001:db8:1::2/64 on veth0, global, flags nodad and permanent', () => {
  const addresses = readIfInet6(fixtureProc('dual-stack-services'));
  assert.ok(addresses);
  assert.equal(addresses.length, 4);
  assert.deepEqual(
    addresses.find((a) => a.address === '2001:db8:1::2'),
    { family: 6, address: '2001:db8:1::2', prefixLength: 64, interface: 'veth0', scope: 'global', flags: ['nodad', 'permanent'] },
  );
  assert.deepEqual(
    addresses.find((a) => a.address === '2001:db8:1::3'),
    { family: 6, address: '2001:db8:1::3', prefixLength: 64, interface: 'veth0', scope: 'global', flags: ['nodad', 'permanent'] },
  );
});

test('dual-stack-services: ::1/128 on lo has host scope; the fe80:: address has link scope', () => {
  const addresses = readIfInet6(fixtureProc('dual-stack-services'));
  assert.ok(addresses);
  assert.deepEqual(
    addresses.find((a) => a.interface === 'lo'),
    { family: 6, address: '::1', prefixLength: 128, interface: 'lo', scope: 'host', flags: ['permanent'] },
  );
  const linkLocal = addresses.filter((a) => a.address.startsWith('fe80:'));
  assert.equal(linkLocal.length, 1);
  assert.deepEqual(
    linkLocal[0],
    { family: 6, address: 'fe80::74f4:5aff:fe15:6d6f', prefixLength: 64, interface: 'veth0', scope: 'link', flags: ['permanent'] },
  );
});

test('no-ipv6-default: the link-local address captured during DAD is tentative (flags c0)', () => {
  const addresses = readIfInet6(fixtureProc('no-ipv6-default'));
  assert.ok(addresses);
  const linkLocal = addresses.find((a) => a.scope === 'link');
  assert.deepEqual(linkLocal?.flags, ['tentative', 'permanent']);
  assert.equal(linkLocal?.address, 'fe80::f85d:f7ff:fe36:11d');
});

test('flag bytes seen on real hosts (docs/linux-facts.md#ipv6-addresses-and-their-flags) name their IFA_F_* bits', () => {
  const cases: Array<[string, string[]]> = [
    ['80', ['permanent']], // static after DAD
    ['c0', ['tentative', 'permanent']], // during DAD
    ['c8', ['dadfailed', 'tentative', 'permanent']], // duplicate
    ['a0', ['deprecated', 'permanent']], // preferred_lft 0
    ['00', []], // SLAAC
    ['01', ['temporary']],
    ['82', ['nodad', 'permanent']],
    ['14', ['optimistic', 'homeaddress']],
  ];
  for (const [flags, names] of cases) {
    const [address] = parseIfInet6(ifLine('20010db8000100000000000000000002', '02', '40', '00', flags, 'eth0'));
    assert.deepEqual(address?.flags, names, `flags ${flags}`);
  }
  assert.equal(addressFlagBits.length, 8);
});

test('scopes: 00 global (also ::ffff:), 10 host, 20 link, 40 site, 80 compat, others unknown', () => {
  const text = [
    ifLine('00000000000000000000ffffc0000201', '02', '60', '00', '80', 'eth0'),
    ifLine('00000000000000000000000000000001', '01', '80', '10', '80', 'lo'),
    ifLine('fe800000000000000000000000000001', '02', '40', '20', '80', 'eth0'),
    ifLine('fec00000000000000000000000000001', '02', '40', '40', '80', 'eth0'),
    ifLine('000000000000000000000000c0000201', '03', '60', '80', '80', 'sit0'),
    ifLine('20010db8000000000000000000000001', '02', '40', '0e', '80', 'eth0'),
  ].join('\n');
  assert.deepEqual(
    parseIfInet6(text).map((a) => [a.address, a.prefixLength, a.scope, a.interface]),
    [
      ['::ffff:192.0.2.1', 96, 'global', 'eth0'],
      ['::1', 128, 'host', 'lo'],
      ['fe80::1', 64, 'link', 'eth0'],
      ['fec0::1', 64, 'site', 'eth0'],
      ['::c000:201', 96, 'compat', 'sit0'],
      ['2001:db8::1', 64, 'unknown', 'eth0'],
    ],
  );
});

test('upper-case hex and an ifindex wider than two digits are accepted', () => {
  const [address] = parseIfInet6(ifLine('20010DB8000100000000000000000002', '1a3', '40', '00', '80', 'veth12345'));
  assert.deepEqual(address, { family: 6, address: '2001:db8:1::2', prefixLength: 64, interface: 'veth12345', scope: 'global', flags: ['permanent'] });
});

test('an empty file gives []; a missing one (ipv6-off) gives null', () => {
  assert.deepEqual(parseIfInet6(''), []);
  assert.deepEqual(parseIfInet6('\n'), []);
  assert.equal(readIfInet6(fixtureProc('ipv6-off')), null);
});

test('if_inet6-missing-device: a ProcParseError on net/if_inet6 line 1, field device, showing the raw line', () => {
  const rawLine = linesOf(fixtureProcText('broken/if_inet6-missing-device', 'net/if_inet6'))[0]!;
  assert.equal(rawLine, '20010db8000100000000000000000003 02 40 00 82');
  const error = parseErrorOf(() => readIfInet6(fixtureProc('broken/if_inet6-missing-device')));
  assert.equal(error.file, 'net/if_inet6');
  assert.equal(error.line, 1);
  assert.equal(error.field, 'device');
  assert.equal(error.raw, rawLine);
  assert.ok(error.message.includes(JSON.stringify(rawLine)), error.message);
});

test('bad fields are named with their line: address, prefix length over 128, scope, flags', () => {
  const good = ifLine('20010db8000100000000000000000002', '02', '40', '00', '80', 'eth0');
  const at = (line: string) => {
    const error = parseErrorOf(() => parseIfInet6(`${good}\n${line}\n`));
    assert.equal(error.line, 2);
    assert.equal(error.file, 'net/if_inet6');
    return error.field;
  };
  assert.equal(at(ifLine('20010db800010000000000000000002', '02', '40', '00', '80', 'eth0')), 'address');
  assert.equal(at(ifLine('20010db8000100000000000000000002', '02', '81', '00', '80', 'eth0')), 'prefix length');
  assert.equal(at(ifLine('20010db8000100000000000000000002', '02', '40', '2', '80', 'eth0')), 'scope');
  assert.equal(at(ifLine('20010db8000100000000000000000002', '02', '40', '00', 'x0', 'eth0')), 'flags');
  assert.equal(at('20010db8000100000000000000000002 02'), 'prefix length');
});
