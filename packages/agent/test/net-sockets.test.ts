// /proc/net/tcp, tcp6, udp, udp6: parseSocketLine, parseSocketTable and the streaming
// readSocketTable, on the captured fixtures (test/helpers/scenarios.ts: servicePlan and
// heldConnections say what each capture holds) and on small tables written here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseSocketLine,
  parseSocketTable,
  readSocketTable,
  TCP_ESTABLISHED,
  TCP_LISTEN,
  UDP_UNCONNECTED,
  type SocketLine,
  type SocketTableSummary,
} from '../src/proc/net-sockets.js';
import { fixtureProc, fixtureProcText, linesOf, parseErrorOf, tempProc } from './helpers/proc-fixtures.js';

// Host-order words as /proc prints them on a little-endian host (docs/linux-facts.md#address-encoding).
const ANY6 = '00000000000000000000000000000000';
const HOST6 = 'B80D0120000001000000000002000000'; // 2001:db8:1::2
const PEER6 = 'B80D0120000001000000000001000000'; // 2001:db8:1::1
const MAPPED_HOST4 = '0000000000000000FFFF0000020200C0'; // ::ffff:192.0.2.2
const MAPPED_PEER4 = '0000000000000000FFFF0000010200C0'; // ::ffff:192.0.2.1

const TCP6_HEADER = linesOf(fixtureProcText('dual-stack-services', 'net/tcp6'))[0]!;
const UDP6_HEADER = linesOf(fixtureProcText('dual-stack-services', 'net/udp6'))[0]!;

/** One table line in the kernel's layout (tcp4_seq_show / tcp6_seq_show). */
function socketLine(sl: number, local: string, remote: string, state: string, inode: number, uid = 0): string {
  return `${String(sl).padStart(4)}: ${local} ${remote} ${state} 00000000:00000000 00:00000000 00000000 ${String(uid).padStart(5)}        0 ${inode} 1 0000000000000000 100 0 0 10 0`;
}

const endpoints = (sockets: SocketLine[]): string[] => sockets.map((s) => `${s.local} ${s.localPort}`).sort();

/** Established peers per local port, summed over local addresses. */
function peersByPort(summary: SocketTableSummary): Map<number, { ipv4: number; ipv6: number; mapped: number }> {
  const out = new Map<number, { ipv4: number; ipv6: number; mapped: number }>();
  for (const { localPort, peers } of summary.established.values()) {
    const sum = out.get(localPort) ?? { ipv4: 0, ipv6: 0, mapped: 0 };
    out.set(localPort, { ipv4: sum.ipv4 + peers.ipv4, ipv6: sum.ipv6 + peers.ipv6, mapped: sum.mapped + peers.mapped });
  }
  return out;
}

test('tcp6 of dual-stack-services: 13 sockets, header skipped, LISTEN on :: 80 and on 2001:db8:1::2 3306', () => {
  const sockets = parseSocketTable(fixtureProcText('dual-stack-services', 'net/tcp6'), 'tcp', 6);
  assert.equal(sockets.length, 13);
  assert.ok(sockets.every((s) => s.proto === 'tcp' && s.family === 6));
  const listening = sockets.filter((s) => s.state === TCP_LISTEN);
  assert.deepEqual(endpoints(listening), ['2001:db8:1::2 3306', ':: 22', ':: 80', ':: 8080', ':: 8443', '::1 11211']);
  assert.deepEqual(
    listening.find((s) => s.localPort === 80),
    { proto: 'tcp', family: 6, local: '::', localPort: 80, remote: '::', remotePort: 0, state: TCP_LISTEN, uid: 0, inode: 1134057 },
  );
  assert.deepEqual(
    listening.find((s) => s.localPort === 3306),
    { proto: 'tcp', family: 6, local: '2001:db8:1::2', localPort: 3306, remote: '::', remotePort: 0, state: TCP_LISTEN, uid: 0, inode: 1134390 },
  );
});

test('tcp6 of dual-stack-services: established peers decode to IPv6 and ::ffff: addresses', () => {
  const established = parseSocketTable(fixtureProcText('dual-stack-services', 'net/tcp6'), 'tcp', 6).filter((s) => s.state === TCP_ESTABLISHED);
  assert.equal(established.length, 7);
  const mapped = established.filter((s) => s.remote === '::ffff:192.0.2.1');
  assert.equal(mapped.length, 4);
  assert.ok(mapped.every((s) => s.local === '::ffff:192.0.2.2' && s.localPort === 80));
  assert.deepEqual(mapped.map((s) => s.remotePort).sort(), [0xb010, 0xb020, 0xb030, 0xb03e]);
  const native = established.filter((s) => s.remote === '2001:db8:1::1');
  assert.deepEqual(native.map((s) => `${s.local} ${s.localPort}`).sort(), ['2001:db8:1::2 22', '2001:db8:1::2 22', '2001:db8:1::2 80']);
});

test('tcp of dual-stack-services: IPv4 listeners and 3 established peers on 192.0.2.2:22', () => {
  const sockets = parseSocketTable(fixtureProcText('dual-stack-services', 'net/tcp'), 'tcp', 4);
  assert.equal(sockets.length, 8);
  assert.deepEqual(endpoints(sockets.filter((s) => s.state === TCP_LISTEN)), ['0.0.0.0 22', '0.0.0.0 25', '0.0.0.0 8080', '127.0.0.1 6379', '192.0.2.2 5432']);
  const established = sockets.filter((s) => s.state === TCP_ESTABLISHED);
  assert.deepEqual(
    established.map((s) => `${s.local}:${s.localPort} <- ${s.remote}:${s.remotePort}`).sort(),
    ['192.0.2.2:22 <- 192.0.2.1:59238', '192.0.2.2:22 <- 192.0.2.1:59244', '192.0.2.2:22 <- 192.0.2.1:59254'],
  );
});

test('readSocketTable tcp6: listening sockets kept whole, established peers tallied per local endpoint', () => {
  const summary = readSocketTable(fixtureProc('dual-stack-services'), 'tcp6');
  assert.ok(summary);
  assert.equal(summary.lines, 13);
  assert.deepEqual(endpoints(summary.listening), ['2001:db8:1::2 3306', ':: 22', ':: 80', ':: 8080', ':: 8443', '::1 11211']);
  assert.ok(summary.listening.every((s) => s.state === TCP_LISTEN && s.proto === 'tcp' && s.family === 6));
  // Keys keep the local address in /proc's hex: the mapped and the native :80 are two endpoints.
  assert.deepEqual(
    [...summary.established.entries()].sort(([a], [b]) => a.localeCompare(b)),
    [
      [`${MAPPED_HOST4}:80`, { localHex: MAPPED_HOST4, localPort: 80, peers: { ipv4: 0, ipv6: 0, mapped: 4 } }],
      [`${HOST6}:22`, { localHex: HOST6, localPort: 22, peers: { ipv4: 0, ipv6: 2, mapped: 0 } }],
      [`${HOST6}:80`, { localHex: HOST6, localPort: 80, peers: { ipv4: 0, ipv6: 1, mapped: 0 } }],
    ],
  );
  const byPort = peersByPort(summary);
  assert.deepEqual(byPort.get(22), { ipv4: 0, ipv6: 2, mapped: 0 });
  assert.deepEqual(byPort.get(80), { ipv4: 0, ipv6: 1, mapped: 4 });
});

test('readSocketTable tcp: 3 IPv4 peers on :22, counted as ipv4', () => {
  const summary = readSocketTable(fixtureProc('dual-stack-services'), 'tcp');
  assert.ok(summary);
  assert.equal(summary.lines, 8);
  assert.equal(summary.listening.length, 5);
  assert.deepEqual([...summary.established.values()], [{ localHex: '020200C0', localPort: 22, peers: { ipv4: 3, ipv6: 0, mapped: 0 } }]);
});

test('readSocketTable udp/udp6: bound unconnected sockets are the listeners, none is established', () => {
  const udp6 = readSocketTable(fixtureProc('dual-stack-services'), 'udp6');
  const udp = readSocketTable(fixtureProc('dual-stack-services'), 'udp');
  assert.ok(udp6 && udp);
  assert.deepEqual(endpoints(udp6.listening), [':: 53', ':: 5353']);
  assert.ok(udp6.listening.every((s) => s.proto === 'udp' && s.family === 6 && s.state === UDP_UNCONNECTED));
  assert.deepEqual(udp6.listening.map((s) => s.inode).sort(), [1134408, 1134424]);
  assert.deepEqual(endpoints(udp.listening), ['0.0.0.0 53']);
  assert.equal(udp6.established.size, 0);
  assert.equal(udp.established.size, 0);
});

test('readSocketTable returns null for an absent tcp6/udp6 (ipv6-off), a summary for the IPv4 files', () => {
  const root = fixtureProc('ipv6-off');
  assert.equal(readSocketTable(root, 'tcp6'), null);
  assert.equal(readSocketTable(root, 'udp6'), null);
  const tcp = readSocketTable(root, 'tcp');
  assert.ok(tcp);
  assert.equal(tcp.listening.length, 5);
});

test('a present but empty table is an empty summary, not null; an empty text parses to []', (t) => {
  assert.deepEqual(parseSocketTable('', 'tcp', 6), []);
  assert.deepEqual(parseSocketTable('\n', 'udp', 4), []);
  const root = tempProc(t, { 'net/tcp6': '' });
  const summary = readSocketTable(root, 'tcp6');
  assert.ok(summary);
  assert.deepEqual(summary.listening, []);
  assert.equal(summary.established.size, 0);
  assert.equal(summary.lines, 0);
});

test('the header line is skipped; a table without one still parses its first line', (t) => {
  const listener = socketLine(0, `${ANY6}:0050`, `${ANY6}:0000`, '0A', 77);
  assert.deepEqual(parseSocketTable(`${TCP6_HEADER}\n`, 'tcp', 6), []);
  assert.equal(parseSocketTable(`${TCP6_HEADER}\n${listener}\n`, 'tcp', 6).length, 1);
  const headless = parseSocketTable(`${listener}\n`, 'tcp', 6);
  assert.equal(headless.length, 1);
  assert.equal(headless[0]!.inode, 77);
  // The real headers of the fixtures (tcp has trailing blanks) are skipped by the stream too.
  const bindv6only = readSocketTable(fixtureProc('bindv6only'), 'tcp');
  assert.ok(bindv6only);
  assert.equal(bindv6only.lines, 0);
  const streamed = readSocketTable(tempProc(t, { 'net/tcp6': `${TCP6_HEADER}\n${listener}\n` }), 'tcp6');
  assert.ok(streamed);
  assert.equal(streamed.lines, 1);
});

test('a UDP socket bound to port 0 is not listening; neither is a connected one', (t) => {
  const text = [
    UDP6_HEADER,
    socketLine(1, `${ANY6}:0000`, `${ANY6}:0000`, '07', 501),
    socketLine(2, `${ANY6}:0035`, `${ANY6}:0000`, '07', 502),
    socketLine(3, `${HOST6}:9A3C`, `${PEER6}:0035`, '01', 503), // connected client socket
  ].join('\n');
  const summary = readSocketTable(tempProc(t, { 'net/udp6': `${text}\n` }), 'udp6');
  assert.ok(summary);
  assert.equal(summary.lines, 3);
  assert.deepEqual(summary.listening.map((s) => [s.local, s.localPort, s.inode]), [['::', 53, 502]]);
  assert.equal(summary.established.size, 0, 'UDP sockets are never tallied as established');
});

test('lower-case hex is accepted in addresses, ports and state', (t) => {
  const line = socketLine(0, `${HOST6.toLowerCase()}:1f90`, `${PEER6.toLowerCase()}:d3f2`, '0a', 4242, 1000);
  assert.deepEqual(parseSocketLine(line, 2, 'net/tcp6', 6), {
    localHex: HOST6.toLowerCase(),
    localPort: 8080,
    remoteHex: PEER6.toLowerCase(),
    remotePort: 0xd3f2,
    state: TCP_LISTEN,
    uid: 1000,
    inode: 4242,
  });
  const [decoded] = parseSocketTable(line, 'tcp', 6);
  assert.equal(decoded?.local, '2001:db8:1::2');
  assert.equal(decoded?.remote, '2001:db8:1::1');
  assert.deepEqual(parseSocketTable(socketLine(0, '0100007f:18eb', '00000000:0000', '0a', 9), 'tcp', 4)[0]?.local, '127.0.0.1');
  const summary = readSocketTable(tempProc(t, { 'net/tcp6': `${TCP6_HEADER}\n${line}\n` }), 'tcp6');
  assert.equal(summary?.listening.length, 1);
});

test('tcp-bad-hex: a ProcParseError on net/tcp line 2, field local_address, showing the raw line', () => {
  const rawLine = linesOf(fixtureProcText('broken/tcp-bad-hex', 'net/tcp'))[1]!;
  assert.match(rawLine, /0100ZZ7F:1F90/);
  const error = parseErrorOf(() => readSocketTable(fixtureProc('broken/tcp-bad-hex'), 'tcp'));
  assert.equal(error.file, 'net/tcp');
  assert.equal(error.line, 2);
  assert.equal(error.field, 'local_address');
  assert.equal(error.raw, rawLine);
  assert.ok(error.message.includes(JSON.stringify(rawLine.slice(0, 200))), error.message);
  assert.match(error.message, /^net\/tcp line 2: bad local_address/);
  // The pure parser names the same line and field.
  const pure = parseErrorOf(() => parseSocketTable(fixtureProcText('broken/tcp-bad-hex', 'net/tcp'), 'tcp', 4, 'net/tcp'));
  assert.deepEqual([pure.file, pure.line, pure.field], ['net/tcp', 2, 'local_address']);
});

test('tcp6-truncated: a ProcParseError on the last line of net/tcp6 (14), showing the raw line', () => {
  const lines = linesOf(fixtureProcText('broken/tcp6-truncated', 'net/tcp6'));
  assert.equal(lines.length, 14);
  const last = lines[13]!;
  const error = parseErrorOf(() => readSocketTable(fixtureProc('broken/tcp6-truncated'), 'tcp6'));
  assert.equal(error.file, 'net/tcp6');
  assert.equal(error.line, 14);
  assert.equal(error.raw, last);
  assert.ok(error.message.includes(JSON.stringify(last)), error.message);
});

test('tcp6-truncated: the error names rem_address, the field the truncation cut short', () => {
  // The line ends 16 hex digits into the remote address: rem_address is what is damaged;
  // st and the fields after it are merely absent because of it.
  const error = parseErrorOf(() => readSocketTable(fixtureProc('broken/tcp6-truncated'), 'tcp6'));
  assert.equal(error.field, 'rem_address');
});

test('each field is named: a line ending after rem_address lacks st; bad st, uid, inode', () => {
  const cut = `   0: ${ANY6}:0016 ${ANY6}:0000`;
  assert.equal(parseErrorOf(() => parseSocketLine(cut, 5, 'net/tcp6', 6)).field, 'st');
  const good = socketLine(0, `${ANY6}:0016`, `${ANY6}:0000`, '0A', 99);
  assert.equal(parseErrorOf(() => parseSocketLine(good.replace(' 0A ', ' 0G '), 2, 'net/tcp6', 6)).field, 'st');
  assert.equal(parseErrorOf(() => parseSocketLine(good.replace(' 99 ', ' 9x9 '), 2, 'net/tcp6', 6)).field, 'inode');
  assert.equal(parseErrorOf(() => parseSocketLine(good.replace('     0        0 ', '    -1        0 '), 2, 'net/tcp6', 6)).field, 'uid');
  // An IPv4 address in a tcp6 table is a wrong-length local_address, not a silent misdecode.
  const v4InV6 = parseErrorOf(() => parseSocketLine(socketLine(0, '0100007F:0016', '00000000:0000', '0A', 1), 3, 'net/tcp6', 6));
  assert.deepEqual([v4InV6.file, v4InV6.line, v4InV6.field], ['net/tcp6', 3, 'local_address']);
  assert.equal(parseErrorOf(() => parseSocketLine(socketLine(0, `${ANY6}:0016`, `${ANY6}:00`, '0A', 1), 3, 'net/tcp6', 6)).field, 'rem_address');
});

test('readSocketTable streams lines that straddle its 256 KiB read buffer', (t) => {
  const established = 6000; // ~150 bytes a line: about 900 KB, several buffer refills
  const lines = [TCP6_HEADER, socketLine(0, `${ANY6}:0050`, `${ANY6}:0000`, '0A', 1)];
  for (let i = 1; i <= established; i++) {
    const port = (0x8000 + i).toString(16).toUpperCase().padStart(4, '0');
    const remote = i % 3 === 0 ? `${PEER6}:${port}` : `${MAPPED_PEER4}:${port}`;
    const local = i % 3 === 0 ? `${HOST6}:0050` : `${MAPPED_HOST4}:0050`;
    lines.push(socketLine(i, local, remote, '01', 100000 + i));
  }
  const text = `${lines.join('\n')}\n`;
  assert.ok(text.length > 3 * 256 * 1024);
  const summary = readSocketTable(tempProc(t, { 'net/tcp6': text }), 'tcp6');
  assert.ok(summary);
  assert.equal(summary.lines, established + 1);
  assert.deepEqual(endpoints(summary.listening), [':: 80']);
  assert.deepEqual(summary.established.get(`${HOST6}:80`)?.peers, { ipv4: 0, ipv6: 2000, mapped: 0 });
  assert.deepEqual(summary.established.get(`${MAPPED_HOST4}:80`)?.peers, { ipv4: 0, ipv6: 0, mapped: 4000 });
  // A last line without a newline is still read.
  const unterminated = readSocketTable(tempProc(t, { 'net/tcp6': text.trimEnd() }), 'tcp6');
  assert.equal(unterminated?.lines, established + 1);
});

test('established sockets on ports nothing listens on (outgoing connections) are unattributed', (t) => {
  const fixture = readSocketTable(fixtureProc('dual-stack-services'), 'tcp6');
  assert.deepEqual(fixture?.unattributed, { ipv4: 0, ipv6: 0, mapped: 0 }, 'every held connection reached a listener');
  const text = [
    TCP6_HEADER,
    socketLine(0, `${ANY6}:0016`, `${ANY6}:0000`, '0A', 1),
    socketLine(1, `${HOST6}:0016`, `${PEER6}:D3F2`, '01', 2),
    socketLine(2, `${HOST6}:B00C`, `${PEER6}:01BB`, '01', 3), // outgoing to [2001:db8:1::1]:443
    socketLine(3, `${MAPPED_HOST4}:B00D`, `${MAPPED_PEER4}:01BB`, '01', 4), // outgoing IPv4 from an AF_INET6 socket
    socketLine(4, `${HOST6}:B00E`, `${PEER6}:01BB`, '06', 5), // TIME_WAIT: not counted at all
  ].join('\n');
  const summary = readSocketTable(tempProc(t, { 'net/tcp6': `${text}\n` }), 'tcp6');
  assert.ok(summary);
  assert.deepEqual([...summary.established.keys()], [`${HOST6}:22`]);
  assert.deepEqual(summary.established.get(`${HOST6}:22`)?.peers, { ipv4: 0, ipv6: 1, mapped: 0 });
  assert.deepEqual(summary.unattributed, { ipv4: 0, ipv6: 1, mapped: 1 });
});

test('peers printed before their listener (opened mid-read) go to the wildcard endpoint of the port', (t) => {
  const text = [
    TCP6_HEADER,
    socketLine(0, `${HOST6}:0050`, `${PEER6}:8DA0`, '01', 2),
    socketLine(1, `${MAPPED_HOST4}:0050`, `${MAPPED_PEER4}:B010`, '01', 3),
    socketLine(2, `${ANY6}:0050`, `${ANY6}:0000`, '0A', 1),
  ].join('\n');
  const summary = readSocketTable(tempProc(t, { 'net/tcp6': `${text}\n` }), 'tcp6');
  assert.ok(summary);
  assert.deepEqual([...summary.established.values()], [{ localHex: ANY6, localPort: 80, peers: { ipv4: 0, ipv6: 1, mapped: 1 } }]);
  assert.deepEqual(summary.unattributed, { ipv4: 0, ipv6: 0, mapped: 0 });
});
