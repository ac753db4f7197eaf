// /proc/net/ipv6_route: `dst plen src src_plen nexthop metric refcnt use flags dev`, all hex,
// addresses in network byte order. Lists every routing table, without a table id.
import { decodeNetworkIpv6, formatAddress, type Route } from '@dualstack/core';
import { ProcParseError, fields, hexField } from './errors.js';
import { readProcText, type ProcRoot } from './root.js';

const FILE = 'net/ipv6_route';

/** RTF_* flags (include/uapi/linux/ipv6_route.h, route.h). */
export const RTF = {
  UP: 0x1,
  GATEWAY: 0x2,
  HOST: 0x4,
  REJECT: 0x200,
  DEFAULT: 0x10000,
  ALLONLINK: 0x20000,
  ADDRCONF: 0x40000,
  PREFIX_RT: 0x80000,
  ANYCAST: 0x100000,
  NONEXTHOP: 0x200000,
  EXPIRES: 0x400000,
  ROUTEINFO: 0x800000,
  CACHE: 0x1000000,
  LOCAL: 0x80000000,
} as const;

const flagNames = Object.entries(RTF).map(([name, bit]) => [bit, name.toLowerCase()] as const);

/** Every table's null entry (`::/0`, metric ffffffff, REJECT, dev lo): not a default route. */
export function isNullRoute(prefixLength: number, metric: number, flags: number): boolean {
  return prefixLength === 0 && metric === 0xffffffff && (flags & RTF.REJECT) !== 0;
}

export function routeOrigin(flags: number): Route['origin'] {
  if ((flags & RTF.LOCAL) !== 0) return 'local';
  if ((flags & RTF.REJECT) !== 0) return 'reject';
  // Only routes the kernel learned from router advertisements carry ADDRCONF
  // (`ip route add ... proto ra` does not set it).
  if ((flags & RTF.ADDRCONF) !== 0) return 'ra';
  if ((flags & RTF.GATEWAY) !== 0) return 'static';
  return 'kernel';
}

export function parseIpv6Route(text: string, file = FILE): Route[] {
  const out: Route[] = [];
  text.split('\n').forEach((rawLine, index) => {
    if (rawLine.trim() === '') return;
    const line = index + 1;
    const f = fields(rawLine);
    const names = ['destination', 'prefix length', 'source', 'source prefix length', 'next hop', 'metric', 'refcnt', 'use', 'flags', 'device'];
    if (f.length < 10) throw new ProcParseError({ file, line, field: names[f.length] ?? 'device', raw: rawLine, reason: 'missing' });
    const at = (field: string) => ({ file, line, field, rawLine });
    hexField(f[0], at('destination'), 32);
    const prefixLength = hexField(f[1], at('prefix length'), 2);
    if (prefixLength > 128) throw new ProcParseError({ file, line, field: 'prefix length', raw: rawLine, reason: 'over 128' });
    hexField(f[4], at('next hop'), 32);
    const metric = hexField(f[5], at('metric'), 8);
    const flags = hexField(f[8], at('flags'), 8);
    if (isNullRoute(prefixLength, metric, flags)) return;
    const nextHop = decodeNetworkIpv6(f[4]!);
    out.push({
      family: 6,
      destination: formatAddress(decodeNetworkIpv6(f[0]!)),
      prefixLength,
      gateway: (flags & RTF.GATEWAY) !== 0 ? formatAddress(nextHop) : null,
      interface: f[9]!,
      metric,
      flags: flagNames.filter(([bit]) => (flags & bit) !== 0).map(([, name]) => name),
      origin: routeOrigin(flags),
      expires: (flags & RTF.EXPIRES) !== 0,
    });
  });
  return out;
}

export function readIpv6Route(root: ProcRoot): Route[] | null {
  const text = readProcText(root, FILE);
  return text === null ? null : parseIpv6Route(text);
}
