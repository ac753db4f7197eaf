// /proc/net/sockstat and /proc/net/sockstat6: sockets in use per protocol, per network namespace.
// Lines: `TCP: inuse 5 orphan 0 tw 0 alloc 7 mem 1` (sockstat), `TCP6: inuse 3` (sockstat6).
// Read only to size the socket tables before reading them (a few hundred bytes, no table walk);
// a file that is missing or does not read as expected gives null, never an error: the counts
// steer how the tables are read, never what a scan reports.
import { readProcText, type ProcRoot } from './root.js';

export interface TcpSocketCounts {
  /** `TCP: inuse` of net/sockstat: IPv4 TCP sockets (each printed as one line of net/tcp). */
  tcp: number | null;
  /** `TCP6: inuse` of net/sockstat6: IPv6 TCP sockets (lines of net/tcp6). */
  tcp6: number | null;
}

export function readTcpSocketCounts(root: ProcRoot): TcpSocketCounts {
  return { tcp: inuseOf(readProcText(root, 'net/sockstat'), 'TCP'), tcp6: inuseOf(readProcText(root, 'net/sockstat6'), 'TCP6') };
}

/** The `inuse` figure of the `<proto>:` line, or null. Pure. */
export function inuseOf(text: string | null, proto: string): number | null {
  if (text === null) return null;
  for (const line of text.split('\n')) {
    const words = line.trim().split(/\s+/);
    if (words[0] !== `${proto}:`) continue;
    const at = words.indexOf('inuse');
    const value = at > 0 ? words[at + 1] : undefined;
    return value !== undefined && /^\d+$/.test(value) ? Number(value) : null;
  }
  return null;
}
