// A service bound to [::ffff:192.0.2.2] beside [::] V6ONLY=1 on the same port, checked
// against the kernel.
//
// An AF_INET6 socket bound to an IPv4-mapped address is, to the kernel, the IPv4 socket of
// that address: IPv4 clients of 192.0.2.2 reach it (and the program sees them as
// ::ffff:a.b.c.d), other IPv4 addresses do not, and it cannot be V6ONLY (bind() refuses a
// mapped address on a V6ONLY socket). Beside [::] V6ONLY=1 on the same port (no bind
// conflict: a V6ONLY wildcard never covers mapped addresses) the service is dual-stack for
// that one IPv4 address: one socket per family.
//
// The host (scenarios.ts twoHosts: veth0 192.0.2.2 + .3, 2001:db8:1::2 + ::3) runs one
// process holding both sockets; the peer holds connections over both families; the built
// agent scans; its verdict must agree with real connects to every address of both families.
//
// Run: node scripts/run-tests.mjs test/netns/mapped-binding   (root; skipped otherwise)
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { validateReport, type Report, type Service } from '../../packages/core/src/schema.js';
import { listNamespaces, liveNamespaces, pidAlive, probeConnect, rootSkipReason, startListeners, waitFor, type Netns } from '../helpers/netns.js';
import { HOST4, HOST4_SECOND, HOST6, HOST6_SECOND, PEER4, holdConnections, twoHosts, type TwoHosts } from '../helpers/scenarios.js';

const skip = rootSkipReason();
const CLI = fileURLToPath(new URL('../../packages/agent/dist/cli.js', import.meta.url));
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const PORT = 9100;
const startedPids: number[] = [];

async function hosts(t: TestContext, prefix: string): Promise<TwoHosts> {
  const h = await twoHosts(prefix);
  t.after(() => h.destroy());
  return h;
}

async function scan(ns: Netns): Promise<Report> {
  const r = await ns.exec(process.execPath, [CLI, 'scan', '--json'], { timeoutMs: 20_000 });
  assert.equal(r.code, 0, `agent scan in ${ns.name} exited ${r.code}: ${r.stderr}`);
  const v = validateReport(JSON.parse(r.stdout) as unknown);
  assert.ok(v.ok, `report does not match its schema: ${JSON.stringify(!v.ok && v.problems)}`);
  assert.equal(v.report.sources.find((s) => s.name === 'sockdiag')?.status, 'ok');
  return v.report;
}

function serviceOn(report: Report, port: number): Service {
  const found = report.services.filter((s) => s.proto === 'tcp' && s.port === port);
  assert.equal(found.length, 1, `one tcp/${port} service expected: ${JSON.stringify(found)}`);
  return found[0]!;
}

test('[::ffff:192.0.2.2] beside [::] V6ONLY=1: IPv4 on that address only, IPv6 everywhere, as the kernel does', { skip }, async (t) => {
  const two = await hosts(t, 'mb');
  const { host, peer } = two;
  // The premise: the kernel refuses a mapped address on a V6ONLY socket (so the agent may call
  // such a binding V6ONLY=0 even without sock_diag).
  const script = [
    'import errno, socket',
    's = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)',
    's.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)',
    'try:',
    `    s.bind(("::ffff:${HOST4}", ${PORT}))`,
    '    print("BOUND")',
    'except OSError as e:',
    '    print(errno.errorcode[e.errno])',
  ].join('\n');
  const refused = await host.exec(PYTHON, ['-c', script]);
  assert.equal(refused.code, 0, refused.stderr);
  assert.equal(refused.stdout.trim(), 'EINVAL', 'kernel: bind(::ffff:a.b.c.d) on a V6ONLY socket');

  const l = await startListeners(host, [
    { proto: 'tcp', address: `::ffff:${HOST4}`, port: PORT, ipv6Only: false, title: 'mapd' },
    { proto: 'tcp', address: '::', port: PORT, ipv6Only: true, title: 'mapd' },
  ]);
  startedPids.push(l.pid);
  assert.equal(await holdConnections(peer, [[HOST4, PORT, 2], [HOST6, PORT, 1]]), 3);

  const report = await scan(host);
  const s = serviceOn(report, PORT);
  assert.equal(s.pid, l.pid);
  assert.equal(s.process, 'mapd');
  assert.deepEqual(
    s.bindings.map((b) => [b.family, b.address, b.v6only, b.v6onlySource]),
    [[6, '::', true, 'sock_diag'], [6, `::ffff:${HOST4}`, false, 'sock_diag']],
  );
  assert.deepEqual({ ipv4: s.ipv4, ipv6: s.ipv6, mode: s.mode }, { ipv4: 'addresses', ipv6: 'any', mode: 'dual-separate' });
  // The two IPv4 clients were accepted by the mapped socket: IPv4-mapped peers, not plain IPv4.
  assert.deepEqual(s.connections, { ipv4: 0, ipv6: 1, mapped: 2 });
  assert.deepEqual(report.connections, { ipv4: 0, ipv6: 1, mapped: 2, unattributed: 0 });

  // The kernel, by real connects: from the peer to each host address, from the host to loopback.
  const cases: Array<{ from: Netns; address: string; expected: boolean; why: string }> = [
    { from: peer, address: HOST4, expected: true, why: "ipv4 'addresses': the bound address" },
    { from: peer, address: HOST4_SECOND, expected: false, why: "ipv4 'addresses': another IPv4 address of the host" },
    { from: host, address: '127.0.0.1', expected: false, why: "ipv4 'addresses': not loopback" },
    { from: peer, address: HOST6, expected: true, why: "ipv6 'any'" },
    { from: peer, address: HOST6_SECOND, expected: true, why: "ipv6 'any'" },
    { from: host, address: '::1', expected: true, why: "ipv6 'any' includes loopback" },
  ];
  for (const c of cases) {
    const r = await probeConnect(c.from, 'tcp', c.address, PORT);
    assert.equal(r.ok, c.expected, `connect to ${c.address}:${PORT} (${c.why}): ${r.ok ? 'connected' : r.error}`);
    if (!r.ok) assert.equal(r.error, 'ECONNREFUSED', `${c.address}: refused, not lost`);
  }
  // The program saw its IPv4 clients of 192.0.2.2 as mapped addresses, on the mapped socket.
  await waitFor(() => l.events.filter((e) => e.remoteAddress === `::ffff:${PEER4}` && e.localAddress === `::ffff:${HOST4}`).length >= 3, {
    message: `3 IPv4 accepts as ::ffff:${PEER4} on ::ffff:${HOST4}: ${JSON.stringify(l.events)}`,
  });
  assert.equal(l.events.filter((e) => e.remoteAddress === PEER4).length, 0, 'no plain-IPv4 accept');
});

test('cleanup: no namespace and no process of these tests is left', { skip }, async () => {
  assert.deepEqual(liveNamespaces(), []);
  assert.deepEqual((await listNamespaces()).filter((n) => n.includes(`-${process.pid}-`)), []);
  assert.deepEqual(startedPids.filter(pidAlive), []);
});
