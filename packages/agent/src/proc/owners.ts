// Which process holds each socket: /proc/[pid]/fd/* -> `socket:[inode]`, plus comm, ppid
// (from stat), exe and the systemd unit (from cgroup) of the holders. Without root only the
// agent's own user's processes are readable: that is reported as partial, never a failure.
import type { SocketOwner } from '@dualstack/core';
import { ProcParseError } from './errors.js';
import { isNotFound, isPermissionDenied, listProcDir, readProcLink, readProcText, type ProcRoot } from './root.js';

export interface OwnerScan {
  owners: Map<number, SocketOwner[]>;
  processes: number;
  /** Processes whose fd table could not be read (permission). */
  unreadable: number;
}

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

/** Walks every process's fd table; keeps only holders of the `wanted` inodes. */
export function scanSocketOwners(root: ProcRoot, wanted: ReadonlySet<number>): OwnerScan {
  const holders = new Map<number, number[]>(); // pid -> inodes it holds
  let processes = 0;
  let unreadable = 0;
  for (const name of listProcDir(root, '.') ?? []) {
    const code = name.charCodeAt(0);
    if (code < 48 || code > 57) continue;
    processes++;
    let fds: string[] | null;
    try {
      fds = listProcDir(root, `${name}/fd`);
    } catch (error) {
      if (isPermissionDenied(error)) unreadable++;
      continue;
    }
    if (fds === null) continue; // the process exited meanwhile
    for (const fd of fds) {
      let link: string;
      try {
        link = readProcLink(root, `${name}/fd/${fd}`);
      } catch {
        continue; // fd closed meanwhile
      }
      if (link.charCodeAt(0) !== 115 /* s */) continue;
      const match = SOCKET_LINK.exec(link);
      if (!match) continue;
      const inode = Number(match[1]);
      if (!wanted.has(inode)) continue;
      const pid = Number(name);
      const list = holders.get(pid);
      if (list) list.push(inode);
      else holders.set(pid, [inode]);
    }
  }

  const owners = new Map<number, SocketOwner[]>();
  for (const [pid, inodes] of holders) {
    const owner = describeProcess(root, pid);
    if (!owner) continue;
    for (const inode of new Set(inodes)) {
      const list = owners.get(inode);
      if (list) list.push(owner);
      else owners.set(inode, [owner]);
    }
  }
  return { owners, processes, unreadable };
}

function describeProcess(root: ProcRoot, pid: number): SocketOwner | null {
  const comm = readProcText(root, `${pid}/comm`);
  if (comm === null) return null;
  const stat = readProcText(root, `${pid}/stat`);
  let exe: string | null = null;
  try {
    exe = readProcLink(root, `${pid}/exe`);
  } catch (error) {
    if (!isNotFound(error) && !isPermissionDenied(error)) throw error;
  }
  const cgroup = readProcText(root, `${pid}/cgroup`);
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
