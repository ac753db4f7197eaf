// Which process holds each socket: /proc/[pid]/fd/* -> `socket:[inode]`, plus comm, ppid
// (from stat), exe and the systemd unit (from cgroup) of the holders. Without root only the
// agent's own user's processes are readable: that is reported as partial, never a failure.
import { opendirSync, type Dir } from 'node:fs';
import type { SocketOwner } from '@dualstack/core';
import { ProcParseError } from './errors.js';
import { isNotFound, isPermissionDenied, listProcDir, procPath, readProcLink, readProcText, type ProcRoot } from './root.js';

export interface OwnerScan {
  owners: Map<number, SocketOwner[]>;
  processes: number;
  /**
   * Processes whose fd table could not be read for lack of privilege: the fd directory
   * (needs CAP_DAC_READ_SEARCH for another user's process) or its links (CAP_SYS_PTRACE).
   */
  unreadable: number;
  /**
   * Processes whose fd links the kernel refused although the agent holds both capabilities
   * (root does): a security module (Landlock, Yama, AppArmor, SELinux) denies ptrace read
   * access to them whoever asks. Not a privilege the agent lacks.
   */
  denied: number;
  /** Processes in a network namespace not searched (another one, when only the agent's is). */
  otherNamespace: number;
  /** Whether the fd tables were read past their first FIRST_PASS_FDS entries. */
  secondPass: boolean;
}

/**
 * Listening sockets are opened early in a process's life, so the first pass reads only the
 * lowest descriptors of each process; only when a listening socket is still without an
 * owner does a second pass read the rest (of the processes in that socket's namespace). On a
 * host with 100k connections this reads a few thousand links instead of 100k (test/bench).
 * The price: a worker that holds an already-found shared socket only at a high descriptor is
 * not listed in sharedWith.
 */
export const FIRST_PASS_FDS = 256;

/** `/proc/[pid]/stat`: `pid (comm) state ppid ...`; comm may hold spaces and parentheses. */
export function parseStatPpid(text: string, file: string): number {
  const close = text.lastIndexOf(')');
  const rest = close === -1 ? [] : text.slice(close + 1).trim().split(' ');
  const ppid = rest[1];
  if (ppid === undefined || !/^\d+$/.test(ppid)) throw new ProcParseError({ file, line: 1, field: 'ppid', raw: text, reason: 'expected `pid (comm) state ppid`' });
  return Number(ppid);
}

/**
 * The systemd unit from /proc/[pid]/cgroup (v2 line `0::/system.slice/nginx.service`, or the
 * v1 name=systemd line). User sessions (`session-3.scope`) are named too; null when none.
 */
export function parseCgroupUnit(text: string): string | null {
  for (const line of text.split('\n')) {
    const path = line.split(':').slice(2).join(':');
    if (!(line.startsWith('0::') || line.includes(':name=systemd:'))) continue;
    const parts = path.split('/').filter(Boolean);
    for (let i = parts.length - 1; i >= 0; i--) {
      const part = parts[i]!;
      if (/\.(service|scope|socket|mount|swap)$/.test(part)) return part;
    }
  }
  return null;
}

const SOCKET_LINK = /^socket:\[(\d+)\]$/;

/**
 * The network namespaces whose processes are searched, when other namespaces are scanned too:
 * each process's namespace as discovery read it (so no ns/net link is read twice) and the
 * namespaces to search. Without it only the agent's own namespace is searched.
 */
export interface OwnerNamespaces {
  byPid: ReadonlyMap<number, string>;
  searched: ReadonlySet<string>;
  /** comm and cgroup texts already read (of the processes namespaces were read through): not read again. */
  known?: ReadonlyMap<number, { comm: string | null; cgroup: string | null }>;
  /** The namespace of each wanted socket (its table's): where the second pass looks. */
  socketNamespace?: ReadonlyMap<number, string>;
}

/** How one process's pass over its fd table ended, and the wanted inodes met, in descriptor order. */
export interface FdPass {
  outcome: 'done' | 'more' | 'unreadable' | 'linkDenied';
  inodes: number[];
}

/**
 * One pass over the fd tables of `pids` (each read past its first `skip` entries, up to the
 * `limit`th): the walk below, or the native module's (sockdiag-native/fd-sockets.ts). Both
 * read the same links and keep the same ones; `wanted` is sorted ascending.
 */
export type FdPassReader = (pids: readonly number[], skip: number, limit: number, wanted: readonly number[]) => Promise<FdPass[]>;

/** Walks the processes' fd tables; keeps only holders of the `wanted` inodes. */
export function scanSocketOwners(root: ProcRoot, wanted: ReadonlySet<number>, firstPassFds = FIRST_PASS_FDS, namespaces: OwnerNamespaces | null = null): OwnerScan {
  const walk = startWalk(root, wanted, namespaces);
  if (!walk) return emptyScan();
  const read = (pids: readonly number[], skip: number, limit: number) => pids.map((pid) => visit(root, pid, skip, limit, wanted));
  const longer = walk.take(walk.pids, read(walk.pids, 0, firstPassFds));
  const again = walk.secondPassPids(longer);
  if (again.length > 0) walk.take(again, read(again, firstPassFds, Infinity));
  return walk.finish();
}

/**
 * The same walk with the fd tables read by `reader` (the native module's, on a threadpool
 * thread): the same passes over the same processes, so the same owners and counts.
 */
export async function scanSocketOwnersWith(reader: FdPassReader, root: ProcRoot, wanted: ReadonlySet<number>, firstPassFds = FIRST_PASS_FDS, namespaces: OwnerNamespaces | null = null): Promise<OwnerScan> {
  const walk = startWalk(root, wanted, namespaces);
  if (!walk) return emptyScan();
  const sorted = [...wanted].sort((a, b) => a - b);
  const longer = walk.take(walk.pids, await reader(walk.pids, 0, firstPassFds, sorted));
  const again = walk.secondPassPids(longer);
  if (again.length > 0) walk.take(again, await reader(again, firstPassFds, Infinity, sorted));
  return walk.finish();
}

function emptyScan(): OwnerScan {
  return { owners: new Map(), processes: 0, unreadable: 0, denied: 0, otherNamespace: 0, secondPass: false };
}

/** The processes to search, and what their passes found so far. */
function startWalk(root: ProcRoot, wanted: ReadonlySet<number>, namespaces: OwnerNamespaces | null) {
  if (wanted.size === 0) return null;
  const result = { processes: 0, unreadable: 0, denied: 0, otherNamespace: 0, secondPass: false };
  const ownNamespace = namespaces ? null : namespaceOf(root, 'self');
  const privileged = root.live && holdsOwnerCapabilities(readProcText(root, 'self/status'));
  const holders = new Map<number, number[]>(); // pid -> inodes it holds
  const found = new Set<number>();
  const pids: number[] = [];
  for (const name of listProcDir(root, '.') ?? []) {
    const code = name.charCodeAt(0);
    if (code < 48 || code > 57) continue;
    const pid = Number(name);
    result.processes++;
    if (namespaces) {
      // Socket inodes are unique across namespaces: one walk finds the holders in all of them.
      const theirs = namespaces.byPid.get(pid);
      if (theirs !== undefined && !namespaces.searched.has(theirs)) {
        result.otherNamespace++;
        continue;
      }
    } else if (ownNamespace !== null) {
      const theirs = namespaceOf(root, name);
      if (theirs !== null && theirs !== ownNamespace) {
        result.otherNamespace++;
        continue;
      }
    }
    pids.push(pid);
  }
  return {
    pids,
    /** Records one pass's outcomes (in `passPids` order); returns the pids with more descriptors. */
    take(passPids: readonly number[], passes: readonly FdPass[]): number[] {
      const longer: number[] = [];
      passPids.forEach((pid, i) => {
        const pass = passes[i]!;
        for (const inode of pass.inodes) {
          found.add(inode);
          const list = holders.get(pid);
          if (list) list.push(inode);
          else holders.set(pid, [inode]);
        }
        if (pass.outcome === 'unreadable') result.unreadable++;
        else if (pass.outcome === 'linkDenied') {
          if (privileged) result.denied++;
          else result.unreadable++;
        } else if (pass.outcome === 'more') longer.push(pid);
      });
      return longer;
    },
    /**
     * The second pass reads the rest of the long fd tables only while a wanted socket has no
     * holder, and then only of processes whose network namespace holds such a socket (a
     * process's sockets are its own namespace's: the walk already skips other namespaces' processes
     * on that ground). One holderless socket (the kernel's own, as a VXLAN or WireGuard port,
     * or one held from another PID namespace) must not cost a read of every descriptor of
     * every busy process of every other namespace: at 100k connections that is 100k links.
     */
    secondPassPids(longer: readonly number[]): number[] {
      if (found.size >= wanted.size || longer.length === 0) return [];
      const where = namespaces?.socketNamespace;
      const lacking = new Set<string | undefined>();
      if (where) for (const inode of wanted) if (!found.has(inode)) lacking.add(where.get(inode));
      // Without the sockets' namespaces (or with one unknown), every long table is read.
      const again = !namespaces || !where || lacking.has(undefined) ? [...longer] : longer.filter((pid) => {
        const theirs = namespaces.byPid.get(pid);
        return theirs === undefined || lacking.has(theirs);
      });
      result.secondPass = again.length > 0;
      return again;
    },
    finish(): OwnerScan {
      const owners = new Map<number, SocketOwner[]>();
      for (const [pid, inodes] of holders) {
        const owner = describeProcess(root, pid, namespaces?.known?.get(pid));
        if (!owner) continue;
        for (const inode of new Set(inodes)) {
          const list = owners.get(inode);
          if (list) list.push(owner);
          else owners.set(inode, [owner]);
        }
      }
      return { owners, ...result };
    },
  };
}

/** One process's fd table from entry `skip` to entry `limit`: the wanted socket inodes met. */
function visit(root: ProcRoot, pid: number, skip: number, limit: number, wanted: ReadonlySet<number>): FdPass {
  const inodes: number[] = [];
  let dir: Dir;
  try {
    dir = opendirSync(procPath(root, `${pid}/fd`), { bufferSize: 128 });
  } catch (error) {
    return { outcome: isPermissionDenied(error) ? 'unreadable' : 'done', inodes }; // or it exited meanwhile
  }
  try {
    let seen = 0;
    for (let entry = dir.readSync(); entry !== null; entry = dir.readSync()) {
      if (seen++ < skip) continue;
      if (seen > limit) return { outcome: 'more', inodes };
      let link: string;
      try {
        link = readProcLink(root, `${pid}/fd/${entry.name}`);
      } catch (error) {
        // Listing the directory is a permission check (CAP_DAC_READ_SEARCH passes it), each
        // link a ptrace read-access check (only CAP_SYS_PTRACE passes it for another user):
        // one denied link means none of this process's links can be read.
        if (isPermissionDenied(error)) return { outcome: 'linkDenied', inodes };
        continue; // closed meanwhile
      }
      if (link.charCodeAt(0) !== 115 /* s */) continue;
      const match = SOCKET_LINK.exec(link);
      if (!match) continue;
      const inode = Number(match[1]);
      if (wanted.has(inode)) inodes.push(inode);
    }
    return { outcome: 'done', inodes };
  } finally {
    dir.closeSync();
  }
}

/**
 * Whether a /proc/self/status shows CAP_DAC_READ_SEARCH (bit 2) and CAP_SYS_PTRACE (bit 19) in
 * CapEff: what reading other users' /proc/[pid]/fd takes (root holds every capability).
 */
export function holdsOwnerCapabilities(status: string | null): boolean {
  const effective = effectiveCapabilities(status);
  if (effective === null) return false;
  return (effective & (1n << 2n)) !== 0n && (effective & (1n << 19n)) !== 0n;
}

/** The CapEff mask of a /proc/[pid]/status text; null when it has none. Pure. */
export function effectiveCapabilities(status: string | null): bigint | null {
  const hex = status === null ? undefined : /^CapEff:\s*([0-9a-fA-F]+)\s*$/m.exec(status)?.[1];
  return hex === undefined ? null : BigInt(`0x${hex}`);
}

/** The network namespace a process is in (`net:[4026531840]`), or null where unreadable (captures). */
function namespaceOf(root: ProcRoot, pid: string): string | null {
  try {
    return readProcLink(root, `${pid}/ns/net`);
  } catch {
    return null;
  }
}

function describeProcess(root: ProcRoot, pid: number, known?: { comm: string | null; cgroup: string | null }): SocketOwner | null {
  const comm = known ? known.comm : readProcText(root, `${pid}/comm`);
  if (comm === null) return null;
  const stat = readProcText(root, `${pid}/stat`);
  let exe: string | null = null;
  try {
    exe = readProcLink(root, `${pid}/exe`);
  } catch (error) {
    if (!isNotFound(error) && !isPermissionDenied(error)) throw error;
  }
  const cgroup = known ? known.cgroup : readProcText(root, `${pid}/cgroup`);
  const status = readProcText(root, `${pid}/status`);
  const uidMatch = status ? /^Uid:\s+(\d+)/m.exec(status) : null;
  return {
    pid,
    ppid: stat === null ? null : parseStatPpid(stat, `${pid}/stat`),
    comm: comm.trim(),
    exe,
    unit: cgroup === null ? null : parseCgroupUnit(cgroup),
    uid: uidMatch ? Number(uidMatch[1]) : null,
  };
}
