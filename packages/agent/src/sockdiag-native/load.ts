// The native sock_diag reader (packages/agent/native, issue 14): found beside the packaged
// agent's executable as sockdiag.node (or at DUALSTACK_SOCKDIAG_MODULE), loaded once. Absent
// or failing, the sources keep today's path (/proc + ss, nsenter for other namespaces).
import { statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { RECORD_SIZE } from './records.js';

export const SOCKDIAG_MODULE_ENV = 'DUALSTACK_SOCKDIAG_MODULE';
export const SOCKDIAG_MODULE_FILE = 'sockdiag.node';

/** One namespace as the module entered it: records and sysctl (path, value) pairs, or why not. */
export interface NativeNamespace {
  records: Uint8Array | null;
  /** Flat: path, value, path, value, ... (/proc/sys/net/ipv6/conf/eth0/accept_ra, 1). */
  sysctls: string[] | null;
  error: string | null;
  /** The namespace the path opened (0 when it did not open). */
  inode: number;
}

export interface NativeSockdiag {
  /** TCP LISTEN and unconnected UDP, both families, in the agent's namespace: fixed-size records. */
  dumpListening(): Uint8Array;
  /** Every socket of one table (/proc/net/tcp, tcp6, udp, udp6) in every state: one dump. */
  dumpSockets(family: 4 | 6, protocol: 'tcp' | 'udp'): Uint8Array;
  /** The same on a libuv threadpool thread: the tables dump in parallel, beside other work. */
  dumpSocketsAsync(family: 4 | 6, protocol: 'tcp' | 'udp'): Promise<Uint8Array>;
  /** Enters each /proc/PID/ns/net in turn on the calling thread, dumps, reads the sysctls, returns. */
  enterEach(paths: string[], confKeys: string[]): NativeNamespace[];
  /**
   * The owners walk on a libuv threadpool thread: per pid (in order), its fd table's entries
   * after `skip` up to the `limit`th (0xffffffff: all) read, the links `socket:[N]` with N in
   * `wanted` (sorted) kept: outcome (0 done, 1 more, 2 unreadable, 3 a link denied), count, inodes.
   */
  fdSocketsAsync(proc: string, pids: Int32Array, skip: number, limit: number, wanted: Float64Array): Promise<Float64Array>;
  recordSize: number;
}

export type NativeLoad = { module: NativeSockdiag; path: string } | { module: null; why: string };

/** Where the module is looked for: the variable, else beside the executable (the packaged agent). */
export function nativeModulePath(env: NodeJS.ProcessEnv = process.env, execPath = process.execPath): { path: string; fromEnv: boolean } {
  const fromEnv = env[SOCKDIAG_MODULE_ENV];
  return fromEnv ? { path: fromEnv, fromEnv: true } : { path: join(dirname(execPath), SOCKDIAG_MODULE_FILE), fromEnv: false };
}

let loaded: NativeLoad | undefined;

/** The module, or why not; loaded on first use and kept (a process loads an addon once). */
export function loadNativeSockdiag(): NativeLoad {
  loaded ??= load();
  return loaded;
}

/**
 * stat(2), not existsSync: that is access(2), which checks with the real uid and no
 * capabilities, so under the unit (user dualstack, CAP_DAC_READ_SEARCH) a module in a 0700
 * directory was "missing" though dlopen could open it (test/privilege/namespace-unit-live).
 */
function present(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function load(): NativeLoad {
  if (process.platform !== 'linux') return { module: null, why: 'sock_diag is Linux only' };
  const { path, fromEnv } = nativeModulePath();
  if (!present(path)) return { module: null, why: fromEnv ? `${SOCKDIAG_MODULE_ENV}=${path} does not exist` : `no ${SOCKDIAG_MODULE_FILE} beside ${process.execPath}` };
  // process.dlopen, not require: a single executable application's require loads built-ins only.
  const holder = { exports: {} as Partial<NativeSockdiag> };
  try {
    process.dlopen(holder, path);
  } catch (error) {
    return { module: null, why: `${path} did not load: ${(error as Error).message}` };
  }
  const module = holder.exports;
  if (typeof module.dumpListening !== 'function' || typeof module.dumpSockets !== 'function' || typeof module.dumpSocketsAsync !== 'function' || typeof module.enterEach !== 'function' || typeof module.fdSocketsAsync !== 'function' || module.recordSize !== RECORD_SIZE) {
    return { module: null, why: `${path} is not this agent's sock_diag module (record size ${String(module.recordSize)}, expected ${RECORD_SIZE})` };
  }
  return { module: module as NativeSockdiag, path };
}
