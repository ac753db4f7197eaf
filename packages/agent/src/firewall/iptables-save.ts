// `iptables-save` / `ip6tables-save` output (iptables-save(8)): tables, chain policies and
// `-A` rules, translated into the nftables JSON forms the evaluator reads, so that legacy
// and iptables-nft rule sets are judged by the same code. Options the translation does not
// know become an opaque expression naming them, which makes the evaluator answer `unknown`.
import type { FirewallBackend, FirewallChain, FirewallRuleset, FirewallTable, NftExpr } from '@dualstack/core';

export class IptablesSaveError extends Error {
  constructor(
    readonly command: string,
    readonly line: number,
    readonly raw: string,
    readonly reason: string,
  ) {
    super(`${command} line ${line}: ${reason}: ${raw.slice(0, 200)}`);
    this.name = 'IptablesSaveError';
  }
}

/** Built-in chains that see inbound packets for local sockets: hook and priority (netfilter_ipv4.h NF_IP_PRI_*). */
const BUILTIN_HOOKS: Record<string, Record<string, { hook: string; priority: number }>> = {
  raw: { PREROUTING: { hook: 'prerouting', priority: -300 }, OUTPUT: { hook: 'output', priority: -300 } },
  mangle: { PREROUTING: { hook: 'prerouting', priority: -150 }, INPUT: { hook: 'input', priority: -150 }, FORWARD: { hook: 'forward', priority: -150 }, OUTPUT: { hook: 'output', priority: -150 }, POSTROUTING: { hook: 'postrouting', priority: -150 } },
  nat: { PREROUTING: { hook: 'prerouting', priority: -100 }, INPUT: { hook: 'input', priority: 100 }, OUTPUT: { hook: 'output', priority: -100 }, POSTROUTING: { hook: 'postrouting', priority: 100 } },
  filter: { INPUT: { hook: 'input', priority: 0 }, FORWARD: { hook: 'forward', priority: 0 }, OUTPUT: { hook: 'output', priority: 0 } },
  security: { INPUT: { hook: 'input', priority: 50 }, FORWARD: { hook: 'forward', priority: 50 }, OUTPUT: { hook: 'output', priority: 50 } },
};

/** Splits a rule line into words, keeping "quoted strings" (comments, log prefixes) whole. */
export function splitWords(line: string): string[] {
  const words: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (let m = re.exec(line); m !== null; m = re.exec(line)) words.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2]!);
  return words;
}

const match = (left: unknown, right: unknown, negate: boolean, op: '==' | 'in' = '=='): NftExpr => ({ match: { op: negate ? '!=' : op, left, right } });
const opaque = (what: string): NftExpr => ({ match: { op: '==', left: { xt: { type: 'match', name: what } }, right: true } });

function portValue(text: string): unknown {
  const parts = text.split(',').map((p) => {
    const [a, b] = p.split(':');
    if (b !== undefined) return { range: [a === '' ? 0 : Number(a), b === '' ? 65535 : Number(b)] };
    return /^\d+$/.test(a!) ? Number(a) : a;
  });
  return parts.length === 1 ? parts[0] : { set: parts };
}

function addressValue(text: string): unknown {
  const parts = text.split(',').map((p) => {
    const [addr, len] = p.split('/');
    if (len === undefined) return addr;
    // iptables-save prints prefix lengths; a dotted netmask here would be a non-contiguous one.
    return /^\d+$/.test(len) ? { prefix: { addr, len: Number(len) } } : p;
  });
  return parts.length === 1 ? parts[0] : { set: parts };
}

/**
 * Parses one save output. `family` is 'ip' for iptables-save, 'ip6' for ip6tables-save.
 * Lines: `*table`, `:CHAIN POLICY [counters]`, `-A CHAIN match... -j TARGET`, `COMMIT`, comments.
 */
export function parseIptablesSave(text: string, family: 'ip' | 'ip6', backend: FirewallBackend, command: string): FirewallRuleset {
  const tables: FirewallTable[] = [];
  let table: FirewallTable | null = null;
  let tableLine = 0;
  let lastLine = 0;
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const lineNo = i + 1;
    const line = raw.trim();
    const fail = (reason: string): never => {
      throw new IptablesSaveError(command, lineNo, raw, reason);
    };
    if (line === '' || line.startsWith('#')) return;
    lastLine = lineNo;
    if (line.startsWith('*')) {
      tableLine = lineNo;
      table = { family, name: line.slice(1), chains: [], sets: [] };
      tables.push(table);
      return;
    }
    if (line === 'COMMIT') {
      if (!table) fail('COMMIT outside a table');
      table = null;
      return;
    }
    if (!table) return fail('a chain or rule outside a table (no *table line before it)');
    const t: FirewallTable = table;
    if (line.startsWith(':')) {
      const [name, policy] = line.slice(1).split(/\s+/);
      if (!name || !policy) fail('expected ":CHAIN POLICY [packets:bytes]"');
      if (policy !== '-' && policy !== 'ACCEPT' && policy !== 'DROP') fail(`unknown policy ${policy}`);
      const builtin = BUILTIN_HOOKS[t.name]?.[name!];
      t.chains.push({
        name: name!,
        hook: builtin?.hook ?? null,
        priority: builtin?.priority ?? null,
        type: builtin ? (t.name === 'nat' ? 'nat' : 'filter') : null,
        policy: policy === 'DROP' ? 'drop' : policy === 'ACCEPT' ? 'accept' : null,
        rules: [],
      } satisfies FirewallChain);
      return;
    }
    if (!line.startsWith('-A ')) fail('expected *table, :CHAIN, -A or COMMIT');
    const words = splitWords(line);
    const chainName = words[1];
    const chain = t.chains.find((c) => c.name === chainName);
    if (!chain) fail(`rule for chain ${chainName ?? '?'}, which the table did not declare`);
    chain!.rules.push({ handle: null, line: lineNo, text: line, expr: translateRule(words.slice(2), family, (name) => t.chains.some((c) => c.name === name), fail) });
  });
  // Named at the last line the output has (not one past it), with that line as the raw text.
  if (table) throw new IptablesSaveError(command, lastLine, lines[lastLine - 1] ?? '', `table ${(table as FirewallTable).name} (line ${tableLine}) has no COMMIT (output cut short?)`);
  return { backend, command, tables };
}

function translateRule(words: string[], family: 'ip' | 'ip6', isChain: (name: string) => boolean, fail: (reason: string) => never): NftExpr[] {
  const expr: NftExpr[] = [];
  let proto: string | null = null;
  let negate = false;
  let module: string | null = null;
  let verdict: NftExpr | null = null;
  const arg = (i: number): string => words[i] ?? fail(`${words[i - 1]} without a value`);
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w === '!') {
      negate = true;
      continue;
    }
    const neg = negate;
    negate = false;
    switch (w) {
      case '-p':
      case '--protocol': {
        proto = arg(++i).toLowerCase();
        if (proto === 'icmpv6' || proto === '58') proto = 'ipv6-icmp';
        if (proto !== 'all') expr.push(match({ meta: { key: 'l4proto' } }, /^\d+$/.test(proto) ? Number(proto) : proto, neg));
        break;
      }
      case '-s':
      case '--source':
      case '-d':
      case '--destination': {
        const field = w === '-s' || w === '--source' ? 'saddr' : 'daddr';
        expr.push(match({ payload: { protocol: family, field } }, addressValue(arg(++i)), neg));
        break;
      }
      case '-i':
      case '--in-interface':
        expr.push(match({ meta: { key: 'iifname' } }, arg(++i).replace(/\+$/, '*'), neg));
        break;
      case '-o':
      case '--out-interface':
        expr.push(match({ meta: { key: 'oifname' } }, arg(++i).replace(/\+$/, '*'), neg));
        break;
      case '-m':
      case '--match':
        module = arg(++i);
        break;
      case '--dport':
      case '--destination-port':
      case '--dports':
      case '--destination-ports': {
        if (proto !== 'tcp' && proto !== 'udp') {
          expr.push(opaque(`${w} with protocol ${proto ?? 'any'}`));
          i++;
          break;
        }
        expr.push(match({ payload: { protocol: proto, field: 'dport' } }, portValue(arg(++i)), neg));
        break;
      }
      case '--sport':
      case '--source-port':
      case '--sports':
      case '--source-ports':
        expr.push(opaque(`${w} ${arg(++i)}`));
        break;
      case '--ctstate':
      case '--state':
        expr.push(match({ ct: { key: 'state' } }, arg(++i).toLowerCase().split(','), neg, 'in'));
        break;
      case '--icmpv6-type':
      case '--icmp-type': {
        const type = arg(++i).split('/')[0]!;
        expr.push(match({ payload: { protocol: w === '--icmpv6-type' ? 'icmpv6' : 'icmp', field: 'type' } }, /^\d+$/.test(type) ? Number(type) : type, neg));
        break;
      }
      case '--syn':
        expr.push(match({ payload: { protocol: 'tcp', field: 'flags' } }, 'syn', neg, 'in'));
        break;
      case '--tcp-flags': {
        const mask = arg(++i);
        const set = arg(++i);
        if (mask === 'FIN,SYN,RST,ACK' && set === 'SYN') expr.push(match({ payload: { protocol: 'tcp', field: 'flags' } }, 'syn', neg, 'in'));
        else expr.push(opaque(`--tcp-flags ${mask} ${set}`));
        break;
      }
      case '--dst-type': {
        const type = arg(++i).toLowerCase();
        expr.push(match({ fib: { result: 'type', flags: ['daddr'] } }, type, neg));
        break;
      }
      case '--comment':
      case '--limit':
      case '--limit-burst':
      case '--log-prefix':
      case '--log-level':
      case '--reject-with':
      case '--nflog-prefix':
      case '--nflog-group':
        i++; // values that change nothing about a new connection's fate
        break;
      case '--log-uid':
      case '--log-tcp-options':
      case '--log-ip-options':
        break;
      case '--hl-eq':
        // `-m hl --hl-eq N` (ip6tables): nft's `ip6 hoplimit N`.
        expr.push(match({ payload: { protocol: 'ip6', field: 'hoplimit' } }, Number(arg(++i)), neg));
        break;
      case '--rt-type':
        // `-m rt --rt-type 0` (type 0 routing headers, CVE-2007-2242): nft's exthdr match.
        expr.push(match({ exthdr: { name: 'rt', field: 'type' } }, Number(arg(++i)), neg));
        break;
      case '-j':
      case '--jump':
      case '-g':
      case '--goto': {
        const target = arg(++i);
        verdict = targetStatement(target, w === '-g' || w === '--goto', isChain(target));
        // iptables-save prints the target last: what follows are its own options
        // (REJECT --reject-with, LOG --log-prefix, MARK --set-mark), none of them a match.
        i = words.length;
        break;
      }
      default:
        if (w.startsWith('--')) {
          // An option of a module the translation does not model: keep it, so the answer is unknown.
          const values: string[] = [];
          while (i + 1 < words.length && !words[i + 1]!.startsWith('-') && words[i + 1] !== '!') values.push(words[++i]!);
          expr.push(opaque(`${neg ? '! ' : ''}-m ${module ?? '?'} ${w}${values.length ? ` ${values.join(' ')}` : ''}`));
        } else if (w.startsWith('-')) {
          fail(`unknown option ${w}`);
        } else {
          fail(`unexpected word ${JSON.stringify(w)}`);
        }
    }
  }
  if (verdict) expr.push(verdict);
  return expr;
}

function targetStatement(target: string, goto: boolean, isChain: boolean): NftExpr {
  if (isChain) return { [goto ? 'goto' : 'jump']: { target } };
  switch (target) {
    case 'ACCEPT':
      return { accept: null };
    case 'DROP':
      return { drop: null };
    case 'REJECT':
      return { reject: null };
    case 'RETURN':
      return { return: null };
    case 'LOG':
    case 'NFLOG':
    case 'ULOG':
    case 'AUDIT':
      return { log: null };
    case 'MARK':
    case 'CONNMARK':
      // Sets a mark and goes on to the next rule (iptables-extensions(8)); a later rule that
      // matches on the mark is what the evaluator cannot model, and says so.
      return { mangle: { key: { meta: { key: 'mark' } }, target } };
    default:
      // Not a chain of the table: an extension target (MARK, CT, TPROXY ...), which changes a
      // packet or its tracking in ways the evaluator does not model.
      return { xt: { type: 'target', name: target } };
  }
}
