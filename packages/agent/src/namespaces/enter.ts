// What /proc/[pid] does not show of another network namespace: /proc/sys/net answers for the
// READER's namespace, and V6ONLY is only in sock_diag, which answers for the caller's namespace
// too. Both need entering the namespace (setns(2), CAP_SYS_ADMIN): one shell runs, for every
// namespace in turn, `nsenter --net=/proc/PID/ns/net` with ss and grep over the IPv6 sysctls,
// so a host with 200 containers costs one child process of ours, not 400. The packaged agent's
// native module (sockdiag-native/) does the same in-process, with no exec per namespace; both
// paths give the same texts, so what follows (and a capture) does not know which ran.
import { availableParallelism } from 'node:os';
import { runCommand } from '../command.js';
import { SS_ARGS } from '../sockdiag.js';
import { ipv6ConfKeys, ipv6SysctlsFrom } from '../proc/sysctl-ipv6.js';
import { loadNativeSockdiag, type NativeSockdiag } from '../sockdiag-native/load.js';
import { ssLinesOfRecords } from '../sockdiag-native/records.js';
import { grepDumpOfPairs } from '../sockdiag-native/sysctl-dump.js';
import type { Sysctls } from '@dualstack/core';

/** What one namespace gave when entered. */
export interface EnteredNamespace {
  /** `ss -Hlne -A inet` as printed inside it. */
  sockdiag: string | null;
  /** `grep -r -H '' …` over its net.ipv6 sysctls: `/proc/sys/net/ipv6/...:VALUE` lines. */
  sysctl: string | null;
  /** Why a part is missing (the namespace went away, a command failed). */
  problem: string | null;
}

const MARK = '@@dualstack';
const SYSCTL_INCLUDES = ['bindv6only', ...ipv6ConfKeys].map((k) => `--include=${k}`).join(' ');

// $1.. are pids; each part is fenced by marker lines carrying the pid, so a namespace that
// vanished mid-run (its process exited) loses only its own part.
const SCRIPT = `
for pid in "$@"; do
  echo "${MARK} ss $pid"
  nsenter --net=/proc/$pid/ns/net -- ss ${SS_ARGS.join(' ')} 2>&1 || echo "${MARK} failed ss $pid $?"
  echo "${MARK} sysctl $pid"
  nsenter --net=/proc/$pid/ns/net -- grep -r -H ${SYSCTL_INCLUDES} '' /proc/sys/net/ipv6/bindv6only /proc/sys/net/ipv6/conf 2>&1 || echo "${MARK} failed sysctl $pid $?"
done
echo "${MARK} end"
`;

/** The commands, for the source's docs. */
export const ENTER_COMMANDS = `setns(2) into each in turn with a NETLINK_SOCK_DIAG dump and /proc/sys/net/ipv6 reads in-process (the packaged agent's native module), else nsenter --net=/proc/PID/ns/net ss ${SS_ARGS.join(' ')}; nsenter --net=/proc/PID/ns/net grep -r over /proc/sys/net/ipv6 (one shell for every namespace, when the agent holds CAP_SYS_ADMIN)`;

/** How the namespaces were entered, for the report: the native module (its path) or the shell batch. */
export interface Entering {
  entered: Promise<Map<number, EnteredNamespace>>;
  by: string;
}

/** A namespace to enter: through this pid, expected to be net:[inode]. */
export interface EnterTarget {
  pid: number;
  inode: number;
}

/** Enters with the native module when it loads (no exec per namespace), else with the shell batch. */
export function enterNamespaces(targets: EnterTarget[]): Entering {
  const native = loadNativeSockdiag();
  const pids = targets.map((t) => t.pid);
  if (native.module) {
    try {
      return { entered: Promise.resolve(enterNatively(native.module, targets)), by: `native sock_diag module ${native.path}` };
    } catch (error) {
      return { entered: enterWithShell(pids), by: `nsenter (the native sock_diag module failed: ${(error as Error).message})` };
    }
  }
  return { entered: enterWithShell(pids), by: `nsenter (${native.why})` };
}

/**
 * The native module's answer per pid, as the texts the shell batch prints; a pid found in
 * another namespace than discovery saw (it exited and was reused) gives nothing. Throws when
 * the module could not start.
 */
export function enterNatively(module: NativeSockdiag, targets: EnterTarget[]): Map<number, EnteredNamespace> {
  const results = module.enterEach(targets.map((t) => `/proc/${t.pid}/ns/net`), [...ipv6ConfKeys]);
  return new Map(
    targets.map(({ pid, inode }, i): [number, EnteredNamespace] => {
      const r = results[i]!;
      if (r.error !== null) return [pid, { sockdiag: null, sysctl: null, problem: `could not be entered: ${r.error}` }];
      if (r.inode !== inode) return [pid, { sockdiag: null, sysctl: null, problem: `pid ${pid} is now in net:[${r.inode}], not net:[${inode}] (it exited and the pid was reused)` }];
      return [pid, { sockdiag: ssLinesOfRecords(r.records!), sysctl: grepDumpOfPairs(r.sysctls!), problem: null }];
    }),
  );
}

/**
 * Runs the batch for these pids, one shell per core (each namespace costs three execs, which
 * wait on the kernel more than on the CPU); resolves per pid. Rejects with CommandMissingError
 * without sh.
 */
export async function enterWithShell(pids: number[]): Promise<Map<number, EnteredNamespace>> {
  if (pids.length === 0) return new Map();
  const shells = Math.max(1, Math.min(availableParallelism(), 4, pids.length));
  const chunks = Array.from({ length: shells }, (_, k) => pids.filter((_, i) => i % shells === k));
  const texts = await Promise.all(chunks.map((chunk) => runCommand('sh', ['-c', SCRIPT, 'sh', ...chunk.map(String)], { maxBuffer: 256 * 1024 * 1024, timeoutMs: 120_000 })));
  return new Map(texts.flatMap((text) => [...parseEnterOutput(text)]));
}

/** Splits the batch's output per pid. Pure. */
export function parseEnterOutput(text: string): Map<number, EnteredNamespace> {
  const out = new Map<number, EnteredNamespace>();
  let current: { pid: number; part: 'ss' | 'sysctl'; lines: string[] } | null = null;
  const close = () => {
    if (!current) return;
    const entry = out.get(current.pid) ?? { sockdiag: null, sysctl: null, problem: null };
    const body = current.lines.join('\n');
    if (current.part === 'ss') entry.sockdiag = body === '' ? '' : `${body}\n`;
    else entry.sysctl = body === '' ? '' : `${body}\n`;
    out.set(current.pid, entry);
    current = null;
  };
  for (const line of text.split('\n')) {
    if (!line.startsWith(MARK)) {
      current?.lines.push(line);
      continue;
    }
    const [, what, a, b] = line.split(' ');
    if (what === 'failed') {
      const pid = Number(b);
      const failed = current?.part;
      const output = current?.lines.join(' ').trim();
      current = null; // a failed part's output is its error message, not data
      const entry = out.get(pid) ?? { sockdiag: null, sysctl: null, problem: null };
      const why = `${a === 'ss' ? 'ss' : 'the sysctls'} could not be read inside it${output ? `: ${output.slice(0, 200)}` : ''}`;
      entry.problem = entry.problem ? `${entry.problem}; ${why}` : why;
      if (failed === 'ss') entry.sockdiag = null;
      else entry.sysctl = null;
      out.set(pid, entry);
      continue;
    }
    close();
    if (what === 'ss' || what === 'sysctl') current = { pid: Number(a), part: what, lines: [] };
  }
  close();
  return out;
}

/** A namespace's net.ipv6 sysctls from the grep dump (`/proc/sys/net/ipv6/conf/eth0/accept_ra:1`). Pure. */
export function sysctlsFromDump(text: string): Sysctls | null {
  const files = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^\/proc\/(sys\/net\/ipv6\/[^:]+):(.*)$/.exec(line);
    if (match) files.set(match[1]!, match[2]!);
  }
  if (files.size === 0) return null;
  return ipv6SysctlsFrom({
    list(rel) {
      const prefix = `${rel}/`;
      const names = new Set<string>();
      for (const key of files.keys()) if (key.startsWith(prefix)) names.add(key.slice(prefix.length).split('/')[0]!);
      return names.size > 0 ? [...names] : null;
    },
    read: (rel) => files.get(rel) ?? null,
  });
}
