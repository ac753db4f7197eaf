// PostgreSQL: what its documentation and source say about addresses, families and pg_hba.conf,
// each point checked on Debian 12's PostgreSQL 15 in network namespaces
// (test/netns/config-postgres) with postgres -C, pg_hba_file_rules, ss, psql and the server log.
// - postgresql.conf (guc-file.l): `name = value` or `name value`, one per line, `#` comments,
//   'single quotes' ('' or \' for a quote), a later line wins; `include`, `include_if_exists`,
//   `include_dir` (files ending in .conf) with paths relative to the including file's folder.
//   An unquoted value is a name, a number or a word of letters, digits and `-._:/`, so
//   `listen_addresses = *` or `= ::` is a syntax error: postgres refuses the file.
// - listen_addresses (runtime-config-connection): comma-separated host names and numeric
//   addresses; `*` all, `0.0.0.0` all IPv4, `::` all IPv6, `localhost` whatever /etc/hosts gives
//   (127.0.0.1 and ::1 on Debian), '' no TCP; default 'localhost'; read at server start only.
//   IPv6 is bare: `[::1]` is a host name that does not resolve ("could not translate host
//   name"), a /len is refused the same way, `2001:db8::2:5432` is one longer address; a zone is
//   taken. config-ipv6-off is raised for 0.0.0.0 without an IPv6 entry; IPv4 loopback alone or
//   specific IPv4 addresses are left alone. The postmaster sets IPV6_V6ONLY on each IPv6 socket (StreamServerPort() in
//   src/backend/libpq/pqcomm.c): `*` gives 0.0.0.0 and [::] v6only:1 (ss), `::ffff:192.0.2.2`
//   fails to bind ("Invalid argument"), so PostgreSQL never sees an IPv4-mapped peer.
// - pg_hba.conf (auth-pg-hba-conf): records `host DATABASE USER ADDRESS METHOD [OPTIONS]`
//   (hostssl, hostnossl, hostgssenc, hostnogssenc alike), the first record whose type,
//   database, user and address match decides; no match: "no pg_hba.conf entry for host ...",
//   refused. ADDRESS: a CIDR network, bare for IPv6 (`2001:db8::/64`), or an address with the
//   netmask in the next column, `all`, `samehost`, `samenet` (IPv6 subnets too), a host name or
//   `.suffix`. An IPv4 entry never matches an IPv6 client (check_ip() in
//   src/backend/libpq/hba.c compares families first). `[2001:db8::]/64` is refused ("specifying
//   both host name and CIDR mask is invalid": postgres does not start, a reload keeps the old
//   rules), `[2001:db8::1]` is taken as a host name that never matches, an address without /len
//   takes the next column as its netmask. A trailing backslash continues a record (PostgreSQL
//   15). pg_hba.conf is re-read on reload; the view pg_hba_file_rules reads the file on disk
//   and names each line's error, so it checks the file before the reload.
import ipaddr from 'ipaddr.js';
import type { ConfigDirective } from '../../report.js';
import type { AclUse, AddressUse, ConfigKnowledge, Ipv6Off, Ipv6Syntax } from './model.js';

const LISTEN: Ipv6Syntax = { brackets: 'forbidden', prefix: false, zone: true };
/** pg_hba ADDRESS written as CIDR. A zone is taken for link-local addresses (checked: fe80::%veth0/64). */
const HBA_CIDR: Ipv6Syntax = { brackets: 'forbidden', prefix: true, zone: true };
/** pg_hba ADDRESS followed by a netmask column: the prefix is the next column's business. */
const HBA_MASKED: Ipv6Syntax = { brackets: 'forbidden', prefix: false, zone: true };

export const PG_CONNECTION_DOCS = 'PostgreSQL 15: listen_addresses, port — https://www.postgresql.org/docs/15/runtime-config-connection.html';
export const PG_HBA_DOCS = 'PostgreSQL 15: The pg_hba.conf File — https://www.postgresql.org/docs/15/auth-pg-hba-conf.html';
const PG_CONFIG_DOCS = 'PostgreSQL 15: Setting Parameters (postgresql.conf syntax, include, include_dir) — https://www.postgresql.org/docs/15/config-setting.html';
const PG_HBA_VIEW_DOCS = 'PostgreSQL 15: pg_hba_file_rules — https://www.postgresql.org/docs/15/view-pg-hba-file-rules.html';
const DEFAULT_PORT = 5432;
/** How the config rules print a corrected line (`#   line`, under `# FILE, line N:`). */
const FIX_LINE_PREFIX = '#   ';

/** pg_hba.conf connection types that take an ADDRESS (local does not). */
export const PG_HBA_HOST_TYPES = ['host', 'hostssl', 'hostnossl', 'hostgssenc', 'hostnogssenc'];

/** A postgresql.conf value without its quotes: '' and \' are a quote, \n \t \b \f \r and octal escapes as GUC_scanstr() reads them. */
export function pgConfValue(value: string): string {
  const v = value.trim();
  if (!(v.length >= 2 && v.startsWith("'") && v.endsWith("'"))) return v;
  const inner = v.slice(1, -1);
  let out = '';
  for (let i = 0; i < inner.length; i++) {
    const c = inner[i]!;
    if (c === "'" && inner[i + 1] === "'") {
      out += "'";
      i++;
    } else if (c === '\\' && i + 1 < inner.length) {
      const n = inner[++i]!;
      const octal = /^[0-7]{1,3}/.exec(inner.slice(i));
      if (octal) {
        out += String.fromCharCode(parseInt(octal[0], 8));
        i += octal[0].length - 1;
      } else out += ({ b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' } as Record<string, string>)[n] ?? n;
    } else out += c;
  }
  return out;
}

export interface PgHbaToken {
  text: string;
  /** Written in double quotes: a quoted keyword (all, samenet, ...) is a plain name. */
  quoted: boolean;
}

/**
 * The fields of one pg_hba.conf record, as next_field_expand() in src/backend/libpq/hba.c reads
 * them: blank-separated fields, each a comma-separated list of tokens (a token that ends in a
 * comma continues its field), "double quotes" group ("" is a quote), `#` outside quotes ends
 * the record.
 */
export function pgHbaFields(record: string): PgHbaToken[][] {
  const fields: PgHbaToken[][] = [];
  let i = 0;
  const blank = (c: string | undefined) => c === ' ' || c === '\t' || c === '\r';
  let continuing = false;
  for (;;) {
    while (i < record.length && (blank(record[i]) || record[i] === ',')) i++;
    if (i >= record.length || record[i] === '#') break;
    let text = '';
    let inQuote = false;
    let quoted = false;
    let comma = false;
    while (i < record.length && (inQuote || !blank(record[i]))) {
      const c = record[i]!;
      if (c === '#' && !inQuote) {
        i = record.length;
        break;
      }
      i++;
      if (c === '"') {
        if (inQuote && record[i] === '"') {
          text += '"';
          i++;
          continue;
        }
        inQuote = !inQuote;
        quoted = true;
        continue;
      }
      if (c === ',' && !inQuote) {
        comma = true;
        break;
      }
      text += c;
    }
    const token = { text, quoted };
    if (continuing) fields[fields.length - 1]!.push(token);
    else fields.push([token]);
    continuing = comma;
  }
  return fields;
}

const is = (d: ConfigDirective, key: string) => d.key.toLowerCase() === key;
const isHost = (d: ConfigDirective) => PG_HBA_HOST_TYPES.includes(d.key);

/** The cluster a directive belongs to (the reader's context, `cluster 15/main`). */
const clusterOf = (d: ConfigDirective) => d.context ?? '';

/** The last line setting `name` in d's cluster: the one postgres uses. */
function effective(all: ConfigDirective[], d: ConfigDirective, name: string): ConfigDirective | undefined {
  return all.filter((x) => is(x, name) && clusterOf(x) === clusterOf(d)).pop();
}

function portOf(d: ConfigDirective, all: ConfigDirective[]): number {
  const p = effective(all, d, 'port');
  const n = p ? Number(pgConfValue(p.value)) : DEFAULT_PORT;
  return Number.isInteger(n) && n > 0 && n < 65536 ? n : DEFAULT_PORT;
}

/** listen_addresses entries as postgres splits them (SplitGUCList: commas, blanks trimmed). */
const listenEntries = (d: ConfigDirective) =>
  pgConfValue(d.value)
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);

const isIpv4 = (a: string) => ipaddr.IPv4.isValidFourPartDecimal(a);
const ipv6Part = (a: string) => a.split('%')[0]!;

interface HbaAddress {
  /** The ADDRESS field as written (quotes removed). */
  address: string;
  /** The netmask column, when ADDRESS has no /len and is a numeric address. */
  mask: string | null;
  kind: 'keyword' | 'ipv4' | 'ipv6' | 'name';
  /** The network in CIDR form (IPv4 or IPv6), null for keywords, names and bad masks. */
  cidr: string | null;
  /** Fields after the address (and mask): METHOD then options. */
  rest: PgHbaToken[][];
  database: string;
  user: string;
}

function hbaAddress(d: ConfigDirective): HbaAddress | null {
  if (!isHost(d)) return null;
  const fields = pgHbaFields(d.value);
  const [db, user, addr] = fields;
  if (!db || !user || !addr || addr.length !== 1) return null;
  const token = addr[0]!;
  const database = db.map((t) => (t.quoted ? `"${t.text}"` : t.text)).join(',');
  const users = user.map((t) => (t.quoted ? `"${t.text}"` : t.text)).join(',');
  const base = { address: token.text, database, user: users };
  if (!token.quoted && ['all', 'samehost', 'samenet'].includes(token.text)) return { ...base, mask: null, kind: 'keyword', cidr: null, rest: fields.slice(3) };
  const [host, len] = token.text.split('/') as [string, string | undefined];
  const plain = ipv6Part(host);
  const family = isIpv4(host) ? 'ipv4' : ipaddr.IPv6.isValid(plain) ? 'ipv6' : null;
  if (family === null) return { ...base, mask: null, kind: 'name', cidr: null, rest: fields.slice(3) };
  if (len !== undefined) return { ...base, mask: null, kind: family, cidr: `${plain}/${len}`, rest: fields.slice(3) };
  const maskField = fields[3];
  const mask = maskField?.length === 1 ? maskField[0]!.text : null;
  let cidr: string | null = null;
  try {
    if (mask !== null) cidr = `${plain}/${ipaddr.parse(mask).prefixLengthFromSubnetMask() ?? 'x'}`;
  } catch {
    /* not a mask: postgres refuses the record ("invalid IP mask") */
  }
  return { ...base, mask, kind: family, cidr: cidr?.endsWith('/x') ? null : cidr, rest: fields.slice(4) };
}

/** Whether an address field lets IPv6 clients in for some network beyond loopback and link-local. */
function reachesIpv6(a: HbaAddress): boolean {
  // all, samehost, samenet (IPv6 subnets too); a host name may resolve to IPv6, and a bracketed
  // IPv6 address (a name to postgres) is an IPv6 entry meant: config-address-syntax has it.
  if (a.kind === 'keyword' || a.kind === 'name') return true;
  if (a.kind !== 'ipv6' || a.cidr === null) return false;
  const range = ipaddr.IPv6.parse(ipv6Part(a.cidr.split('/')[0]!)).range();
  return range !== 'loopback' && range !== 'linkLocal' && range !== 'ipv4Mapped';
}

/** Whether `other`'s database or user field names everything `mine` names (textually, or `all`). */
function covers(other: string, mine: string, field: 'database' | 'user'): boolean {
  if (other === mine) return true;
  // `all` in DATABASE does not match replication connections (pg_hba.conf docs).
  return other === 'all' && !(field === 'database' && mine.split(',').includes('replication'));
}

/** raw with `from` (and the blanks after it) replaced by `to`, keeping the next column where it was when there is room. */
function replaceColumn(raw: string, from: RegExp, to: string): string | null {
  const m = from.exec(raw);
  if (!m) return null;
  const [whole, text, blanks = ''] = m as unknown as [string, string, string?];
  const width = text.length + blanks.length;
  // A line aligned in columns (more than one blank) stays aligned; tabs and single blanks are kept.
  const pad = blanks.includes('\t') || blanks.length <= 1 ? blanks : ' '.repeat(Math.max(1, width - to.length));
  return raw.slice(0, m.index) + to + (blanks === '' ? '' : pad) + raw.slice(m.index + whole.length);
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Both views read the files on disk, not what the server loaded: pg_hba_file_rules names the
 * line of each pg_hba.conf error, pg_file_settings each postgresql.conf error (a syntax error
 * has no name; listen_addresses is left out because a changed value there always says "setting
 * could not be applied" until the restart it needs). No output: both files read cleanly. psql
 * reaches the cluster on port 5432; another cluster needs -p PORT.
 */
export const PG_CHECKER =
  'runuser -u postgres -- psql -XAt -c "SELECT line_number, error FROM pg_hba_file_rules WHERE error IS NOT NULL" -c "SELECT sourcefile, sourceline, error FROM pg_file_settings WHERE error IS NOT NULL AND name IS DISTINCT FROM \'listen_addresses\'"';

export const postgresConfigKnowledge: ConfigKnowledge = {
  daemon: 'postgres',
  directives: ['listen_addresses', 'port', 'hba_file', ...PG_HBA_HOST_TYPES],
  checker: PG_CHECKER,
  addresses(d): AddressUse[] {
    if (is(d, 'listen_addresses')) {
      return listenEntries(d)
        .filter((e) => e !== '*')
        .map((token) => ({ directive: d, token, role: 'listen', syntax: LISTEN }));
    }
    const a = hbaAddress(d);
    if (!a || a.kind === 'keyword') return [];
    // A bracketed address is a host name to postgres: refused with a /len, so ours to check.
    // Without one it silently never matches, but the bare form the checker would offer needs a
    // /128 or a netmask column it cannot add: not reported.
    if (a.kind === 'name' && !/^\[[^\]]*\]\/\d+$/.test(a.address)) return [];
    return [{ directive: d, token: a.address, role: 'acl', syntax: a.mask !== null ? HBA_MASKED : HBA_CIDR }];
  },
  ipv6Off(d, all): Ipv6Off | null {
    if (!is(d, 'listen_addresses') || effective(all, d, 'listen_addresses') !== d) return null;
    const entries = listenEntries(d);
    if (entries.length === 0 || !entries.every(isIpv4)) return null;
    const port = portOf(d, all);
    // IPv4 loopback alone is left alone: local clients fall back to 127.0.0.1 (libpq tries every
    // address of localhost), and Debian's own defaults of other databases are loopback IPv4 only.
    // Specific IPv4 addresses: which IPv6 address to add is the operator's choice.
    if (!entries.includes('0.0.0.0')) return null;
    const add = '::';
    const why = `0.0.0.0 is every IPv4 address and nothing else: PostgreSQL listens on port ${port} over IPv4 only ('*' or '::' adds the IPv6 socket, which the postmaster makes IPv6-only, so both families get their own socket); listen_addresses is read at server start`;
    const value = d.value.trim();
    const separator = pgConfValue(value).includes(', ') || !pgConfValue(value).includes(',') ? ', ' : ',';
    const fixed = `'${[...entries, add].join(separator)}'`;
    return { why, fix: d.raw.replace(value, fixed), ports: [port] };
  },
  acl(d, all): AclUse | null {
    const a = hbaAddress(d);
    if (!a || a.kind !== 'ipv4' || a.cidr === null) return null;
    if (a.rest[0]?.[0]?.text === 'reject') return null; // a reject line keeps clients out on purpose
    if (/\\\s*$/.test(d.raw)) return null; // a record continued on the next line: no one-line fix
    const others = all.filter((x) => isHost(x) && clusterOf(x) === clusterOf(d) && x !== d);
    for (const x of others) {
      const o = hbaAddress(x);
      if (o && reachesIpv6(o) && covers(o.database, a.database, 'database') && covers(o.user, a.user, 'user')) return null;
    }
    const from = a.mask !== null ? new RegExp(`(${escape(a.address)}\\s+${escape(a.mask)})(\\s*)`) : new RegExp(`("?${escape(a.address)}"?)(\\s*)`);
    return {
      directive: d,
      networks: [a.cidr],
      // pg_hba.conf takes one address per record: one more record per network, right after this
      // one, so line N becomes these lines. The rule prints the line under `#   `; the records
      // after the first carry the same prefix, so the fix reads as one block of lines.
      withIpv6: (networks) => [d.raw.trim(), ...networks.map((n) => (replaceColumn(d.raw, from, n) ?? d.raw).trim())].join(`\n${FIX_LINE_PREFIX}`),
      otherwise: 'denied',
      ports: [portOf(d, all)],
    };
  },
  convertsMappedPeers: null,
  sources: [
    PG_CONNECTION_DOCS,
    PG_HBA_DOCS,
    PG_CONFIG_DOCS,
    PG_HBA_VIEW_DOCS,
    'PostgreSQL source: src/backend/libpq/pqcomm.c StreamServerPort() (IPV6_V6ONLY on IPv6 listen sockets), src/backend/libpq/hba.c check_ip() and next_field_expand(), src/backend/utils/misc/guc-file.l',
    'docs/daemon-defaults.md#address-syntax-in-configuration-files',
  ],
};
