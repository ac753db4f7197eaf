// /proc/[pid]/net/fib_trie: the IPv4 routing tries of that process's network namespace, the
// only /proc file that shows another namespace's IPv4 addresses (getifaddrs and `ip addr` answer
// for the reader's own namespace). A local address is a leaf with a `/32 host LOCAL` entry;
// the prefix it sits in is the `link UNICAST` entry of a leaf whose network contains it. The
// file names no interface: the caller takes it from net/route. Format (net/ipv4/fib_trie.c,
// fib_trie_seq_show): a table name line ("Main:", "Local:"), then `+-- net/len ...` nodes and
// `|-- a.b.c.d` leaves, each leaf followed by `/len scope TYPE` lines.
import { ProcParseError } from './errors.js';
import { readProcText, type ProcRoot } from './root.js';

export interface FibTrie {
  /** Addresses with a `/32 host LOCAL` entry, in file order, each once. */
  local: string[];
  /** Connected prefixes (`link UNICAST` entries), each once. */
  connected: Array<{ network: string; prefixLength: number }>;
}

const FILE = 'net/fib_trie';
const LEAF = /^\s*\|-- (\d{1,3}(?:\.\d{1,3}){3})$/;
const ENTRY = /^\s*\/(\d{1,2}) (\S+) (\S+)(?: .*)?$/;
const NODE = /^\s*\+-- \d{1,3}(?:\.\d{1,3}){3}\/\d{1,2} /;

/** Parses the whole file. Pure; throws ProcParseError naming the line it cannot read. */
export function parseFibTrie(text: string, file = FILE): FibTrie {
  const local = new Set<string>();
  const connected = new Map<string, { network: string; prefixLength: number }>();
  let leaf: string | null = null;
  text.split('\n').forEach((line, index) => {
    if (line.trim() === '' || /^[A-Za-z0-9_ ]+:$/.test(line.trim())) return; // table name: "Main:", "Local:", "Id 100:"
    const l = LEAF.exec(line);
    if (l) {
      leaf = l[1]!;
      return;
    }
    const e = ENTRY.exec(line);
    if (e) {
      if (leaf === null) throw new ProcParseError({ file, line: index + 1, field: 'entry', raw: line, reason: 'an entry before any leaf' });
      const prefixLength = Number(e[1]);
      if (prefixLength > 32) throw new ProcParseError({ file, line: index + 1, field: 'prefix length', raw: line, reason: 'above 32' });
      if (prefixLength === 32 && e[2] === 'host' && e[3] === 'LOCAL') local.add(leaf);
      if (e[2] === 'link' && e[3] === 'UNICAST') connected.set(`${leaf}/${prefixLength}`, { network: leaf, prefixLength });
      return;
    }
    if (NODE.test(line)) {
      leaf = null;
      return;
    }
    throw new ProcParseError({ file, line: index + 1, field: 'line', raw: line, reason: 'neither a table name, a node, a leaf nor an entry' });
  });
  return { local: [...local], connected: [...connected.values()] };
}

/** The file under a proc root (a /proc/[pid] directory for another namespace); null when absent. */
export function readFibTrie(root: ProcRoot): FibTrie | null {
  const text = readProcText(root, FILE);
  return text === null ? null : parseFibTrie(text);
}
