// Proves the netns helpers against the kernel: real namespaces, veth pairs, sockets,
// connects over both families and real Router Advertisements.
// Run: node --import tsx --test test/helpers/netns.test.ts   (root; skipped otherwise)
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { test, type TestContext } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import {
  Netns,
  addAddress,
  linkVeth,
  listNamespaces,
  liveNamespaces,
  pidAlive,
  probeConnect,
  rootSkipReason,
  sendRouterAdvertisement,
  snmp6,
  startListeners,
  tryConnect,
  waitFor,
  type ListenerSpec,
} from './netns.js';

const skip = rootSkipReason();
const nsBefore = skip ? [] : await listNamespaces();
/** Every pid these tests started; all must be gone at the end. */
const startedPids: number[] = [];

const SRV4 = '192.0.2.1';
const SRV6 = '2001:db8:1::1';

async function newNs(t: TestContext, prefix: string): Promise<Netns> {
  const ns = await Netns.create(prefix);
  t.after(() => ns.destroy());
  return ns;
}

/** srv(veth0: 2001:db8:1::1/64, 192.0.2.1/24) <-> cli(veth1: 2001:db8:1::2/64, 192.0.2.2/24). */
async function serverClientPair(t: TestContext, prefix: string): Promise<{ srv: Netns; cli: Netns }> {
  const srv = await newNs(t, `${prefix}s`);
  const cli = await newNs(t, `${prefix}c`);
  await linkVeth(srv, 'veth0', cli, 'veth1');
  await addAddress(srv, 'veth0', `${SRV6}/64`);
  await addAddress(srv, 'veth0', `${SRV4}/24`);
  await addAddress(cli, 'veth1', '2001:db8:1::2/64');
  await addAddress(cli, 'veth1', '192.0.2.2/24');
  return { srv, cli };
}

test('socket table: which families reach which listener (docs/linux-facts.md table)', { skip }, async (t) => {
  const { srv, cli } = await serverClientPair(t, 'tbl');
  const specs: ListenerSpec[] = [
    { proto: 'tcp', address: '0.0.0.0', port: 8001 },
    { proto: 'tcp', address: '::', port: 8002, ipv6Only: true },
    { proto: 'tcp', address: '::', port: 8003, ipv6Only: false },
    { proto: 'tcp', address: '127.0.0.1', port: 8004 },
    { proto: 'tcp', address: '::1', port: 8005 },
    { proto: 'udp', address: '::', port: 8006, ipv6Only: false },
    { proto: 'udp', address: '0.0.0.0', port: 8007 },
    { proto: 'udp', address: '::', port: 8008, ipv6Only: true },
    // sshd style: one process, two sockets on one port
    { proto: 'tcp', address: '0.0.0.0', port: 8022 },
    { proto: 'tcp', address: '::', port: 8022, ipv6Only: true },
  ];
  const l = await startListeners(srv, specs);
  startedPids.push(l.pid);
  t.after(() => l.stop());
  assert.deepEqual(l.ports, specs.map((s) => s.port));

  const cases: Array<[name: string, proto: 'tcp' | 'udp', port: number]> = [
    ['tcp 0.0.0.0', 'tcp', 8001],
    ['tcp :: v6only=1', 'tcp', 8002],
    ['tcp :: v6only=0', 'tcp', 8003],
    ['tcp 127.0.0.1', 'tcp', 8004],
    ['tcp ::1', 'tcp', 8005],
    ['udp :: v6only=0', 'udp', 8006],
    ['udp 0.0.0.0', 'udp', 8007],
    ['udp :: v6only=1', 'udp', 8008],
    ['tcp 0.0.0.0 + :: v6only=1 (sshd)', 'tcp', 8022],
    ['tcp nothing listening', 'tcp', 8099],
  ];
  const got: Record<string, { v4: boolean; v6: boolean }> = {};
  const detail: string[] = [];
  for (const [name, proto, port] of cases) {
    const r4 = await probeConnect(cli, proto, SRV4, port);
    const r6 = await probeConnect(cli, proto, SRV6, port);
    got[name] = { v4: r4.ok, v6: r6.ok };
    detail.push(`${name}: v4 ${r4.ok ? 'yes' : r4.error} (${r4.ms} ms), v6 ${r6.ok ? 'yes' : r6.error} (${r6.ms} ms)`);
  }
  t.diagnostic(detail.join('; '));
  assert.deepEqual(got, {
    'tcp 0.0.0.0': { v4: true, v6: false },
    'tcp :: v6only=1': { v4: false, v6: true },
    'tcp :: v6only=0': { v4: true, v6: true },
    'tcp 127.0.0.1': { v4: false, v6: false },
    'tcp ::1': { v4: false, v6: false },
    'udp :: v6only=0': { v4: true, v6: true },
    'udp 0.0.0.0': { v4: true, v6: false },
    'udp :: v6only=1': { v4: false, v6: true },
    'tcp 0.0.0.0 + :: v6only=1 (sshd)': { v4: true, v6: true },
    'tcp nothing listening': { v4: false, v6: false },
  });

  // Loopback listeners answer only their own family, from inside the server namespace.
  const local = {
    '127.0.0.1:8004 via 127.0.0.1': await tryConnect(srv, 'tcp', '127.0.0.1', 8004),
    '127.0.0.1:8004 via ::1': await tryConnect(srv, 'tcp', '::1', 8004),
    '::1:8005 via ::1': await tryConnect(srv, 'tcp', '::1', 8005),
    '::1:8005 via 127.0.0.1': await tryConnect(srv, 'tcp', '127.0.0.1', 8005),
    ':: v6only=0 via 127.0.0.1': await tryConnect(srv, 'tcp', '127.0.0.1', 8003),
  };
  assert.deepEqual(local, {
    '127.0.0.1:8004 via 127.0.0.1': true,
    '127.0.0.1:8004 via ::1': false,
    '::1:8005 via ::1': true,
    '::1:8005 via 127.0.0.1': false,
    ':: v6only=0 via 127.0.0.1': true,
  });

  // IPv4 clients of the V6ONLY=0 socket are seen IPv4-mapped.
  const mapped = l.events.filter((e) => e.localPort === 8003 && e.remoteAddress.startsWith('::ffff:'));
  assert.ok(
    mapped.some((e) => e.remoteAddress === '::ffff:192.0.2.2' && e.localAddress === '::ffff:192.0.2.1'),
    JSON.stringify(l.events),
  );
  const udpMapped = l.events.filter((e) => e.proto === 'udp' && e.localPort === 8006);
  assert.deepEqual(udpMapped.map((e) => e.remoteAddress).sort(), ['2001:db8:1::2', '::ffff:192.0.2.2']);

  // sock_diag agrees: ss -e prints v6only per AF_INET6 listening socket.
  const ss = (await srv.exec('ss', ['-Htlne'])).stdout;
  const v6only = (port: number): string[] =>
    ss
      .split('\n')
      .filter((line) => new RegExp(`:${port}\\s`).test(line))
      .map((line) => /v6only:(\d)/.exec(line)?.[1] ?? '-');
  assert.deepEqual(v6only(8002), ['1']);
  assert.deepEqual(v6only(8003), ['0']);
  assert.deepEqual(v6only(8001), ['-']);
  assert.deepEqual(v6only(8005), ['1'], 'a socket bound to a specific IPv6 address is V6ONLY');
  assert.deepEqual(v6only(8022).sort(), ['-', '1']);

  await l.stop();
  assert.equal(pidAlive(l.pid), false);
});

test('bindv6only=1 in a namespace: a plain :: socket becomes V6ONLY, Node sets the flag explicitly', { skip }, async (t) => {
  const ns = await newNs(t, 'b6o');
  assert.equal(await ns.sysctl('net.ipv6.bindv6only', '1'), '1');
  // Python's socket module does not touch IPV6_V6ONLY: the sysctl decides.
  const py = ns.spawn('python3', [
    '-c',
    'import socket,sys,time\ns=socket.socket(socket.AF_INET6)\ns.bind(("::",8100))\ns.listen()\nprint("up",flush=True)\ntime.sleep(60)',
  ]);
  startedPids.push(py.pid!);
  await new Promise<void>((resolve, reject) => {
    py.stdout!.once('data', () => resolve());
    py.once('exit', (c) => reject(new Error(`python exited ${c}`)));
  });
  // Node/libuv always sets IPV6_V6ONLY to what it was asked (default false).
  const l = await startListeners(ns, [{ proto: 'tcp', address: '::', port: 8101 }]);
  startedPids.push(l.pid);
  const ss = (await ns.exec('ss', ['-Htlne'])).stdout;
  const flag = (port: number) => new RegExp(`:${port}\\s.*v6only:(\\d)`).exec(ss)?.[1];
  t.diagnostic(`bindv6only=1: python :: -> v6only:${flag(8100)}, node :: -> v6only:${flag(8101)}`);
  assert.equal(flag(8100), '1');
  assert.equal(flag(8101), '0');
  await l.stop();
  // py is killed by destroy(); prove that it is.
  await ns.destroy();
  assert.equal(pidAlive(py.pid!), false);
});

test('workers: several pids hold one listening socket inode, master is the parent', { skip }, async (t) => {
  const { srv, cli } = await serverClientPair(t, 'wrk');
  const l = await startListeners(srv, [{ proto: 'tcp', address: '::', port: 8080, ipv6Only: false, workers: 2, title: 'nginx' }]);
  const workers = l.workers[0] ?? [];
  startedPids.push(l.pid, ...workers);
  t.after(() => l.stop());
  assert.equal(workers.length, 2);

  const ss = (await srv.exec('ss', ['-Htlnpe', 'sport', '= :8080'])).stdout.trim();
  const lines = ss.split('\n').filter(Boolean);
  assert.equal(lines.length, 1, ss);
  const line = lines[0]!;
  const ino = Number(/ino:(\d+)/.exec(line)?.[1]);
  const ssPids = [...line.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1])).sort((a, b) => a - b);
  t.diagnostic(`ss: ${line}`);
  assert.deepEqual(ssPids, [l.pid, ...workers].sort((a, b) => a - b));

  // The same from /proc: each pid has an fd -> socket:[ino]; workers' parent is the master.
  for (const pid of [l.pid, ...workers]) {
    const links = readdirSync(`/proc/${pid}/fd`).map((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        return '';
      }
    });
    assert.ok(links.includes(`socket:[${ino}]`), `pid ${pid} does not hold socket:[${ino}]`);
  }
  // The title names every process like the daemon it imitates (comm, as ss and /proc show).
  for (const pid of [l.pid, ...workers]) assert.equal(readFileSync(`/proc/${pid}/comm`, 'utf8').trim(), 'nginx');
  assert.equal([...line.matchAll(/\("nginx",pid=/g)].length, 3, line);
  for (const w of workers) {
    const stat = readFileSync(`/proc/${w}/stat`, 'utf8');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    assert.equal(ppid, l.pid);
  }

  // Both families get through; several connects spread over the processes sharing the socket.
  for (let i = 0; i < 6; i++) {
    assert.equal(await tryConnect(cli, 'tcp', i % 2 ? SRV6 : SRV4, 8080), true);
  }
  await waitFor(() => l.events.length >= 6, { message: 'accept events' });
  t.diagnostic(`accepting pids: ${JSON.stringify(l.events.map((e) => e.pid))}`);

  await l.stop();
  for (const pid of [l.pid, ...workers]) assert.equal(pidAlive(pid), false, `pid ${pid} still alive`);
});

/** router(rt0, forwarding=1) <-> host(eth0); returns both. */
async function routerHostPair(t: TestContext, prefix: string): Promise<{ router: Netns; host: Netns }> {
  const router = await newNs(t, `${prefix}r`);
  const host = await newNs(t, `${prefix}h`);
  await router.sysctl('net.ipv6.conf.all.forwarding', '1');
  await linkVeth(router, 'rt0', host, 'eth0');
  return { router, host };
}

async function defaultRoute6(ns: Netns): Promise<string> {
  return (await ns.ip('-6', 'route', 'show', 'default')).trim();
}

/** Polls until a default route via `source` shows up; returns ms waited (after the RA was sent). */
async function waitForRaDefault(ns: Netns, source: string, timeoutMs = 3000): Promise<{ ms: number; route: string }> {
  const t0 = Date.now();
  const route = await waitFor(
    async () => {
      const r = await defaultRoute6(ns);
      return r.includes(`default via ${source} dev eth0 proto ra`) ? r : '';
    },
    { timeoutMs, intervalMs: 5, message: `RA default via ${source}` },
  );
  return { ms: Date.now() - t0, route };
}

/** Waits until the host counted one more received RA on eth0 (it arrived), then a little longer. */
async function waitForRaArrival(ns: Netns, before: number): Promise<number> {
  const n = await waitFor(
    async () => {
      const c = (await snmp6(ns, 'eth0')).Icmp6InRouterAdvertisements ?? 0;
      return c > before ? c : 0;
    },
    { timeoutMs: 3000, intervalMs: 10, message: 'RA counted by the host' },
  );
  await delay(300);
  return n;
}

test('RA: a host with accept_ra=1, forwarding=0 learns the default router', { skip }, async (t) => {
  const { router, host } = await routerHostPair(t, 'ra1');
  assert.equal(await host.sysctl('net.ipv6.conf.eth0.accept_ra', '1'), '1');
  assert.equal(await host.sysctl('net.ipv6.conf.eth0.forwarding'), '0');
  assert.equal(await defaultRoute6(host), '');

  const ra = await sendRouterAdvertisement(router, 'rt0', { prefix: '2001:db8:2::/64', routerLifetime: 1800 });
  assert.match(ra.source, /^fe80:/);
  const learned = await waitForRaDefault(host, ra.source);
  t.diagnostic(`router link-local DAD wait ${ra.dadWaitMs} ms; default route visible ${learned.ms} ms after the sender exited: ${learned.route}`);
  assert.match(learned.route, /expires \d+sec/);

  // /proc/net/ipv6_route: the RA default carries UP|GATEWAY|DEFAULT|ADDRCONF|EXPIRES.
  const v6routes = (await host.exec('cat', ['/proc/net/ipv6_route'])).stdout;
  const defLine = v6routes.split('\n').find((l) => l.startsWith('0'.repeat(32) + ' 00') && l.trim().endsWith('eth0'));
  assert.ok(defLine, v6routes);
  const flags = defLine.trim().split(/\s+/)[8];
  t.diagnostic(`ipv6_route default flags ${flags}`);
  assert.equal(flags, '00450003');

  // The prefix route and a SLAAC address in 2001:db8:2::/64 came with it.
  assert.match(await host.ip('-6', 'route', 'show', '2001:db8:2::/64'), /proto (ra|kernel)/);
  await waitFor(async () => /inet6 2001:db8:2:0:/.test(await host.ip('-6', 'addr', 'show', 'dev', 'eth0')), {
    message: 'SLAAC address',
  });

  // Router Lifetime 0 withdraws the default router at once.
  await sendRouterAdvertisement(router, 'rt0', { prefix: '2001:db8:2::/64', routerLifetime: 0 });
  const t0 = Date.now();
  await waitFor(async () => (await defaultRoute6(host)) === '', { timeoutMs: 3000, intervalMs: 5, message: 'default withdrawn' });
  t.diagnostic(`router lifetime 0: default gone after ${Date.now() - t0} ms`);

  // Learn again, then turn all.forwarding on: the RA-learned default is deleted (docs/linux-facts.md#ipv6-sysctls).
  await sendRouterAdvertisement(router, 'rt0', { prefix: '2001:db8:2::/64' });
  await waitForRaDefault(host, ra.source);
  await host.sysctl('net.ipv6.conf.all.forwarding', '1');
  const after = await defaultRoute6(host);
  t.diagnostic(`after all.forwarding=1: default route ${after ? `still there: ${after}` : 'deleted'}`);
  assert.equal(after, '');
});

test('RA: forwarding=1 + accept_ra=1 ignores it; accept_ra=2 learns it', { skip }, async (t) => {
  const { router, host } = await routerHostPair(t, 'ra2');
  await host.sysctl('net.ipv6.conf.all.forwarding', '1');
  assert.equal(await host.sysctl('net.ipv6.conf.eth0.forwarding'), '1');
  assert.equal(await host.sysctl('net.ipv6.conf.eth0.accept_ra', '1'), '1');

  const before = (await snmp6(host, 'eth0')).Icmp6InRouterAdvertisements ?? 0;
  const ra = await sendRouterAdvertisement(router, 'rt0', { prefix: '2001:db8:2::/64' });
  const arrived = await waitForRaArrival(host, before);
  t.diagnostic(`RA arrived (Icmp6InRouterAdvertisements ${before} -> ${arrived}), default: '${await defaultRoute6(host)}'`);
  assert.equal(await defaultRoute6(host), '', 'forwarding=1 with accept_ra=1 must ignore the RA');
  assert.equal((await host.ip('-6', 'route', 'show', '2001:db8:2::/64')).trim(), '');

  assert.equal(await host.sysctl('net.ipv6.conf.eth0.accept_ra', '2'), '2');
  await sendRouterAdvertisement(router, 'rt0', { prefix: '2001:db8:2::/64' });
  const learned = await waitForRaDefault(host, ra.source);
  t.diagnostic(`accept_ra=2: default learned ${learned.ms} ms after the sender exited: ${learned.route}`);
});

test('RA: accept_ra=0 ignores it (control)', { skip }, async (t) => {
  const { router, host } = await routerHostPair(t, 'ra0');
  assert.equal(await host.sysctl('net.ipv6.conf.eth0.accept_ra', '0'), '0');
  const before = (await snmp6(host, 'eth0')).Icmp6InRouterAdvertisements ?? 0;
  await sendRouterAdvertisement(router, 'rt0', { prefix: '2001:db8:2::/64' });
  await waitForRaArrival(host, before);
  assert.equal(await defaultRoute6(host), '');
});

test('helpers clean up: namespaces and processes are gone', { skip }, async () => {
  assert.deepEqual(liveNamespaces(), []);
  const now = await listNamespaces();
  const ours = now.filter((n) => n.includes(`-${process.pid}-`));
  assert.deepEqual(ours, [], 'namespaces of this process still listed');
  // Other concurrently running tests may add their own; none of ours may be new.
  assert.deepEqual(
    now.filter((n) => !nsBefore.includes(n) && n.includes(`-${process.pid}-`)),
    [],
  );
  for (const pid of startedPids) assert.equal(pidAlive(pid), false, `pid ${pid} still alive`);
});
