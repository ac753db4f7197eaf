// HAProxy 2.6: what its configuration manual and source say about addresses, families and
// access lists, each point checked on Debian 12's haproxy 2.6.12 in network namespaces
// (`haproxy -c -f`, ss, curl from a peer; test/netns/config-haproxy).
// - bind ADDR[,ADDR...] [options] (frontend, listen; str2sa_range() in src/tools.c): each
//   address is `[host]:port`, the port after the LAST colon, so an IPv6 address is written bare
//   (`bind 2001:db8::1:80`, `bind :::80`) or in brackets (`bind [::]:80`), alike. A port is
//   mandatory: `bind ::1` is host `:` port 1 ("invalid address"), `bind [::1]` "missing port
//   specification". A zone index (`fe80::1%eth0:80`, bracketed too) and a prefix length are
//   refused ("invalid address"). `:80`, `*:80` and `0.0.0.0:80` listen on 0.0.0.0, IPv4 only
//   (checked with ss); `:::80`, `[::]:80` and `ipv6@:80` on [::], whose V6ONLY follows
//   net.ipv6.bindv6only unless the line says `v4v6` (one mapped socket) or `v6only`.
//   `::ffff:192.0.2.2:80` binds an IPv6 socket taking IPv4 clients of that address (and fails
//   to bind under bindv6only=1). Prefixes `ipv4@`, `tcp4@`, ... force the family.
// - acl NAME src PATTERN... (pat_parse_ip(), src/pattern.c): bare addresses or networks
//   (`2001:db8::/32`, IPv4 also with a dotted mask); brackets and zones are refused ("is not a
//   valid IPv4 or IPv6 address"). Several `acl` lines of one name are ORed. Used as
//   `http-request deny unless NAME` / `if !NAME`, `tcp-request connection reject unless NAME`,
//   or inline as `{ src ... }`: a client no pattern names gets 403 (http-request deny) or its
//   connection closed (tcp-request ... reject).
// - Mapped peers (pat_match_ip(), src/pattern.c): an IPv6 sample is looked up among the IPv6
//   patterns first, then a ::ffff:a.b.c.d (or ::a.b.c.d, or 6to4 2002:AABB:CCDD::) sample is
//   converted and looked up among the IPv4 ones; an IPv4 sample is also looked up as ::ffff:
//   among the IPv6 ones. So `acl src 192.0.2.0/24` lets 192.0.2.1 in through a v4v6 socket,
//   and `acl src ::ffff:192.0.2.0/120` lets 192.0.2.1 in on an IPv4 socket (both checked with
//   curl): a ::ffff: pattern is not a mistake here. `src` and the logs show ::ffff:192.0.2.1.
import ipaddr from 'ipaddr.js';
import type { ConfigDirective } from '../../report.js';
import type { AclUse, AddressUse, ConfigKnowledge, Ipv6Off, Ipv6Syntax } from './model.js';

const BIND: Ipv6Syntax = { brackets: 'optional', prefix: false, zone: false };
const PATTERN: Ipv6Syntax = { brackets: 'forbidden', prefix: true, zone: false };
export const HAPROXY_DOCS = 'HAProxy 2.6 configuration manual (5.1 bind options, v4v6, v6only; 7.1.6 matching IPv4 and IPv6 addresses; 4.2 acl) — https://docs.haproxy.org/2.6/configuration.html';
const SOURCES = 'HAProxy 2.6 source: src/tools.c (str2sa_range, str2ip2, parse_line), src/pattern.c (pat_parse_ip, pat_match_ip), src/cfgparse.c (readcfgfile)';

/** Words of a statement's value (the parser stores them blank-joined, quotes removed). */
const words = (value: string) => value.split(/\s+/).filter(Boolean);

const FAMILY_PREFIX: Record<string, 4 | 6 | 0 | null> = {
  'ipv4@': 4, 'tcp4@': 4, 'udp4@': 4, 'quic4@': 4,
  'ipv6@': 6, 'tcp6@': 6, 'udp6@': 6, 'quic6@': 6,
  'ip@': 0, 'tcp@': 0, 'udp@': 0, 'stream+': 0, 'dgram+': 0,
  'unix@': null, 'abns@': null, 'fd@': null, 'sockpair@': null, 'uxst@': null, 'uxdg@': null,
};

export interface HaproxyBindAddress {
  /** The entry as written (`ipv6@:::80`). */
  entry: string;
  /** The host part as written, without a family prefix (`` for `:80`, `[::]`, `2001:db8::1`). */
  host: string;
  /** The port as written (`80`, `8000-8010`), null when none. */
  port: string | null;
  kind: 'ipv4-any' | 'ipv4' | 'ipv6-any' | 'ipv6' | 'host' | 'other';
  ports: number[];
}

/** One address of a bind line, read as str2sa_range() reads it. */
export function parseBindAddress(entry: string): HaproxyBindAddress {
  let rest = entry;
  let family: 4 | 6 | 0 = 0;
  for (const [prefix, fam] of Object.entries(FAMILY_PREFIX)) {
    if (!rest.startsWith(prefix)) continue;
    if (fam === null) return { entry, host: rest, port: null, kind: 'other', ports: [] };
    family = fam;
    rest = rest.slice(prefix.length);
    break;
  }
  if (rest.startsWith('/') || rest.includes('$')) return { entry, host: rest, port: null, kind: 'other', ports: [] };
  // The port follows the last ':' unless a ']' comes after it.
  let cut = rest.length - 1;
  while (cut >= 0 && rest[cut] !== ':' && rest[cut] !== ']') cut--;
  const host = cut >= 0 && rest[cut] === ':' ? rest.slice(0, cut) : rest;
  const port = cut >= 0 && rest[cut] === ':' ? rest.slice(cut + 1) : null;
  const range = port === null ? null : /^(\d+)(?:-(\d+))?$/.exec(port);
  const lo = range ? Number(range[1]) : NaN;
  const hi = range ? Number(range[2] ?? range[1]) : NaN;
  const ports = range && hi >= lo && hi - lo < 100 ? Array.from({ length: hi - lo + 1 }, (_, i) => lo + i) : [];
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  let kind: HaproxyBindAddress['kind'];
  if (host === '' || host === '*') kind = family === 6 ? 'ipv6-any' : 'ipv4-any';
  else if (bare === '::') kind = 'ipv6-any';
  else if (bare === '0.0.0.0') kind = 'ipv4-any';
  else if (ipaddr.IPv4.isValid(bare) && /^\d+\.\d+\.\d+\.\d+$/.test(bare)) kind = 'ipv4';
  else if (bare.includes(':')) kind = 'ipv6';
  else kind = 'host';
  return { entry, host, port, kind, ports };
}

const isBind = (d: ConfigDirective) => d.key === 'bind' && /^(frontend|listen) /.test(d.context ?? '');
const bindAddresses = (d: ConfigDirective) => (words(d.value)[0] ?? '').split(',').filter(Boolean).map(parseBindAddress);

/** The ports a section listens on (its bind lines). */
function sectionPorts(all: ConfigDirective[], context: string | undefined): number[] {
  return [...new Set(all.filter((x) => isBind(x) && x.context === context).flatMap((x) => bindAddresses(x).flatMap((a) => a.ports)))];
}

/** Where a statement's code ends: its comment (`#` outside quotes) and trailing blanks cut. */
function codeOf(raw: string): string {
  let quote: string | null = null;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c === '\\' && quote !== "'") i++;
    else if ((c === '"' || c === "'") && (quote === null || quote === c)) quote = quote ? null : c;
    else if (c === '#' && quote === null) return raw.slice(0, i).trimEnd();
  }
  return raw.trimEnd();
}

/** src patterns of `src [flags] PATTERN...` words; null when they come from a file (-f) or are not IP matches. */
function srcPatterns(ws: string[]): string[] | null {
  const out: string[] = [];
  for (let i = 0; i < ws.length; i++) {
    const w = ws[i]!;
    if (w === '-f') return null;
    if (w === '-m') {
      if (ws[i + 1] !== 'ip') return null;
      i++;
      continue;
    }
    if (w === '-u') {
      i++;
      continue;
    }
    if (w === '--') {
      out.push(...ws.slice(i + 1));
      break;
    }
    if (w.startsWith('-')) continue;
    out.push(w);
  }
  return out;
}

/** The `{ src ... }` groups of a rule's condition: their patterns and where they close in the raw line. */
function inlineSrc(d: ConfigDirective): Array<{ patterns: string[]; negated: boolean }> {
  const out: Array<{ patterns: string[]; negated: boolean }> = [];
  for (const m of d.value.matchAll(/(!?) ?\{ src ((?:[^}\s]+ )*?)\}/g)) {
    const patterns = srcPatterns(words(m[2]!));
    if (patterns) out.push({ patterns, negated: m[1] === '!' });
  }
  return out;
}

const isMappedPattern = (p: string) => {
  const addr = p.split('/')[0]!;
  return ipaddr.IPv6.isValid(addr) && ipaddr.IPv6.parse(addr).isIPv4MappedAddress();
};

/** The access-rule statements: http-request / tcp-request with a deny-like or allow-like action and a condition. */
interface Rule {
  d: ConfigDirective;
  deny: boolean;
  /** `if` or `unless`, and the words after it; null when unconditional. */
  cond: { unless: boolean; terms: string[] } | null;
}

function ruleOf(d: ConfigDirective): Rule | null {
  const ws = words(d.value);
  let action: string | undefined;
  if (d.key === 'http-request') action = ws[0];
  else if (d.key === 'tcp-request' && ['connection', 'session', 'content'].includes(ws[0] ?? '')) action = ws[1];
  else return null;
  const deny = ['deny', 'reject', 'tarpit', 'silent-drop', 'auth'].includes(action ?? '');
  const allow = ['allow', 'accept'].includes(action ?? '');
  if (!deny && !allow) return null;
  const at = ws.findIndex((w) => w === 'if' || w === 'unless');
  return { d, deny, cond: at < 0 ? null : { unless: ws[at] === 'unless', terms: ws.slice(at + 1) } };
}

/**
 * How a named ACL guards its section: 'denied' when clients it does not match are refused
 * (`deny unless NAME`, `deny if !NAME`, or `allow if NAME` before an unconditional deny),
 * 'allowed' when only those it matches are refused (`deny if NAME`); null when unused that way.
 */
function guard(name: string, all: ConfigDirective[], context: string | undefined): 'denied' | 'allowed' | null {
  const rules = all.filter((x) => x.context === context).map(ruleOf).filter((r): r is Rule => r !== null);
  for (const [i, r] of rules.entries()) {
    if (!r.cond || r.cond.terms.length !== 1) continue;
    const term = r.cond.terms[0]!;
    const matchesOnly = term === name ? !r.cond.unless : term === `!${name}` ? r.cond.unless : null;
    if (matchesOnly === null) continue;
    // matchesOnly: the action applies to the clients NAME matches.
    if (r.deny) return matchesOnly ? 'allowed' : 'denied';
    if (matchesOnly && rules.slice(i + 1).some((o) => o.deny && o.cond === null && o.d.key === r.d.key)) return 'denied';
  }
  return null;
}

function aclName(d: ConfigDirective): { name: string; patterns: string[] | null } | null {
  if (d.key !== 'acl') return null;
  const [name, criterion, ...rest] = words(d.value);
  if (!name || criterion !== 'src') return null;
  return { name, patterns: srcPatterns(rest) };
}

export const haproxyConfigKnowledge: ConfigKnowledge = {
  daemon: 'haproxy',
  directives: ['bind', 'acl', 'http-request', 'tcp-request'],
  checker: 'haproxy -c -f /etc/haproxy/haproxy.cfg',
  addresses(d): AddressUse[] {
    if (isBind(d)) {
      return bindAddresses(d)
        .filter((a) => a.kind === 'ipv6' && a.port !== null)
        .map((a) => ({ directive: d, token: a.host, role: 'listen' as const, syntax: BIND }));
    }
    // A ::ffff: pattern matches IPv4 clients too (pat_match_ip()): not a mistake here.
    const acl = (patterns: string[]) => patterns.filter((p) => !isMappedPattern(p)).map((token) => ({ directive: d, token, role: 'acl' as const, syntax: PATTERN }));
    const named = aclName(d);
    if (named) return acl(named.patterns ?? []);
    if (d.key === 'http-request' || d.key === 'tcp-request') return inlineSrc(d).flatMap((g) => acl(g.patterns));
    return [];
  },
  ipv6Off(d, all): Ipv6Off | null {
    if (!isBind(d)) return null;
    const binds = all.filter(isBind);
    const ipv6On = (port: number) => binds.some((x) => bindAddresses(x).some((a) => a.ports.includes(port) && a.kind !== 'ipv4-any' && a.kind !== 'ipv4'));
    const firstHere = (port: number) => binds.find((x) => x.context === d.context && bindAddresses(x).some((a) => a.kind === 'ipv4-any' && a.ports.includes(port)));
    const off = bindAddresses(d).filter((a) => a.kind === 'ipv4-any' && a.ports.length > 0 && a.ports.every((p) => !ipv6On(p) && firstHere(p) === d));
    if (off.length === 0) return null;
    // The same options on the IPv6 line (ssl, crt, ...), but for the family ones and the
    // per-listener id and name.
    const opts = words(d.value).slice(1);
    const keep: string[] = [];
    for (let i = 0; i < opts.length; i++) {
      if (opts[i] === 'v4v6' || opts[i] === 'v6only') continue;
      if (opts[i] === 'id' || opts[i] === 'name') {
        i++;
        continue;
      }
      keep.push(opts[i]!);
    }
    const ports = off.flatMap((a) => a.ports);
    const line = `bind ${off.map((a) => `:::${a.port}`).join(',')} v6only${keep.length ? ` ${keep.join(' ')}` : ''}`;
    return {
      why: `${off.map((a) => `"${a.entry}"`).join(', ')} ${off.length === 1 ? 'is' : 'are'} the IPv4 wildcard (0.0.0.0) only and no bind takes IPv6 on port ${[...new Set(off.map((a) => a.port))].join(', ')}: ${d.context} takes no IPv6 client there (an IPv6 socket needs an IPv6 address, :::PORT; v6only keeps it a second socket whatever net.ipv6.bindv6only says)`,
      fix: `${d.raw.trim()}\n#   ${line}`,
      ports,
    };
  },
  acl(d, all): AclUse | null {
    const named = aclName(d);
    if (named) {
      const lines = all.filter((x) => x.context === d.context && aclName(x)?.name === named.name);
      const src = lines.map(aclName).filter((n) => n?.patterns !== undefined);
      if (src.some((n) => n!.patterns === null)) return null; // patterns from a file: not known here
      if (lines.filter((x) => aclName(x)?.patterns).at(-1) !== d) return null; // one finding, on the last line
      const otherwise = guard(named.name, all, d.context);
      if (!otherwise) return null;
      const code = codeOf(d.raw);
      return {
        directive: d,
        networks: src.flatMap((n) => n!.patterns!),
        withIpv6: (networks) => d.raw.replace(code, `${code} ${networks.join(' ')}`),
        otherwise,
        ports: sectionPorts(all, d.context),
      };
    }
    const rule = ruleOf(d);
    if (!rule?.deny || !rule.cond) return null;
    const groups = inlineSrc(d);
    // The condition must be that one group alone (`! {` and `!{` alike).
    if (groups.length !== 1 || rule.cond.terms.join(' ').replace(/^! \{/, '!{') !== `${groups[0]!.negated ? '!' : ''}{ src ${groups[0]!.patterns.join(' ')} }`) return null;
    const { patterns, negated } = groups[0]!;
    const last = patterns[patterns.length - 1]!;
    return {
      directive: d,
      networks: patterns,
      withIpv6: (networks) => d.raw.replace(new RegExp(`(${last.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')})(\\s*\\})`), `$1 ${networks.join(' ')}$2`),
      otherwise: rule.cond.unless !== negated ? 'denied' : 'allowed',
      ports: sectionPorts(all, d.context),
    };
  },
  convertsMappedPeers: true,
  sources: [HAPROXY_DOCS, SOURCES, 'docs/daemon-defaults.md#address-syntax-in-configuration-files', 'docs/daemon-defaults.md#mapped-ipv4-clients-and-access-lists'],
};
