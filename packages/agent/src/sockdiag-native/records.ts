// The native module's records (packages/agent/native/sockdiag.h): fixed-size, little-endian,
// read here with a DataView so that no variable data is interpreted in C.
import { decodeNetworkIpv6, formatAddress } from '@dualstack/core';

export const RECORD_SIZE = 64;
export const V6ONLY_UNKNOWN = 2;
const AF_INET6 = 10;
const IPPROTO_TCP = 6;
const TCP_LISTEN = 10;

export interface NativeSocket {
  family: 4 | 6;
  proto: 'tcp' | 'udp';
  state: number;
  /** null: AF_INET, or the kernel sent no INET_DIAG_SKV6ONLY. */
  v6only: boolean | null;
  port: number;
  remotePort: number;
  inode: number;
  uid: number;
  /** The local address's 16 bytes as the kernel gave them (network order; AF_INET: first 4). */
  address: Uint8Array;
  /** The remote address, likewise. */
  remote: Uint8Array;
  rqueue: number;
  wqueue: number;
}

/** Every record of a dump. Pure; throws on a buffer that is not whole records. */
export function* nativeSockets(buffer: Uint8Array): Generator<NativeSocket> {
  if (buffer.byteLength % RECORD_SIZE !== 0) throw new Error(`sock_diag records: ${buffer.byteLength} bytes is not a multiple of ${RECORD_SIZE}`);
  const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  for (let at = 0; at < buffer.byteLength; at += RECORD_SIZE) {
    const v6only = view.getUint8(at + 3);
    yield {
      family: view.getUint8(at) === AF_INET6 ? 6 : 4,
      proto: view.getUint8(at + 1) === IPPROTO_TCP ? 'tcp' : 'udp',
      state: view.getUint8(at + 2),
      v6only: v6only === V6ONLY_UNKNOWN ? null : v6only === 1,
      port: view.getUint16(at + 4, true),
      remotePort: view.getUint16(at + 6, true),
      inode: view.getUint32(at + 8, true),
      uid: view.getUint32(at + 12, true),
      address: buffer.subarray(at + 16, at + 32),
      remote: buffer.subarray(at + 32, at + 48),
      rqueue: view.getUint32(at + 48, true),
      wqueue: view.getUint32(at + 52, true),
    };
  }
}

/** inode -> V6ONLY, as parseSsV6only gives it from ss (AF_INET6 sockets with a known flag). Pure. */
export function v6onlyOfRecords(buffer: Uint8Array): Map<number, boolean> {
  const flags = new Map<number, boolean>();
  if (buffer.byteLength % RECORD_SIZE !== 0) throw new Error(`sock_diag records: ${buffer.byteLength} bytes is not a multiple of ${RECORD_SIZE}`);
  const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  for (let at = 0; at < buffer.byteLength; at += RECORD_SIZE) {
    const v6only = view.getUint8(at + 3);
    if (view.getUint8(at) === AF_INET6 && v6only !== V6ONLY_UNKNOWN) flags.set(view.getUint32(at + 8, true), v6only === 1);
  }
  return flags;
}

/**
 * The AF_INET6 records as `ss -Hlne -A inet` lines cut to what parseSsV6only reads (protocol,
 * state, local address, ino:, v6only:), so a capture keeps sockdiag.txt in today's format and
 * a replay parses it the same whichever path read it. Pure.
 */
export function ssLinesOfRecords(buffer: Uint8Array): string {
  let text = '';
  for (const s of nativeSockets(buffer)) {
    if (s.family !== 6 || s.v6only === null) continue;
    const address = formatAddress(decodeNetworkIpv6(Buffer.from(s.address).toString('hex')));
    text += `${s.proto} ${s.state === TCP_LISTEN ? 'LISTEN' : 'UNCONN'} [${address}]:${s.port} ino:${s.inode} v6only:${s.v6only ? 1 : 0}\n`;
  }
  return text;
}
