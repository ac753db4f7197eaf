// TCP wrappers (libwrap): /etc/hosts.allow and /etc/hosts.deny as hosts_access(5) and
// hosts_options(5) describe them, with Debian's patches (README.Debian of libwrap0: IPv6, CIDR,
// port numbers as daemon names, the extended option language). Each point below was checked on
// Debian 12 (libwrap0 7.6.q-32) with a real vsftpd (tcp_wrappers=YES) in a network namespace,
// its FTP greeting telling `220` (let in) from `421 Service not available.` (refused), and with
// tcpdchk/tcpdmatch (test/netns/config-tcpwrappers.test.ts repeats the checks).
// - A rule is `daemon_list : client_list [ : option ... ]`; the first rule that matches, in
//   hosts.allow then hosts.deny, decides: a hosts.allow rule grants and a hosts.deny rule
//   denies, unless its options say `deny` / `allow`; no match grants. A `\` at the end of a
//   line continues it. A last line without a newline is ignored ("missing newline or line too
//   long" in syslog): its rule does nothing.
// - List elements are separated by blanks or commas; `a EXCEPT b` matches a unless b; ALL
//   matches everything; names are case-insensitive. Daemon names are argv[0] ("vsftpd",
//   "sshd") or, a Debian addition, the server's port ("21").
// - IPv4 clients: `192.0.2.1`, `192.0.2.` (prefix), `192.0.2.0/255.255.255.0`, `192.0.2.0/24`.
//   IPv6 clients only in brackets: `[2001:db8:1::]/64`, `[2001:db8:1::1]`. Bare, libwrap
//   splits the line at the address's colons: `vsftpd: 2001:db8:1::/64` reads as client `2001`
//   (an IPv4 0.0.7.209 to it) and options `db8`, ... (tcpdchk: 'bad option name: "db8"'), and
//   no IPv6 client matches. A zone index (`[fe80::1%eth0]`) is a host name to it ("host not
//   found").
// - Mapped peers: vsftpd's one [::] socket hands IPv4 clients over as ::ffff:192.0.2.1, and
//   libwrap matches them against the IPv4 entries (192.0.2.0/24 and 192.0.2.0/255.255.255.0
//   let 192.0.2.1 in over IPv4; tcpdmatch vsftpd ::ffff:192.0.2.1 is granted by them), while a
//   `[::ffff:192.0.2.0]/120` or `[::ffff:192.0.2.1]` entry lets nobody in: libwrap converts
//   the mapped address to IPv4 before matching (libwrap.so.0 carries the "::ffff:" prefix it
//   strips; the server side of `vsftpd@host` patterns is converted alike). So convertsMappedPeers
//   is true and no separate mapped-client rule is needed for it.
// - Which daemons consult the files: on Debian 12, sshd (openssh-server links libwrap.so.0;
//   `sshd: ALL` in hosts.deny keeps clients from its greeting) and vsftpd when tcp_wrappers=YES
//   (default NO; the reader adds that line of /etc/vsftpd.conf to this configuration). Other
//   daemons are left out: a rule's ports are those of the listening services of the daemons it
//   names, found by their process name.
// - tcpdchk checks the files; its warnings and errors go to syslog only (journalctl -t
//   tcpdchk), its exit status is 0 either way, and -v prints how it read each rule.
import ipaddr from 'ipaddr.js';
import type { ConfigDirective, Service } from '../../report.js';
import type { AclUse, AddressUse, ConfigKnowledge, Ipv6Syntax } from './model.js';
import { vsftpdBool, vsftpdSetting } from './vsftpd.js';

export const HOSTS_ALLOW = '/etc/hosts.allow';
export const HOSTS_DENY = '/etc/hosts.deny';
const SYNTAX: Ipv6Syntax = { brackets: 'required', prefix: true, zone: false };
const MAN = 'hosts_access(5), hosts_options(5) (libwrap0, Debian 12), /usr/share/doc/libwrap0/README.Debian';

const isRule = (d: ConfigDirective) => d.file === HOSTS_ALLOW || d.file === HOSTS_DENY;

/** Splits at the first `sep` outside brackets, as libwrap's split_at() does; null when there is none. */
export function splitOutsideBrackets(text: string, sep = ':'): [string, string] | null {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '[') depth++;
    else if (c === ']') depth--;
    else if (depth === 0 && c === sep) return [text.slice(0, i), text.slice(i + 1)];
  }
  return null;
}

const listTokens = (text: string) => text.split(/[\s,]+/).filter(Boolean);

interface HostsRule {
  d: ConfigDirective;
  daemons: string[];
  clients: string[];
  effect: 'grant' | 'deny';
}

function readRule(d: ConfigDirective): HostsRule {
  const [clientPart, options] = splitOutsideBrackets(d.value) ?? [d.value, ''];
  const words = options.split(':').map((o) => o.trim().toLowerCase());
  const inAllow = d.file === HOSTS_ALLOW;
  const effect = inAllow ? (words.includes('deny') ? 'deny' : 'grant') : words.includes('allow') ? 'grant' : 'deny';
  return { d, daemons: listTokens(d.key), clients: listTokens(clientPart), effect };
}

/** hosts_access list matching: `a b EXCEPT c EXCEPT d` = (a or b) unless (c unless d). */
function listMatch(tokens: string[], match: (t: string) => boolean | null): boolean | null {
  const at = tokens.findIndex((t) => t.toUpperCase() === 'EXCEPT');
  const head = at < 0 ? tokens : tokens.slice(0, at);
  const results = head.map(match);
  const hit = results.some((r) => r === true) ? true : results.some((r) => r === null) ? null : false;
  if (hit !== true || at < 0) return hit;
  const except = listMatch(tokens.slice(at + 1), match);
  return except === null ? null : !except;
}

/** Whether a daemon-list token names daemon `name` serving `port` (null: cannot tell). */
function daemonToken(token: string, name: string, port: number): boolean | null {
  if (token.includes('@')) return null; // daemon@server-address: depends on the address a client connects to
  if (token.toUpperCase() === 'ALL') return true;
  if (/^\d+$/.test(token)) return Number(token) === port;
  return token.toLowerCase() === name.toLowerCase();
}

/** An IPv4 client pattern as a network (CIDR), or null when the token is not one. */
export function ipv4Pattern(token: string): string | null {
  const host = token.includes('@') ? token.slice(token.lastIndexOf('@') + 1) : token;
  if (ipaddr.IPv4.isValidFourPartDecimal(host)) return `${host}/32`;
  const prefix = /^(\d{1,3}\.){1,3}$/.exec(host);
  if (prefix) {
    const parts = host.slice(0, -1).split('.');
    if (parts.some((p) => Number(p) > 255)) return null;
    return `${[...parts, '0', '0', '0'].slice(0, 4).join('.')}/${parts.length * 8}`;
  }
  const m = /^([\d.]+)\/([\d.]+)$/.exec(host);
  if (!m || !ipaddr.IPv4.isValidFourPartDecimal(m[1]!)) return null;
  if (/^\d+$/.test(m[2]!)) return Number(m[2]) <= 32 ? `${m[1]}/${m[2]}` : null;
  if (!ipaddr.IPv4.isValidFourPartDecimal(m[2]!)) return null;
  const len = ipaddr.IPv4.parse(m[2]!).prefixLengthFromSubnetMask();
  return len === null ? null : `${m[1]}/${len}`;
}

/** A bracketed IPv6 client pattern as written without brackets, or null. */
function ipv6Pattern(token: string): string | null {
  const host = token.includes('@') ? token.slice(token.lastIndexOf('@') + 1) : token;
  const m = /^\[([^\]]+)\](?:\/(\d+))?$/.exec(host);
  if (!m || !ipaddr.IPv6.isValid(m[1]!)) return null;
  return m[2] === undefined ? m[1]! : `${m[1]}/${m[2]}`;
}

/**
 * How a client list treats the IPv6 clients of a network it does not name by IPv4: 'all' (ALL),
 * 'some' (it names IPv6 networks: taken as handling them), 'none' (IPv4 entries only), or
 * 'unknown' (host names, LOCAL, netgroups, files, wildcards: they may match IPv6 clients).
 */
function ipv6Coverage(clients: string[]): 'all' | 'some' | 'none' | 'unknown' {
  const at = clients.findIndex((t) => t.toUpperCase() === 'EXCEPT');
  const head = at < 0 ? clients : clients.slice(0, at);
  const tail = at < 0 ? [] : clients.slice(at + 1);
  const kinds = head.map((t) => (t.toUpperCase() === 'ALL' ? 'all' : ipv6Pattern(t) ? 'some' : ipv4Pattern(t) ? 'none' : 'unknown'));
  if (kinds.includes('all')) return tail.every((t) => ipv4Pattern(t) !== null || t.toUpperCase() === 'EXCEPT') ? 'all' : 'unknown';
  if (kinds.includes('unknown')) return 'unknown';
  return kinds.includes('some') ? 'some' : 'none';
}

/** The daemons that consult these files on Debian 12: sshd always, vsftpd with tcp_wrappers=YES. */
function wrappedServices(all: ConfigDirective[], services: Service[]): Service[] {
  const vsftpd = vsftpdBool(vsftpdSetting(all, 'tcp_wrappers')?.value ?? 'NO') === true;
  return services.filter((s) => s.proto === 'tcp' && (s.process === 'sshd' || (s.process === 'vsftpd' && vsftpd)));
}

/** The rules in the order libwrap reads them: hosts.allow, then hosts.deny. */
function ordered(all: ConfigDirective[]): HostsRule[] {
  const rules = all.filter(isRule).map(readRule);
  return [...rules.filter((r) => r.d.file === HOSTS_ALLOW), ...rules.filter((r) => r.d.file === HOSTS_DENY)];
}

/**
 * What happens to an IPv6 client of the network a rule names by IPv4 only: the effect of the
 * first other rule that applies to it ('grant' when none does, libwrap's default), or null
 * when that cannot be told. `before`: a rule ahead of it already decides (this one never runs).
 */
function fallthrough(rules: HostsRule[], index: number, service: Service): { before: boolean; effect: 'grant' | 'deny' | null } {
  const applies = (r: HostsRule) => listMatch(r.daemons, (t) => daemonToken(t, service.process ?? '', service.port));
  for (const r of rules.slice(0, index)) {
    const cov = ipv6Coverage(r.clients);
    if (cov !== 'none' && applies(r) !== false) return { before: true, effect: null };
  }
  for (const r of rules.slice(index + 1)) {
    const hit = applies(r);
    if (hit === false) continue;
    const cov = ipv6Coverage(r.clients);
    if (cov === 'none') continue;
    if (hit === null || cov === 'unknown') return { before: false, effect: null };
    return { before: false, effect: r.effect };
  }
  return { before: false, effect: 'grant' };
}

export const tcpwrappersConfigKnowledge: ConfigKnowledge = {
  daemon: 'tcpwrappers',
  // The reader keeps every rule of hosts.allow and hosts.deny (keyed by their daemon list),
  // and vsftpd's tcp_wrappers switch.
  directives: ['tcp_wrappers'],
  checker: 'tcpdchk -v; journalctl -t tcpdchk -n 20 --no-pager',
  addresses(d): AddressUse[] {
    if (!isRule(d) || d.raw.includes('\n')) return []; // a rule continued over lines: its fix would not be one line
    const uses: AddressUse[] = [];
    const add = (token: string) => {
      if (token.includes(':') && !uses.some((u) => u.token === token)) uses.push({ directive: d, token, role: 'acl', syntax: SYNTAX });
    };
    // Server endpoint patterns (vsftpd@[2001:db8::2]) and client patterns (user@host too).
    for (const t of listTokens(d.key)) if (t.includes('@')) add(t.slice(t.lastIndexOf('@') + 1));
    const [clientPart] = splitOutsideBrackets(d.value) ?? [d.value];
    for (const t of listTokens(clientPart)) {
      if (t.toUpperCase() === 'EXCEPT' || t.startsWith('@') || t.startsWith('/')) continue;
      add(t.includes('@') ? t.slice(t.lastIndexOf('@') + 1) : t);
    }
    // A bare IPv6 address is cut at its first colon by libwrap: look for it in the text as written.
    for (const t of listTokens(d.value)) {
      const bare = t.split('/')[0]!;
      if (!t.startsWith('[') && bare.includes(':') && ipaddr.IPv6.isValid(bare)) add(t);
    }
    return uses;
  },
  ipv6Off: () => null,
  acl(d, all, services = []): AclUse | null {
    if (!isRule(d) || d.raw.includes('\n')) return null;
    const rules = ordered(all);
    const index = rules.findIndex((r) => r.d === d);
    const rule = rules[index];
    if (!rule || rule.daemons.some((t) => t.includes('@'))) return null;
    const at = rule.clients.findIndex((t) => t.toUpperCase() === 'EXCEPT');
    const head = at < 0 ? rule.clients : rule.clients.slice(0, at);
    const networks = head.map((t) => ipv4Pattern(t) ?? ipv6Pattern(t));
    if (networks.length === 0 || networks.some((n) => n === null)) return null; // names, wildcards: not only addresses
    // The services this rule guards, where naming IPv4 only changes something for IPv6 clients:
    // a granting rule whose fall-through denies them, a denying rule whose fall-through lets them in.
    const ports = new Set<number>();
    for (const service of wrappedServices(all, services)) {
      if (listMatch(rule.daemons, (t) => daemonToken(t, service.process ?? '', service.port)) !== true) continue;
      const next = fallthrough(rules, index, service);
      if (next.before || next.effect === null || next.effect === rule.effect) continue;
      ports.add(service.port);
    }
    if (ports.size === 0) return null;
    return {
      directive: d,
      networks: networks as string[],
      withIpv6: (added) => {
        // Insert after the last client of the list (before EXCEPT, before the options).
        const colon = splitOutsideBrackets(d.raw)!;
        const afterDaemons = d.raw.length - colon[1].length;
        const rest = colon[1];
        const clientEnd = splitOutsideBrackets(rest)?.[0].length ?? rest.length;
        const exceptAt = rest.slice(0, clientEnd).search(/[\s,]EXCEPT(?=[\s,]|$)/i);
        const end = afterDaemons + (exceptAt >= 0 ? exceptAt : clientEnd);
        const head = d.raw.slice(0, end).replace(/\s+$/, '');
        const tokens = added.map((n) => {
          const [address, len] = n.split('/');
          return len === undefined ? `[${address}]` : `[${address}]/${len}`;
        });
        return `${head} ${tokens.join(' ')}${d.raw.slice(head.length)}`;
      },
      otherwise: rule.effect === 'grant' ? 'denied' : 'allowed',
      ports: [...ports].sort((a, b) => a - b),
    };
  },
  convertsMappedPeers: true,
  sources: [MAN, 'tcpdchk(8), tcpdmatch(8)', 'docs/daemon-defaults.md#address-syntax-in-configuration-files', 'docs/daemon-defaults.md#mapped-ipv4-clients-and-access-lists'],
};
