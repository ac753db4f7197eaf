// Default routes of every routing table and the policy rules that choose between tables, from
// iproute2's JSON output. /proc/net/ipv6_route lists all tables without a table id, so a
// default route in table 100 looks usable there while lookups (main, via the rules) fail.
import { formatAddress, isValidAddress, parseAddress, type Family, type RoutingRule, type TableDefaultRoute } from '@dualstack/core';
import { EntryReader, parseIpJsonArray } from './ip-command.js';

export const DEFAULT_ROUTE_ARGS: Record<Family, readonly string[]> = {
  6: ['-6', '-j', 'route', 'show', 'table', 'all', 'exact', '::/0'],
  4: ['-4', '-j', 'route', 'show', 'table', 'all', 'exact', '0.0.0.0/0'],
};

export const RULE_ARGS: Record<Family, readonly string[]> = {
  6: ['-6', '-j', 'rule', 'show'],
  4: ['-4', '-j', 'rule', 'show'],
};

export const commandLine = (args: readonly string[]): string => `ip ${args.join(' ')}`;

/** A gateway as ip printed it, checked and in canonical form (RFC 5952 for IPv6). */
function address(reader: EntryReader, field: string, text: string): string {
  if (!isValidAddress(text)) reader.fail(field, `not an IP address: ${JSON.stringify(text)}`);
  return formatAddress(parseAddress(text));
}

/** The gateway of a route or nexthop: `gateway`, or `via: {family, host}` (an IPv4 route via an IPv6 nexthop). */
function gatewayOf(reader: EntryReader): string | null {
  const gateway = reader.optionalString('gateway');
  if (gateway !== null) return address(reader, 'gateway', gateway);
  if (!reader.has('via')) return null;
  const via = reader.nested('via', reader.entry.via);
  return address(via, 'host', via.string('host'));
}

/**
 * Parses `ip -j route show table all exact ::/0` (or 0.0.0.0/0): one entry per default route
 * of every table; a multipath route gives one entry per nexthop. Pure.
 *
 * What iproute2 6.1 leaves out, and what that means (checked against `ip -d -j`, which prints
 * everything): no "table" = main; no "type" = unicast; no "protocol" = boot (ip hides
 * RTPROT_BOOT unless asked for details); no "metric" = 0 (the kernel sends no priority for
 * an IPv4 route with metric 0); "expires" only on routes with a lifetime (RA-learned ones).
 */
export function parseDefaultRoutes(text: string, family: Family, command = commandLine(DEFAULT_ROUTE_ARGS[family])): TableDefaultRoute[] {
  const out: TableDefaultRoute[] = [];
  parseIpJsonArray(text, command).forEach((entry, index) => {
    const reader = new EntryReader(command, index, entry);
    const dst = reader.string('dst');
    if (dst !== 'default' && dst !== '::/0' && dst !== '0.0.0.0/0') reader.fail('dst', `expected a default route, got ${JSON.stringify(dst)}`);
    if (reader.has('expires') && typeof entry.expires !== 'number') reader.fail('expires', `expected seconds, got ${JSON.stringify(entry.expires)}`);
    const table = reader.optionalString('table') ?? 'main';
    const type = reader.optionalString('type') ?? 'unicast';
    const metric = reader.optionalInteger('metric') ?? 0;
    const protocol = reader.optionalString('protocol') ?? 'boot';
    const expires = reader.has('expires');
    const route = (hop: EntryReader): TableDefaultRoute => ({
      family,
      table,
      type,
      gateway: gatewayOf(hop),
      interface: hop.optionalString('dev'),
      metric,
      protocol,
      expires,
    });
    if (reader.has('nexthops')) {
      const hops = entry.nexthops;
      if (!Array.isArray(hops) || hops.length === 0) return reader.fail('nexthops', `expected a non-empty array, got ${JSON.stringify(hops)}`);
      hops.forEach((hop: unknown, hopIndex: number) => {
        out.push(route(reader.nested(`nexthops[${hopIndex}]`, hop)));
      });
      return;
    }
    out.push(route(reader));
  });
  return out;
}

/**
 * Keys of `ip -j rule show` that are not selectors: the rule's priority, what it does, and
 * modifiers of its lookup. Every other key narrows the traffic the rule applies to.
 */
const NON_SELECTOR_KEYS = new Set([
  'priority',
  'table',
  'action',
  'goto',
  'nop',
  'l3mdev',
  'protocol',
  'suppress_prefixlen',
  'suppress_ifgroup',
  'flow_to',
  'flow_from',
]);

/** Keys printed together with another one (src + srclen, uid_start + uid_end, ...). */
const PAIRED_KEYS = new Set(['srclen', 'dstlen', 'fwmask', 'iif_detached', 'oif_detached', 'uid_end', 'sport_end', 'dport_end']);

function selectorOf(reader: EntryReader, family: Family): string {
  const parts: string[] = [];
  const prefix = (field: 'src' | 'dst', lenField: 'srclen' | 'dstlen', word: string) => {
    const value = reader.string(field);
    if (value === 'all') return;
    const length = reader.optionalInteger(lenField);
    if (!isValidAddress(value)) reader.fail(field, `not an IP address: ${JSON.stringify(value)}`);
    if (length !== null && length > (family === 6 ? 128 : 32)) reader.fail(lenField, `prefix length ${length} is too long`);
    // ip prints no length for a host prefix (/128, /32).
    parts.push(`${word} ${formatAddress(parseAddress(value))}${length === null ? '' : `/${length}`}`);
  };
  const range = (start: string, end: string, word: string) => {
    parts.push(`${word} ${reader.integer(start)}-${reader.integer(end)}`);
  };
  for (const key of Object.keys(reader.entry)) {
    if (NON_SELECTOR_KEYS.has(key) || PAIRED_KEYS.has(key) || key === 'not') continue;
    switch (key) {
      case 'src':
        prefix('src', 'srclen', 'from');
        break;
      case 'dst':
        prefix('dst', 'dstlen', 'to');
        break;
      case 'fwmark': {
        const mask = reader.optionalString('fwmask');
        parts.push(`fwmark ${reader.string('fwmark')}${mask === null ? '' : `/${mask}`}`);
        break;
      }
      case 'iif':
      case 'oif':
        parts.push(`${key} ${reader.string(key)}${reader.flag(`${key}_detached`) ? ' [detached]' : ''}`);
        break;
      case 'uid_start':
        range('uid_start', 'uid_end', 'uidrange');
        break;
      case 'sport_start':
      case 'dport_start':
        range(key, key.replace('_start', '_end'), key.slice(0, 5));
        break;
      default: {
        // tos, ipproto, sport, dport, tun_id and any selector a newer ip prints: kept as
        // `key value`, so an unknown selector never turns a narrow rule into "all".
        const value = reader.entry[key];
        if (value === null) parts.push(key);
        else if (typeof value === 'string' || typeof value === 'number') parts.push(`${key} ${value}`);
        else reader.fail(key, `expected a string or number, got ${JSON.stringify(value)}`);
      }
    }
  }
  const negated = reader.flag('not');
  const selector = parts.length === 0 ? 'all' : parts.join(' ');
  return negated ? `not ${selector}` : selector;
}

/**
 * Parses `ip -j rule show`. Pure. Each rule looks up a table ("table"), jumps ("goto": N,
 * kept as action `goto N`), does nothing ("nop": null), or ends the lookup ("action":
 * unreachable, prohibit, blackhole); only lookups name a table (the others get table '').
 * `l3mdev` rules look up the VRF device's table: table '[l3mdev-table]', as ip prints it.
 */
export function parseRules(text: string, family: Family, command = commandLine(RULE_ARGS[family])): RoutingRule[] {
  return parseIpJsonArray(text, command).map((entry, index) => {
    const reader = new EntryReader(command, index, entry);
    const priority = reader.integer('priority');
    const selector = selectorOf(reader, family);
    let action: string;
    let table = '';
    if (reader.has('table')) {
      action = 'lookup';
      table = reader.string('table');
    } else if (reader.flag('l3mdev')) {
      action = 'lookup';
      table = '[l3mdev-table]';
    } else if (reader.has('goto')) {
      action = `goto ${reader.integer('goto')}`;
    } else if (reader.flag('nop')) {
      action = 'nop';
    } else if (reader.has('action')) {
      action = reader.string('action');
    } else {
      return reader.fail('table', 'a rule with no table, goto, nop or action');
    }
    return { family, priority, table, selector, action };
  });
}
