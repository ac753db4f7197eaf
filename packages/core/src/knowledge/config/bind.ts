// BIND 9 named: what the 9.18 Administrator Reference Manual (ARM) and named's source say
// about addresses, families and access lists, each point checked on Debian 12's BIND 9.18 in
// network namespaces (test/netns/config-bind) with named-checkconf, ss and dig.
// - Address match lists (acl, listen-on, listen-on-v6, allow-query, allow-recursion,
//   allow-transfer, allow-update): `{ element; ... }`, an element being an address, a network
//   `2001:db8::/32` (bare: named-checkconf refuses `[2001:db8::]/32`, "missing ';' before '/'",
//   and reads `[2001:db8::1]` as the name of an ACL, "undefined ACL"), a zone index when the
//   interface exists (`fe80::1%lo`), `key NAME`, the name of an `acl` (top level only, names
//   compared case-insensitively: aclconf.c get_acl_def()), a nested `{ list }`, each negated by
//   `!`. Built-in names: any, none, localhost (the host's own addresses), localnets (the
//   networks of the host's interfaces, IPv4 and IPv6 alike). The first element that matches
//   decides; a client nothing matches is refused (allow-query: status REFUSED).
// - listen-on (IPv4) and listen-on-v6 (IPv6) `[port N] [tls T] [http H] { list }`, options
//   only: named listens on each of the host's addresses the list matches. Without listen-on it
//   listens on every IPv4 address, without listen-on-v6 on every IPv6 address (9.18 defaults);
//   `listen-on-v6 { none; };` listens on no IPv6 address. named opens one socket per address
//   (`ss`: 192.0.2.2:53, [2001:db8:1::2]:53 v6only:1, [::1]:53, never [::]:53, even for
//   `listen-on-v6 { any; }`; the one [::] socket do_scan() in lib/ns/interfacemgr.c may open
//   instead is V6ONLY too), so it never receives IPv4 clients as ::ffff:a.b.c.d.
// - named -4 (named(8)): IPv4 only, whatever listen-on-v6 says; on Debian the start options
//   are OPTIONS= in /etc/default/named (named.service: `ExecStart=/usr/sbin/named -f $OPTIONS`),
//   default `OPTIONS="-u bind"`; the option letters are NAMED_MAIN_ARGS in
//   bin/named/include/named/main.h.
import type { ConfigDirective } from '../../report.js';
import type { AclUse, AddressUse, ConfigKnowledge, Ipv6Off, Ipv6Syntax } from './model.js';

const LIST: Ipv6Syntax = { brackets: 'forbidden', prefix: true, zone: true };
export const BIND_ARM = 'BIND 9.18 ARM, Configuration Reference (address match lists, acl, listen-on, listen-on-v6, allow-query, allow-recursion, allow-transfer, allow-update, port) — https://bind9.readthedocs.io/en/v9.18.0/reference.html';
const NAMED_MAN = 'named(8): -4, -6';
const DEFAULT_PORT = 53;

const LIST_KEYS = ['acl', 'listen-on', 'listen-on-v6', 'allow-query', 'allow-recursion', 'allow-transfer', 'allow-update'];
const ACCESS_KEYS = ['allow-query', 'allow-recursion', 'allow-transfer', 'allow-update'];

const is = (d: ConfigDirective, key: string) => d.key.toLowerCase() === key;
const isOneOf = (d: ConfigDirective, keys: string[]) => keys.includes(d.key.toLowerCase());

// ------------------------------------------------------------------ statements and lists

/** The line a continuation item belongs to (the reader's `... > KEY from line N`), or null for a statement's own line. */
function continuationOf(d: ConfigDirective): number | null {
  const m = / from line (\d+)$/.exec(d.context ?? '');
  if (!m) return null;
  const last = d.context!.split(' > ').pop()!;
  return last.toLowerCase() === `${d.key.toLowerCase()} from line ${m[1]}` ? Number(m[1]) : null;
}

/** The statement's own item: d itself, or the item a continuation line belongs to. */
function statementOf(d: ConfigDirective, all: ConfigDirective[]): ConfigDirective | null {
  const from = continuationOf(d);
  if (from === null) return d;
  return all.find((s) => s.file === d.file && s.line === from && s.key === d.key && continuationOf(s) === null) ?? null;
}

/** The block a statement stands in: 'options', 'zone "x"', 'view "v" > zone "x"', or '' at the top (keywords in lower case). */
const blockOf = (d: ConfigDirective) => (d.context ?? '').replace(/^(options|view|zone)\b/i, (k) => k.toLowerCase());

interface Tok {
  text: string;
  /** Which line of the statement (0: the key's line). */
  line: number;
  kind: 'word' | 'string' | '{' | '}' | ';' | '!';
}

function tokens(value: string): Tok[] {
  const out: Tok[] = [];
  value.split('\n').forEach((part, line) => {
    const re = /"((?:[^"\\]|\\.)*)"|([{};!])|([^\s{};!"]+)/g;
    for (let m = re.exec(part); m !== null; m = re.exec(part)) {
      if (m[1] !== undefined) out.push({ text: m[1].replace(/\\(.)/g, '$1'), line, kind: 'string' });
      else if (m[2] !== undefined) out.push({ text: m[2], line, kind: m[2] as Tok['kind'] });
      else out.push({ text: m[3]!, line, kind: 'word' });
    }
  });
  return out;
}

export interface ListElement {
  negated: boolean;
  kind: 'address' | 'name' | 'key' | 'list' | 'other';
  /** The element as written, without `!`: an address or network, an ACL name, `key k`, ... */
  text: string;
  line: number;
  items?: ListElement[];
}

export interface BindStatement {
  /** Words before the list: `port 53`, `tls none`, an acl's name, allow-transfer's `transport tcp`. */
  head: string[];
  list: ListElement[];
}

const looksLikeAddress = (w: string) => w.startsWith('[') || w.includes(':') || /^\d[\d.]*(\/\d+)?$/.test(w);

/** A statement's address match list (null when it has none, e.g. `port 53`). */
export function parseStatement(value: string): BindStatement | null {
  const toks = tokens(value);
  const open = toks.findIndex((t) => t.kind === '{');
  if (open < 0) return null;
  const head = toks.slice(0, open).map((t) => t.text);
  let i = open + 1;
  const list = (): ListElement[] => {
    const out: ListElement[] = [];
    while (i < toks.length && toks[i]!.kind !== '}') {
      let negated = false;
      if (toks[i]?.kind === '!') {
        negated = true;
        i++;
      }
      const first = toks[i];
      if (!first) break;
      if (first.kind === '{') {
        i++;
        const items = list();
        i++; // }
        out.push({ negated, kind: 'list', text: '{ ... }', line: first.line, items });
      } else {
        const words: Tok[] = [];
        while (i < toks.length && toks[i]!.kind !== ';' && toks[i]!.kind !== '}') words.push(toks[i++]!);
        const w0 = words[0];
        if (w0) {
          const lower = w0.text.toLowerCase();
          const kind: ListElement['kind'] =
            w0.kind === 'word' && lower === 'key' ? 'key' : w0.kind === 'word' && lower === 'geoip' ? 'other' : words.length === 1 && w0.kind === 'string' ? 'name' : looksLikeAddress(w0.text) ? 'address' : words.length === 1 ? 'name' : 'other';
          const text = words.map((w) => w.text).join(' ');
          out.push({ negated, kind, text, line: w0.line });
        }
      }
      if (toks[i]?.kind === ';') i++;
    }
    return out;
  };
  return { head, list: list() };
}

/**
 * Every element, nested lists opened, with whether a `!` stands on it or on a list around it
 * (such an element never lets a client in: it refuses, or is left undecided).
 */
function flatten(list: ListElement[], negated = false): Array<ListElement & { underNot: boolean }> {
  return list.flatMap((e) => (e.kind === 'list' ? flatten(e.items ?? [], negated || e.negated) : [{ ...e, underNot: negated || e.negated }]));
}

/** The top-level `acl NAME { ... }` statements by lower-case name. */
function aclDefinitions(all: ConfigDirective[]): Map<string, BindStatement> {
  const defs = new Map<string, BindStatement>();
  for (const d of all) {
    if (!is(d, 'acl') || continuationOf(d) !== null) continue;
    const s = parseStatement(d.value);
    const name = s?.head[0];
    if (s && name && !defs.has(name.toLowerCase())) defs.set(name.toLowerCase(), s);
  }
  return defs;
}

/**
 * What a list lets in, named ACLs resolved: the networks of its non-negated address elements,
 * and whether it names `any` or `localnets` (both families alike) without a `!`.
 */
export function resolveList(list: ListElement[], all: ConfigDirective[]): { networks: string[]; bothFamilies: boolean } {
  const defs = aclDefinitions(all);
  const networks: string[] = [];
  let bothFamilies = false;
  const walk = (elements: ListElement[], negated: boolean, seen: Set<string>) => {
    for (const e of flatten(elements, negated)) {
      if (e.kind === 'address' && !e.underNot) networks.push(e.text.replace(/\s+/g, ''));
      if (e.kind !== 'name') continue;
      const name = e.text.toLowerCase();
      if (name === 'any' || name === 'localnets') {
        if (!e.underNot) bothFamilies = true;
        continue;
      }
      const def = defs.get(name);
      if (def && !seen.has(name)) walk(def.list, e.underNot, new Set([...seen, name]));
    }
  };
  walk(list, false, new Set());
  return { networks, bothFamilies };
}

/** Whether a listen-on list matches any address at all (`{ none; }`, `{ !any; }`, `{ }` do not). */
function matchesSomething(list: ListElement[], all: ConfigDirective[]): boolean {
  const defs = aclDefinitions(all);
  const walk = (elements: ListElement[], negated: boolean, seen: Set<string>): boolean =>
    flatten(elements, negated).some((e) => {
      if (e.underNot || e.kind === 'key' || e.kind === 'other') return false;
      if (e.kind === 'address') return true;
      const name = e.text.toLowerCase();
      if (name === 'none') return false;
      const def = defs.get(name);
      if (def) return !seen.has(name) && walk(def.list, false, new Set([...seen, name]));
      return true; // any, localhost, localnets
    });
  return walk(list, false, new Set());
}

// ------------------------------------------------------------------ ports

/** `options { port N; }`: the port of every listener without its own (default 53). */
function defaultPort(all: ConfigDirective[]): number {
  const p = all.find((d) => is(d, 'port') && blockOf(d) === 'options' && continuationOf(d) === null);
  const n = p ? Number(p.value.trim()) : NaN;
  return Number.isInteger(n) ? n : DEFAULT_PORT;
}

/** A listen-on line's port: `port N`, else 853 with tls, 443 (80 with `tls none`) with http, else the default. */
function listenPort(s: BindStatement, all: ConfigDirective[]): number {
  const word = (w: string) => {
    const i = s.head.findIndex((h) => h.toLowerCase() === w);
    return i >= 0 ? s.head[i + 1] : undefined;
  };
  const port = Number(word('port'));
  if (Number.isInteger(port)) return port;
  if (word('http') !== undefined) return word('tls')?.toLowerCase() === 'none' ? 80 : 443;
  if (word('tls') !== undefined) return 853;
  return defaultPort(all);
}

/** The ports named answers DNS on: those of listen-on and listen-on-v6 lines that listen, or the default port for a family without any. */
function listenPorts(all: ConfigDirective[]): number[] {
  const ports = new Set<number>();
  for (const key of ['listen-on', 'listen-on-v6']) {
    const lines = all.filter((d) => is(d, key) && blockOf(d) === 'options' && continuationOf(d) === null);
    if (lines.length === 0) ports.add(defaultPort(all));
    for (const d of lines) {
      const s = parseStatement(d.value);
      if (s && matchesSomething(s.list, all)) ports.add(listenPort(s, all));
    }
  }
  return [...ports].sort((a, b) => a - b);
}

// ------------------------------------------------------------------ fixes on the key's line

/** Where the list of `key ... {` opens in a raw line, and where its `}` is when on the same line. */
function listOnLine(raw: string, key: string): { open: number; close: number | null } | null {
  const at = new RegExp(`(^|[\\s{;])${key.replace(/[-]/g, '\\-')}(?=[\\s{]|$)`, 'i').exec(raw);
  if (!at) return null;
  let i = at.index + at[1]!.length + key.length;
  let open = -1;
  let depth = 0;
  for (; i < raw.length; i++) {
    const c = raw[i]!;
    if (c === '"') {
      i = raw.indexOf('"', i + 1);
      if (i < 0) return open < 0 ? null : { open, close: null };
      continue;
    }
    if (c === '#' || (c === '/' && (raw[i + 1] === '/' || raw[i + 1] === '*'))) break;
    if (c === '{') {
      if (open < 0) open = i;
      depth++;
    }
    if (c === '}' && open >= 0 && --depth === 0) return { open, close: i };
  }
  return open < 0 ? null : { open, close: null };
}

/** The key's line with `entries` added to its list: before its `}`, or after its `{` when the list goes on below. */
function addToList(d: ConfigDirective, entries: string[]): string {
  const add = entries.map((e) => `${e};`).join(' ');
  const at = listOnLine(d.raw, d.key);
  if (!at) return `${d.raw} // add ${add} inside the { } list below`;
  if (at.close === null) return `${d.raw.slice(0, at.open + 1)} ${add}${d.raw.slice(at.open + 1)}`;
  const before = d.raw.slice(0, at.close);
  return `${before}${/\s$/.test(before) ? '' : ' '}${add} ${d.raw.slice(at.close)}`;
}

/** The key's line with its whole list replaced by `{ any; }` (after `{` when the list goes on below). */
function listenOnAny(d: ConfigDirective): string {
  const at = listOnLine(d.raw, d.key);
  if (!at) return `${d.raw} // make the { } list below { any; }`;
  if (at.close === null) return `${d.raw.slice(0, at.open + 1)} any;${d.raw.slice(at.open + 1)}`;
  return `${d.raw.slice(0, at.open)}{ any; }${d.raw.slice(at.close + 1)}`;
}

// ------------------------------------------------------------------ named -4 in OPTIONS=

/** named's options that take an argument (NAMED_MAIN_ARGS "46A:c:Cd:D:E:fFgL:M:m:n:N:p:sS:t:T:U:u:vVx:X:"). */
const TAKES_ARGUMENT = new Set('AcdDELMmnNpStTUuxX'.split(''));

/** The words of OPTIONS= with -4 taken out, or null when it has none (getopt: -4 may be grouped, `-f4`). */
export function withoutIpv4Only(options: string): string | null {
  const words = options.split(/\s+/).filter(Boolean);
  let found = false;
  const out: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w === '--') {
      out.push(...words.slice(i));
      break;
    }
    if (!/^-[^-]/.test(w)) {
      out.push(w);
      continue;
    }
    let kept = '-';
    for (let j = 1; j < w.length; j++) {
      const c = w[j]!;
      if (TAKES_ARGUMENT.has(c)) {
        kept += w.slice(j);
        if (j === w.length - 1 && i + 1 < words.length) {
          out.push(kept);
          kept = '';
          out.push(words[++i]!);
        }
        break;
      }
      if (c === '4') found = true;
      else kept += c;
    }
    if (kept !== '-' && kept !== '') out.push(kept);
  }
  return found ? out.join(' ') : null;
}

// ------------------------------------------------------------------ the knowledge

export const bindConfigKnowledge: ConfigKnowledge = {
  daemon: 'named',
  directives: [...LIST_KEYS, 'port', 'OPTIONS'],
  checker: 'named-checkconf /etc/bind/named.conf',
  addresses(d, all): AddressUse[] {
    if (!isOneOf(d, LIST_KEYS)) return [];
    const statement = statementOf(d, all);
    const s = statement ? parseStatement(statement.value) : null;
    if (!statement || !s) return [];
    const line = d.line - statement.line;
    return flatten(s.list)
      .filter((e) => e.kind === 'address' && e.line === line)
      // listen-on lists are matched against the host's own addresses, like an access list:
      // a ::ffff: entry matches nothing there either, so both are checked as lists.
      .map((e) => ({ directive: d, token: e.text, role: 'acl' as const, syntax: LIST }));
  },
  ipv6Off(d, all): Ipv6Off | null {
    if (d.key === 'OPTIONS' && d.file === '/etc/default/named') {
      const rest = withoutIpv4Only(d.value);
      if (rest === null) return null;
      return { why: 'named -4 uses IPv4 only, whatever listen-on-v6 says (named(8))', fix: d.raw.replace(d.value, rest), ports: listenPorts(all) };
    }
    if (!is(d, 'listen-on-v6') || blockOf(d) !== 'options' || continuationOf(d) !== null) return null;
    const s = parseStatement(d.value);
    if (!s || matchesSomething(s.list, all)) return null;
    const port = listenPort(s, all);
    const other = all.some((o) => o !== d && is(o, 'listen-on-v6') && blockOf(o) === 'options' && continuationOf(o) === null && (() => {
      const t = parseStatement(o.value);
      return t !== null && listenPort(t, all) === port && matchesSomething(t.list, all);
    })());
    if (other) return null;
    return { why: `its list matches no address, so named listens on no IPv6 address for port ${port}`, fix: listenOnAny(d), ports: [port] };
  },
  acl(d, all): AclUse | null {
    if (!isOneOf(d, ACCESS_KEYS) || continuationOf(d) !== null) return null;
    const s = parseStatement(d.value);
    if (!s) return null;
    const { networks, bothFamilies } = resolveList(s.list, all);
    // any and localnets already let in IPv6 clients of the host's networks.
    if (bothFamilies || networks.length === 0) return null;
    const transferPort = is(d, 'allow-transfer') ? Number(s.head[s.head.findIndex((h) => h.toLowerCase() === 'port') + 1]) : NaN;
    return {
      directive: d,
      networks,
      withIpv6: (add) => addToList(d, add),
      otherwise: 'denied',
      ports: Number.isInteger(transferPort) && s.head.some((h) => h.toLowerCase() === 'port') ? [transferPort] : listenPorts(all),
    };
  },
  convertsMappedPeers: null,
  sources: [BIND_ARM, NAMED_MAN, 'docs/daemon-defaults.md#address-syntax-in-configuration-files', 'docs/daemon-defaults.md#listening-defaults'],
};
