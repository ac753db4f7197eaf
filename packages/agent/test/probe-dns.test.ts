// The prober's DNS side against a real DNS server: dnsmasq (Debian dnsmasq-base) on 127.0.0.1,
// serving a .test zone from its command line and a hosts file, with a node:dns Resolver
// pointed at it. A, AAAA, TTL, the CNAME chain, NXDOMAIN, NODATA, REFUSED, addresses never to
// be followed (loopback, link-local) and an answer of 100 addresses.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { promises as dns } from 'node:dns';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type AddressInfo } from 'node:net';
import { MAX_ADDRESSES_PER_FAMILY, resolveEndpoint, sortAddresses } from '../src/probe/resolve.js';
import { probeEndpoint } from '../src/probe/probe-endpoint.js';
import { targetFromUrl } from '../src/probe/targets.js';

const DNSMASQ = '/usr/sbin/dnsmasq';
const missing = existsSync(DNSMASQ) ? false : 'dnsmasq is not installed (Debian package dnsmasq-base)';
if (missing && process.env.CI === 'true') throw new Error(missing);

let dir: string;
let child: ChildProcess | null = null;
let resolver: dns.Resolver;

async function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

before(async () => {
  if (missing) return;
  dir = mkdtempSync(join(tmpdir(), 'dualstack-probe-dns-'));
  const hosts = [];
  for (let i = 1; i <= 100; i += 1) hosts.push(`192.0.2.${i} many.test`, `2001:db8::${i.toString(16)} many.test`);
  hosts.push('127.0.0.1 loop.test', '192.0.2.201 loop.test', '::1 loop.test', 'fe80::1 loop.test', '2001:db8::201 loop.test');
  hosts.push('127.0.0.1 onlyloop.test', '::1 onlyloop.test');
  writeFileSync(join(dir, 'hosts'), `${hosts.join('\n')}\n`);
  const port = await freeUdpPort();
  // prettier-ignore
  const args = [
    '--no-daemon', '--no-resolv', '--no-hosts', '--bind-interfaces', '--listen-address', '127.0.0.1', '--port', String(port), '--pid-file=',
    '--local=/test/', '--local-ttl=300', `--addn-hosts=${join(dir, 'hosts')}`,
    '--host-record=dual.test,192.0.2.10,2001:db8::10',
    '--host-record=v4only.test,192.0.2.11',
    '--cname=www.test,lb.test', '--cname=lb.test,dual.test',
  ];
  child = spawn(DNSMASQ, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  resolver = new dns.Resolver({ timeout: 2000, tries: 2 });
  resolver.setServers([`127.0.0.1:${port}`]);
  // Ready when it answers.
  for (let i = 0; ; i += 1) {
    try {
      await resolver.resolve4('dual.test');
      break;
    } catch (error) {
      if (i > 100 || child.exitCode !== null) throw new Error(`dnsmasq did not come up: ${(error as Error).message}\n${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
});

after(() => {
  if (child?.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGTERM');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('A and AAAA with their TTLs, and the CNAME chain in order', { skip: missing }, async () => {
  const { a, aaaa } = await resolveEndpoint(resolver, 'www.test');
  assert.equal(a.status, 'ok');
  assert.deepEqual(a.addresses, [{ address: '192.0.2.10', ttl: 300 }]);
  assert.equal(aaaa.status, 'ok');
  assert.deepEqual(aaaa.addresses, [{ address: '2001:db8::10', ttl: 300 }]);
  assert.deepEqual(a.cname, ['lb.test', 'dual.test']);
  assert.deepEqual(aaaa.cname, ['lb.test', 'dual.test']);
  assert.equal(a.truncated, false);
  assert.deepEqual(a.rejected, []);
  const direct = await resolveEndpoint(resolver, 'dual.test');
  assert.deepEqual(direct.a.cname, [], 'a name without CNAME has an empty chain');
});

test('NXDOMAIN, NODATA and REFUSED are told apart', { skip: missing }, async () => {
  const gone = await resolveEndpoint(resolver, 'nope.test');
  assert.equal(gone.a.status, 'nxdomain');
  assert.equal(gone.aaaa.status, 'nxdomain');
  assert.equal(gone.a.error, undefined, 'NXDOMAIN is an answer, not an error');
  const v4 = await resolveEndpoint(resolver, 'v4only.test');
  assert.equal(v4.a.status, 'ok');
  assert.equal(v4.aaaa.status, 'nodata');
  assert.deepEqual(v4.aaaa.addresses, []);
  // Outside its local zone and without upstream servers, dnsmasq refuses.
  const refused = await resolveEndpoint(resolver, 'www.example.net');
  assert.equal(refused.a.status, 'refused');
  assert.equal(refused.a.error, 'EREFUSED');
});

test('loopback and link-local addresses in an answer are rejected with the reason, the others followed', { skip: missing }, async () => {
  const { a, aaaa } = await resolveEndpoint(resolver, 'loop.test');
  assert.deepEqual(a.addresses, [{ address: '192.0.2.201', ttl: 300 }]);
  assert.deepEqual(a.rejected, [{ address: '127.0.0.1', reason: 'loopback address' }]);
  assert.deepEqual(aaaa.addresses, [{ address: '2001:db8::201', ttl: 300 }]);
  assert.deepEqual(
    [...aaaa.rejected].sort((x, y) => x.address.localeCompare(y.address)),
    [
      { address: '::1', reason: 'loopback address' },
      { address: 'fe80::1', reason: 'link-local address' },
    ],
  );
});

test('a name answering only loopback addresses: nothing is connected to (a server listening there sees no connection)', { skip: missing }, async (t) => {
  let connections = 0;
  const server = createServer((socket) => {
    connections += 1;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const { port } = server.address() as AddressInfo;
  const probe = await probeEndpoint(targetFromUrl(`tcp://onlyloop.test:${port}`, 'onlyloop'), { resolver, timeoutMs: 2000 });
  assert.deepEqual(probe.attempts, []);
  assert.deepEqual(probe.dns.a.rejected, [{ address: '127.0.0.1', reason: 'loopback address' }]);
  assert.deepEqual(probe.dns.aaaa.rejected, [{ address: '::1', reason: 'loopback address' }]);
  assert.equal(connections, 0);
});

test('an answer of 100 addresses per family: 16 followed, truncated, no duplicates', { skip: missing }, async () => {
  const { a, aaaa } = await resolveEndpoint(resolver, 'many.test');
  for (const answer of [a, aaaa]) {
    assert.equal(answer.status, 'ok');
    assert.equal(answer.truncated, true);
    assert.equal(answer.addresses.length, MAX_ADDRESSES_PER_FAMILY);
    assert.equal(new Set(answer.addresses.map((x) => x.address)).size, MAX_ADDRESSES_PER_FAMILY);
  }
  assert.ok(a.addresses.every((x) => /^192\.0\.2\.\d+$/.test(x.address)));
  assert.ok(aaaa.addresses.every((x) => x.address.startsWith('2001:db8::')));
});

test('sortAddresses: every class ipaddr.js names that a client must not be sent to, documentation prefixes kept', () => {
  const records = ['0.0.0.0', '224.0.0.1', '255.255.255.255', '169.254.1.1', '198.51.100.7', '198.51.100.7', '203.0.113.9'].map((address) => ({ address, ttl: 60 }));
  const sorted = sortAddresses(records, 4);
  assert.deepEqual(sorted.addresses, [
    { address: '198.51.100.7', ttl: 60 },
    { address: '203.0.113.9', ttl: 60 },
  ]);
  assert.deepEqual(
    sorted.rejected.map((r) => r.reason),
    ['unspecified address', 'multicast address', 'broadcast address', 'link-local address'],
  );
  const six = sortAddresses(['::', 'ff02::1', '::ffff:192.0.2.1', '2001:db8::1', '192.0.2.1'].map((address) => ({ address, ttl: null })), 6);
  assert.deepEqual(six.addresses, [{ address: '2001:db8::1', ttl: null }]);
  assert.deepEqual(
    six.rejected.map((r) => `${r.address} ${r.reason}`),
    ['::  unspecified address'.replace('  ', ' '), 'ff02::1 multicast address', '::ffff:192.0.2.1 IPv4-mapped address in an AAAA record', '192.0.2.1 an IPv4 address in an AAAA answer'],
  );
});
