// memcached: what memcached(1) and the server say about addresses, each point checked on
// Debian 12's memcached 1.6 in network namespaces (test/netns/config-memcached), started through
// Debian's own systemd-memcached-wrapper on the file.
// - /etc/memcached.conf (Debian; /etc/memcached_NAME.conf for the memcached@NAME instances):
//   command-line options, one or more a line; `#` starts a comment; lines not starting with `-`
//   and -d / -h are dropped by the wrapper, which passes the rest to memcached
//   (/usr/share/memcached/scripts/systemd-memcached-wrapper).
// - -l / --listen ADDR[,ADDR...] (several -l add up): default (no -l) every address of both
//   families, on two sockets. An IPv6 address may be bare (`-l ::1`) or bracketed (`[::1]`); a
//   port after it needs the brackets (`[::1]:11212`): bare, `2001:db8::2:11212` is refused
//   ("failed to listen on one of interface(s)", memcached exits). `0.0.0.0` is IPv4 only.
//   memcached sets IPV6_V6ONLY on its IPv6 sockets (ss: v6only:1; `[::ffff:192.0.2.2]` cannot be
//   bound: "Invalid argument"), so it never sees an IPv4-mapped peer.
// - -p / --port TCP port (11211), -U / --udp-port UDP port (0, off, in 1.6).
// - memcached has no address access list: -l and the firewall decide who connects.
import ipaddr from 'ipaddr.js';
import type { ConfigDirective } from '../../report.js';
import type { AddressUse, ConfigKnowledge, Ipv6Off, Ipv6Syntax } from './model.js';

const LISTEN: Ipv6Syntax = { brackets: 'with-port', prefix: false, zone: true };
/** The address part of a bare `address:port` entry: it needs the brackets. */
const BARE_BEFORE_PORT: Ipv6Syntax = { brackets: 'required', prefix: false, zone: true };
export const MEMCACHED_MAN = 'memcached(1): -l, --listen=<addr> (host:port, comma-separated, several -l), -p, -U — https://manpages.debian.org/bookworm/memcached/memcached.1.en.html';
const DEFAULT_TCP_PORT = 11211;

/** The option a directive sets, by its short name: -l, -p, -U, ... (`--listen` is -l). */
export function memcachedOption(key: string): string {
  return ({ '--listen': '-l', '--port': '-p', '--udp-port': '-U' } as Record<string, string>)[key] ?? key;
}

const is = (d: ConfigDirective, option: string) => memcachedOption(d.key) === option;
const effective = (all: ConfigDirective[], d: ConfigDirective, option: string) => all.filter((x) => is(x, option) && x.context === d.context).pop();

/** The -l entries of one line: comma-separated, as written. */
const entries = (d: ConfigDirective) =>
  d.value
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);

/** An entry's address without its port ([::1]:11212 -> ::1, 192.0.2.2:11212 -> 192.0.2.2). */
function entryAddress(entry: string): string {
  const bracketed = /^\[([^\]]*)\](?::\d+)?$/.exec(entry);
  if (bracketed) return bracketed[1]!;
  const v4 = /^(\d{1,3}(?:\.\d{1,3}){3})(?::\d+)?$/.exec(entry);
  return v4 ? v4[1]! : entry;
}

function ports(all: ConfigDirective[], d: ConfigDirective): number[] {
  const tcp = effective(all, d, '-p');
  const udp = effective(all, d, '-U');
  const n = (x: ConfigDirective | undefined, dflt: number) => (x ? Number(x.value) : dflt);
  return [n(tcp, DEFAULT_TCP_PORT), n(udp, 0)].filter((p) => Number.isInteger(p) && p > 0 && p < 65536);
}

export const memcachedConfigKnowledge: ConfigKnowledge = {
  daemon: 'memcached',
  directives: ['-l', '--listen', '-p', '--port', '-U', '--udp-port'],
  // memcached has no check mode: the restart is the check (a -l it cannot use stops it, and
  // journalctl -u memcached says which), ss shows what it listens on.
  checker: "systemctl restart memcached && ss -Hltn 'sport = :11211'",
  addresses(d): AddressUse[] {
    if (!is(d, '-l')) return [];
    return entries(d).map((entry) => {
      // A bare address then :port that is no IPv6 address as a whole (2001:db8::2:11212: a
      // group of five digits) is refused: the address needs its brackets before the port.
      const cut = entry.lastIndexOf(':');
      const head = entry.slice(0, cut);
      if (!entry.startsWith('[') && !ipaddr.IPv6.isValid(entry) && /^\d{1,5}$/.test(entry.slice(cut + 1)) && ipaddr.IPv6.isValid(head)) {
        return { directive: d, token: head, role: 'listen' as const, syntax: BARE_BEFORE_PORT };
      }
      return { directive: d, token: entry, role: 'listen' as const, syntax: LISTEN };
    });
  },
  ipv6Off(d, all): Ipv6Off | null {
    if (!is(d, '-l')) return null;
    // Every -l adds up: the service is IPv4-only when all of them are.
    const lines = all.filter((x) => is(x, '-l') && x.context === d.context);
    const addresses = lines.flatMap(entries).map(entryAddress);
    if (!addresses.every((a) => ipaddr.IPv4.isValidFourPartDecimal(a))) return null;
    const wildcard = lines.filter((x) => entries(x).map(entryAddress).includes('0.0.0.0')).pop();
    if (wildcard !== d) return null; // one finding, on the (last) line with 0.0.0.0
    const list = ports(all, d);
    return {
      why: `0.0.0.0 is every IPv4 address and nothing else: memcached listens on port ${list.join(' and ')} over IPv4 only ([::] adds every IPv6 address, on a socket of its own: memcached makes its IPv6 sockets IPv6-only)`,
      fix: d.raw.replace(d.value, `${d.value},[::]`),
      ports: list,
    };
  },
  acl: () => null, // no address access list: -l and the firewall decide
  convertsMappedPeers: null,
  sources: [MEMCACHED_MAN, 'memcached source: memcached.c server_sockets() (the -l syntax), server_socket() (IPV6_V6ONLY)', 'Debian memcached: /usr/share/memcached/scripts/systemd-memcached-wrapper', 'docs/daemon-defaults.md#listening-defaults'],
};
