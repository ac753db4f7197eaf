// Squid: what squid.conf (Squid 5) and the proxy say about addresses, families and access lists,
// each point checked on Debian 12's Squid 5.7 with `squid -k parse`, ss, the access log and
// curl -x from a peer namespace (test/netns/config-squid).
// - squid.conf (src/cache_cf.cc parseOneConfigFile()): one directive per line, a trailing `\`
//   continues it; `#` lines are comments, and a word starting with `#` ends a line; directive
//   names are case-sensitive (`HTTP_PORT` is "unrecognized"); `include FILE...` takes glob(3)
//   patterns, read in place (Debian: `include /etc/squid/conf.d/*.conf`); if/else/endif.
// - http_port (squid.conf.documented, TAG: http_port): `port`, `hostname:port`,
//   `1.2.3.4:port`, `[ipv6]:port`; a port is always required. An IPv6 address must be in
//   brackets: bare, `http_port 2001:db8::1:3128` is refused ("No digits were found in the input
//   value 'db8::1:3128'", FATAL: Bungled); `[fe80::1%eth0]:3128` is accepted. `http_port 3128`
//   (and `[::]:3128`) is one [::] socket without IPV6_V6ONLY (ss: v6only:0): both families.
//   `0.0.0.0:3128` is one IPv4 socket: IPv4 only.
// - acl NAME src|dst|localip ADDR[/MASK] ... (TAG: acl): IPv6 bare (`[2001:db8::]/64` is
//   refused: "aclIpParseIpData: unknown first address"); a network needs its /len (2001:db8:1::
//   alone matches that one address: an IPv6 client of the network gets 403). Several `acl NAME
//   src` lines add to one list (names compare case-insensitively: `acl a` then `acl A dst` is
//   "already exists with different type"). A zone with a mask (`fe80::%eth0/64`) passes squid
//   -k parse with "Netmask masks away part of the specified IP": it is not read as fe80::/64, and
//   alone in its list it let every client in, IPv4 and IPv6 alike (beside another entry it did
//   not: what it matches depends on the list's tree); a zone on a single address is not judged
//   (not checked). `::ffff:192.0.2.1` is the same entry as 192.0.2.1 to Squid (Ip::Address keeps
//   IPv4 as mapped; checked), so mapped entries are not judged here (with a /len over 32 such an
//   entry matched every client: left to the operator, the generic check cannot say it).
// - http_access allow|deny [!]ACL ...: the first line whose ACLs all match decides; a request no
//   line matches gets the opposite of the last line (TAG: http_access). An IPv6 client that an
//   `allow` list does not name gets 403, logged TCP_DENIED/403 with its address.
// - Mapped peers: the IPv4 client of the [::] socket (::ffff:192.0.2.1) matches `acl src
//   192.0.2.0/24` and is logged as 192.0.2.1 (checked with curl over IPv4): convertsMappedPeers.
// - tcp_outgoing_address ADDR [[!]ACL ...]: bare IPv6 (`[2001:db8::1]` is FATAL: "invalid IP
//   address or domain name"), no /len (FATAL). dns_v4_first is obsolete in Squid 5 (squid -k
//   parse: "Directive 'dns_v4_first' is obsolete ... Remove this line", exit 0): not read.
import type { ConfigDirective } from '../../report.js';
import type { AclUse, AddressUse, ConfigKnowledge, Ipv6Off, Ipv6Syntax } from './model.js';

const LISTEN: Ipv6Syntax = { brackets: 'required', prefix: false, zone: true };
const NETWORK: Ipv6Syntax = { brackets: 'forbidden', prefix: true, zone: false };
const OUTGOING: Ipv6Syntax = { brackets: 'forbidden', prefix: false, zone: true };
export const SQUID_DOCS = 'squid.conf.documented for Squid 5 (TAG: http_port, acl, http_access, tcp_outgoing_address, include) — https://www.squid-cache.org/Versions/v5/cfgman/';
const SOURCE = 'Squid 5.7 source: src/cache_cf.cc parseOneConfigFile() and parsePortSpecification(), src/acl/Ip.cc aclIpParseIpData()';
const ADDRESS_ACLS = ['src', 'dst', 'localip'];

/** The words of a directive's value, up to a word starting with `#` (a comment). */
export function squidWords(value: string): string[] {
  const out: string[] = [];
  for (const w of value.split(/\s+/)) {
    if (w === '') continue;
    if (w.startsWith('#')) break;
    out.push(w);
  }
  return out;
}

export interface SquidPort {
  /** any: `3128` (both families); ipv4-any: `0.0.0.0:3128`; ipv4/ipv6: one address; bare-ipv6: refused by Squid; host: a name. */
  kind: 'any' | 'ipv4-any' | 'ipv4' | 'ipv6' | 'bare-ipv6' | 'host';
  port: number | null;
  /** The address as written (inside [ ] for ipv6), null for a port alone. */
  address: string | null;
  /** The first word, as written. */
  spec: string;
}

export function parseHttpPort(value: string): SquidPort {
  const spec = squidWords(value)[0] ?? '';
  let m: RegExpExecArray | null;
  if (/^\d+$/.test(spec)) return { kind: 'any', port: Number(spec), address: null, spec };
  if ((m = /^\[([^\]]*)\](?::(\d+))?$/.exec(spec))) return { kind: m[1] === '::' ? 'any' : 'ipv6', port: m[2] !== undefined ? Number(m[2]) : null, address: m[1]!, spec };
  if ((m = /^(\d{1,3}(?:\.\d{1,3}){3})(?::(\d+))?$/.exec(spec))) return { kind: m[1] === '0.0.0.0' ? 'ipv4-any' : 'ipv4', port: m[2] !== undefined ? Number(m[2]) : null, address: m[1]!, spec };
  if ((spec.match(/:/g) ?? []).length >= 2) return { kind: 'bare-ipv6', port: null, address: spec, spec };
  m = /^([^:]+)(?::(\d+))?$/.exec(spec);
  return { kind: 'host', port: m?.[2] !== undefined ? Number(m[2]) : null, address: m?.[1] ?? spec, spec };
}

const is = (d: ConfigDirective, key: string) => d.key === key;

/** `acl NAME TYPE VALUES...`: the name, type and values (options such as -i left out). */
function aclParts(d: ConfigDirective): { name: string; type: string; values: string[] } | null {
  if (!is(d, 'acl')) return null;
  const [name, type, ...rest] = squidWords(d.value);
  if (!name || !type) return null;
  return { name, type, values: rest.filter((w) => !w.startsWith('-')) };
}

const isMapped = (token: string) => /^::ffff:\d/i.test(token);

/** The ports Squid takes proxy requests on (every http_port with a port). */
function httpPorts(all: ConfigDirective[]): number[] {
  const ports = all.filter((d) => is(d, 'http_port')).map((d) => parseHttpPort(d.value).port);
  return [...new Set(ports.filter((p): p is number => p !== null && Number.isInteger(p)))];
}

/** http_access lines as action + ACL names (with their `!`). */
function accessRules(all: ConfigDirective[]): Array<{ d: ConfigDirective; allow: boolean; acls: string[] }> {
  return all
    .filter((d) => is(d, 'http_access'))
    .map((d) => {
      const [action = '', ...acls] = squidWords(d.value);
      return { d, allow: action === 'allow', acls };
    });
}

/** d's line with `extra` after the last value (before a `#` comment or a trailing `\`, spacing kept). */
function lineWith(d: ConfigDirective, extra: string): string {
  const hash = /\s#/.exec(d.raw);
  let body = (hash ? d.raw.slice(0, hash.index) : d.raw).trimEnd();
  let rest = d.raw.slice(body.length);
  if (body.endsWith('\\')) {
    const before = body.slice(0, -1).trimEnd();
    rest = body.slice(before.length) + rest;
    body = before;
  }
  return `${body} ${extra}${rest}`;
}

export const squidConfigKnowledge: ConfigKnowledge = {
  daemon: 'squid',
  directives: ['http_port', 'acl', 'http_access', 'tcp_outgoing_address'],
  checker: 'squid -k parse -f /etc/squid/squid.conf',
  addresses(d): AddressUse[] {
    if (is(d, 'http_port')) {
      const p = parseHttpPort(d.value);
      if (p.kind === 'ipv6') return [{ directive: d, token: `[${p.address}]`, role: 'listen', syntax: LISTEN }];
      if (p.kind !== 'bare-ipv6') return [];
      // Squid always wants a port: a bare IPv6 address followed by :port was most likely meant
      // as [address]:port, so the token is the address and the port stays where it is.
      const cut = p.spec.lastIndexOf(':');
      const head = p.spec.slice(0, cut);
      const tail = p.spec.slice(cut + 1);
      const split = /^\d{1,5}$/.test(tail) && Number(tail) <= 65535 && head.includes(':') && !head.endsWith(':');
      return [{ directive: d, token: split ? head : p.spec, role: 'listen', syntax: LISTEN }];
    }
    const acl = aclParts(d);
    if (acl && ADDRESS_ACLS.includes(acl.type)) {
      return acl.values
        .filter((t) => !t.startsWith('"') && !isMapped(t) && !(t.includes('%') && !t.includes('/')))
        .map((token) => ({ directive: d, token, role: 'acl' as const, syntax: NETWORK }));
    }
    if (is(d, 'tcp_outgoing_address')) {
      const token = squidWords(d.value)[0];
      return token && !isMapped(token) ? [{ directive: d, token, role: 'listen', syntax: OUTGOING }] : [];
    }
    return [];
  },
  ipv6Off(d, all): Ipv6Off | null {
    if (!is(d, 'http_port')) return null;
    const p = parseHttpPort(d.value);
    if (p.kind !== 'ipv4-any' || p.port === null) return null;
    const same = all.filter((x) => is(x, 'http_port')).map((x) => ({ x, p: parseHttpPort(x.value) })).filter((o) => o.p.port === p.port);
    // Another line on the port that can take IPv6 (a port alone, [::], an IPv6 address, a name): not IPv4-only.
    if (same.some((o) => ['any', 'ipv6', 'bare-ipv6', 'host'].includes(o.p.kind))) return null;
    if (same.find((o) => o.p.kind === 'ipv4-any')?.x !== d) return null;
    return {
      why: `0.0.0.0:${p.port} is the IPv4 wildcard and nothing else: Squid listens on port ${p.port} over IPv4 only (http_port ${p.port} alone opens one [::] socket without IPV6_V6ONLY that takes both families, IPv4 clients matched and logged as IPv4); http_port is read at start`,
      fix: d.raw.replace(p.spec, String(p.port)),
      ports: [p.port],
    };
  },
  acl(d, all): AclUse | null {
    const acl = aclParts(d);
    if (!acl || acl.type !== 'src') return null;
    const name = acl.name.toLowerCase();
    const lines = all.filter((x) => {
      const o = aclParts(x);
      return o !== null && o.type === 'src' && o.name.toLowerCase() === name;
    });
    // One finding per ACL, on its last line: the fix adds the IPv6 networks there.
    if (lines[lines.length - 1] !== d) return null;
    const networks = lines.flatMap((x) => aclParts(x)!.values);
    // A list read from a file, or `all`: not judged.
    if (networks.some((n) => n.startsWith('"') || n === 'all')) return null;
    // It guards the proxy when an http_access line lets it in (allow NAME) or keeps the rest out (deny !NAME).
    const rules = accessRules(all);
    const guard = rules.findIndex((r) => r.acls.some((a) => (r.allow ? a.toLowerCase() === name : a.toLowerCase() === `!${name}`)));
    if (guard < 0) return null;
    // An `allow all` after it (before any deny all) lets everyone in anyway.
    const later = rules.slice(guard + 1);
    const allowAll = later.findIndex((r) => r.allow && r.acls.length === 1 && r.acls[0] === 'all');
    const denyAll = later.findIndex((r) => !r.allow && r.acls.length === 1 && r.acls[0] === 'all');
    if (allowAll >= 0 && (denyAll < 0 || allowAll < denyAll)) return null;
    return {
      directive: d,
      networks,
      withIpv6: (add) => lineWith(d, add.join(' ')),
      otherwise: 'denied',
      ports: httpPorts(all),
    };
  },
  convertsMappedPeers: true,
  sources: [SQUID_DOCS, SOURCE, 'docs/daemon-defaults.md#address-syntax-in-configuration-files', 'docs/daemon-defaults.md#mapped-ipv4-clients-and-access-lists'],
};
