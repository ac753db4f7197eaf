// One socket table from the native module's records (dumpSockets): the same SocketTableSummary
// the /proc reader (proc/net-sockets.ts) makes of net/{tcp,tcp6,udp,udp6}, with the same
// SocketLine objects, so everything after the read is one path. A typed-array walk: the
// addresses become /proc's hex (host-order words) only for what is kept, through the same
// decodeSocketLine the /proc reader uses.
import { bytesToWordHex } from '@dualstack/core/ip';
import { decodeSocketLine, socketFiles, TCP_ESTABLISHED, TCP_LISTEN, UDP_UNCONNECTED, type SocketFile, type SocketTableSummary } from '../proc/net-sockets.js';
import { RECORD_SIZE } from './records.js';

type Tally = { localHex: string; localPort: number; peers: { ipv4: number; ipv6: number; mapped: number } };

/**
 * The summary of one table's dump. Pure; throws on a buffer that is not whole records. Two
 * passes (listening ports first, then established peers), so a listener that the dump gives
 * after its peers still gets them at their own endpoint.
 */
export function summaryOfRecords(records: Uint8Array, file: SocketFile): SocketTableSummary {
  if (records.byteLength % RECORD_SIZE !== 0) throw new Error(`sock_diag records: ${records.byteLength} bytes is not a multiple of ${RECORD_SIZE}`);
  const { proto, family } = socketFiles[file];
  const bytes = family === 4 ? 4 : 16;
  const view = new DataView(records.buffer, records.byteOffset, records.byteLength);
  const summary: SocketTableSummary = { listening: [], established: new Map(), unattributed: { ipv4: 0, ipv6: 0, mapped: 0 }, lines: records.byteLength / RECORD_SIZE };
  const hex = (at: number) => bytesToWordHex(Array.from(records.subarray(at, at + bytes)));
  const listeningPorts = new Uint8Array(65536);
  for (let at = 0; at < records.byteLength; at += RECORD_SIZE) {
    const state = records[at + 2]!;
    const localPort = view.getUint16(at + 4, true);
    if (proto === 'tcp' ? state !== TCP_LISTEN : state !== UDP_UNCONNECTED || localPort === 0) continue;
    listeningPorts[localPort] = 1;
    const raw = { localHex: hex(at + 16), localPort, remoteHex: hex(at + 32), remotePort: view.getUint16(at + 6, true), state, uid: view.getUint32(at + 12, true), inode: view.getUint32(at + 8, true) };
    summary.listening.push(decodeSocketLine(raw, proto, family));
  }
  if (proto !== 'tcp') return summary;
  // Per listening port, its local endpoints seen so far (few: one per address it is reached
  // at), each with the offset of a record holding its address: a peer is matched by comparing
  // bytes, and only a new endpoint makes its hex and its key. At 100k sockets a string per peer
  // (hex, key, Map lookup) was most of the walk, and peers come in hash order, not by listener.
  const endpoints: Array<Array<{ at: number; tally: Tally }> | undefined> = [];
  for (let at = 0; at < records.byteLength; at += RECORD_SIZE) {
    if (records[at + 2] !== TCP_ESTABLISHED) continue;
    const localPort = view.getUint16(at + 4, true);
    // IPv4-mapped: the remote's first 80 bits zero, the next 16 ones (::ffff:0:0/96).
    const peer = family === 4 ? 0 : isMapped(records, at + 32) ? 2 : 1;
    let peers = summary.unattributed;
    if (listeningPorts[localPort] === 1) {
      const known = (endpoints[localPort] ??= []);
      let tally: Tally | undefined;
      for (const e of known) {
        if (sameAddress(records, e.at, at, bytes)) {
          tally = e.tally;
          break;
        }
      }
      if (tally === undefined) {
        const localHex = hex(at + 16);
        tally = { localHex, localPort, peers: { ipv4: 0, ipv6: 0, mapped: 0 } };
        summary.established.set(`${localHex}:${localPort}`, tally);
        known.push({ at, tally });
      }
      peers = tally.peers;
    }
    if (peer === 0) peers.ipv4++;
    else if (peer === 1) peers.ipv6++;
    else peers.mapped++;
  }
  return summary;
}

function isMapped(records: Uint8Array, at: number): boolean {
  for (let i = 0; i < 10; i++) if (records[at + i] !== 0) return false;
  return records[at + 10] === 0xff && records[at + 11] === 0xff;
}

/** The same local address in the records at `a` and `b`. */
function sameAddress(records: Uint8Array, a: number, b: number, bytes: number): boolean {
  for (let i = 16; i < 16 + bytes; i++) if (records[a + i] !== records[b + i]) return false;
  return true;
}
