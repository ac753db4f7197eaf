// Would the host's firewall accept a new inbound packet? Walks every base chain on the
// prerouting and input hooks of every rule set (nftables, iptables-nft, iptables-legacy: the
// kernel applies them all, so a packet must pass each), in priority order, following jumps,
// gotos, returns, verdict maps and named sets, the way netfilter does (nft(8), "CHAINS" and
// "VERDICT STATEMENT"). Matches are three-valued: an expression the evaluator does not model
// makes the answer `unknown` unless another match of the same rule is certainly false; it
// never guesses.
//
// The source address is symbolic: "a client from anywhere" never falls in a listed prefix
// (so `ip saddr 192.0.2.0/24 accept` does not accept it), and each listed prefix is walked
// again as its own class, which tells `restricted` (accepted only from those) from `dropped`.
import type { Family, FirewallRuleRef, FirewallVerdict } from '../report.js';
import type { FirewallBackend, FirewallChain, FirewallRule, FirewallRuleset, FirewallTable, NftExpr } from './model.js';
import { addressInterval, contains, icmpv6TypeNumber, interfaceMatches, l4ProtocolNumber, overlaps, prefixInterval, rangeInterval, type AddressInterval } from './values.js';

export interface FirewallPacket {
  family: Family;
  proto: 'tcp' | 'udp' | 'icmpv6';
  /** Destination port (tcp, udp). */
  port: number | null;
  /** ICMPv6 type number (icmpv6). */
  icmpType: number | null;
  /** Conntrack state the packet has: a first SYN is `new`; a packet-too-big about a connection is `related`; neighbour discovery is `untracked`. */
  ctState: 'new' | 'related' | 'untracked';
  pktType: 'unicast' | 'multicast';
  /** The interface it arrives on. */
  iif: string;
}

export interface FirewallDecision {
  verdict: FirewallVerdict;
  /** The rule or policy that decided for a client from anywhere; null when no base chain saw the packet. */
  by: FirewallRuleRef | null;
  /** restricted: the source prefixes (or ranges) accepted. */
  allowedSources: string[];
  /** unknown: the expression the evaluator does not model. */
  unmodelled: string | null;
}

type Tri = true | false | { unknown: string };
const isUnknown = (t: Tri): t is { unknown: string } => typeof t === 'object';

type ChainOutcome =
  | { kind: 'accept'; by: FirewallRuleRef }
  | { kind: 'drop'; by: FirewallRuleRef }
  | { kind: 'unknown'; by: FirewallRuleRef; what: string }
  | { kind: 'end' };

/** Hooks an inbound packet for a local socket traverses, in order (nft(8): prerouting, then input). */
const HOOK_ORDER: Record<string, number> = { prerouting: 0, input: 1 };
const MAX_JUMP_DEPTH = 16;
const MAX_SOURCE_CLASSES = 64;

interface BaseChain {
  ruleset: FirewallRuleset;
  table: FirewallTable;
  chain: FirewallChain;
}

function appliesTo(tableFamily: string, family: Family): boolean {
  return tableFamily === 'inet' || (family === 4 ? tableFamily === 'ip' : tableFamily === 'ip6');
}

/** The base chains a packet of `family` meets on its way to a local socket, in the kernel's order. */
export function inboundBaseChains(rulesets: FirewallRuleset[], family: Family): BaseChain[] {
  const out: BaseChain[] = [];
  for (const ruleset of rulesets) {
    for (const table of ruleset.tables) {
      if (!appliesTo(table.family, family)) continue;
      for (const chain of table.chains) {
        if (chain.hook === null || !(chain.hook in HOOK_ORDER)) continue;
        // nat and route chains do not filter; a chain of unknown type is treated as a filter.
        if (chain.type === 'nat' || chain.type === 'route') continue;
        out.push({ ruleset, table, chain });
      }
    }
  }
  return out.sort((a, b) => HOOK_ORDER[a.chain.hook!]! - HOOK_ORDER[b.chain.hook!]! || (a.chain.priority ?? 0) - (b.chain.priority ?? 0));
}

function refOf(base: { ruleset: FirewallRuleset; table: FirewallTable }, chain: FirewallChain, rule: FirewallRule | null, index: number | null): FirewallRuleRef {
  return {
    backend: base.ruleset.backend,
    family: base.table.family,
    table: base.table.name,
    chain: chain.name,
    handle: rule?.handle ?? null,
    line: rule?.line ?? null,
    position: index === null ? null : index + 1,
    text: rule ? rule.text : `policy ${chain.policy ?? 'accept'}`,
  };
}

/** One walk of the rule sets for one source class: null is "a client from anywhere". */
class Walk {
  readonly forks: AddressInterval[] = [];
  /** What the rule whose source matches are being judged does when it matches. */
  private ruleKind: RuleKind = 'jump';

  constructor(
    private readonly packet: FirewallPacket,
    private readonly source: AddressInterval | null,
    /** Whether a nat rule of the rule sets can DNAT (then `ct status dnat` is unknown). */
    private readonly mayDnat: boolean,
  ) {}

  run(chains: BaseChain[]): { verdict: 'accept' | 'drop' | 'unknown'; by: FirewallRuleRef | null; what: string | null } {
    let lastAccept: FirewallRuleRef | null = null;
    for (const base of chains) {
      const outcome = this.chain(base, base.chain, 0);
      if (outcome.kind === 'drop') return { verdict: 'drop', by: outcome.by, what: null };
      if (outcome.kind === 'unknown') return { verdict: 'unknown', by: outcome.by, what: outcome.what };
      if (outcome.kind === 'accept') {
        lastAccept = outcome.by;
        continue;
      }
      const policy = refOf(base, base.chain, null, null);
      if (base.chain.policy === 'drop') return { verdict: 'drop', by: policy, what: null };
      lastAccept = policy;
    }
    return { verdict: 'accept', by: lastAccept, what: null };
  }

  private chain(base: { ruleset: FirewallRuleset; table: FirewallTable }, chain: FirewallChain, depth: number): ChainOutcome {
    if (depth > MAX_JUMP_DEPTH) return { kind: 'unknown', by: refOf(base, chain, null, null), what: `jumps nested deeper than ${MAX_JUMP_DEPTH}` };
    for (let i = 0; i < chain.rules.length; i++) {
      const rule = chain.rules[i]!;
      const outcome = this.rule(base, chain, rule, i, depth);
      if (outcome === null) continue;
      return outcome;
    }
    return { kind: 'end' };
  }

  /** null: the rule did not decide (no match, or matched without a verdict, or a jump that came back). */
  private rule(base: { ruleset: FirewallRuleset; table: FirewallTable }, chain: FirewallChain, rule: FirewallRule, index: number, depth: number): ChainOutcome | null {
    const ref = refOf(base, chain, rule, index);
    // First pass: any match that is certainly false means the rule does not apply, whatever else it holds.
    // Source-address matches come last: they fork the walk per prefix, which only matters for
    // a rule whose other matches hold (else a 5,000-rule set forks at every saddr rule).
    let uncertain: string | null = null;
    const sourceMatches: MatchExpr[] = [];
    for (const expr of rule.expr) {
      if (!('match' in expr)) continue;
      const m = expr.match as MatchExpr;
      if (isSourceMatch(m)) {
        sourceMatches.push(m);
        continue;
      }
      const t = this.match(base.table, m);
      if (t === false) return null;
      if (isUnknown(t) && uncertain === null) uncertain = t.unknown;
    }
    // Only a source class this rule could let in (or, for !=, keep from being dropped) is
    // worth its own walk: a blocklist's prefixes cannot turn out accepted by it.
    this.ruleKind = ruleKindOf(rule);
    for (const m of sourceMatches) {
      const t = this.match(base.table, m);
      if (t === false) return null;
      if (isUnknown(t) && uncertain === null) uncertain = t.unknown;
    }
    for (const expr of rule.expr) {
      const [key] = Object.keys(expr);
      if (key === undefined || key === 'match') continue;
      const verdict = this.statement(base, chain, key, expr[key], depth);
      if (verdict === 'continue') continue;
      if (verdict === 'stop-rule') return null;
      if (typeof verdict === 'object' && 'unknownStatement' in verdict) return { kind: 'unknown', by: ref, what: verdict.unknownStatement };
      // A jump (not a goto) into a chain that decides nothing for this packet comes back to
      // the next rule: taken or not, the same happens, so an uncertain match does not matter.
      if (uncertain !== null && typeof verdict === 'object' && 'sub' in verdict && verdict.sub.kind === 'end' && !verdict.goto) return null;
      if (uncertain !== null) return { kind: 'unknown', by: ref, what: uncertain };
      if (verdict === 'accept') return { kind: 'accept', by: ref };
      if (verdict === 'drop') return { kind: 'drop', by: ref };
      if (verdict === 'return') return { kind: 'end' };
      // a sub-chain's outcome (jump/goto/vmap)
      const sub = verdict.sub;
      if (sub.kind === 'end') return verdict.goto ? { kind: 'end' } : null;
      return sub;
    }
    return null;
  }

  /** A statement: continue with the next one, or a verdict. */
  private statement(
    base: { ruleset: FirewallRuleset; table: FirewallTable },
    chain: FirewallChain,
    key: string,
    value: unknown,
    depth: number,
  ): 'continue' | 'stop-rule' | 'accept' | 'drop' | 'return' | { unknownStatement: string } | { sub: ChainOutcome; goto: boolean } {
    switch (key) {
      case 'accept':
        return 'accept';
      case 'drop':
      case 'reject':
        return 'drop';
      case 'return':
        return 'return';
      case 'continue':
        return 'stop-rule';
      case 'jump':
      case 'goto': {
        const target = (value as { target?: unknown } | null)?.target;
        return this.jump(base, chain, String(target), key === 'goto', depth);
      }
      case 'vmap': {
        const vmap = value as { key?: unknown; data?: unknown };
        const keyValue = this.value(base.table, vmap.key);
        if (isUnknownValue(keyValue)) return { unknownStatement: keyValue.unknown };
        if (keyValue === ABSENT) return 'stop-rule';
        const entries = vmapEntries(base.table, vmap.data);
        if (entries === null) return { unknownStatement: `verdict map ${JSON.stringify(vmap.data)}` };
        for (const [element, verdict] of entries) {
          const hit = this.elementMatches(keyValue, element);
          if (isUnknown(hit)) return { unknownStatement: hit.unknown };
          if (!hit) continue;
          const [vKey] = Object.keys(verdict);
          if (vKey === undefined) return { unknownStatement: 'empty verdict in a verdict map' };
          return this.statement(base, chain, vKey, verdict[vKey], depth);
        }
        return 'stop-rule'; // no entry: the packet goes on to the next rule
      }
      // `limit rate over R` and `ct count over N` match only above the rate or count, and the
      // first packet of a connection is within any rate (nft(8), LIMIT and CONNLIMIT statements).
      case 'limit':
        return (value as { inv?: boolean } | null)?.inv ? 'stop-rule' : 'continue';
      case 'ct count': {
        // The new connection is the client's only one: a count of 1.
        const { val, inv } = (value ?? {}) as { val?: number; inv?: boolean };
        if (typeof val !== 'number') return { unknownStatement: `ct count ${JSON.stringify(value)}` };
        return (inv ? 1 > val : 1 <= val) ? 'continue' : 'stop-rule';
      }
      // Statements that do not decide a new packet's fate.
      case 'counter':
      case 'log':
      case 'nftrace':
      case 'set':
      case 'mangle':
      case 'notrack':
      case 'flow':
      case 'comment':
        return 'continue';
      case 'xt': {
        // iptables-nft's rules in nft's JSON: matches are statements too (`{"xt": {"type": "match", ...}}`).
        const xt = (value ?? {}) as { type?: string; name?: string };
        return { unknownStatement: `iptables ${xt.type === 'match' ? 'match' : 'target'} ${xt.name ?? '?'}` };
      }
      default:
        return { unknownStatement: `statement "${key}"` };
    }
  }

  private jump(base: { ruleset: FirewallRuleset; table: FirewallTable }, from: FirewallChain, target: string, goto: boolean, depth: number): { sub: ChainOutcome; goto: boolean } | { unknownStatement: string } {
    const chain = base.table.chains.find((c) => c.name === target);
    if (!chain) return { unknownStatement: `${goto ? 'goto' : 'jump'} to a chain not in the rule set: ${target} (from ${from.name})` };
    return { sub: this.chain(base, chain, depth + 1), goto };
  }

  // ---------------------------------------------------------------- matches

  private match(table: FirewallTable, m: MatchExpr): Tri {
    const left = m.left as Record<string, unknown> | undefined;
    if (left && typeof left === 'object' && 'payload' in left) {
      const payload = left.payload as { protocol?: string; field?: string };
      if (payload.field === 'saddr' && (payload.protocol === 'ip' || payload.protocol === 'ip6')) return this.sourceMatch(table, payload.protocol === 'ip' ? 4 : 6, m);
    }
    const value = this.value(table, m.left);
    if (isUnknownValue(value)) return { unknown: value.unknown };
    if (value === ABSENT) return false; // the header is not in this packet: nft's implicit dependency fails
    return this.compare(table, value, m.op ?? '==', m.right);
  }

  private compare(table: FirewallTable, value: Scalar, op: string, right: unknown): Tri {
    if (value.kind === 'flags' && value.exact && (op === '==' || op === '!=')) {
      // A masked value against one combination of bits (`syn`, or `["syn", "ack"]` for syn|ack).
      const want = typeof right === 'string' ? [right] : Array.isArray(right) && right.every((r) => typeof r === 'string') ? (right as string[]) : null;
      if (want !== null) {
        const equal = want.length === value.value.length && want.every((f) => value.value.includes(f));
        return op === '==' ? equal : !equal;
      }
    }
    const elements = elementsOf(table, right);
    if (elements === null) return { unknown: `match against ${JSON.stringify(right)}` };
    let hit: Tri = false;
    for (const element of elements) {
      const r = this.elementMatches(value, element);
      if (r === true) {
        hit = true;
        break;
      }
      if (isUnknown(r)) hit = r;
    }
    if (isUnknown(hit)) return hit;
    switch (op) {
      case '==':
      case 'in':
        return hit;
      case '!=':
        return !hit;
      default:
        if (typeof value.value === 'number' && typeof right === 'number') {
          const v = value.value;
          if (op === '<') return v < right;
          if (op === '>') return v > right;
          if (op === '<=') return v <= right;
          if (op === '>=') return v >= right;
        }
        return { unknown: `operator ${op}` };
    }
  }

  private elementMatches(value: Scalar, element: unknown): Tri {
    switch (value.kind) {
      case 'number': {
        if (typeof element === 'number') return element === value.value;
        if (typeof element === 'string' && /^\d+$/.test(element)) return Number(element) === value.value;
        const range = (element as { range?: unknown[] } | null)?.range;
        if (Array.isArray(range) && typeof range[0] === 'number' && typeof range[1] === 'number') return range[0] <= value.value && value.value <= range[1];
        if (typeof element === 'string' && value.names) {
          const n = value.names(element);
          if (n !== null) return n === value.value;
        }
        return { unknown: `value ${JSON.stringify(element)}` };
      }
      case 'string': {
        if (typeof element !== 'string') return { unknown: `value ${JSON.stringify(element)}` };
        return value.pattern ? interfaceMatches(element, value.value) : element === value.value;
      }
      case 'flags': {
        if (typeof element !== 'string') return { unknown: `value ${JSON.stringify(element)}` };
        return value.exact ? value.value.length === 1 && value.value[0] === element : value.value.includes(element);
      }
      case 'bool':
        return element === value.value;
    }
  }

  private sourceMatch(table: FirewallTable, family: Family, m: MatchExpr): Tri {
    if (this.packet.family !== family) return false;
    const intervals = sourceIntervals(table, m, family);
    if ('unknown' in intervals) return intervals;
    const op = m.op ?? '==';
    if (op !== '==' && op !== '!=' && op !== 'in') return { unknown: `operator ${op} on a source address` };
    const forkable = op === '!=' ? this.ruleKind !== 'accept' && this.ruleKind !== 'none' : this.ruleKind !== 'drop' && this.ruleKind !== 'none';
    let inside: boolean;
    if (this.source === null) {
      // A client from anywhere is in no listed prefix; each listed prefix is walked on its own.
      if (forkable) for (const i of intervals.list) this.forks.push(i);
      inside = false;
    } else {
      const source = this.source;
      inside = intervals.list.some((i) => contains(i, source));
      if (!inside && forkable) for (const i of intervals.list) if (overlaps(i, source) && !contains(i, source)) this.forks.push(i);
    }
    return op === '!=' ? !inside : inside;
  }

  /** The packet's value for an expression's left side, ABSENT when its header is not there. */
  private value(table: FirewallTable, left: unknown): Scalar | typeof ABSENT | UnknownValue {
    const p = this.packet;
    if (left === null || typeof left !== 'object') return { unknown: `expression ${JSON.stringify(left)}` };
    const l = left as Record<string, unknown>;
    if ('payload' in l) {
      const { protocol, field } = l.payload as { protocol?: string; field?: string };
      const present = headerPresent(p, protocol);
      if (present === null) return { unknown: `header ${protocol} ${field}` };
      if (!present) return ABSENT;
      if ((protocol === 'tcp' || protocol === 'udp' || protocol === 'th') && field === 'dport') return num(p.port ?? -1);
      if (protocol === 'tcp' && field === 'flags') return { kind: 'flags', value: ['syn'], exact: false };
      if (protocol === 'icmpv6' && field === 'type') return num(p.icmpType ?? -1, icmpv6TypeNumber);
      if ((protocol === 'ip' && field === 'protocol') || (protocol === 'ip6' && field === 'nexthdr')) return num(l4Of(p), l4ProtocolNumber);
      // Neighbour discovery is sent with hop limit 255 and dropped by receivers otherwise
      // (RFC 4861 section 7.1.1), which is why firewalls (ufw) match on it; any other packet's
      // hop limit depends on the path.
      if (protocol === 'ip6' && field === 'hoplimit' && p.proto === 'icmpv6' && p.icmpType !== null && p.icmpType >= 133 && p.icmpType <= 137) return num(255);
      return { unknown: `${protocol} ${field}` };
    }
    if ('meta' in l) {
      const key = (l.meta as { key?: string }).key;
      switch (key) {
        case 'l4proto':
          return num(l4Of(p), l4ProtocolNumber);
        case 'nfproto':
          return { kind: 'string', value: p.family === 4 ? 'ipv4' : 'ipv6' };
        case 'iifname':
        case 'iif':
          return { kind: 'string', value: p.iif, pattern: key === 'iifname' };
        case 'pkttype':
          return { kind: 'string', value: p.pktType };
        case 'oifname':
        case 'oif':
          return ABSENT; // no output interface on the way in
        default:
          return { unknown: `meta ${key}` };
      }
    }
    if ('ct' in l) {
      const key = (l.ct as { key?: string }).key;
      if (key === 'state') return { kind: 'flags', value: [p.ctState], exact: false };
      // A new connection is neither confirmed, seen-reply nor assured yet; DNAT is the only
      // status bit set before the input hook, by a dnat/redirect rule (firewalld's
      // `ct status dnat accept`). With no such rule anywhere, no bit is set.
      if (key === 'status') return this.mayDnat ? { unknown: 'ct status (the rule sets hold dnat/redirect rules)' } : { kind: 'flags', value: [], exact: false };
      return { unknown: `ct ${key}` };
    }
    if ('fib' in l) {
      const fib = l.fib as { result?: string; flags?: string[] };
      const flags = fib.flags ?? [];
      // Reverse-path filter (`fib saddr . iif oif missing drop`): a client that really reaches
      // this interface has a route back through it, so the lookup finds an oif.
      if (fib.result === 'oif' && flags.includes('saddr') && flags.includes('iif')) return { kind: 'bool', value: true };
      if (fib.result === 'type' && flags.includes('daddr')) return { kind: 'string', value: p.pktType === 'multicast' ? 'multicast' : 'local' };
      return { unknown: `fib ${flags.join(' . ')} ${fib.result}` };
    }
    if ('&' in l) {
      // `tcp flags & (fin|syn|rst|ack) == syn` (nft prints `tcp flags syn / fin,syn,rst,ack`):
      // the packet's flags within the mask, compared whole.
      const [inner, mask] = Array.isArray(l['&']) ? (l['&'] as unknown[]) : [];
      const v = this.value(table, inner);
      if (v === ABSENT || isUnknownValue(v)) return v;
      const bits = typeof mask === 'string' ? [mask] : Array.isArray(mask) && mask.every((m) => typeof m === 'string') ? (mask as string[]) : null;
      if (v.kind !== 'flags' || bits === null) return { unknown: `expression ${JSON.stringify(left)}` };
      return { kind: 'flags', value: v.value.filter((f) => bits.includes(f)), exact: true };
    }
    // Extension headers (`rt type 0`): the probe packets carry none, so such a match fails.
    if ('exthdr' in l) return ABSENT;
    if ('xt' in l) return { unknown: `iptables extension "${(l.xt as { name?: string }).name}"` };
    return { unknown: `expression ${Object.keys(l)[0]}` };
  }
}

function isSourceMatch(m: MatchExpr): boolean {
  const left = m.left as { payload?: { protocol?: string; field?: string } } | undefined;
  return left?.payload?.field === 'saddr' && (left.payload.protocol === 'ip' || left.payload.protocol === 'ip6');
}

interface MatchExpr {
  op?: string;
  left?: unknown;
  right?: unknown;
}

type Scalar =
  | { kind: 'number'; value: number; names?: (name: string) => number | null }
  | { kind: 'string'; value: string; pattern?: boolean }
  /** exact: compared whole (a masked value), not as "any of these bits set". */
  | { kind: 'flags'; value: string[]; exact?: boolean }
  | { kind: 'bool'; value: boolean };
type UnknownValue = { unknown: string };
const ABSENT = Symbol('absent');
const isUnknownValue = (v: Scalar | typeof ABSENT | UnknownValue): v is UnknownValue => typeof v === 'object' && 'unknown' in v;
const num = (value: number, names?: (name: string) => number | null): Scalar => (names ? { kind: 'number', value, names } : { kind: 'number', value });

function l4Of(p: FirewallPacket): number {
  return p.proto === 'tcp' ? 6 : p.proto === 'udp' ? 17 : 58;
}

/** Whether the packet has that header: the dependency nft adds to every payload match. */
function headerPresent(p: FirewallPacket, protocol: string | undefined): boolean | null {
  switch (protocol) {
    case 'ip':
      return p.family === 4;
    case 'ip6':
      return p.family === 6;
    case 'tcp':
      return p.proto === 'tcp';
    case 'udp':
      return p.proto === 'udp';
    case 'th':
      return p.proto === 'tcp' || p.proto === 'udp';
    case 'icmpv6':
      return p.proto === 'icmpv6';
    case 'icmp':
    case 'sctp':
    case 'dccp':
    case 'udplite':
    case 'esp':
    case 'ah':
    case 'gre':
    case 'igmp':
    case 'arp':
      return false;
    default:
      return null;
  }
}

/** The elements a match's right side stands for: one value, an anonymous set, or a named set (`@name`). */
function elementsOf(table: FirewallTable, right: unknown): unknown[] | null {
  if (typeof right === 'string' && right.startsWith('@')) {
    const set = table.sets.find((s) => s.name === right.slice(1));
    return set ? set.elements.map(elementValue) : null;
  }
  if (Array.isArray(right)) return right.map(elementValue);
  if (right !== null && typeof right === 'object' && 'set' in right) {
    const set = (right as { set: unknown }).set;
    return (Array.isArray(set) ? set : [set]).map(elementValue);
  }
  return [right];
}

/**
 * An element as a value: elements of sets with timeouts, counters or comments are printed as
 * `{"elem": {"val": X, "timeout": ..., "counter": ...}}` (libnftables-json(5), ELEM); in a
 * map's [key, value] pair the key can be so wrapped too.
 */
function elementValue(element: unknown): unknown {
  if (Array.isArray(element) && element.length === 2) return [elementValue(element[0]), element[1]];
  if (element !== null && typeof element === 'object' && 'elem' in element) {
    const inner = (element as { elem: unknown }).elem;
    if (inner !== null && typeof inner === 'object' && 'val' in inner) return (inner as { val: unknown }).val;
  }
  return element;
}

function vmapEntries(table: FirewallTable, data: unknown): Array<[unknown, Record<string, unknown>]> | null {
  const elements = elementsOf(table, data);
  if (elements === null) return null;
  const out: Array<[unknown, Record<string, unknown>]> = [];
  for (const e of elements) {
    if (!Array.isArray(e) || e.length !== 2 || e[1] === null || typeof e[1] !== 'object') return null;
    out.push([e[0], e[1] as Record<string, unknown>]);
  }
  return out;
}

function intervalOf(element: unknown): AddressInterval | null {
  try {
    if (typeof element === 'string') return addressInterval(element);
    if (element !== null && typeof element === 'object') {
      if ('prefix' in element) {
        const prefix = (element as { prefix: { addr: string; len: number } }).prefix;
        return prefixInterval(prefix.addr, prefix.len);
      }
      if ('range' in element) {
        const [first, last] = (element as { range: [string, string] }).range;
        return rangeInterval(first, last);
      }
    }
  } catch {
    return null;
  }
  return null;
}

type RuleKind = 'accept' | 'drop' | 'jump' | 'none';

/** The verdict a rule gives when it matches: accept, drop (or reject), a jump/goto/vmap (anything may follow), or none. */
function ruleKindOf(rule: FirewallRule): RuleKind {
  let kind: RuleKind = 'none';
  for (const expr of rule.expr) {
    if ('accept' in expr) return 'accept';
    if ('drop' in expr || 'reject' in expr) return 'drop';
    if ('jump' in expr || 'goto' in expr || 'vmap' in expr || 'xt' in expr || 'queue' in expr) kind = 'jump';
  }
  return kind;
}

/**
 * A source match's address intervals of one family, parsed once per match expression: a
 * blocklist of thousands of prefixes is met on every walk of every packet (parsing them
 * again each time was 77% of the evaluation time, test/bench/firewall.bench.mjs).
 */
const intervalCache = new WeakMap<object, Map<Family, { list: AddressInterval[] } | { unknown: string }>>();

function sourceIntervals(table: FirewallTable, m: MatchExpr, family: Family): { list: AddressInterval[] } | { unknown: string } {
  // A named set is shared by every rule that names it: cache on the set, else on the match.
  const setName = typeof m.right === 'string' && m.right.startsWith('@') ? m.right.slice(1) : null;
  const key: object = (setName !== null ? table.sets.find((x) => x.name === setName) : undefined) ?? m;
  let perFamily = intervalCache.get(key);
  if (!perFamily) {
    perFamily = new Map();
    intervalCache.set(key, perFamily);
  }
  const cached = perFamily.get(family);
  if (cached) return cached;
  let result: { list: AddressInterval[] } | { unknown: string };
  const elements = elementsOf(table, m.right);
  if (elements === null) result = { unknown: `source match against ${JSON.stringify(m.right)}` };
  else {
    const list: AddressInterval[] = [];
    result = { list };
    for (const element of elements) {
      const interval = intervalOf(element);
      if (interval === null) {
        result = { unknown: `source address ${JSON.stringify(element)}` };
        break;
      }
      if (interval.family === family) list.push(interval);
    }
  }
  perFamily.set(family, result);
  return result;
}

/**
 * The firewall's answer for one packet: walked once for a client from anywhere, then once per
 * source prefix the rule sets mention, to tell which prefixes are let in where others are not.
 */
export function evaluatePacket(rulesets: FirewallRuleset[], packet: FirewallPacket): FirewallDecision {
  const chains = inboundBaseChains(rulesets, packet.family);
  const dnat = mayDnat(rulesets, packet.family);
  const generic = new Walk(packet, null, dnat);
  const result = generic.run(chains);
  if (result.verdict === 'accept') return { verdict: 'accepted', by: result.by, allowedSources: [], unmodelled: null };
  if (result.verdict === 'unknown') return { verdict: 'unknown', by: result.by, allowedSources: [], unmodelled: result.what };
  const allowed: string[] = [];
  const queue = dedupe(generic.forks);
  const seen = new Set(queue.map((i) => i.text));
  for (let i = 0; i < queue.length && i < MAX_SOURCE_CLASSES; i++) {
    const walk = new Walk(packet, queue[i]!, dnat);
    const r = walk.run(chains);
    if (r.verdict === 'accept') allowed.push(queue[i]!.text);
    for (const fork of walk.forks) {
      if (!seen.has(fork.text)) {
        seen.add(fork.text);
        queue.push(fork);
      }
    }
  }
  if (allowed.length > 0) return { verdict: 'restricted', by: result.by, allowedSources: allowed, unmodelled: null };
  return { verdict: 'dropped', by: result.by, allowedSources: [], unmodelled: null };
}

/** Whether any rule of a table the family's packets see rewrites destinations (dnat, redirect, iptables DNAT/REDIRECT/NETMAP). */
function mayDnat(rulesets: FirewallRuleset[], family: Family): boolean {
  const rewrites = (expr: NftExpr): boolean => {
    if ('dnat' in expr || 'redirect' in expr) return true;
    const xt = (expr as { xt?: { type?: string; name?: string } }).xt;
    return xt?.type === 'target' && ['DNAT', 'REDIRECT', 'NETMAP'].includes(xt.name ?? '');
  };
  return rulesets.some((r) => r.tables.some((t) => appliesTo(t.family, family) && t.chains.some((c) => c.rules.some((rule) => rule.expr.some(rewrites)))));
}

function dedupe(intervals: AddressInterval[]): AddressInterval[] {
  const out = new Map<string, AddressInterval>();
  for (const i of intervals) if (!out.has(i.text)) out.set(i.text, i);
  return [...out.values()];
}
