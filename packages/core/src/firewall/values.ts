// Values the firewall evaluator compares: address intervals, ports, protocol and ICMPv6
// type names as nftables and ip6tables spell them. Pure.
import { parseAddress, type IpAddress } from '../ip.js';
import type { Family } from '../report.js';

/** A set of source addresses as one closed interval: a prefix, a range or one address. */
export interface AddressInterval {
  family: Family;
  first: bigint;
  last: bigint;
  /** As the rule set wrote it: `192.0.2.0/24`, `2001:db8::/32`, `203.0.113.1-203.0.113.9`. */
  text: string;
}

function toBigInt(address: IpAddress): bigint {
  let n = 0n;
  for (const byte of address.toByteArray()) n = (n << 8n) | BigInt(byte);
  return n;
}

export function prefixInterval(addressText: string, length: number): AddressInterval {
  const address = parseAddress(addressText);
  const family: Family = address.kind() === 'ipv4' ? 4 : 6;
  const bits = family === 4 ? 32n : 128n;
  const hostBits = bits - BigInt(length);
  const base = (toBigInt(address) >> hostBits) << hostBits;
  return { family, first: base, last: base + (1n << hostBits) - 1n, text: `${addressText}/${length}` };
}

export function rangeInterval(firstText: string, lastText: string): AddressInterval {
  const first = parseAddress(firstText);
  const last = parseAddress(lastText);
  return { family: first.kind() === 'ipv4' ? 4 : 6, first: toBigInt(first), last: toBigInt(last), text: `${firstText}-${lastText}` };
}

export function addressInterval(text: string): AddressInterval {
  const address = parseAddress(text);
  const n = toBigInt(address);
  return { family: address.kind() === 'ipv4' ? 4 : 6, first: n, last: n, text };
}

export const contains = (outer: AddressInterval, inner: AddressInterval): boolean =>
  outer.family === inner.family && outer.first <= inner.first && inner.last <= outer.last;

export const overlaps = (a: AddressInterval, b: AddressInterval): boolean => a.family === b.family && a.first <= b.last && b.first <= a.last;

/** Layer-4 protocol names as nftables prints them, by number (and the aliases iptables uses). */
const L4_PROTOCOLS: Record<string, number> = {
  tcp: 6,
  udp: 17,
  icmp: 1,
  'ipv6-icmp': 58,
  icmpv6: 58,
  'ipv6-icmpv6': 58,
  sctp: 132,
  udplite: 136,
  esp: 50,
  ah: 51,
  gre: 47,
};

export function l4ProtocolNumber(value: unknown): number | null {
  if (typeof value === 'number') return value;
  if (typeof value !== 'string') return null;
  if (/^\d+$/.test(value)) return Number(value);
  return L4_PROTOCOLS[value.toLowerCase()] ?? null;
}

/** ICMPv6 message types by the names nftables (libnftables) and ip6tables use. */
const ICMPV6_TYPES: Record<string, number> = {
  'destination-unreachable': 1,
  'packet-too-big': 2,
  'time-exceeded': 3,
  'parameter-problem': 4,
  'echo-request': 128,
  'echo-reply': 129,
  'mld-listener-query': 130,
  'mld-listener-report': 131,
  'mld-listener-done': 132,
  'mld-listener-reduction': 132,
  'nd-router-solicit': 133,
  'nd-router-advert': 134,
  'nd-neighbor-solicit': 135,
  'nd-neighbor-advert': 136,
  'nd-redirect': 137,
  'router-renumbering': 138,
  'ind-neighbor-solicit': 141,
  'ind-neighbor-advert': 142,
  'mld2-listener-report': 143,
  // ip6tables spellings
  'router-solicitation': 133,
  'router-advertisement': 134,
  'neighbour-solicitation': 135,
  'neighbor-solicitation': 135,
  'neighbour-advertisement': 136,
  'neighbor-advertisement': 136,
  redirect: 137,
  ping: 128,
  pong: 129,
  'ttl-exceeded': 3,
};

export function icmpv6TypeNumber(value: unknown): number | null {
  if (typeof value === 'number') return value;
  if (typeof value !== 'string') return null;
  if (/^\d+$/.test(value)) return Number(value);
  return ICMPV6_TYPES[value.toLowerCase()] ?? null;
}

/** The nftables name of an ICMPv6 type, for messages and fixes. */
export function icmpv6TypeName(type: number): string {
  const names: Record<number, string> = { 1: 'destination-unreachable', 2: 'packet-too-big', 3: 'time-exceeded', 4: 'parameter-problem', 133: 'nd-router-solicit', 134: 'nd-router-advert', 135: 'nd-neighbor-solicit', 136: 'nd-neighbor-advert' };
  return names[type] ?? String(type);
}

/** Interface name patterns: nftables and iptables both end a prefix match with `*` (iptables: `+`). */
export function interfaceMatches(pattern: string, name: string): boolean {
  if (pattern.endsWith('*') || pattern.endsWith('+')) return name.startsWith(pattern.slice(0, -1));
  return pattern === name;
}
