// /proc/net/tcp, tcp6, udp, udp6 (one format, four files).
// Line: `sl: local:port remote:port st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ...`
// Parsed by position (the header is not trusted); addresses are host-order words, decoded in
// @dualstack/core's ip.ts only.
// The address helpers alone: this module also runs on the socket-table worker, which then
// loads ip.js and ipaddr.js instead of all of core (rules, knowledge base, analysis).
import { decodeProcSocketAddress, formatAddress, procMappedPrefixHex } from '@dualstack/core/ip';
import type { Family } from '@dualstack/core';
import { ProcParseError } from './errors.js';
import { forEachProcLineBytes, forEachProcLineBytesYielding, type ProcRoot } from './root.js';

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

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/**
 * Where the fields of one line are, validated, with the numbers decoded but no substring
 * taken: a scan reads every line of tables that can hold 100k sockets, as bytes, and makes
 * strings only of what it keeps. One instance per reader, reused for every line.
 */
export class SocketLineFields {
  readonly starts = new Int32Array(10);
  readonly ends = new Int32Array(10);
  buf: Uint8Array = new Uint8Array(0);
  localPort = 0;
  remotePort = 0;
  state = 0;

  /** Validates the line in buf[start, end) and fills the fields; throws ProcParseError naming the bad one. */
  scan(buf: Uint8Array, start: number, end: number, lineNo: number, file: string, family: Family): this {
    this.buf = buf;
    const { starts, ends } = this;
    let found = 0;
    let i = start;
    while (found < 10) {
      while (i < end && (buf[i] === 32 || buf[i] === 9)) i++;
      if (i >= end) break;
      starts[found] = i;
      while (i < end && buf[i] !== 32 && buf[i] !== 9) i++;
      ends[found++] = i;
    }
    // Fields that are there are checked before a missing one is blamed: a line cut inside
    // the remote address is a bad rem_address, not a missing st.
    const addrDigits = family === 4 ? 8 : 32;
    if (found > 1) this.localPort = this.#endpointPort(1, addrDigits, start, end, lineNo, file);
    if (found > 2) this.remotePort = this.#endpointPort(2, addrDigits, start, end, lineNo, file);
    if (found > 3) {
      const hi = hexValue(buf[starts[3]!]!);
      const lo = hexValue(buf[starts[3]! + 1]!);
      if (ends[3]! - starts[3]! !== 2 || hi < 0 || lo < 0) this.#fail(3, `expected 2 hex digits, got ${this.#token(3)}`, start, end, lineNo, file);
      this.state = hi * 16 + lo;
    }
    if (found < 10) this.#fail(found, 'missing', start, end, lineNo, file);
    for (let k = 7; k <= 9; k += 2) {
      for (let j = starts[k]!; j < ends[k]!; j++) {
        const c = buf[j]!;
        if (c < 48 || c > 57) this.#fail(k, `expected a decimal number, got ${this.#token(k)}`, start, end, lineNo, file);
      }
    }
    return this;
  }

  #endpointPort(k: number, addrDigits: number, start: number, end: number, lineNo: number, file: string): number {
    const buf = this.buf;
    const s = this.starts[k]!;
    const colon = s + addrDigits;
    if (this.ends[k]! - s !== addrDigits + 5 || buf[colon] !== 58) {
      this.#fail(k, `expected ${addrDigits} hex digits, ':' and 4 hex digits, got ${this.#token(k)}`, start, end, lineNo, file);
    }
    for (let j = s; j < colon; j++) if (hexValue(buf[j]!) < 0) this.#fail(k, `not hex: ${this.#token(k)}`, start, end, lineNo, file);
    let port = 0;
    for (let j = colon + 1; j < colon + 5; j++) {
      const v = hexValue(buf[j]!);
      if (v < 0) this.#fail(k, `not hex: ${this.#token(k)}`, start, end, lineNo, file);
      port = port * 16 + v;
    }
    return port;
  }

  #token(k: number): string {
    return JSON.stringify(this.#text(this.starts[k]!, this.ends[k]! - this.starts[k]!));
  }

  #fail(field: number, reason: string, start: number, end: number, lineNo: number, file: string): never {
    throw new ProcParseError({ file, line: lineNo, field: FIELD_NAMES[field] ?? `field ${field}`, raw: this.#text(start, end - start), reason });
  }

  #text(from: number, length: number): string {
    return Buffer.from(this.buf.buffer, this.buf.byteOffset + from, length).toString('latin1');
  }

  localHex(family: Family): string {
    return this.#text(this.starts[1]!, family === 4 ? 8 : 32);
  }

  remoteHex(family: Family): string {
    return this.#text(this.starts[2]!, family === 4 ? 8 : 32);
  }

  /** True when the remote's first 96 bits are byte for byte those of `prefix` (24 latin1 bytes). */
  remotePrefixEquals(prefix: Uint8Array): boolean {
    if (prefix.length !== 24) return false;
    const at = this.starts[2]!;
    for (let i = 0; i < 24; i++) if (this.buf[at + i] !== prefix[i]) return false;
    return true;
  }

  decimal(k: 7 | 9): number {
    return Number(this.#text(this.starts[k]!, this.ends[k]! - this.starts[k]!));
  }

  raw(family: Family): RawSocketLine {
    return {
      localHex: this.localHex(family),
      localPort: this.localPort,
      remoteHex: this.remoteHex(family),
      remotePort: this.remotePort,
      state: this.state,
      uid: this.decimal(7),
      inode: this.decimal(9),
    };
  }
}

/** Parses one data line; throws ProcParseError naming the field. Pure. */
export function parseSocketLine(line: string, lineNo: number, file: string, family: Family): RawSocketLine {
  const bytes = Buffer.from(line, 'latin1');
  return new SocketLineFields().scan(bytes, 0, bytes.length, lineNo, file, family).raw(family);
}

export function isHeaderLine(line: string): boolean {
  return line.trimStart().startsWith('sl');
}

/** The same test on bytes: the first non-blank characters are `sl`. */
function isHeaderBytes(buf: Uint8Array, start: number, end: number): boolean {
  let i = start;
  while (i < end && buf[i] === 32) i++;
  return buf[i] === 115 && buf[i + 1] === 108;
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
export function parseSocketTable(text: string, proto: Proto, family: Family, file = `net/${proto}${family === 6 ? '6' : ''}`): SocketLine[] {
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
   * Established peers per local endpoint of a listening port, keyed by
   * `${localHex}:${localPort}`; the address stays hex until a service claims it.
   */
  established: Map<string, { localHex: string; localPort: number; peers: PeerTally }>;
  /** Established sockets on ports nothing listens on: the local ends of outgoing connections. */
  unattributed: PeerTally;
  lines: number;
}

/**
 * Streams one socket table: keeps listening sockets (TCP LISTEN, bound unconnected UDP) and
 * counts established TCP peers per local endpoint by family, IPv4-mapped ones separately.
 * The kernel prints a table's listening sockets before its established ones
 * (tcp_seq_start: listening hash first), so an established socket whose port is not
 * listening yet is an outgoing one and costs one counter, no strings. Should a listener
 * appear later in the file anyway (opened mid-read), its earlier peers are moved over.
 * Returns null when the file is absent (for *6 files: IPv6 is off).
 */
export function readSocketTable(root: ProcRoot, file: SocketFile): SocketTableSummary | null {
  const parser = socketTableParser(file);
  return parser.finish(forEachProcLineBytes(root, `net/${file}`, parser.onLine));
}

/**
 * readSocketTable returning to the event loop between chunks of the file (see
 * forEachProcLineBytesYielding), for the main thread of a scan whose child processes run
 * beside the read.
 */
export async function readSocketTableYielding(root: ProcRoot, file: SocketFile): Promise<SocketTableSummary | null> {
  const parser = socketTableParser(file);
  return parser.finish(await forEachProcLineBytesYielding(root, `net/${file}`, parser.onLine));
}

/** The line handler of one table's read, and what turns its tallies into the summary. */
function socketTableParser(file: SocketFile) {
  const { proto, family } = socketFiles[file];
  const path = `net/${file}`;
  const summary: SocketTableSummary = { listening: [], established: new Map(), unattributed: { ipv4: 0, ipv6: 0, mapped: 0 }, lines: 0 };
  const listeningPorts = new Uint8Array(65536);
  // Peers of not-yet-listening ports, per port and class (ipv4, ipv6, mapped).
  const early = new Uint32Array(65536 * 3);
  const fields = new SocketLineFields();
  let earlyCount = 0;
  const onLine = (buf: Buffer, start: number, end: number, lineNo: number): void => {
    if (start === end || (lineNo === 1 && isHeaderBytes(buf, start, end))) return;
    fields.scan(buf, start, end, lineNo, path, family);
    summary.lines++;
    const listening = proto === 'tcp' ? fields.state === TCP_LISTEN : fields.state === UDP_UNCONNECTED && fields.localPort !== 0;
    if (listening) {
      summary.listening.push(decodeSocketLine(fields.raw(family), proto, family));
      listeningPorts[fields.localPort] = 1;
      return;
    }
    if (proto !== 'tcp' || fields.state !== TCP_ESTABLISHED) return;
    // IPv4-mapped or not is decided by the remote's first 96 bits: one byte comparison with
    // the mapped prefix as this host prints it (no string, no decode per line; an earlier
    // per-prefix cache thrashed when mapped and native peers alternate, as they do).
    const peer: 0 | 1 | 2 = family === 4 ? 0 : fields.remotePrefixEquals(MAPPED_PREFIX) ? 2 : 1;
    if (listeningPorts[fields.localPort] === 0) {
      early[fields.localPort * 3 + peer]!++;
      earlyCount++;
      return;
    }
    const localHex = fields.localHex(family);
    const entry = endpoint(summary, localHex, fields.localPort);
    if (peer === 0) entry.peers.ipv4++;
    else if (peer === 1) entry.peers.ipv6++;
    else entry.peers.mapped++;
  };
  const finish = (found: boolean): SocketTableSummary | null => {
    if (!found) return null;
    // Walking all 65536 ports costs ~4 ms a table (a profile showed it on every scan, even of
    // empty udp tables): only when some peer was put aside, and without an array per port.
    for (let port = 0; earlyCount > 0 && port < 65536; port++) {
      const ipv4 = early[port * 3]!;
      const ipv6 = early[port * 3 + 1]!;
      const mapped = early[port * 3 + 2]!;
      if (ipv4 + ipv6 + mapped === 0) continue;
      // Rare: the listener was printed after its peers. Their local address was not kept, so
      // they go to the wildcard endpoint of the port.
      const target = listeningPorts[port] ? endpoint(summary, wildcardHex[family], port).peers : summary.unattributed;
      target.ipv4 += ipv4;
      target.ipv6 += ipv6;
      target.mapped += mapped;
    }
    return summary;
  };
  return { onLine, finish };
}

const wildcardHex: Record<Family, string> = { 4: '0'.repeat(8), 6: '0'.repeat(32) };
const MAPPED_PREFIX = Buffer.from(procMappedPrefixHex(), 'latin1');

function endpoint(summary: SocketTableSummary, localHex: string, localPort: number) {
  const key = `${localHex}:${localPort}`;
  let entry = summary.established.get(key);
  if (!entry) {
    entry = { localHex, localPort, peers: { ipv4: 0, ipv6: 0, mapped: 0 } };
    summary.established.set(key, entry);
  }
  return entry;
}
