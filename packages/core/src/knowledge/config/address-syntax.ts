// Checks one address token of a configuration line against the syntax its directive wants
// (brackets or bare, prefix length, zone index, IPv4-mapped literals). Pure; the daemon's
// knowledge says what the directive wants, this says whether the token is written that way.
import ipaddr from 'ipaddr.js';
import type { HostAddress } from '../../report.js';
import type { AddressUse } from './model.js';

export interface SyntaxProblem {
  severity: 'critical' | 'warning';
  /** What the daemon does with the token as written. */
  problem: string;
  /** The token as it should be written, or null when only the operator knows. */
  corrected: string | null;
}

interface Shape {
  address: string;
  bracketed: boolean;
  port: string | null;
  prefix: number | null;
  zone: string | null;
}

function shapeOf(token: string): Shape | null {
  let m = /^\[([^\]]+)\](?::(\d+))?(?:\/(\d+))?$/.exec(token);
  let bracketed = true;
  let port: string | null = null;
  let prefix: number | null = null;
  let inner: string;
  if (m) {
    inner = m[1]!;
    port = m[2] ?? null;
    prefix = m[3] !== undefined ? Number(m[3]) : null;
  } else {
    bracketed = false;
    m = /^([^/]+)(?:\/(\d+))?$/.exec(token);
    if (!m) return null;
    inner = m[1]!;
    prefix = m[2] !== undefined ? Number(m[2]) : null;
  }
  const [address, zone] = inner.split('%') as [string, string | undefined];
  if (!ipaddr.IPv6.isValid(address)) return null; // IPv4, a host name, a wildcard: not our business
  return { address, bracketed, port, prefix, zone: zone ?? null };
}

const isMapped = (address: string) => ipaddr.IPv6.parse(address).isIPv4MappedAddress();

/** The problem of one token, or null when the directive reads it as the operator meant. */
export function checkAddressSyntax(use: AddressUse, hostAddresses: HostAddress[], convertsMappedPeers: boolean | null): SyntaxProblem | null {
  if (use.syntax.colonsDoubled) {
    // Exim-style colon list: the address is the token with each doubled colon read as one.
    const inner = { ...use, token: use.token.replace(/::/g, ':'), syntax: { ...use.syntax, colonsDoubled: false } };
    if (shapeOf(inner.token)) {
      const p = checkAddressSyntax(inner, hostAddresses, convertsMappedPeers);
      return p && { ...p, corrected: p.corrected === null ? null : p.corrected.replace(/:/g, '::') };
    }
    if (!shapeOf(use.token)) return null;
    return { severity: 'critical', problem: 'in a colon-separated list every single colon separates items, so the address is cut into pieces that are no address (the daemon refuses them or matches nobody): write each colon doubled, or change the list separator', corrected: use.token.replace(/:/g, '::') };
  }
  const s = shapeOf(use.token);
  if (!s) return null;
  const { syntax } = use;
  const plain = `${s.address}${s.zone && syntax.zone ? `%${s.zone}` : ''}`;
  const withPrefix = (a: string) => (s.prefix !== null && syntax.prefix ? `${a}/${s.prefix}` : a);
  if (syntax.brackets === 'forbidden' && s.bracketed) {
    return { severity: 'critical', problem: 'this directive takes IPv6 addresses bare: with brackets the entry is not an address to the daemon (ignored, or refused at start)', corrected: withPrefix(plain) };
  }
  if (syntax.brackets === 'required' && !s.bracketed) {
    return { severity: 'critical', problem: 'this directive takes IPv6 addresses in brackets: bare, the colons are read as separators (the entry is refused or means something else)', corrected: `[${plain}]${s.prefix !== null && syntax.prefix ? `/${s.prefix}` : ''}` };
  }
  if (syntax.brackets === 'with-port' && !s.bracketed) {
    // Bare, `addr:port` is just a longer IPv6 address. If dropping the last group gives an
    // address of this host and the whole does not, a port was meant.
    const cut = s.address.lastIndexOf(':');
    const head = s.address.slice(0, cut);
    const tail = s.address.slice(cut + 1);
    const own = (a: string) => hostAddresses.some((h) => h.family === 6 && ipaddr.IPv6.isValid(a) && ipaddr.IPv6.parse(h.address).toNormalizedString() === ipaddr.IPv6.parse(a).toNormalizedString());
    if (/^\d+$/.test(tail) && ipaddr.IPv6.isValid(head) && own(head) && !own(s.address)) {
      return { severity: 'warning', problem: `without brackets "${use.token}" is one IPv6 address, not ${head} port ${tail}: the daemon listens on an address this host does not have (or fails to bind)`, corrected: `[${head}]:${tail}` };
    }
  }
  if (syntax.brackets === 'optional' && s.port !== null) {
    return { severity: 'critical', problem: 'this directive takes an address without a port: with one the entry is not an address to the daemon (refused at start)', corrected: `[${plain}]` };
  }
  if (s.zone && !syntax.zone) return { severity: 'critical', problem: 'a zone index (%interface) is not accepted here', corrected: s.bracketed ? `[${s.address}]${s.prefix !== null && syntax.prefix ? `/${s.prefix}` : ''}` : withPrefix(s.address) };
  if (s.prefix !== null && !syntax.prefix) return { severity: 'critical', problem: 'a prefix length is not accepted here (an address is)', corrected: s.bracketed ? `[${plain}]` : plain };
  if (isMapped(s.address)) {
    if (use.role === 'listen') return { severity: 'warning', problem: 'an IPv4-mapped address here binds an IPv6 socket that takes IPv4 clients of that one address only', corrected: ipaddr.IPv6.parse(s.address).toIPv4Address().toString() };
    if (convertsMappedPeers === true) {
      const v4 = ipaddr.IPv6.parse(s.address).toIPv4Address().toString();
      return { severity: 'warning', problem: 'the daemon converts IPv4-mapped peers to plain IPv4 before matching, so a ::ffff: entry never matches anyone', corrected: s.prefix !== null && s.prefix >= 96 ? `${v4}/${s.prefix - 96}` : v4 };
    }
  }
  if (use.role === 'acl' && syntax.prefix && s.prefix === null && /::$/.test(s.address)) {
    const network = ipaddr.IPv6.parse(s.address);
    const mine = hostAddresses.find((h) => h.family === 6 && h.prefixLength < 128 && ipaddr.IPv6.parse(h.address).match(network, h.prefixLength));
    return {
      severity: 'warning',
      problem: `${s.address} looks like a network but has no prefix length: the entry matches that one address only`,
      corrected: mine ? `${s.bracketed ? `[${s.address}]` : s.address}/${mine.prefixLength}` : null,
    };
  }
  return null;
}
