// One other network namespace, read through one of its processes: /proc/PID/net/* are that
// namespace's files, so the host's readers run unchanged on a proc root of /proc/PID. What
// /proc/PID does not show (sysctls, V6ONLY) comes from entering it (enter.ts) or stays unknown.
import { performance } from 'node:perf_hooks';
import type { HostAddress, NamespaceOwner, Route, SourceStatus, Sysctls } from '@dualstack/core';
import { parseAddress, inPrefix } from '@dualstack/core';
import { readSocketTable, socketFiles, type SocketFile, type SocketTableSummary } from '../proc/net-sockets.js';
import { readIfInet6 } from '../proc/if-inet6.js';
import { readIpv6Route } from '../proc/ipv6-route.js';
import { readIpv4Route } from '../proc/route.js';
import { readFibTrie, type FibTrie } from '../proc/fib-trie.js';
import { procPath, readProcText, type ProcRoot } from '../proc/root.js';
import { parseSsV6only } from '../sockdiag.js';
import { parseCgroupOwner, type CgroupOwner } from './cgroup-owner.js';
import { readOwnerNames, type NameFileCache } from './names.js';
import { sysctlsFromDump, type EnteredNamespace } from './enter.js';
import type { DiscoveredNamespace } from './discover.js';

export interface NamespaceRead {
  inode: number;
  link: string;
  pid: number;
  processes: number;
  owner: NamespaceOwner;
  sockets: Partial<Record<SocketFile, SocketTableSummary>>;
  addresses: HostAddress[];
  routes: Route[];
  sysctl: Sysctls | null;
  v6only: Map<number, boolean> | null;
  statuses: SourceStatus[];
  /** What entering it printed (a capture keeps it), or null when it was not entered. */
  entered: EnteredNamespace | null;
  /** Files read to name the owner, with what a capture keeps of each. */
  ownerFiles: Array<{ path: string; keep: string }>;
  /** The read-through process's comm and cgroup as read here (the owners source reuses them). */
  process: { comm: string | null; cgroup: string | null };
}

export interface ReadContext {
  /** Where the runtimes' and the kubelet's files are read (/ live, the capture directory on a replay); null: not read. */
  systemRoot: string | null;
  /** The runtimes' files shared by every namespace (podman's records), read once per scan. */
  nameFiles?: NameFileCache;
  /** What entering the namespace gave; undefined when it was not entered, with why in `notEntered`. */
  entered: EnteredNamespace | undefined;
  notEntered: string;
}

/** A proc root whose net/ files are the namespace's: /proc/PID (or its copy in a capture). */
export function namespaceRoot(root: ProcRoot, pid: number): ProcRoot {
  return { path: procPath(root, String(pid)), live: root.live };
}

export function readNamespace(root: ProcRoot, found: DiscoveredNamespace, context: ReadContext): NamespaceRead {
  const statuses: SourceStatus[] = [];
  const step = <T>(name: string, read: () => { value: T; status?: SourceStatus['status']; detail?: string }, fallback: T): T => {
    const started = performance.now();
    try {
      const { value, status = 'ok', detail } = read();
      statuses.push({ name, status, ok: true, durationMs: ms(started), ...(detail ? { detail } : {}) });
      return value;
    } catch (error) {
      statuses.push({ name, status: 'failed', ok: false, durationMs: ms(started), error: (error as Error).message });
      return fallback;
    }
  };
  const nsRoot = namespaceRoot(root, found.pid);
  const sockets: NamespaceRead['sockets'] = {};
  for (const file of Object.keys(socketFiles) as SocketFile[]) {
    step(file, () => {
      const summary = readSocketTable(nsRoot, file);
      if (summary === null) {
        if (file.endsWith('6')) return { value: null, status: 'absent', detail: `net/${file} is missing: IPv6 is off in this namespace's kernel` };
        throw new Error(`${found.pid}/net/${file} is missing (the process exited?)`);
      }
      sockets[file] = summary;
      return { value: null };
    }, null);
  }
  const addresses6 = step('if_inet6', () => {
    const value = readIfInet6(nsRoot);
    return value === null ? { value: [], status: 'absent', detail: 'net/if_inet6 is missing' } : { value };
  }, [] as HostAddress[]);
  const routes4 = step('route', () => {
    const value = readIpv4Route(nsRoot);
    if (value === null) throw new Error(`${found.pid}/net/route is missing`);
    return { value };
  }, [] as Route[]);
  const addresses4 = step('fib_trie', () => {
    const trie = readFibTrie(nsRoot);
    if (trie === null) throw new Error(`${found.pid}/net/fib_trie is missing`);
    return { value: ipv4Addresses(trie, routes4) };
  }, [] as HostAddress[]);
  const routes6 = step('ipv6_route', () => {
    const value = readIpv6Route(nsRoot);
    return value === null ? { value: [], status: 'absent', detail: 'net/ipv6_route is missing' } : { value };
  }, [] as Route[]);
  const entered = context.entered;
  const sysctl = step('sysctl', () => {
    if (entered?.sysctl == null) return { value: null, status: 'skipped', detail: entered?.problem ?? context.notEntered };
    return { value: sysctlsFromDump(entered.sysctl) };
  }, null as Sysctls | null);
  const v6only = step('sockdiag', () => {
    const why = entered?.problem ?? context.notEntered;
    if (entered?.sockdiag == null) return { value: null, status: 'skipped', detail: `${why}: V6ONLY is ${sysctl ? "inferred from this namespace's net.ipv6.bindv6only" : 'unknown'}` };
    return { value: parseSsV6only(entered.sockdiag, `ss in net:[${found.inode}]`) };
  }, null as Map<number, boolean> | null);

  const ownerFiles: NamespaceRead['ownerFiles'] = [];
  const texts = processTexts(root, found.pid);
  // Never fails: an unreadable cgroup leaves the owner unknown, named by its process.
  const owner = step('owner', () => {
    const value = namespaceOwner(texts, found.pid, context.systemRoot, ownerFiles, context.nameFiles);
    return value.problem ? { value: value.owner, status: 'partial', detail: value.problem } : { value: value.owner };
  }, null)!;

  return {
    inode: found.inode,
    link: found.link,
    pid: found.pid,
    processes: found.processes,
    owner,
    sockets,
    addresses: [...addresses4, ...addresses6],
    routes: [...routes4, ...routes6],
    sysctl,
    v6only,
    statuses,
    entered: entered ?? null,
    ownerFiles,
    process: { comm: texts.comm, cgroup: texts.cgroup.text },
  };
}

const ms = (started: number) => Math.round((performance.now() - started) * 100) / 100;

/**
 * IPv4 addresses from fib_trie's local entries, each with the connected prefix that holds it
 * and that prefix's interface from net/route (127/8 is lo's and in no main-table route).
 */
export function ipv4Addresses(trie: FibTrie, routes4: Route[]): HostAddress[] {
  return trie.local.map((address) => {
    const parsed = parseAddress(address);
    const loopback = parsed.range() === 'loopback';
    const prefix = trie.connected
      .filter((c) => inPrefix(parsed, parseAddress(c.network), c.prefixLength))
      .sort((a, b) => b.prefixLength - a.prefixLength)[0];
    const route = prefix ? routes4.find((r) => r.gateway === null && r.destination === prefix.network && r.prefixLength === prefix.prefixLength) : undefined;
    const range = parsed.range();
    return {
      family: 4 as const,
      address,
      prefixLength: loopback ? 8 : (prefix?.prefixLength ?? 32),
      interface: loopback ? 'lo' : (route?.interface ?? '?'),
      scope: loopback ? ('host' as const) : range === 'linkLocal' ? ('link' as const) : ('global' as const),
      flags: [],
    };
  });
}

interface ProcessTexts {
  comm: string | null;
  cgroup: { text: string | null; error: string | null };
}

/** comm and cgroup of the read-through process, each read once. */
function processTexts(root: ProcRoot, pid: number): ProcessTexts {
  const read = (rel: string): { text: string | null; error: string | null } => {
    try {
      return { text: readProcText(root, `${pid}/${rel}`), error: null };
    } catch (error) {
      return { text: null, error: (error as Error).message };
    }
  };
  return { comm: read('comm').text, cgroup: read('cgroup') };
}

function unknownOwner(texts: ProcessTexts, pid: number): NamespaceOwner {
  return { runtime: 'unknown', id: null, name: `${texts.comm?.trim() || '?'}[${pid}]`, cgroup: null };
}

/** The owner from the process's cgroup, named from the runtime's files where they say. */
function namespaceOwner(texts: ProcessTexts, pid: number, systemRoot: string | null, files: NamespaceRead['ownerFiles'], nameFiles?: NameFileCache): { owner: NamespaceOwner; problem: string | null } {
  const text = texts.cgroup.text;
  if (texts.cgroup.error !== null) return { owner: unknownOwner(texts, pid), problem: `${pid}/cgroup: ${texts.cgroup.error}` };
  if (text === null) return { owner: unknownOwner(texts, pid), problem: `${pid}/cgroup is missing` };
  let found: CgroupOwner | null;
  try {
    found = parseCgroupOwner(text, `${pid}/cgroup`);
  } catch (error) {
    return { owner: unknownOwner(texts, pid), problem: (error as Error).message };
  }
  if (found === null) return { owner: unknownOwner(texts, pid), problem: null };
  const names = systemRoot === null ? null : readOwnerNames(found, systemRoot, nameFiles);
  if (names) files.push(...names.read);
  const short = found.id?.slice(0, 12) ?? null;
  if (found.runtime === 'kubernetes' && found.pod) {
    const podName = names?.name ?? null;
    const podNamespace = names?.podNamespace ?? null;
    return {
      owner: {
        runtime: 'kubernetes',
        id: found.id,
        pod: { uid: found.pod.uid, ...(podName ? { name: podName } : {}), ...(podNamespace ? { namespace: podNamespace } : {}) },
        name: podName ? (podNamespace ? `${podNamespace}/${podName}` : podName) : found.pod.uid,
        cgroup: found.path,
      },
      problem: null,
    };
  }
  return { owner: { runtime: found.runtime, id: found.id, name: names?.name ?? found.name ?? short ?? `?[${pid}]`, cgroup: found.path }, problem: null };
}
