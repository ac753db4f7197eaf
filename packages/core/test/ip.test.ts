import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AddressDecodeError,
  bindKind,
  bytesToWordHex,
  isIpv4Mapped,
  procMappedPrefixHex,
  decodeNetworkIpv6,
  decodeProcSocketAddress,
  formatAddress,
  parseAddress,
  prefixLengthOfNetmask,
  wordHexToBytes,
} from '../src/ip.js';

// Values from docs/linux-facts.md#address-encoding, seen in /proc/net/tcp6 and tcp on a little-endian host.
const socketTableCases: Array<[string, 4 | 6, string]> = [
  ['B80D0120000001000000000002000000', 6, '2001:db8:1::2'],
  ['00000000000000000000000001000000', 6, '::1'],
  ['0000000000000000FFFF00000100007F', 6, '::ffff:127.0.0.1'],
  ['00000000000000000000000000000000', 6, '::'],
  ['0100007F', 4, '127.0.0.1'],
  ['0100A8C0', 4, '192.168.0.1'],
  ['00000000', 4, '0.0.0.0'],
];

test('socket-table hex decodes as host-order words (little-endian)', () => {
  for (const [hex, family, expected] of socketTableCases) {
    assert.equal(formatAddress(decodeProcSocketAddress(hex, family, 'little')), expected, hex);
  }
});

test('a big-endian host prints the words unswapped', () => {
  assert.equal(formatAddress(decodeProcSocketAddress('7F000001', 4, 'big')), '127.0.0.1');
  assert.equal(formatAddress(decodeProcSocketAddress('20010DB8000100000000000000000002', 6, 'big')), '2001:db8:1::2');
});

test('lower-case hex decodes the same', () => {
  assert.deepEqual(wordHexToBytes('0100007f', 4, 'little'), [127, 0, 0, 1]);
});

test('bad hex is an AddressDecodeError showing the raw input', () => {
  for (const bad of ['0100007', '0100007G', '', '0100007F00']) {
    assert.throws(
      () => decodeProcSocketAddress(bad, 4, 'little'),
      (e: unknown) => e instanceof AddressDecodeError && e.raw === bad && e.message.includes('8 hex digits'),
    );
  }
  assert.throws(() => decodeNetworkIpv6('20010db8'), (e: unknown) => e instanceof AddressDecodeError && e.message.includes('32 hex digits'));
});

test('network-order IPv6 (if_inet6, ipv6_route) is not byte-swapped', () => {
  assert.equal(formatAddress(decodeNetworkIpv6('20010db8000100000000000000000002')), '2001:db8:1::2');
  assert.equal(formatAddress(decodeNetworkIpv6('fe800000000000000000000000000001')), 'fe80::1');
});

test('bindKind separates wildcard, loopback (also mapped loopback) and specific', () => {
  assert.equal(bindKind(parseAddress('0.0.0.0')), 'wildcard');
  assert.equal(bindKind(parseAddress('::')), 'wildcard');
  assert.equal(bindKind(parseAddress('127.0.0.53')), 'loopback');
  assert.equal(bindKind(parseAddress('::1')), 'loopback');
  assert.equal(bindKind(parseAddress('::ffff:127.0.0.1')), 'loopback');
  assert.equal(bindKind(parseAddress('2001:db8::1')), 'specific');
  assert.equal(bindKind(parseAddress('fe80::1')), 'specific');
});

test('netmask prefix lengths', () => {
  assert.equal(prefixLengthOfNetmask(parseAddress('255.255.255.0')), 24);
  assert.equal(prefixLengthOfNetmask(parseAddress('0.0.0.0')), 0);
  assert.equal(prefixLengthOfNetmask(parseAddress('255.0.255.0')), null);
});

test('bytesToWordHex is the inverse of wordHexToBytes, in both byte orders', () => {
  for (const order of ['little', 'big'] as const) {
    for (const text of ['127.0.0.1', '192.0.2.10', '::1', '2001:db8::1', '::ffff:192.0.2.1', 'fe80::1:2:3:4']) {
      const bytes = parseAddress(text).toByteArray();
      const hex = bytesToWordHex(bytes, order);
      assert.match(hex, /^[0-9A-F]+$/, 'uppercase, as the kernel prints %08X');
      assert.deepEqual(wordHexToBytes(hex, bytes.length === 4 ? 4 : 6, order), bytes, `${text} ${order}`);
    }
  }
  // As a little-endian /proc/net/tcp6 prints ::ffff:127.0.0.1 (the docs/linux-facts.md case above).
  assert.equal(bytesToWordHex(parseAddress('::ffff:127.0.0.1').toByteArray(), 'little'), '0000000000000000FFFF00000100007F');
  assert.throws(() => bytesToWordHex([1, 2, 3]), AddressDecodeError);
});

test('procMappedPrefixHex: the 96-bit prefix of every IPv4-mapped address as /proc prints it', () => {
  assert.equal(procMappedPrefixHex('little'), '0000000000000000FFFF0000');
  assert.equal(procMappedPrefixHex('big'), '00000000000000000000FFFF');
  assert.ok(isIpv4Mapped(decodeProcSocketAddress(`${procMappedPrefixHex()}0100007F`, 6)));
});
