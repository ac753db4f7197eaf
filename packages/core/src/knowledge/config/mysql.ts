// MariaDB / MySQL server: what the option file documentation and the server say about
// addresses, each point checked on Debian 12's MariaDB 10.11 in network namespaces
// (test/netns/config-mariadb) with mariadbd --help --verbose, my_print_defaults and ss.
// - Option files (mysys/my_default.c): `[group]` lines, `name`, `name = value`, `#` and `;`
//   comment lines, a `#` after a value ends it (outside quotes), 'quotes' or "quotes" around a
//   whole value are removed; `!include FILE`, `!includedir DIR` (its *.cnf files in name order).
//   Dashes and underscores in names are the same (bind-address, bind_address); a `loose-` prefix
//   only tolerates an unknown option. mariadbd reads the groups mysqld, server, mysqld-VERSION,
//   mariadb, mariadb-VERSION, mariadbd, mariadbd-VERSION, client-server, galera (mariadbd
//   --help --verbose lists them) from /etc/my.cnf then /etc/mysql/my.cnf; the last value wins.
// - bind-address: Debian's 50-server.cnf sets 127.0.0.1. MariaDB 10.11 takes a comma-separated
//   list; `*` is both families on two sockets (0.0.0.0 and [::] with V6ONLY), `0.0.0.0` IPv4
//   only, and `::` IPv6 only: MariaDB 10.11 sets IPV6_V6ONLY on it (ss: [::]:3306 v6only:1 with
//   net.ipv6.bindv6only=0; MySQL's manual says :: takes both families, which is MySQL's). A
//   bracketed address or a /len stops the server ("Can't create IP socket: Name or service not
//   known"), `::ffff:192.0.2.2` cannot be bound ("Invalid argument"), a zone index is taken.
//   Since every IPv6 socket is IPv6-only, the server never sees an IPv4-mapped peer.
// - skip-networking: no TCP at all, whatever bind-address says.
// - Who may connect is in the grant tables ('user'@'192.0.2.%'), inside the database, not in
//   these files: no access list here.
import ipaddr from 'ipaddr.js';
import type { ConfigDirective } from '../../report.js';
import type { AddressUse, ConfigKnowledge, Ipv6Off, Ipv6Syntax } from './model.js';

const LISTEN: Ipv6Syntax = { brackets: 'forbidden', prefix: false, zone: true };
export const MARIADB_BIND_DOCS = 'MariaDB Server System Variables: bind_address ("Several addresses may be specified, separated by a comma"), skip_networking, port — https://mariadb.com/kb/en/server-system-variables/#bind_address';
const MARIADB_OPTION_FILES = 'MariaDB: Configuring MariaDB with Option Files (groups, !include, !includedir, quotes and comments) — https://mariadb.com/kb/en/configuring-mariadb-with-option-files/';
const DEFAULT_PORT = 3306;

/** An option's name as mariadbd matches it: lower case, `_` as `-`, without `loose-`. */
export function mysqlOptionName(key: string): string {
  return key.toLowerCase().replace(/_/g, '-').replace(/^loose-/, '');
}

/** A value as mariadbd reads it: quotes around the whole value removed, then \n \t \r \b \s \\ \' \" escapes. */
export function mysqlOptionValue(value: string): string {
  let v = value.trim();
  if (v.length > 1 && (v[0] === '"' || v[0] === "'") && v[v.length - 1] === v[0]) v = v.slice(1, -1);
  return v.replace(/\\(.)/g, (_, c: string) => ({ n: '\n', t: '\t', r: '\r', b: '\b', s: ' ' } as Record<string, string>)[c] ?? c);
}

/** The groups mariadbd reads (mariadbd --help --verbose), any version suffix taken. */
export function isServerGroup(group: string): boolean {
  return /^(mysqld|server|mariadb|mariadbd|client-server|galera)$/i.test(group) || /^(mysqld|mariadb|mariadbd)-\d+(\.\d+)*$/i.test(group);
}

const groupOf = (d: ConfigDirective) => /^\[(.*)\]$/.exec(d.context ?? '')?.[1] ?? '';
const is = (d: ConfigDirective, name: string) => mysqlOptionName(d.key) === name && isServerGroup(groupOf(d));

/** The line mariadbd uses for an option: the last one in the server's groups. */
const effective = (all: ConfigDirective[], name: string) => all.filter((x) => is(x, name)).pop();

const entries = (d: ConfigDirective) =>
  mysqlOptionValue(d.value)
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);

function networkingOff(all: ConfigDirective[]): boolean {
  const skip = effective(all, 'skip-networking');
  if (!skip) return false;
  const value = mysqlOptionValue(skip.value).toLowerCase();
  return skip.value === '' || ['1', 'on', 'true', 'yes'].includes(value);
}

function portOf(all: ConfigDirective[]): number {
  const p = effective(all, 'port');
  const n = p ? Number(mysqlOptionValue(p.value)) : DEFAULT_PORT;
  return Number.isInteger(n) && n > 0 && n < 65536 ? n : DEFAULT_PORT;
}

export const mysqlConfigKnowledge: ConfigKnowledge = {
  daemon: 'mysql',
  directives: ['bind-address', 'skip-networking', 'port'],
  // Both read every option file as mariadbd would: an unknown option or a broken line is an
  // error (exit code not 0); --print-defaults shows the options the next start gets.
  checker: 'mariadbd --help --verbose > /dev/null && mariadbd --print-defaults',
  addresses(d): AddressUse[] {
    if (!is(d, 'bind-address')) return [];
    return entries(d)
      .filter((e) => e !== '*')
      .map((token) => ({ directive: d, token, role: 'listen' as const, syntax: LISTEN }));
  },
  ipv6Off(d, all): Ipv6Off | null {
    if (!is(d, 'bind-address') || effective(all, 'bind-address') !== d || networkingOff(all)) return null;
    const list = entries(d);
    if (list.length === 0 || !list.every((e) => ipaddr.IPv4.isValidFourPartDecimal(e)) || !list.includes('0.0.0.0')) return null;
    const port = portOf(all);
    const value = d.value.trim();
    // One wildcard: `*` (every MariaDB and MySQL release); in a list (MariaDB 10.11, MySQL 8.0.13): `::` added.
    const fixed = list.length === 1 ? '*' : `${list.join(',')},::`;
    const at = d.raw.lastIndexOf(value);
    return {
      why: `0.0.0.0 is every IPv4 address and nothing else: the server listens on port ${port} over IPv4 only (* listens on both families, each on its own socket; :: alone is IPv6 only on MariaDB 10.11); bind-address is read at server start`,
      fix: at >= 0 ? `${d.raw.slice(0, at)}${fixed}${d.raw.slice(at + value.length)}` : `${d.key} = ${fixed}`,
      ports: [port],
    };
  },
  acl: () => null, // grants ('user'@'host') live in the database, not in option files
  convertsMappedPeers: null,
  sources: [
    MARIADB_BIND_DOCS,
    MARIADB_OPTION_FILES,
    'mariadbd(8) --help --verbose: the option files and groups read',
    'MariaDB source: mysys/my_default.c (option file syntax), sql/mysqld.cc network_init() (listen sockets)',
    'docs/daemon-defaults.md#listening-defaults',
  ],
};
