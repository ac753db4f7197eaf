// /proc/net/if_inet6: `addr(32 hex) ifindex plen scope flags dev`, all hex, network byte order.
import { decodeNetworkIpv6, formatAddress, type AddressScope, type HostAddress } from '@dualstack/core';
import { ProcParseError, fields, hexField } from './errors.js';
import { readProcText, type ProcRoot } from './root.js';

const FILE = 'net/if_inet6';

/** IFA_F_* flags; the file prints only the low 8 bits (include/uapi/linux/if_addr.h). */
export const addressFlagBits: ReadonlyArray<[number, string]> = [
  [0x01, 'temporary'],
  [0x02, 'nodad'],
  [0x04, 'optimistic'],
  [0x08, 'dadfailed'],
  [0x10, 'homeaddress'],
  [0x20, 'deprecated'],
  [0x40, 'tentative'],
  [0x80, 'permanent'],
];

/** IPV6_ADDR_SCOPE_* values as printed (net/ipv6/addrconf.c). */
const scopes: Record<number, AddressScope> = { 0x00: 'global', 0x10: 'host', 0x20: 'link', 0x40: 'site', 0x80: 'compat' };

export function parseIfInet6(text: string, file = FILE): HostAddress[] {
  const out: HostAddress[] = [];
  text.split('\n').forEach((rawLine, index) => {
    if (rawLine.trim() === '') return;
    const line = index + 1;
    const f = fields(rawLine);
    const at = (field: string) => ({ file, line, field, rawLine });
    if (f.length < 6) throw new ProcParseError({ file, line, field: ['address', 'ifindex', 'prefix length', 'scope', 'flags', 'device'][f.length] ?? 'device', raw: rawLine, reason: 'missing' });
    hexField(f[0], at('address'), 32);
    hexField(f[1], at('ifindex'));
    const prefixLength = hexField(f[2], at('prefix length'), 2);
    if (prefixLength > 128) throw new ProcParseError({ file, line, field: 'prefix length', raw: rawLine, reason: 'over 128' });
    const scope = hexField(f[3], at('scope'), 2);
    const flags = hexField(f[4], at('flags'), 2);
    out.push({
      family: 6,
      address: formatAddress(decodeNetworkIpv6(f[0]!)),
      prefixLength,
      interface: f[5]!,
      scope: scopes[scope] ?? 'unknown',
      flags: addressFlagBits.filter(([bit]) => (flags & bit) !== 0).map(([, name]) => name),
    });
  });
  return out;
}

/** null when the file is absent: IPv6 is off on this host. */
export function readIfInet6(root: ProcRoot): HostAddress[] | null {
  const text = readProcText(root, FILE);
  return text === null ? null : parseIfInet6(text);
}
