import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bindingReach, buildServices, representativeOwner, serviceMode, type EstablishedGroup, type ListeningSocket, type SocketOwner } from '../src/analyze/services.js';

// The socket table of docs/linux-facts.md#which-clients-reach-which-socket (from the field
// report), one row per socket.
test('per-socket reach follows the field report table', () => {
  assert.deepEqual(bindingReach({ address: '0.0.0.0', family: 4, v6only: null }), { ipv4: 'any', ipv6: 'none' });
  assert.deepEqual(bindingReach({ address: '::', family: 6, v6only: true }), { ipv4: 'none', ipv6: 'any' });
  assert.deepEqual(bindingReach({ address: '::', family: 6, v6only: false }), { ipv4: 'any', ipv6: 'any' });
  // Unknown V6ONLY claims no IPv4.
  assert.deepEqual(bindingReach({ address: '::', family: 6, v6only: null }), { ipv4: 'none', ipv6: 'any' });
  assert.deepEqual(bindingReach({ address: '::1', family: 6, v6only: true }), { ipv4: 'none', ipv6: 'loopback' });
  assert.deepEqual(bindingReach({ address: '2001:db8::2', family: 6, v6only: true }), { ipv4: 'none', ipv6: 'addresses' });
  assert.deepEqual(bindingReach({ address: '::ffff:192.0.2.2', family: 6, v6only: false }), { ipv4: 'addresses', ipv6: 'none' });
  assert.deepEqual(bindingReach({ address: '127.0.0.1', family: 4, v6only: null }), { ipv4: 'loopback', ipv6: 'none' });
});

test('modes: two sockets, mapped, single family, loopback', () => {
  const v4any = { address: '0.0.0.0', family: 4 as const, v6only: null };
  assert.equal(serviceMode([v4any, { address: '::', family: 6, v6only: true }]).mode, 'dual-separate');
  assert.equal(serviceMode([{ address: '::', family: 6, v6only: false }]).mode, 'dual-mapped');
  // An IPv4 socket beside a mapped one (possible with SO_REUSEPORT): a real IPv4 socket
  // exists, so it counts as two sockets.
  assert.equal(serviceMode([v4any, { address: '::', family: 6, v6only: false }]).mode, 'dual-separate');
  assert.equal(serviceMode([v4any]).mode, 'ipv4-only');
  assert.equal(serviceMode([{ address: '::', family: 6, v6only: true }]).mode, 'ipv6-only');
  assert.equal(serviceMode([{ address: '127.0.0.1', family: 4, v6only: null }, { address: '::1', family: 6, v6only: true }]).mode, 'loopback-only');
  const specific = serviceMode([{ address: '192.0.2.2', family: 4, v6only: null }, { address: '::1', family: 6, v6only: true }]);
  assert.deepEqual(specific, { ipv4: 'addresses', ipv6: 'loopback', mode: 'ipv4-only' });
});

const owner = (pid: number, ppid: number | null, comm = 'nginx'): SocketOwner => ({ pid, ppid, comm, exe: null, unit: null, uid: 0 });

test('a shared socket is named after the parent, not a worker', () => {
  assert.equal(representativeOwner([owner(120, 100), owner(100, 1), owner(121, 100)])?.pid, 100);
  assert.equal(representativeOwner([owner(7, 3), owner(5, 3)])?.pid, 5, 'siblings: lowest pid');
  assert.equal(representativeOwner([]), null);
});

const sock = (over: Partial<ListeningSocket>): ListeningSocket => ({
  proto: 'tcp', family: 4, address: '0.0.0.0', port: 80, inode: 1, uid: 0, v6only: null, v6onlySource: 'not-applicable', ...over,
});

test('services group by (proto, port, process) and attribute peers per binding', () => {
  const sockets = [
    sock({ inode: 1, port: 22 }),
    sock({ inode: 2, port: 22, family: 6, address: '::', v6only: true, v6onlySource: 'sock_diag' }),
    sock({ inode: 3, port: 80, family: 6, address: '::', v6only: false, v6onlySource: 'sock_diag' }),
    sock({ inode: 4, port: 22, proto: 'udp' }),
    sock({ inode: 5, port: 9000 }), // no owner known
  ];
  const owners = new Map<number, SocketOwner[]>([
    [1, [owner(10, 1, 'sshd')]],
    [2, [owner(10, 1, 'sshd')]],
    [3, [owner(20, 1, 'apache2'), owner(21, 20, 'apache2')]],
    [4, [owner(30, 1, 'other')]],
  ]);
  const { services, connections } = buildServices(sockets, owners, [
    { proto: 'tcp', family: 4, localAddress: '192.0.2.2', localPort: 22, peers: { ipv4: 3, ipv6: 0, mapped: 0 } },
    { proto: 'tcp', family: 6, localAddress: '2001:db8::2', localPort: 22, peers: { ipv4: 0, ipv6: 2, mapped: 0 } },
    { proto: 'tcp', family: 6, localAddress: '::ffff:192.0.2.2', localPort: 80, peers: { ipv4: 0, ipv6: 1, mapped: 4 } },
    { proto: 'tcp', family: 4, localAddress: '192.0.2.2', localPort: 443, peers: { ipv4: 5, ipv6: 0, mapped: 0 } },
  ]);
  assert.deepEqual(
    services.map((s) => [s.proto, s.port, s.process, s.mode, s.sharedWith, s.connections]),
    [
      ['tcp', 22, 'sshd', 'dual-separate', [], { ipv4: 3, ipv6: 2, mapped: 0 }],
      ['tcp', 80, 'apache2', 'dual-mapped', [21], { ipv4: 0, ipv6: 1, mapped: 4 }],
      ['tcp', 9000, null, 'ipv4-only', [], { ipv4: 0, ipv6: 0, mapped: 0 }],
      ['udp', 22, 'other', 'ipv4-only', [], { ipv4: 0, ipv6: 0, mapped: 0 }],
    ],
  );
  assert.deepEqual(connections, { ipv4: 8, ipv6: 3, mapped: 4, unattributed: 5 });
});

// An AF_INET6 socket bound to ::ffff:192.0.2.2 (V6ONLY=0, as it must be) is the IPv4 socket of
// that address; beside `::` V6ONLY=1 on the same port the service has one socket per family.
// The kernel (test/netns/mapped-binding.test.ts): IPv4 clients of 192.0.2.2 connect and arrive
// as ::ffff:a.b.c.d, other IPv4 addresses and 127.0.0.1 refuse, every IPv6 address connects.
test('a [::ffff:a.b.c.d] socket beside [::] V6ONLY=1: IPv4 on that address, IPv6 anywhere, two sockets', () => {
  const mapped = { address: '::ffff:192.0.2.2', family: 6 as const, v6only: false };
  const v6 = { address: '::', family: 6 as const, v6only: true };
  assert.deepEqual(serviceMode([mapped, v6]), { ipv4: 'addresses', ipv6: 'any', mode: 'dual-separate' });
  assert.deepEqual(serviceMode([mapped]), { ipv4: 'addresses', ipv6: 'none', mode: 'ipv4-only' });
  // On loopback only it stays loopback.
  assert.deepEqual(serviceMode([{ ...mapped, address: '::ffff:127.0.0.1' }, v6]), { ipv4: 'loopback', ipv6: 'any', mode: 'ipv6-only' });
  const { services } = buildServices(
    [
      sock({ inode: 1, port: 8000, family: 6, address: '::ffff:192.0.2.2', v6only: false, v6onlySource: 'sock_diag' }),
      sock({ inode: 2, port: 8000, family: 6, address: '::', v6only: true, v6onlySource: 'sock_diag' }),
    ],
    new Map([[1, [owner(40, 1, 'mapd')]], [2, [owner(40, 1, 'mapd')]]]),
    [
      { proto: 'tcp', family: 6, localAddress: '::ffff:192.0.2.2', localPort: 8000, peers: { ipv4: 0, ipv6: 0, mapped: 2 } },
      { proto: 'tcp', family: 6, localAddress: '2001:db8:1::3', localPort: 8000, peers: { ipv4: 0, ipv6: 3, mapped: 0 } },
    ],
  );
  assert.deepEqual(
    services.map((s) => [s.pid, s.ipv4, s.ipv6, s.mode, s.connections]),
    [[40, 'addresses', 'any', 'dual-separate', { ipv4: 0, ipv6: 3, mapped: 2 }]],
  );
});

// Two processes on one port: each established group goes to the socket the kernel delivered it
// to. The kernel's listener lookup takes a socket bound to the local address before a wildcard
// one (inet_lhash2_lookup on the address, then on INADDR_ANY / ::), IPv4 on AF_INET sockets
// before AF_INET6 ones, and a `::` V6ONLY=1 socket never takes IPv4.
test('connections of one port served by two processes go to the process that accepted them', () => {
  const owners = new Map<number, SocketOwner[]>();
  const listen = (inode: number, pid: number, over: Partial<ListeningSocket>): ListeningSocket => {
    owners.set(inode, [owner(pid, 1, `p${pid}`)]);
    return sock({ inode, port: 7000, ...over });
  };
  const v4 = (local: string, n: number) => ({ proto: 'tcp' as const, family: 4 as const, localAddress: local, localPort: 7000, peers: { ipv4: n, ipv6: 0, mapped: 0 } });
  const v6 = (local: string, n: number) => ({ proto: 'tcp' as const, family: 6 as const, localAddress: local, localPort: 7000, peers: { ipv4: 0, ipv6: n, mapped: 0 } });
  const mapped = (local: string, n: number) => ({ proto: 'tcp' as const, family: 6 as const, localAddress: local, localPort: 7000, peers: { ipv4: 0, ipv6: 0, mapped: n } });
  const counts = (sockets: ListeningSocket[], groups: EstablishedGroup[]) => {
    const { services, connections } = buildServices(sockets, owners, groups);
    assert.equal(connections.unattributed, 0);
    return Object.fromEntries(services.map((s) => [s.pid, s.connections]));
  };

  // 0.0.0.0 (pid 10) and [::] V6ONLY=1 (pid 20): IPv4 peers to the first, IPv6 to the second.
  assert.deepEqual(
    counts([listen(1, 10, {}), listen(2, 20, { family: 6, address: '::', v6only: true })], [v4('192.0.2.2', 3), v6('2001:db8:1::2', 2), v4('127.0.0.1', 1)]),
    { 10: { ipv4: 4, ipv6: 0, mapped: 0 }, 20: { ipv4: 0, ipv6: 2, mapped: 0 } },
  );
  // The same with the pids the other way round (the IPv6 process sorts first).
  assert.deepEqual(
    counts([listen(3, 30, {}), listen(4, 5, { family: 6, address: '::', v6only: true })], [v4('192.0.2.2', 3), v6('2001:db8:1::2', 2)]),
    { 30: { ipv4: 3, ipv6: 0, mapped: 0 }, 5: { ipv4: 0, ipv6: 2, mapped: 0 } },
  );
  // [::] V6ONLY=1 (pid 5) and [::ffff:192.0.2.2] (pid 30): mapped peers to the mapped socket.
  assert.deepEqual(
    counts([listen(5, 5, { family: 6, address: '::', v6only: true }), listen(6, 30, { family: 6, address: '::ffff:192.0.2.2', v6only: false })], [mapped('::ffff:192.0.2.2', 4), v6('2001:db8:1::3', 1)]),
    { 5: { ipv4: 0, ipv6: 1, mapped: 0 }, 30: { ipv4: 0, ipv6: 0, mapped: 4 } },
  );
  // [::] V6ONLY=0 (pid 5) beside 0.0.0.0 (pid 30, SO_REUSEPORT): IPv4 arrives on the AF_INET
  // socket, as plain IPv4 in /proc/net/tcp; the mapped peers seen were accepted by the :: socket.
  assert.deepEqual(
    counts([listen(7, 5, { family: 6, address: '::', v6only: false }), listen(8, 30, {})], [v4('192.0.2.2', 2), mapped('::ffff:192.0.2.2', 1), v6('2001:db8:1::2', 3)]),
    { 5: { ipv4: 0, ipv6: 3, mapped: 1 }, 30: { ipv4: 2, ipv6: 0, mapped: 0 } },
  );
  // Two specific addresses, one process each.
  assert.deepEqual(
    counts([listen(9, 5, { address: '192.0.2.2' }), listen(10, 30, { address: '192.0.2.3' })], [v4('192.0.2.3', 2), v4('192.0.2.2', 1)]),
    { 5: { ipv4: 1, ipv6: 0, mapped: 0 }, 30: { ipv4: 2, ipv6: 0, mapped: 0 } },
  );
  // A wildcard (pid 5) and a specific address (pid 30) with SO_REUSEPORT: the specific socket
  // takes the connections to its address even though the wildcard's process sorts first.
  assert.deepEqual(
    counts([listen(11, 5, {}), listen(12, 30, { address: '192.0.2.3' })], [v4('192.0.2.3', 2), v4('192.0.2.2', 1)]),
    { 5: { ipv4: 1, ipv6: 0, mapped: 0 }, 30: { ipv4: 2, ipv6: 0, mapped: 0 } },
  );
  assert.deepEqual(
    counts([listen(13, 5, { family: 6, address: '::', v6only: true }), listen(14, 30, { family: 6, address: '2001:db8:1::3', v6only: true })], [v6('2001:db8:1::3', 2), v6('2001:db8:1::2', 1)]),
    { 5: { ipv4: 0, ipv6: 1, mapped: 0 }, 30: { ipv4: 0, ipv6: 2, mapped: 0 } },
  );
});
