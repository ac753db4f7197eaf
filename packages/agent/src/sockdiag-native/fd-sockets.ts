// The owners source's fd walk by the native module (packages/agent/native/fd-sockets.h), on a
// threadpool thread: the same passes as the walk in proc/owners.ts, which stays the fallback.
import type { FdPass, FdPassReader } from '../proc/owners.js';
import type { NativeSockdiag } from './load.js';

const OUTCOMES: readonly FdPass['outcome'][] = ['done', 'more', 'unreadable', 'linkDenied'];
/** The module's "no limit" (a uint32 argument). */
const NO_LIMIT = 0xffffffff;

/** The module's flat answer (outcome, count, inodes... per pid, in order) as passes. Pure; throws on a short or unknown one. */
export function passesOfFlat(flat: Float64Array, pids: number): FdPass[] {
  const passes: FdPass[] = [];
  let at = 0;
  for (let i = 0; i < pids; i++) {
    const outcome = OUTCOMES[flat[at]!];
    const count = flat[at + 1]!;
    if (outcome === undefined || !Number.isInteger(count) || count < 0 || at + 2 + count > flat.length) {
      throw new Error(`native fd walk: malformed answer at pid #${i} (offset ${at} of ${flat.length}: ${flat[at]}, ${flat[at + 1]})`);
    }
    passes.push({ outcome, inodes: Array.from(flat.subarray(at + 2, at + 2 + count)) });
    at += 2 + count;
  }
  if (at !== flat.length) throw new Error(`native fd walk: ${flat.length - at} values after the last of ${pids} pids`);
  return passes;
}

/** A pass reader over `proc` (the live /proc) by the module. */
export function nativeFdPassReader(module: NativeSockdiag, proc: string): FdPassReader {
  return async (pids, skip, limit, wanted) => {
    const flat = await module.fdSocketsAsync(proc, Int32Array.from(pids), skip, limit === Infinity ? NO_LIMIT : Math.min(limit, NO_LIMIT), Float64Array.from(wanted));
    return passesOfFlat(flat, pids.length);
  };
}
