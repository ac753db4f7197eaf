// Every network namespace that has a process: the distinct /proc/[pid]/ns/net link targets
// (`net:[INODE]`). The agent's own namespace (/proc/self/ns/net) is the host's; each other one
// is read through its lowest pid. A namespace with no process (`ip netns add` alone) has no
// socket a client could reach and is not found. Reading another user's ns link needs ptrace
// read access (root, or CAP_SYS_PTRACE): those processes are counted, not guessed.
import { isPermissionDenied, listProcDir, readProcLink, type ProcRoot } from '../proc/root.js';

export interface DiscoveredNamespace {
  /** The link target, `net:[4026532288]`. */
  link: string;
  inode: number;
  /** The lowest pid in it: the process the namespace is read through. */
  pid: number;
  /** How many processes are in it. */
  processes: number;
}

export interface NamespaceDiscovery {
  /** The agent's namespace (the host's); null when it cannot be told (a capture without proc/self/ns/net). */
  self: string | null;
  /** Each process's namespace link, for the owners source (so no link is read twice). */
  byPid: Map<number, string>;
  /** The other namespaces, by inode. */
  others: DiscoveredNamespace[];
  processes: number;
  /** Processes whose ns/net link could not be read for lack of privilege. */
  unreadable: number;
}

/** `net:[4026531840]` -> 4026531840; null for anything else. Pure. */
export function parseNamespaceLink(link: string): number | null {
  const match = /^net:\[(\d+)\]$/.exec(link);
  return match ? Number(match[1]) : null;
}

export function discoverNamespaces(root: ProcRoot): NamespaceDiscovery {
  const byPid = new Map<number, string>();
  let unreadable = 0;
  let processes = 0;
  for (const name of listProcDir(root, '.') ?? []) {
    const code = name.charCodeAt(0);
    if (code < 48 || code > 57) continue;
    processes++;
    try {
      byPid.set(Number(name), readProcLink(root, `${name}/ns/net`));
    } catch (error) {
      if (isPermissionDenied(error)) unreadable++;
      // else: exited meanwhile, a kernel thread, or a capture that kept no link
    }
  }
  let self: string | null = null;
  try {
    self = readProcLink(root, 'self/ns/net');
  } catch {
    self = null;
  }
  const others = new Map<string, DiscoveredNamespace>();
  if (self !== null) {
    for (const [pid, link] of byPid) {
      if (link === self) continue;
      const inode = parseNamespaceLink(link);
      if (inode === null) continue;
      const known = others.get(link);
      if (!known) others.set(link, { link, inode, pid, processes: 1 });
      else {
        known.processes++;
        if (pid < known.pid) known.pid = pid;
      }
    }
  }
  return { self, byPid, others: [...others.values()].sort((a, b) => a.pid - b.pid), processes, unreadable };
}
