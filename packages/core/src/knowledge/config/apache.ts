// Apache httpd 2.4: what its manual and APR say about addresses, families and access lists,
// each point checked on Debian 12's httpd 2.4 in network namespaces (test/netns/config-apache).
// - Listen `[IP-address:]portnumber [protocol]` (mpm_common): an IPv6 address in brackets,
//   the port required ("Port must be specified"). `Listen 80` opens one [::]:80 socket that
//   takes IPv4 as mapped addresses (V6ONLY off: httpd's default on Linux); `Listen 0.0.0.0:80`
//   opens an IPv4 socket only; with both `0.0.0.0:80` and `[::]:80` httpd keeps the one [::]
//   socket. Without brackets APR splits `addr:port` at the last colon, so
//   `Listen 2001:db8::1:80` happens to mean [2001:db8::1]:80, while `Listen 2001:db8::1`
//   (no port) is refused at start. A zone index is accepted.
// - <VirtualHost addr[:port] ...>: the same splitting; a bare IPv6 address without a port is
//   cut into an invalid name and the address is ignored ("Could not resolve host name
//   2001:db8:1: -- ignoring!"), which `apache2ctl -t` lets pass.
// - Require ip (mod_authz_host): bare addresses and networks (`2001:db8::/32`), several on a
//   line; brackets, a zone or an IPv4-mapped literal are refused at start. Require lines of a
//   section are alternatives (an implicit <RequireAny>); `Require all granted` lets anyone in.
//   An IPv4-mapped peer is matched against the IPv4 networks (apr_ipsubnet_test() in APR's
//   network_io/unix/sockaddr.c), and %a / %h log it as plain IPv4.
// - Allow from / Deny from with Order (mod_access_compat): bare networks. With `Order
//   Allow,Deny` a client no Allow names is refused; with `Order Deny,Allow` (the default) it is
//   let in unless `Deny from all`.
import ipaddr from 'ipaddr.js';
import type { ConfigDirective } from '../../report.js';
import type { AclUse, AddressUse, ConfigKnowledge, Ipv6Off, Ipv6Syntax } from './model.js';

const LISTEN: Ipv6Syntax = { brackets: 'required', prefix: false, zone: true };
const NETWORK: Ipv6Syntax = { brackets: 'forbidden', prefix: true, zone: false };
const BIND_DOCS = 'https://httpd.apache.org/docs/2.4/bind.html';
const LISTEN_DOCS = 'https://httpd.apache.org/docs/2.4/mod/mpm_common.html#listen';
const VHOST_DOCS = 'https://httpd.apache.org/docs/2.4/mod/core.html#virtualhost';
const AUTHZ_DOCS = 'https://httpd.apache.org/docs/2.4/mod/mod_authz_host.html';
const COMPAT_DOCS = 'https://httpd.apache.org/docs/2.4/mod/mod_access_compat.html';

const is = (d: ConfigDirective, key: string) => d.key.toLowerCase() === key.toLowerCase();
const words = (value: string) => value.split(/\s+/).filter(Boolean);

/** An address:port as APR reads it (apr_parse_addr_port): brackets, or the last colon before digits. */
export function aprAddress(token: string): { address: string | null; port: number | null; bracketed: boolean; bareIpv6: boolean } {
  let m = /^\[([^\]]*)\](?::(\d+))?$/.exec(token);
  if (m) return { address: m[1]!, port: m[2] !== undefined ? Number(m[2]) : null, bracketed: true, bareIpv6: false };
  if (/^\d+$/.test(token)) return { address: null, port: Number(token), bracketed: false, bareIpv6: false };
  m = /^(.*):(\d+)$/.exec(token);
  const head = m ? m[1]! : token;
  const port = m ? Number(m[2]) : null;
  const colons = (token.match(/:/g) ?? []).length;
  // More than one colon without brackets: APR takes what is before the last one as the host.
  const bareIpv6 = colons >= 2 && !(m && ipaddr.IPv6.isValid(head));
  return { address: head === '*' || head === '_default_' ? null : head, port, bracketed: false, bareIpv6 };
}

interface ListenLine {
  d: ConfigDirective;
  /** ipv4-any: 0.0.0.0; any: port alone or *, [::]; ipv4 / ipv6: an address; host: a name. */
  kind: 'ipv4-any' | 'any' | 'ipv4' | 'ipv6' | 'host' | 'bad';
  port: number | null;
  token: string;
}

function listenOf(d: ConfigDirective): ListenLine {
  const token = words(d.value)[0] ?? '';
  const a = aprAddress(token);
  if (a.bareIpv6) return { d, kind: 'bad', port: null, token };
  if (a.address === null) return { d, kind: 'any', port: a.port, token };
  if (a.address === '0.0.0.0') return { d, kind: 'ipv4-any', port: a.port, token };
  if (ipaddr.IPv4.isValid(a.address) && /^\d{1,3}(\.\d{1,3}){3}$/.test(a.address)) return { d, kind: 'ipv4', port: a.port, token };
  if (ipaddr.IPv6.isValid(a.address.split('%')[0]!)) return { d, kind: a.address.split('%')[0] === '::' ? 'any' : 'ipv6', port: a.port, token };
  return { d, kind: 'host', port: a.port, token };
}

const listens = (all: ConfigDirective[]) => all.filter((d) => is(d, 'Listen')).map(listenOf);

/** The ports a directive guards: its <VirtualHost>'s ports, else every Listen port. */
function portsOf(d: ConfigDirective, all: ConfigDirective[]): number[] {
  const every = [...new Set(listens(all).map((l) => l.port).filter((p): p is number => p !== null))];
  const vhost = (d.context ?? '').split(' > ').find((s) => /^VirtualHost\b/i.test(s));
  if (!vhost) return every;
  const args = words(vhost.replace(/^VirtualHost\s*/i, '').replace(/\s*\(\S+:\d+\)$/, ''));
  const ports = args.map((a) => aprAddress(a).port);
  return ports.some((p) => p === null) ? every : [...new Set(ports as number[])];
}

/** d's line with more arguments appended (httpd has one directive per line). */
const appended = (d: ConfigDirective, extra: string[]) => `${d.raw.trimEnd()} ${extra.join(' ')}`;

/** What a `Require [not] ip`, `Allow from` or `Deny from` line names, as written. */
function aclArgs(d: ConfigDirective): { kind: 'require-ip' | 'require-not-ip' | 'allow' | 'deny'; args: string[] } | null {
  const w = words(d.value);
  if (is(d, 'Require')) {
    if (w[0]?.toLowerCase() === 'ip') return { kind: 'require-ip', args: w.slice(1) };
    if (w[0]?.toLowerCase() === 'not' && w[1]?.toLowerCase() === 'ip') return { kind: 'require-not-ip', args: w.slice(2) };
    return null;
  }
  if ((is(d, 'Allow') || is(d, 'Deny')) && w[0]?.toLowerCase() === 'from') return { kind: is(d, 'Allow') ? 'allow' : 'deny', args: w.slice(1) };
  return null;
}

/** An address or network as mod_authz_host and mod_access_compat take them (also partial IPv4: `192.168`). */
function isNetwork(arg: string): boolean {
  const base = arg.replace(/^\[|\](?=\/|$)/g, '').split('/')[0]!;
  return ipaddr.IPv6.isValid(base) || /^\d{1,3}(\.\d{1,3}){0,3}$/.test(base);
}

export const apacheConfigKnowledge: ConfigKnowledge = {
  daemon: 'apache',
  directives: ['Listen', 'VirtualHost', 'Require', 'Allow', 'Deny', 'Order'],
  checker: 'apache2ctl -t',
  addresses(d): AddressUse[] {
    const uses: AddressUse[] = [];
    if (is(d, 'Listen') || is(d, 'VirtualHost')) {
      for (const token of is(d, 'Listen') ? words(d.value).slice(0, 1) : words(d.value)) {
        const a = aprAddress(token);
        if (a.bracketed) uses.push({ directive: d, token: `[${a.address}]`, role: 'listen', syntax: LISTEN });
        // A bare address APR cannot split: <VirtualHost> ignores it; Listen refuses to start
        // (and needs a port, which only the operator knows), so only <VirtualHost> gets a fix.
        else if (a.bareIpv6 && is(d, 'VirtualHost') && ipaddr.IPv6.isValid(token)) uses.push({ directive: d, token, role: 'listen', syntax: LISTEN });
      }
      return uses;
    }
    const acl = aclArgs(d);
    if (!acl) return [];
    return acl.args.map((token) => ({ directive: d, token, role: 'acl' as const, syntax: NETWORK }));
  },
  ipv6Off(d, all): Ipv6Off | null {
    if (!is(d, 'Listen')) return null;
    const l = listenOf(d);
    if (l.kind !== 'ipv4-any' || l.port === null) return null;
    const others = listens(all).filter((o) => o.port === l.port && o.d !== d);
    if (others.some((o) => o.kind === 'any' || o.kind === 'ipv6' || o.kind === 'host' || o.kind === 'bad')) return null;
    return {
      why: `Listen ${l.token} opens an IPv4 socket only; Listen ${l.port} opens one socket for both families (IPv4 clients arrive as mapped addresses, which httpd logs and matches as IPv4)`,
      fix: d.raw.replace(l.token, String(l.port)),
      ports: [l.port],
    };
  },
  acl(d, all): AclUse | null {
    const mine = aclArgs(d);
    if (!mine || mine.kind === 'require-not-ip' || mine.kind === 'deny') return null;
    const here = all.filter((x) => x.context === d.context);
    const lines = here.filter((x) => aclArgs(x)?.kind === mine.kind);
    // One finding per section, on its last line of the kind: the IPv6 networks go there.
    if (lines[lines.length - 1] !== d) return null;
    let otherwise: 'denied' | 'allowed';
    if (mine.kind === 'require-ip') {
      if (here.some((x) => is(x, 'Require') && /^all\s+granted$/i.test(x.value.trim()))) return null;
      const section = (d.context ?? '').split(' > ').pop() ?? '';
      otherwise = /^RequireNone\b/i.test(section) ? 'allowed' : 'denied';
    } else {
      const order = here.filter((x) => is(x, 'Order')).pop()?.value.replace(/\s+/g, '').toLowerCase() ?? 'deny,allow';
      const denyAll = here.some((x) => aclArgs(x)?.kind === 'deny' && aclArgs(x)!.args.some((a) => a.toLowerCase() === 'all'));
      if (order !== 'allow,deny' && order !== 'mutual-failure' && !denyAll) return null; // nobody is kept out
      otherwise = 'denied';
    }
    const networks = lines.flatMap((x) => aclArgs(x)!.args).filter(isNetwork);
    if (networks.length === 0) return null;
    return { directive: d, networks, withIpv6: (v6) => appended(d, v6), otherwise, ports: portsOf(d, all) };
  },
  convertsMappedPeers: true,
  sources: [BIND_DOCS, LISTEN_DOCS, VHOST_DOCS, AUTHZ_DOCS, COMPAT_DOCS, "APR: network_io/unix/sockaddr.c (apr_parse_addr_port, apr_ipsubnet_test)", 'docs/daemon-defaults.md#mapped-ipv4-clients-and-access-lists'],
};
