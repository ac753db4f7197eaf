// `ss -Hlne -A inet` output (sockdiag.txt in each capture): socket inode -> IPV6_V6ONLY, which
// /proc/net/tcp6 does not show (docs/linux-facts.md#v6only-is-not-in-proc).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseSocketTable } from '../src/proc/net-sockets.js';
import { parseSsV6only } from '../src/sockdiag.js';
import { fixtureFile, fixtureProcText, parseErrorOf } from './helpers/proc-fixtures.js';

const ssText = (name: string): string => readFileSync(fixtureFile(name, 'sockdiag.txt'), 'utf8');

/** Inode of the fixture's listener (TCP LISTEN or unconnected UDP) on `local` port `port`. */
function listenerInode(name: string, file: 'tcp' | 'tcp6' | 'udp' | 'udp6', local: string, port: number): number {
  const proto = file.startsWith('tcp') ? 'tcp' : 'udp';
  const family = file.endsWith('6') ? 6 : 4;
  const socket = parseSocketTable(fixtureProcText(name, `net/${file}`), proto, family).find(
    (s) => s.local === local && s.localPort === port && s.state === (proto === 'tcp' ? 0x0a : 0x07),
  );
  assert.ok(socket, `${name}: a listener on ${local} ${port} in ${file}`);
  return socket.inode;
}

test('dual-stack-services: v6only per AF_INET6 socket, none for the IPv4 ones', () => {
  const flags = parseSsV6only(ssText('dual-stack-services'));
  const name = 'dual-stack-services';
  const expected: Array<[number, boolean]> = [
    [listenerInode(name, 'tcp6', '::', 22), true], // sshd sets V6ONLY itself
    [listenerInode(name, 'tcp6', '::', 80), false], // apache2: one socket, IPv4 mapped
    [listenerInode(name, 'tcp6', '::', 8443), true],
    [listenerInode(name, 'tcp6', '::1', 11211), true],
    [listenerInode(name, 'tcp6', '2001:db8:1::2', 3306), true], // a specific address is V6ONLY implicitly
    [listenerInode(name, 'udp6', '::', 53), true],
    [listenerInode(name, 'udp6', '::', 5353), false],
    [listenerInode(name, 'tcp6', '::', 8080), true], // nginx [::]:8080
  ];
  const byInode = ([a]: [number, boolean], [b]: [number, boolean]) => a - b;
  assert.deepEqual([...flags.entries()].sort(byInode), expected.sort(byInode));
  for (const [file, local, port] of [['tcp', '0.0.0.0', 22], ['tcp', '0.0.0.0', 8080], ['udp', '0.0.0.0', 53]] as const) {
    assert.equal(flags.has(listenerInode(name, file, local, port)), false, `${local}:${port} is AF_INET`);
  }
});

test('bindv6only: the socket that left V6ONLY alone is IPv6-only, the one that cleared it is not', () => {
  const flags = parseSsV6only(ssText('bindv6only'));
  assert.equal(flags.size, 2);
  assert.equal(flags.get(listenerInode('bindv6only', 'tcp6', '::', 8000)), true);
  assert.equal(flags.get(listenerInode('bindv6only', 'tcp6', '::', 8081)), false);
});

test('ipv6-off: ss lists only AF_INET sockets, so the map is empty; so is it for empty output', () => {
  const text = ssText('ipv6-off');
  assert.ok(text.includes('ino:1134039'), 'the capture still lists IPv4 sockets');
  assert.equal(parseSsV6only(text).size, 0);
  assert.equal(parseSsV6only('').size, 0);
  assert.equal(parseSsV6only('\n\n').size, 0);
});

test('a v6only field without an inode is a ProcParseError naming ino and the line', () => {
  const ok = 'tcp LISTEN 0      511   [::]:22 [::]:* ino:1134040 sk:6c83c cgroup:unreachable:1 v6only:1 <->';
  const bad = 'tcp LISTEN 0      511   [::]:80 [::]:* sk:6c83d cgroup:unreachable:1 v6only:0 <->';
  const error = parseErrorOf(() => parseSsV6only(`${ok}\n${bad}\n`));
  assert.equal(error.file, 'ss -Hlne -A inet');
  assert.equal(error.line, 2);
  assert.equal(error.field, 'ino');
  assert.equal(error.raw, bad);
  assert.ok(error.message.includes(JSON.stringify(bad)), error.message);
});

test('fields are matched whole: uid:, sk: and a v6only:2 do not count', () => {
  const text = [
    'tcp LISTEN 0 4096 [::]:9000 [::]:* uid:1000 ino:77 sk:1 cgroup:/user.slice v6only:1 <->',
    'tcp LISTEN 0 4096 [::]:9001 [::]:* xino:78 ino:79 sk:2 v6only:0',
    'tcp LISTEN 0 4096 [::]:9002 [::]:* ino:80 sk:3 v6only:2 <->',
  ].join('\n');
  assert.deepEqual([...parseSsV6only(text).entries()], [[77, true], [79, false]]);
});
