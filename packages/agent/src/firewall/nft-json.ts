// `nft -j list ruleset`: the whole nftables rule set as JSON (libnftables-json(5)). Pure parse
// into the evaluator's model; the rule text shown to operators is printed from the JSON, in
// nft's own syntax, since the JSON carries none.
import type { FirewallChain, FirewallRuleset, FirewallSet, FirewallTable, NftExpr } from '@dualstack/core';
import { CommandOutputError } from '../ip-command.js';

export const NFT_ARGS = ['-j', 'list', 'ruleset'] as const;
export const NFT_COMMAND = `nft ${NFT_ARGS.join(' ')}`;

type Json = Record<string, unknown>;

function fail(index: number | null, field: string, raw: unknown, reason: string): never {
  throw new CommandOutputError({ command: NFT_COMMAND, entry: index, field, raw: typeof raw === 'string' ? raw : JSON.stringify(raw), reason });
}

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function str(o: Json, field: string, index: number): string {
  const v = o[field];
  if (typeof v !== 'string') fail(index, field, o, `expected a string, got ${JSON.stringify(v)}`);
  return v;
}

function optInt(o: Json, field: string, index: number): number | null {
  const v = o[field];
  if (v === undefined) return null;
  if (typeof v !== 'number' || !Number.isInteger(v)) fail(index, field, o, `expected an integer, got ${JSON.stringify(v)}`);
  return v;
}

/**
 * Parses the output. Objects nft adds in newer versions (or that do not filter: flowtables,
 * counters, ct helpers) are skipped; expressions the evaluator does not know stay in the
 * rules as they are and make its answer `unknown`, never a wrong one.
 */
export function parseNftJson(text: string): FirewallRuleset {
  if (text.trim() === '') return { backend: 'nftables', command: NFT_COMMAND, tables: [] };
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch (error) {
    fail(null, 'output', text, `not JSON: ${(error as Error).message}`);
  }
  if (!isObject(root) || !Array.isArray(root.nftables)) fail(null, 'nftables', text, 'expected an object with an "nftables" array');
  const tables = new Map<string, FirewallTable>();
  const tableOf = (family: string, name: string, index: number, o: Json): FirewallTable => {
    const table = tables.get(`${family} ${name}`);
    if (!table) fail(index, 'table', o, `names table ${family} ${name}, which was not listed before it`);
    return table;
  };
  const chainOf = (table: FirewallTable, name: string, index: number, o: Json): FirewallChain => {
    const chain = table.chains.find((c) => c.name === name);
    if (!chain) fail(index, 'chain', o, `names chain ${name}, which was not listed in table ${table.family} ${table.name}`);
    return chain;
  };
  root.nftables.forEach((item: unknown, index: number) => {
    if (!isObject(item)) fail(index, 'entry', item, 'expected an object');
    const [kind] = Object.keys(item);
    const o = item[kind!];
    switch (kind) {
      case 'table': {
        if (!isObject(o)) fail(index, 'table', item, 'expected an object');
        const family = str(o, 'family', index);
        const name = str(o, 'name', index);
        tables.set(`${family} ${name}`, { family, name, chains: [], sets: [] });
        return;
      }
      case 'chain': {
        if (!isObject(o)) fail(index, 'chain', item, 'expected an object');
        const table = tableOf(str(o, 'family', index), str(o, 'table', index), index, o);
        const policy = o.policy === undefined ? null : str(o, 'policy', index);
        if (policy !== null && policy !== 'accept' && policy !== 'drop') fail(index, 'policy', o, `expected accept or drop, got ${JSON.stringify(policy)}`);
        table.chains.push({
          name: str(o, 'name', index),
          hook: o.hook === undefined ? null : str(o, 'hook', index),
          priority: optInt(o, 'prio', index),
          type: o.type === undefined ? null : str(o, 'type', index),
          policy,
          rules: [],
        });
        return;
      }
      case 'set':
      case 'map': {
        if (!isObject(o)) fail(index, kind, item, 'expected an object');
        const table = tableOf(str(o, 'family', index), str(o, 'table', index), index, o);
        const elem = o.elem === undefined ? [] : o.elem;
        if (!Array.isArray(elem)) fail(index, 'elem', o, 'expected an array');
        // Map elements are [key, value] pairs, which a verdict map (`vmap @name`) looks up.
        table.sets.push({ name: str(o, 'name', index), elements: elem } satisfies FirewallSet);
        return;
      }
      case 'rule': {
        if (!isObject(o)) fail(index, 'rule', item, 'expected an object');
        const table = tableOf(str(o, 'family', index), str(o, 'table', index), index, o);
        const chain = chainOf(table, str(o, 'chain', index), index, o);
        if (!Array.isArray(o.expr)) fail(index, 'expr', o, 'expected an array');
        o.expr.forEach((e: unknown, i: number) => {
          if (!isObject(e)) fail(index, `expr[${i}]`, o, 'expected an object');
        });
        const expr = o.expr as NftExpr[];
        chain.rules.push({ handle: optInt(o, 'handle', index), line: null, text: printRule(expr), expr });
        return;
      }
      default:
        return; // metainfo, flowtable, counter, quota, ct helper ...: nothing that filters
    }
  });
  return { backend: 'nftables', command: NFT_COMMAND, tables: [...tables.values()] };
}

// ------------------------------------------------------------------ printing a rule

function printValue(v: unknown, quote = false): string {
  if (typeof v === 'string') return quote ? `"${v}"` : v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return v.map((x) => printValue(x, quote)).join(',');
  if (isObject(v)) {
    if ('set' in v) {
      const set = Array.isArray(v.set) ? v.set : [v.set];
      return `{ ${set.map((x: unknown) => (Array.isArray(x) && x.length === 2 ? `${printValue(x[0], quote)} : ${printStatement(x[1])}` : printValue(x, quote))).join(', ')} }`;
    }
    if ('prefix' in v && isObject(v.prefix)) return `${String(v.prefix.addr)}/${String(v.prefix.len)}`;
    if ('range' in v && Array.isArray(v.range)) return `${printValue(v.range[0])}-${printValue(v.range[1])}`;
    if ('payload' in v && isObject(v.payload)) return `${String(v.payload.protocol)} ${String(v.payload.field)}`;
    if ('meta' in v && isObject(v.meta)) {
      const key = String(v.meta.key);
      return ['iifname', 'oifname', 'iif', 'oif'].includes(key) ? key : `meta ${key}`;
    }
    if ('ct' in v && isObject(v.ct)) return `ct ${String(v.ct.key)}`;
    if ('fib' in v && isObject(v.fib)) return `fib ${(Array.isArray(v.fib.flags) ? v.fib.flags : []).join(' . ')} ${String(v.fib.result)}`;
    if ('xt' in v && isObject(v.xt)) return `xt ${String(v.xt.type)} "${String(v.xt.name)}"`;
  }
  return JSON.stringify(v);
}

function printStatement(s: unknown): string {
  if (!isObject(s)) return JSON.stringify(s);
  const [key] = Object.keys(s);
  const v = s[key!];
  switch (key) {
    case 'match': {
      const m = v as { op?: string; left?: unknown; right?: unknown };
      const masked = isObject(m.left) && Array.isArray(m.left['&']) ? (m.left['&'] as unknown[]) : null;
      if (masked && masked.length === 2) {
        // `tcp flags & (fin|syn|rst|ack) != syn` is printed `tcp flags != syn / fin,syn,rst,ack`.
        const op = m.op === '==' || m.op === undefined ? '' : `${m.op} `;
        return `${printValue(masked[0])} ${op}${printValue(m.right)} / ${printValue(masked[1])}`;
      }
      const left = printValue(m.left);
      const quote = /^(iifname|oifname)$/.test(left);
      const op = m.op === '==' || m.op === 'in' || m.op === undefined ? '' : `${m.op} `;
      const right = m.right === false && left.startsWith('fib') ? 'missing' : printValue(m.right, quote);
      return `${left} ${op}${right}`;
    }
    case 'accept':
    case 'drop':
    case 'return':
    case 'continue':
    case 'counter':
      return key;
    case 'reject':
      // `reject with icmpx admin-prohibited`, `reject with tcp reset` (the code is in "expr").
      return isObject(v) && v.type ? `reject with ${String(v.type)}${v.expr !== undefined ? ` ${String(v.expr)}` : ''}` : 'reject';
    case 'jump':
    case 'goto':
      return `${key} ${String((v as { target?: unknown } | null)?.target)}`;
    case 'log':
      return isObject(v) && v.prefix !== undefined ? `log prefix "${String(v.prefix)}"` : 'log';
    case 'limit':
      // "inv": `limit rate over`, which matches only above the rate: the opposite reading.
      return isObject(v) ? `limit rate ${v.inv ? 'over ' : ''}${String(v.rate)}/${String(v.per)}` : 'limit';
    case 'ct count':
      return isObject(v) ? `ct count ${v.inv ? 'over ' : ''}${String(v.val)}` : 'ct count';
    case 'vmap': {
      const m = v as { key?: unknown; data?: unknown };
      return `${printValue(m.key)} vmap ${printValue(m.data)}`;
    }
    default:
      return `${key}${v === null ? '' : ` ${JSON.stringify(v)}`}`;
  }
}

/** A rule in nft's syntax, as `nft list ruleset` would show it (close enough to find it there). */
export function printRule(expr: NftExpr[]): string {
  return expr.map(printStatement).join(' ');
}
