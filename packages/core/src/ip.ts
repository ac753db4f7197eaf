// Address helpers. Every parse and classification goes through ipaddr.js; this file only
// turns the kernel's hex spellings into bytes (the one place that knows byte order).
import ipaddr from 'ipaddr.js';
import type { Family } from './report.js';

export type IpAddress = ipaddr.IPv4 | ipaddr.IPv6;

/** Byte order of the machine running this code; /proc prints socket addresses in it. */
export const hostByteOrder: 'little' | 'big' =
  new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 'little' : 'big';

export class AddressDecodeError extends Error {
  constructor(readonly raw: string, reason: string) {
    super(`${reason}: ${JSON.stringify(raw)}`);
    this.name = 'AddressDecodeError';
  }
}

const HEX_RE = /^[0-9A-Fa-f]+$/;

/**
 * Bytes of an address as /proc/net/{tcp,udp}{,6} and /proc/net/route print it: 32-bit words,
 * each `%08X` of the word as it sits in memory, so on a little-endian host every word's
 * bytes come out reversed. `order` is the byte order of the host that wrote the text.
 */
export function wordHexToBytes(hex: string, family: Family, order: 'little' | 'big' = hostByteOrder): number[] {
  const expected = family === 4 ? 8 : 32;
  if (hex.length !== expected || !HEX_RE.test(hex)) {
    throw new AddressDecodeError(hex, `expected ${expected} hex digits for an IPv${family} address`);
  }
  const bytes: number[] = [];
  for (let word = 0; word < expected; word += 8) {
    const wordBytes = [0, 2, 4, 6].map((i) => parseInt(hex.slice(word + i, word + i + 2), 16));
    if (order === 'little') wordBytes.reverse();
    bytes.push(...wordBytes);
  }
  return bytes;
}

/**
 * The inverse of wordHexToBytes: an address's bytes as a /proc socket table prints them
 * (uppercase, host-order words). Lets a reader compare raw table bytes with a known address
 * or prefix without decoding every line.
 */
export function bytesToWordHex(bytes: readonly number[], order: 'little' | 'big' = hostByteOrder): string {
  if (bytes.length !== 4 && bytes.length !== 16) throw new AddressDecodeError(JSON.stringify(bytes), 'expected 4 or 16 bytes');
  let hex = '';
  for (let word = 0; word < bytes.length; word += 4) {
    const wordBytes = bytes.slice(word, word + 4);
    if (order === 'little') wordBytes.reverse();
    for (const b of wordBytes) hex += b.toString(16).toUpperCase().padStart(2, '0');
  }
  return hex;
}

/**
 * The first 24 hex digits (96 bits) of every IPv4-mapped address (::ffff:0:0/96) as a /proc
 * socket table prints it on a host of this byte order: a remote address that starts with
 * them is an IPv4 client of a dual-stack socket.
 */
export function procMappedPrefixHex(order: 'little' | 'big' = hostByteOrder): string {
  return bytesToWordHex(ipaddr.parse('::ffff:0.0.0.0').toByteArray(), order).slice(0, 24);
}

/** Bytes of an address printed in network byte order (/proc/net/if_inet6, /proc/net/ipv6_route). */
export function networkHexToBytes(hex: string): number[] {
  if (hex.length !== 32 || !HEX_RE.test(hex)) {
    throw new AddressDecodeError(hex, 'expected 32 hex digits for an IPv6 address');
  }
  const bytes: number[] = [];
  for (let i = 0; i < 32; i += 2) bytes.push(parseInt(hex.slice(i, i + 2), 16));
  return bytes;
}

/** Decodes a /proc socket-table address (host-order words) into an ipaddr.js address. */
export function decodeProcSocketAddress(hex: string, family: Family, order: 'little' | 'big' = hostByteOrder): IpAddress {
  return ipaddr.fromByteArray(wordHexToBytes(hex, family, order));
}

/** Decodes a network-order IPv6 hex address (if_inet6, ipv6_route). */
export function decodeNetworkIpv6(hex: string): ipaddr.IPv6 {
  return ipaddr.fromByteArray(networkHexToBytes(hex)) as ipaddr.IPv6;
}

/** The canonical text of an address; IPv4-mapped IPv6 keeps its dotted tail (::ffff:192.0.2.1). */
export function formatAddress(address: IpAddress): string {
  if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress()) {
    return `::ffff:${(address as ipaddr.IPv6).toIPv4Address().toString()}`;
  }
  return address.kind() === 'ipv6' ? (address as ipaddr.IPv6).toRFC5952String() : address.toString();
}

export function parseAddress(text: string): IpAddress {
  return ipaddr.parse(text);
}

export function isValidAddress(text: string): boolean {
  return ipaddr.isValid(text);
}

export function familyOf(address: IpAddress): Family {
  return address.kind() === 'ipv4' ? 4 : 6;
}

export function isIpv4Mapped(address: IpAddress): boolean {
  return address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress();
}

/**
 * How a bound local address limits who can connect: `wildcard` (0.0.0.0 or ::), `loopback`
 * (127.0.0.0/8, ::1, or ::ffff:127.x), or `specific` (one of the host's addresses).
 */
export type BindKind = 'wildcard' | 'loopback' | 'specific';

export function bindKind(address: IpAddress): BindKind {
  const plain = isIpv4Mapped(address) ? (address as ipaddr.IPv6).toIPv4Address() : address;
  const range = plain.range();
  if (range === 'unspecified') return 'wildcard';
  if (range === 'loopback') return 'loopback';
  return 'specific';
}

/** True when `address` lies in `prefix`/`length` (same family). */
export function inPrefix(address: IpAddress, prefix: IpAddress, length: number): boolean {
  if (address.kind() !== prefix.kind()) return false;
  return (address as ipaddr.IPv6).match(prefix as ipaddr.IPv6, length);
}

/** `2001:db8::/64` — the notation ip(8) prints, never with brackets. */
export function formatPrefix(address: IpAddress, length: number): string {
  return `${formatAddress(address)}/${length}`;
}

/** The prefix length of a contiguous netmask (255.255.255.0 -> 24), or null when it is not one. */
export function prefixLengthOfNetmask(mask: IpAddress): number | null {
  try {
    return mask.prefixLengthFromSubnetMask();
  } catch {
    return null;
  }
}
