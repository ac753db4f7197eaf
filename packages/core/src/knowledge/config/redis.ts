// Redis: what redis.conf (7.0) and the server say about addresses, each point checked on Debian
// 12's Redis 7.0 in network namespaces (test/netns/config-redis) with the server's own config
// loading, ss and connects from a peer.
// - redis.conf (config.c loadServerConfigFromString()): one directive per line, arguments split
//   as sdssplitargs() does ("double" and 'single' quotes, an unbalanced quote is a fatal
//   error), `#` comment lines; directive names in any case; `include PATH` (glob patterns in
//   7.0) read in place; a later line wins. An unknown directive stops the server ("FATAL CONFIG
//   FILE ERROR ... at line N").
// - bind ADDR ... (Debian: `bind 127.0.0.1 -::1`): each address its own socket; `*` is every
//   IPv4 address, `::*` every IPv6 address, a `-` prefix skips an address the host does not
//   have. `bind 0.0.0.0` or `bind *` alone is IPv4 only. IPv6 is bare: `[::1]` and a /len stop
//   the listener ("Could not create server TCP listening socket ... Name or service not known",
//   even with `-`), `::ffff:192.0.2.2` cannot be bound ("Invalid argument"). Redis sets
//   IPV6_V6ONLY on its IPv6 sockets (anetV6Only() in src/anet.c; ss: v6only:1), so it never
//   sees an IPv4-mapped peer. Without bind Redis listens on `* -::*`; `port 0` turns TCP off.
// - Redis has no address access list: who may connect is bind, protected-mode, ACL users and
//   the firewall.
import ipaddr from 'ipaddr.js';
import type { ConfigDirective } from '../../report.js';
import type { AddressUse, ConfigKnowledge, Ipv6Off, Ipv6Syntax } from './model.js';

const BIND: Ipv6Syntax = { brackets: 'forbidden', prefix: false, zone: true };
export const REDIS_CONF_DOCS = 'redis.conf for Redis 7.0 (NETWORK: bind, the - prefix, * and ::*, port; INCLUDES) — https://raw.githubusercontent.com/redis/redis/7.0/redis.conf';
const DEFAULT_PORT = 6379;

/** Arguments as sdssplitargs() splits them: blanks between, "double quotes" with \n \r \t \b \a \\ \" \xHH, 'single quotes' with \'. null: unbalanced quotes. */
export function redisArgs(line: string): string[] | null {
  const out: string[] = [];
  let i = 0;
  const blank = (c: string | undefined) => c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\v' || c === '\f';
  for (;;) {
    while (i < line.length && blank(line[i])) i++;
    if (i >= line.length) return out;
    let arg = '';
    let inDq = false;
    let inSq = false;
    for (;;) {
      const c = line[i];
      if (inDq) {
        if (c === undefined) return null;
        if (c === '\\' && line[i + 1] === 'x' && /^[0-9a-fA-F]{2}$/.test(line.slice(i + 2, i + 4))) {
          arg += String.fromCharCode(parseInt(line.slice(i + 2, i + 4), 16));
          i += 4;
          continue;
        }
        if (c === '\\' && i + 1 < line.length) {
          const n = line[i + 1]!;
          arg += ({ n: '\n', r: '\r', t: '\t', b: '\b', a: '\x07' } as Record<string, string>)[n] ?? n;
          i += 2;
          continue;
        }
        if (c === '"') {
          if (i + 1 < line.length && !blank(line[i + 1])) return null; // closing quote must be followed by a blank
          inDq = false;
          i++;
          break;
        }
        arg += c;
        i++;
      } else if (inSq) {
        if (c === undefined) return null;
        if (c === '\\' && line[i + 1] === "'") {
          arg += "'";
          i += 2;
          continue;
        }
        if (c === "'") {
          if (i + 1 < line.length && !blank(line[i + 1])) return null;
          inSq = false;
          i++;
          break;
        }
        arg += c;
        i++;
      } else {
        if (c === undefined || blank(c)) break;
        if (c === '"') inDq = true;
        else if (c === "'") inSq = true;
        else arg += c;
        i++;
      }
    }
    out.push(arg);
  }
}

const is = (d: ConfigDirective, key: string) => d.key.toLowerCase() === key;
const effective = (all: ConfigDirective[], key: string) => all.filter((x) => is(x, key)).pop();
const args = (d: ConfigDirective) => redisArgs(d.value) ?? [];

function portOf(all: ConfigDirective[]): number {
  const p = effective(all, 'port');
  const n = p ? Number(args(p)[0]) : DEFAULT_PORT;
  return Number.isInteger(n) && n >= 0 && n < 65536 ? n : DEFAULT_PORT;
}

/** The address of a bind argument without its `-` (optional) prefix. */
const bindAddress = (arg: string) => arg.replace(/^-/, '');

export const redisConfigKnowledge: ConfigKnowledge = {
  daemon: 'redis',
  directives: ['bind', 'port'],
  // Redis has no check mode: with no port and no socket the server loads the whole file (and its
  // includes), then exits at once without touching the running one or its data: "Configured
  // to not listen anywhere, exiting." when every line was taken, "FATAL CONFIG FILE ERROR" and
  // the line otherwise. Addresses are only tried when it listens: a restart shows those.
  checker: "redis-server /etc/redis/redis.conf --port 0 --unixsocket '' --daemonize no --logfile '' 2>&1 | tail -n 4",
  addresses(d): AddressUse[] {
    if (!is(d, 'bind')) return [];
    return args(d)
      .map(bindAddress)
      .filter((a) => a !== '*' && a !== '::*')
      .map((token) => ({ directive: d, token, role: 'listen' as const, syntax: BIND }));
  },
  ipv6Off(d, all): Ipv6Off | null {
    if (!is(d, 'bind') || effective(all, 'bind') !== d) return null;
    const port = portOf(all);
    if (port === 0) return null;
    const list = args(d).map(bindAddress);
    const ipv4 = (a: string) => a === '*' || ipaddr.IPv4.isValidFourPartDecimal(a);
    if (list.length === 0 || !list.every(ipv4) || !list.some((a) => a === '*' || a === '0.0.0.0')) return null;
    // -::* : every IPv6 address, skipped without error on a host that has none.
    return {
      why: `${list.includes('*') ? '*' : '0.0.0.0'} is every IPv4 address and nothing else: Redis listens on port ${port} over IPv4 only (::* is every IPv6 address, on a socket of its own: Redis makes its IPv6 sockets IPv6-only); bind is read at server start`,
      fix: `${d.raw.trimEnd()} -::*`,
      ports: [port],
    };
  },
  acl: () => null, // no address access list: bind, protected-mode, ACL users and the firewall decide
  convertsMappedPeers: null,
  sources: [REDIS_CONF_DOCS, 'Redis source: src/config.c loadServerConfigFromString(), src/sds.c sdssplitargs(), src/anet.c anetV6Only()', 'docs/daemon-defaults.md#listening-defaults'],
};
