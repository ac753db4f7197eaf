// /proc/net/tcp, tcp6, udp, udp6 (one format, four files).
// Line: `sl: local:port remote:port st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ...`
// Parsed by position (the header is not trusted); addresses are host-order words, decoded in
// @dualstack/core's ip.ts only.
import { decodeProcSocketAddress, formatAddress, isIpv4Mapped, type Family } from '@dualstack/core';
import { ProcParseError } from './errors.js';
import { forEachProcLine, type ProcRoot } from './root.js';

export type Proto = 'tcp' | 'udp';
export type SocketFile = 'tcp' | 'tcp6' | 'udp' | 'udp6';

export const TCP_ESTABLISHED = 0x01;
export const TCP_LISTEN = 0x0a;
/** UDP sockets print TCP_CLOSE (07) while unconnected: bound and unconnected = "listening". */
export const UDP_UNCONNECTED = 0x07;

/** One line as printed: addresses still in /proc's hex so the hot path decodes only what it keeps. */
export interface RawSocketLine {
  localHex: string;
  localPort: number;
  remoteHex: string;
  remotePort: number;
  state: number;
  uid: number;
  inode: number;
}

export interface SocketLine {
  proto: Proto;
  family: Family;
  local: string;
  localPort: number;
  remote: string;
  remotePort: number;
  state: number;
  uid: number;
  inode: number;
}

const FIELD_NAMES = ['sl', 'local_address', 'rem_address', 'st', 'tx_queue:rx_queue', 'tr:tm->when', 'retrnsmt', 'uid', 'timeout', 'inode'];

function isHexCode(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

/** Parses one data line; throws ProcParseError naming the field. Pure. */
export function parseSocketLine(line: string, lineNo: number, file: string, family: Family): RawSocketLine {
  // Positions of the first ten blank-separated tokens, without allocating a split array.
  const starts: number[] = [];
  const ends: number[] = [];
  let i = 0;
  const n = line.length;
  while (starts.length < 10) {
    while (i < n && (line.charCodeAt(i) === 32 || line.charCodeAt(i) === 9)) i++;
    if (i >= n) break;
    starts.push(i);
    while (i < n && line.charCodeAt(i) !== 32 && line.charCodeAt(i) !== 9) i++;
    ends.push(i);
  }
  const fail = (field: number, reason: string): never => {
    throw new ProcParseError({ file, line: lineNo, field: FIELD_NAMES[field] ?? `field ${field}`, raw: line, reason });
  };
  if (starts.length < 10) fail(starts.length, 'missing');
  const token = (k: number): string => line.slice(starts[k], ends[k]);
  const addrDigits = family === 4 ? 8 : 32;

  const endpoint = (k: number): [string, number] => {
    const s = starts[k]!;
    const e = ends[k]!;
    const colon = s + addrDigits;
    if (e - s !== addrDigits + 5 || line.charCodeAt(colon) !== 58) fail(k, `expected ${addrDigits} hex digits, ':' and 4 hex digits, got ${JSON.stringify(token(k))}`);
    for (let j = s; j < e; j++) if (j !== colon && !isHexCode(line.charCodeAt(j))) fail(k, `not hex: ${JSON.stringify(token(k))}`);
    return [line.slice(s, colon), parseInt(line.slice(colon + 1, e), 16)];
  };
  const [localHex, localPort] = endpoint(1);
  const [remoteHex, remotePort] = endpoint(2);

  const stateText = token(3);
  if (stateText.length !== 2 || !isHexCode(stateText.charCodeAt(0)) || !isHexCode(stateText.charCodeAt(1))) fail(3, `expected 2 hex digits, got ${JSON.stringify(stateText)}`);
  const decimal = (k: number): number => {
    for (let j = starts[k]!; j < ends[k]!; j++) {
      const c = line.charCodeAt(j);
      if (c < 48 || c > 57) fail(k, `expected a decimal number, got ${JSON.stringify(token(k))}`);
    }
    return Number(token(k));
  };
  return { localHex, localPort, remoteHex, remotePort, state: parseInt(stateText, 16), uid: decimal(7), inode: decimal(9) };
}

export function isHeaderLine(line: string): boolean {
  return line.trimStart().startsWith('sl');
}

export function decodeSocketLine(raw: RawSocketLine, proto: Proto, family: Family): SocketLine {
  return {
    proto,
    family,
    local: formatAddress(decodeProcSocketAddress(raw.localHex, family)),
    localPort: raw.localPort,
    remote: formatAddress(decodeProcSocketAddress(raw.remoteHex, family)),
    remotePort: raw.remotePort,
    state: raw.state,
    uid: raw.uid,
    inode: raw.inode,
  };
}

/** Parses a whole socket table. The caller says which protocol and family it is. Pure. */
export function parseSocketTable(text: string, proto: Proto, family: Family, file = `${proto}${family === 6 ? '6' : ''}`): SocketLine[] {
  const out: SocketLine[] = [];
  text.split('\n').forEach((line, index) => {
    if (line.trim() === '' || (index === 0 && isHeaderLine(line))) return;
    out.push(decodeSocketLine(parseSocketLine(line, index + 1, file, family), proto, family));
  });
  return out;
}

export const socketFiles: Record<SocketFile, { proto: Proto; family: Family }> = {
  tcp: { proto: 'tcp', family: 4 },
  tcp6: { proto: 'tcp', family: 6 },
  udp: { proto: 'udp', family: 4 },
  udp6: { proto: 'udp', family: 6 },
};

export interface PeerTally {
  ipv4: number;
  ipv6: number;
  mapped: number;
}

/** What a scan keeps of one socket table: listening sockets whole, established ones counted. */
export interface SocketTableSummary {
  listening: SocketLine[];
  /**
   * Established peers per local endpoint, keyed by `${localHex}:${localPort}`. The address
   * stays hex: outgoing connections give one key per ephemeral port, and only endpoints of
   * listening ports are decoded later.
   */
  established: Map<string, { localHex: string; localPort: number; peers: PeerTally }>;
  lines: number;
}

/**
 * Streams one socket table: keeps listening sockets (TCP LISTEN, bound unconnected UDP) and
 * counts established TCP peers per local endpoint by family, IPv4-mapped ones separately.
 * Returns null when the file is absent (for *6 files: IPv6 is off).
 */
export function readSocketTable(root: ProcRoot, file: SocketFile): SocketTableSummary | null {
  const { proto, family } = socketFiles[file];
  const path = `net/${file}`;
  const summary: SocketTableSummary = { listening: [], established: new Map(), lines: 0 };
  // Whether a remote address is IPv4-mapped depends on its first 96 bits only: cache per prefix.
  const mappedByPrefix = new Map<string, boolean>();
  const found = forEachProcLine(root, path, (line, lineNo) => {
    if (line.length === 0 || (lineNo === 1 && isHeaderLine(line))) return;
    const raw = parseSocketLine(line, lineNo, path, family);
    summary.lines++;
    const listening = proto === 'tcp' ? raw.state === TCP_LISTEN : raw.state === UDP_UNCONNECTED && raw.localPort !== 0;
    if (listening) {
      summary.listening.push(decodeSocketLine(raw, proto, family));
      return;
    }
    if (proto !== 'tcp' || raw.state !== TCP_ESTABLISHED) return;
    const key = `${raw.localHex}:${raw.localPort}`;
    let entry = summary.established.get(key);
    if (!entry) {
      entry = { localHex: raw.localHex, localPort: raw.localPort, peers: { ipv4: 0, ipv6: 0, mapped: 0 } };
      summary.established.set(key, entry);
    }
    if (family === 4) {
      entry.peers.ipv4++;
      return;
    }
    const prefix = raw.remoteHex.slice(0, 24);
    let mapped = mappedByPrefix.get(prefix);
    if (mapped === undefined) {
      mapped = isIpv4Mapped(decodeProcSocketAddress(`${prefix}00000000`, 6));
      mappedByPrefix.set(prefix, mapped);
    }
    if (mapped) entry.peers.mapped++;
    else entry.peers.ipv6++;
  });
  return found ? summary : null;
}
