// nginx: what its documentation and source say about addresses, families and access lists,
// each point checked on Debian 12's nginx 1.22 in network namespaces (test/netns/config-nginx).
// - listen (ngx_http_core_module, also stream and mail): `address[:port]`, `port`,
//   `[ipv6]:port`; an IPv6 address must be in brackets (bare, `listen 2001:db8::1:80;` is
//   refused: "invalid port"), no zone index, no prefix. `listen 80` and `listen *:80` are
//   IPv4 only; an IPv6 socket comes only from a listen line with an IPv6 address, with
//   IPV6_V6ONLY set (`ipv6only=on` is the default) unless `ipv6only=off`. A server block without
//   listen listens on *:80 (*:8000 when nginx does not run as root): IPv4 only. Listen sockets
//   are shared by address:port across server blocks, and a request goes to the server block
//   that lists the address:port it came in on (then by name), so a server block listening on
//   `80` only is not served to IPv6 clients even when another block has `[::]:80`: they get
//   that port's default server instead.
// - allow / deny (ngx_http_access_module, ngx_stream_access_module): one address, network
//   (bare, `2001:db8::/32`), `unix:` or `all`; checked in order, the first match decides, and a
//   client no rule matches is let in, so an allow list ends with `deny all`. The rules of the
//   innermost level that has any apply (a location's rules replace the server's).
//   An IPv4-mapped peer (on an `ipv6only=off` socket) is matched against the IPv4 rules
//   (ngx_http_access_handler() in src/http/modules/ngx_http_access_module.c), so a ::ffff:
//   rule never matches it; `$remote_addr` still shows ::ffff:192.0.2.1.
// - set_real_ip_from (ngx_http_realip_module): address, bare network, host name or unix:.
import ipaddr from 'ipaddr.js';
import type { ConfigDirective } from '../../report.js';
import type { AclUse, AddressUse, ConfigKnowledge, Ipv6Off, Ipv6Syntax } from './model.js';

const LISTEN: Ipv6Syntax = { brackets: 'required', prefix: false, zone: false };
const NETWORK: Ipv6Syntax = { brackets: 'forbidden', prefix: true, zone: false };
const DOCS = 'https://nginx.org/en/docs/http/ngx_http_core_module.html#listen';
const ACCESS_DOCS = 'https://nginx.org/en/docs/http/ngx_http_access_module.html';
const REALIP_DOCS = 'https://nginx.org/en/docs/http/ngx_http_realip_module.html#set_real_ip_from';

/** nginx's words: blank-separated, "double" or 'single' quotes group (quotes removed). */
export function nginxWords(value: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'|(\S+)/g;
  for (let m = re.exec(value); m !== null; m = re.exec(value)) out.push(m[1] ?? m[2] ?? m[3]!);
  return out;
}

const segments = (d: ConfigDirective): string[] => (d.context ? d.context.split(' > ') : []);

/** A server block's opening line (not an upstream's `server` directive). */
const isServerBlock = (d: ConfigDirective) => d.key === 'server' && segments(d).length === 1 && ['http', 'stream', 'mail'].includes(segments(d)[0]!);

/** The server block a directive is in: the context up to the server segment, or null. */
function serverOf(d: ConfigDirective): string | null {
  const segs = segments(d);
  const i = segs.findIndex((s) => /^server\b.*\(.*; \/\S+:\d+\)$/.test(s));
  return i < 0 ? null : segs.slice(0, i + 1).join(' > ');
}

/** Whether `d` is inside the server block that opens at `block`. */
function inServer(d: ConfigDirective, block: ConfigDirective): boolean {
  const server = serverOf(d);
  return server !== null && server.startsWith(`${block.context} > server`) && server.endsWith(`; ${block.file}:${block.line})`);
}

export interface NginxListen {
  /** ipv4-any: `80`, `*:80`, `0.0.0.0:80`; ipv4 / ipv6: a given address; bare-ipv6: refused by nginx; host: a name; unix: a socket file. */
  kind: 'ipv4-any' | 'ipv4' | 'ipv6' | 'bare-ipv6' | 'host' | 'unix';
  port: number | null;
  /** The address inside [ ] for ipv6. */
  address: string | null;
  params: string[];
}

export function parseListen(value: string): NginxListen {
  const [first = '', ...params] = nginxWords(value);
  const port = (p: string | undefined) => (p === undefined ? 80 : Number(p));
  let m: RegExpExecArray | null;
  if (first.startsWith('unix:')) return { kind: 'unix', port: null, address: null, params };
  if (/^\d+$/.test(first)) return { kind: 'ipv4-any', port: Number(first), address: null, params };
  if ((m = /^\*(?::(\d+))?$/.exec(first))) return { kind: 'ipv4-any', port: port(m[1]), address: null, params };
  if ((m = /^\[([^\]]*)\](?::(\d+))?$/.exec(first))) return { kind: 'ipv6', port: port(m[2]), address: m[1]!, params };
  if ((m = /^(\d{1,3}(?:\.\d{1,3}){3})(?::(\d+))?$/.exec(first))) return { kind: m[1] === '0.0.0.0' ? 'ipv4-any' : 'ipv4', port: port(m[2]), address: m[1]!, params };
  if ((first.match(/:/g) ?? []).length >= 2) return { kind: 'bare-ipv6', port: null, address: first, params };
  m = /^([^:]+)(?::(\d+))?$/.exec(first);
  return { kind: 'host', port: m ? port(m[2]) : null, address: m?.[1] ?? first, params };
}

/** Listen parameters that may differ between server blocks sharing an address:port (the rest are per socket, given once). */
const SHARED_PARAMS = /^(ssl|http2|spdy|quic|proxy_protocol|udp)$/;

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The directive's own text in its line (`listen 80 default_server;`), to rewrite it in place. */
function directiveText(d: ConfigDirective): string {
  const words = d.value.split(/\s+/).filter(Boolean).map(escape);
  const m = new RegExp(`(?:^|(?<=[\\s;{}]))${escape(d.key)}${words.length ? `\\s+${words.join('\\s+')}` : ''}\\s*;`).exec(d.raw);
  return m ? m[0] : `${d.key}${d.value ? ` ${d.value}` : ''};`;
}

/** d's line with the directive followed by `extra` (more directives on the same line, as nginx allows). */
function lineWith(d: ConfigDirective, extra: string): string {
  const own = directiveText(d);
  return d.raw.includes(own) ? d.raw.replace(own, `${own} ${extra}`) : `${own} ${extra}`;
}

function listensOf(all: ConfigDirective[], where: (d: ConfigDirective) => boolean): Array<{ d: ConfigDirective; l: NginxListen }> {
  return all.filter((d) => d.key === 'listen' && where(d)).map((d) => ({ d, l: parseListen(d.value) }));
}

const serverNames = (all: ConfigDirective[], server: string | null) =>
  server === null ? [] : all.filter((d) => d.key === 'server_name' && d.context === server).flatMap((d) => nginxWords(d.value));

/** How IPv6 clients fare on `port` of this server block: other blocks with [::]:port, or no IPv6 socket at all. */
function ipv6Elsewhere(all: ConfigDirective[], top: string, port: number, server: string | null): boolean {
  return listensOf(all, (d) => segments(d)[0] === top && serverOf(d) !== server).some(({ l }) => l.kind === 'ipv6' && l.address === '::' && l.port === port);
}

function offLine(all: ConfigDirective[], top: string, server: string | null, port: number, names: string[], params: string[]): { why: string; v6: string } {
  const elsewhere = ipv6Elsewhere(all, top, port, server);
  const keep = elsewhere ? params.filter((p) => SHARED_PARAMS.test(p)) : params.filter((p) => !p.startsWith('ipv6only='));
  const who = names.length ? `server ${names.join(' ')}` : 'this server block';
  const why = elsewhere
    ? `${who} listens on port ${port} over IPv4 only: other server blocks have [::]:${port}, so IPv6 clients asking for ${names.length ? names.join(' ') : 'it'} get the default server of [::]:${port} instead`
    : `nginx listens on port ${port} over IPv4 only: no server block has listen [::]:${port} (nginx opens an IPv6 socket only for a listen line with an IPv6 address)`;
  return { why, v6: `listen [::]:${port}${keep.length ? ` ${keep.join(' ')}` : ''};` };
}

/** The port(s) a directive's server block serves (every listen of the top block when it is outside one). */
function portsOf(d: ConfigDirective, all: ConfigDirective[]): number[] {
  const server = serverOf(d);
  const top = segments(d)[0];
  const listens = listensOf(all, (x) => (server !== null ? serverOf(x) === server : segments(x)[0] === top));
  const ports = listens.map(({ l }) => l.port).filter((p): p is number => p !== null);
  if (server !== null && listens.length === 0 && top === 'http') return [80];
  return [...new Set(ports)];
}

type Rule = { d: ConfigDirective; allow: boolean; arg: string };

function rulesOf(d: ConfigDirective, all: ConfigDirective[]): Rule[] {
  return all
    .filter((x) => (x.key === 'allow' || x.key === 'deny') && x.context === d.context)
    .map((x) => ({ d: x, allow: x.key === 'allow', arg: nginxWords(x.value)[0] ?? '' }));
}

const isAddress = (arg: string) => arg !== 'all' && !arg.startsWith('unix:') && arg !== '';

export const nginxConfigKnowledge: ConfigKnowledge = {
  daemon: 'nginx',
  directives: ['server', 'listen', 'server_name', 'allow', 'deny', 'set_real_ip_from'],
  checker: 'nginx -t',
  addresses(d): AddressUse[] {
    if (d.key === 'listen') {
      const l = parseListen(d.value);
      if (l.kind === 'ipv6') return [{ directive: d, token: `[${l.address}]`, role: 'listen', syntax: LISTEN }];
      if (l.kind !== 'bare-ipv6') return [];
      // nginx reads `address:port`: a bare IPv6 address followed by a port was most likely
      // meant as [address]:port, so the token is the address and the port stays where it is.
      const cut = l.address!.lastIndexOf(':');
      const head = l.address!.slice(0, cut);
      const tail = l.address!.slice(cut + 1);
      const split = /^\d{1,5}$/.test(tail) && Number(tail) <= 65535 && ipaddr.IPv6.isValid(head) && !head.includes('%');
      return [{ directive: d, token: split ? head : l.address!, role: 'listen', syntax: LISTEN }];
    }
    if (d.key === 'allow' || d.key === 'deny' || d.key === 'set_real_ip_from') {
      const arg = nginxWords(d.value)[0] ?? '';
      return isAddress(arg) ? [{ directive: d, token: arg, role: 'acl', syntax: NETWORK }] : [];
    }
    return [];
  },
  ipv6Off(d, all): Ipv6Off | null {
    if (d.key === 'listen') {
      const top = segments(d)[0];
      const server = serverOf(d);
      if (!top || server === null) return null;
      const l = parseListen(d.value);
      if (l.kind !== 'ipv4-any' || l.port === null) return null;
      const mine = listensOf(all, (x) => serverOf(x) === server).filter(({ l: o }) => o.port === l.port);
      // An IPv6 address (or a host name, which may resolve to one) on the same port: not IPv4-only.
      if (mine.some(({ l: o }) => o.kind === 'ipv6' || o.kind === 'host' || o.kind === 'bare-ipv6')) return null;
      // Only the first IPv4 line of a port speaks for the block.
      if (mine.find(({ l: o }) => o.kind === 'ipv4-any')?.d !== d) return null;
      const { why, v6 } = offLine(all, top, server, l.port, serverNames(all, server), l.params);
      return { why, fix: lineWith(d, v6), ports: [l.port] };
    }
    if (isServerBlock(d) && segments(d)[0] === 'http') {
      if (all.some((x) => x.key === 'listen' && inServer(x, d))) return null;
      if (!/\bserver\s*\{/.test(d.raw)) return null;
      const member = all.find((x) => inServer(x, d));
      const server = member ? serverOf(member) : null;
      const { why, v6 } = offLine(all, 'http', server, 80, serverNames(all, server), []);
      return {
        why: `a server block without listen listens on *:80, IPv4 only (*:8000 when nginx does not run as root); ${why}`,
        fix: d.raw.replace(/\bserver\s*\{/, `server { listen 80; ${v6}`),
        ports: [80],
      };
    }
    return null;
  },
  acl(d, all): AclUse | null {
    if (d.key !== 'allow' && d.key !== 'deny') return null;
    const rules = rulesOf(d, all);
    const denyAll = rules.findIndex((r) => !r.allow && r.arg === 'all');
    const allowAll = rules.findIndex((r) => r.allow && r.arg === 'all');
    let listed: Rule[];
    let otherwise: 'denied' | 'allowed';
    if (denyAll >= 0 && (allowAll < 0 || denyAll < allowAll)) {
      // An allow list: what `deny all` leaves in, before it (rules after it are never reached).
      listed = rules.slice(0, denyAll).filter((r) => r.allow && isAddress(r.arg));
      otherwise = 'denied';
    } else {
      // A deny list: everyone else gets in (nginx's default, or a final `allow all`).
      listed = rules.slice(0, allowAll < 0 ? rules.length : allowAll).filter((r) => !r.allow && isAddress(r.arg));
      otherwise = 'allowed';
    }
    // One finding per block, on its last listed line: the IPv6 lines go right after it.
    if (listed.length === 0 || listed[listed.length - 1]!.d !== d) return null;
    return {
      directive: d,
      networks: listed.map((r) => r.arg),
      withIpv6: (networks) => lineWith(d, networks.map((n) => `${d.key} ${n};`).join(' ')),
      otherwise,
      ports: portsOf(d, all),
    };
  },
  convertsMappedPeers: true,
  sources: [DOCS, ACCESS_DOCS, REALIP_DOCS, 'nginx source: src/http/modules/ngx_http_access_module.c (ngx_http_access_handler)', 'docs/daemon-defaults.md#address-syntax-in-configuration-files'],
};
