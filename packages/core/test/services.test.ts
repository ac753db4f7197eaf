import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bindingReach, buildServices, representativeOwner, serviceMode, type ListeningSocket, type SocketOwner } from '../src/analyze/services.js';

// The table from DESIGN.md (the field report), one row per socket.
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
