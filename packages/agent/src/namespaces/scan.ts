// The namespaces source's work: discover the other network namespaces, enter them where the
// agent may (one batch, started before the socket tables are read so its wait costs nothing),
// and read each through its process. Replays take what entering printed from the capture.
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { CommandMissingError } from '../command.js';
import { effectiveCapabilities } from '../proc/owners.js';
import { readProcText, type ProcRoot } from '../proc/root.js';
import { discoverNamespaces, type NamespaceDiscovery } from './discover.js';
import { enterNamespaces, type EnteredNamespace } from './enter.js';
import { readNamespace, type NamespaceRead } from './read.js';
import type { NameFileCache } from './names.js';

export interface NamespaceScan {
  discovery: NamespaceDiscovery;
  namespaces: NamespaceRead[];
  /** Why the namespaces were not entered (sysctls and V6ONLY then unknown or inferred); null when they were. */
  notEntered: string | null;
}

export interface Started {
  discovery: NamespaceDiscovery;
  /** Per pid what entering printed; null when not entered (with why). */
  entered: Promise<Map<number, EnteredNamespace>> | null;
  notEntered: string | null;
  /** How they were entered (the native module or nsenter), for the source's detail; null when not entered live. */
  enteredBy: string | null;
}

const CAP_SYS_ADMIN = 21n;

/** Where a capture keeps what entering one namespace printed. */
export const capturedNamespaceDir = (inode: number) => join('namespaces', `net-${inode}`);
export const enteredFiles = { sockdiag: 'sockdiag.txt', sysctl: 'sysctl.txt' } as const;

/** Discovers the namespaces and, live with CAP_SYS_ADMIN, starts entering them. */
export function startNamespaceScan(root: ProcRoot, captureDir: string | null): Started {
  const discovery = discoverNamespaces(root);
  if (!root.live) return { discovery, entered: captured(discovery, captureDir), notEntered: captureDir === null ? 'no capture directory' : null, enteredBy: null };
  const caps = effectiveCapabilities(readProcText(root, 'self/status'));
  if (caps === null || (caps & (1n << CAP_SYS_ADMIN)) === 0n) {
    return { discovery, entered: null, notEntered: 'not entered: setns(2) into another network namespace needs CAP_SYS_ADMIN', enteredBy: null };
  }
  if (discovery.others.length === 0) return { discovery, entered: Promise.resolve(new Map()), notEntered: null, enteredBy: null };
  const { entered, by } = enterNamespaces(discovery.others);
  entered.catch(() => {}); // awaited in finishNamespaceScan
  return { discovery, entered, notEntered: null, enteredBy: by };
}

/** Reads every discovered namespace; entering's failure only leaves sysctls and V6ONLY out. */
export async function finishNamespaceScan(root: ProcRoot, started: Started, systemRoot: string | null): Promise<NamespaceScan> {
  let entered: Map<number, EnteredNamespace> | null = null;
  let notEntered = started.notEntered;
  try {
    entered = started.entered ? await started.entered : null;
  } catch (error) {
    notEntered = error instanceof CommandMissingError ? `not entered: ${error.message}` : `entering failed: ${(error as Error).message}`;
  }
  const nameFiles: NameFileCache = new Map();
  const namespaces = started.discovery.others.map((found) =>
    readNamespace(root, found, {
      systemRoot,
      nameFiles,
      entered: entered?.get(found.pid),
      notEntered: notEntered ?? (root.live ? 'the namespace went away before it was entered' : 'not in the capture'),
    }),
  );
  return { discovery: started.discovery, namespaces, notEntered };
}

/** A replay: what the capture kept of entering each namespace, by pid. */
function captured(discovery: NamespaceDiscovery, captureDir: string | null): Promise<Map<number, EnteredNamespace>> | null {
  if (captureDir === null) return null;
  const out = new Map<number, EnteredNamespace>();
  const text = (inode: number, file: string): string | null => {
    try {
      return readFileSync(join(captureDir, capturedNamespaceDir(inode), file), 'utf8');
    } catch {
      return null;
    }
  };
  for (const ns of discovery.others) {
    const sockdiag = text(ns.inode, enteredFiles.sockdiag);
    const sysctl = text(ns.inode, enteredFiles.sysctl);
    if (sockdiag !== null || sysctl !== null) out.set(ns.pid, { sockdiag, sysctl, problem: null });
  }
  return Promise.resolve(out);
}
