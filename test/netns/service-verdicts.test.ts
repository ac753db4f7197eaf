// Every service verdict of the agent, checked against the kernel with real connects.
//
// The agent runs inside a host namespace holding one daemon-like process per row of the
// socket table (scenarios.ts servicePlan), with connections held open from a peer. Its
// report is then checked twice: against the table (modes, V6ONLY, owners, connection
// counts) and against the kernel (for every service and family, real connects from the peer
// to the host's addresses and from inside the host to loopback must do what the verdict says).
//
// Run: node --import tsx --test test/netns/service-verdicts.test.ts   (root; skipped otherwise)
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { validateReport, type Report, type Service, type Reach, type Family } from '../../packages/core/src/schema.js';
import {
  Netns,
  listNamespaces,
  liveNamespaces,
  pidAlive,
  probeConnect,
  rootSkipReason,
  startListeners,
  waitFor,
  type ConnectResult,
} from '../helpers/netns.js';
import {
  HOST4,
  HOST4_SECOND,
  HOST6,
  HOST6_SECOND,
  PEER4,
  PEER6,
  heldConnections,
  holdConnections,
  servicePlan,
  startDaemons,
  twoHosts,
  type TwoHosts,
} from '../helpers/scenarios.js';

const skip = rootSkipReason();
const CLI = fileURLToPath(new URL('../../packages/agent/dist/cli.js', import.meta.url));
/** Not the pyenv shim (a shell script that may exec under another name): the system python. */
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
/** Every pid these tests started; all must be gone at the end. */
const startedPids: number[] = [];

// ------------------------------------------------------------------ helpers

async function hosts(t: TestContext, prefix: string): Promise<TwoHosts> {
  const h = await twoHosts(prefix);
  t.after(() => h.destroy());
  return h;
}

/** Runs the built agent inside ns (optionally through `env`, e.g. PATH=/nonexistent) and validates its report. */
async function scanIn(ns: Netns, env: string[] = []): Promise<Report> {
  const r = env.length
    ? await ns.exec('env', [...env, process.execPath, CLI, 'scan', '--json'], { timeoutMs: 20_000 })
    : await ns.exec(process.execPath, [CLI, 'scan', '--json'], { timeoutMs: 20_000 });
  assert.equal(r.code, 0, `agent scan in ${ns.name} exited ${r.code}: ${r.stderr}`);
  const parsed = JSON.parse(r.stdout) as unknown;
  const v = validateReport(parsed);
  assert.ok(v.ok, `report does not match its schema: ${JSON.stringify(!v.ok && v.problems)}`);
  return v.report;
}

function serviceOf(report: Report, proto: 'tcp' | 'udp', port: number): Service {
  const found = report.services.filter((s) => s.proto === proto && s.port === port);
  assert.equal(found.length, 1, `exactly one ${proto}/${port} service expected, got ${JSON.stringify(found)}`);
  return found[0]!;
}

/** Runs fn over items with at most `limit` at a time, keeping order. */
async function pool<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** A python3 TCP listener on [::]:port that never touches IPV6_V6ONLY (plain socket module). */
async function startPythonListener(ns: Netns, port: number): Promise<number> {
  const script = [
    'import socket, sys, time',
    's = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)',
    's.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)',
    `s.bind(("::", ${port}))`,
    's.listen(16)',
    'print("READY", flush=True)',
    'held = []',
    'while True:',
    '    c, _ = s.accept()',
    '    held.append(c)',
  ].join('\n');
  const child: ChildProcess = ns.spawn(PYTHON, ['-c', script]);
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`python listener not ready in 10 s: ${stderr}`)), 10_000);
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      if (d.includes('READY')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`python listener exited ${code}: ${stderr}`));
    });
  });
  startedPids.push(child.pid!);
  return child.pid!;
}

// ------------------------------------------------------------------ the verdict oracle

/** primary/secondary: the host's two addresses of a family; source: the one its route to the peer uses. */
type Target = 'primary' | 'secondary' | 'source' | 'loopback';

interface Probe {
  service: string;
  proto: 'tcp' | 'udp';
  port: number;
  family: Family;
  verdict: Reach;
  target: Target;
  address: string;
  expected: boolean;
}

interface ProbeOutcome extends Probe {
  result: ConnectResult;
}

type Addrs = Record<Family, Record<Target, string>>;

/**
 * The host's addresses per family, and which of them the kernel picks as source towards the
 * peer (`ip route get`). For IPv6 that is the newest address, 2001:db8:1::3 (RFC 6724 source
 * selection ties; Linux lists the newest address first), not the "primary" 2001:db8:1::2.
 */
async function hostAddresses(host: Netns): Promise<Addrs> {
  const source = async (args: string[]): Promise<string> => {
    const routes = JSON.parse(await host.ip('-j', ...args)) as Array<{ prefsrc?: string }>;
    const src = routes[0]?.prefsrc;
    assert.ok(src, `no source address in ip ${args.join(' ')}: ${JSON.stringify(routes)}`);
    return src;
  };
  return {
    4: { primary: HOST4, secondary: HOST4_SECOND, source: await source(['route', 'get', PEER4]), loopback: '127.0.0.1' },
    6: { primary: HOST6, secondary: HOST6_SECOND, source: await source(['-6', 'route', 'get', PEER6]), loopback: '::1' },
  };
}

/** Addresses of `family` a service is bound to specifically (mapped ::ffff: bindings count for IPv4). */
function boundAddresses(service: Service, family: Family): Set<string> {
  const out = new Set<string>();
  for (const b of service.bindings) {
    if (family === 4 && b.family === 6 && b.address.startsWith('::ffff:')) out.add(b.address.slice(7));
    else if (b.family === family) out.add(b.address);
  }
  return out;
}

/** What a connect must do, given the verdict (the contract of Reach in report.ts). */
function expectedOutcome(verdict: Reach, target: Target, address: string, bound: Set<string>): boolean {
  switch (verdict) {
    case 'any':
      return true;
    case 'addresses':
      return target !== 'loopback' && bound.has(address);
    case 'loopback':
      return target === 'loopback';
    case 'none':
      return false;
  }
}

function probesFor(service: Service, addrs: Addrs): Probe[] {
  // UDP: a wildcard socket without IP_PKTINFO answers from the source address the route to the
  // client picks, not from the address the datagram was sent to, so the probe's connected
  // socket drops replies sent to any other address of the host. UDP is therefore checked on
  // one address per family only, the route's source address (192.0.2.2, but 2001:db8:1::3 for
  // IPv6: see hostAddresses), and on loopback.
  const targets: Target[] = service.proto === 'tcp' ? ['primary', 'secondary', 'loopback'] : ['source', 'loopback'];
  const name = `${service.proto}/${service.port} ${service.process ?? '?'}`;
  const probes: Probe[] = [];
  for (const family of [4, 6] as const) {
    const verdict = family === 4 ? service.ipv4 : service.ipv6;
    const bound = boundAddresses(service, family);
    for (const target of targets) {
      const address = addrs[family][target];
      probes.push({ service: name, proto: service.proto, port: service.port, family, verdict, target, address, expected: expectedOutcome(verdict, target, address, bound) });
    }
  }
  return probes;
}

/** Connects for real: from the peer to the host's addresses, from inside the host to loopback. */
async function runProbes({ host, peer }: TwoHosts, probes: Probe[]): Promise<ProbeOutcome[]> {
  return pool(probes, 8, async (p) => {
    const from = p.target === 'loopback' ? host : peer;
    return { ...p, result: await probeConnect(from, p.proto, p.address, p.port, 1500) };
  });
}

function describe(o: ProbeOutcome): string {
  const did = o.result.ok ? 'connected' : `failed (${o.result.error})`;
  return `${o.service} IPv${o.family} verdict '${o.verdict}': ${o.target} ${o.address} ${did}, expected ${o.expected ? 'success' : 'failure'}`;
}

// ------------------------------------------------------------------ tests

/** From the socket table of docs/linux-facts.md, per process of servicePlan. */
const expectedServices: Record<string, { proto: 'tcp' | 'udp'; port: number; ipv4: Reach; ipv6: Reach; mode: Service['mode'] }> = {
  sshd: { proto: 'tcp', port: 22, ipv4: 'any', ipv6: 'any', mode: 'dual-separate' },
  apache2: { proto: 'tcp', port: 80, ipv4: 'any', ipv6: 'any', mode: 'dual-mapped' },
  'sendmail-mta': { proto: 'tcp', port: 25, ipv4: 'any', ipv6: 'none', mode: 'ipv4-only' },
  v6daemon: { proto: 'tcp', port: 8443, ipv4: 'none', ipv6: 'any', mode: 'ipv6-only' },
  'redis-server': { proto: 'tcp', port: 6379, ipv4: 'loopback', ipv6: 'none', mode: 'loopback-only' },
  memcached: { proto: 'tcp', port: 11211, ipv4: 'none', ipv6: 'loopback', mode: 'loopback-only' },
  postgres: { proto: 'tcp', port: 5432, ipv4: 'addresses', ipv6: 'none', mode: 'ipv4-only' },
  mariadbd: { proto: 'tcp', port: 3306, ipv4: 'none', ipv6: 'addresses', mode: 'ipv6-only' },
  named: { proto: 'udp', port: 53, ipv4: 'any', ipv6: 'any', mode: 'dual-separate' },
  'avahi-daemon': { proto: 'udp', port: 5353, ipv4: 'any', ipv6: 'any', mode: 'dual-mapped' },
  nginx: { proto: 'tcp', port: 8080, ipv4: 'any', ipv6: 'any', mode: 'dual-separate' },
};

test('every service verdict of the socket table agrees with real connects', { skip }, async (t) => {
  const two = await hosts(t, 'sv');
  const { host, peer } = two;
  const daemons = await startDaemons(host, servicePlan);
  for (const d of daemons) startedPids.push(d.pid, ...d.workers.flat());
  assert.equal(await holdConnections(peer, heldConnections), heldConnections.reduce((n, [, , c]) => n + c, 0));

  const report = await scanIn(host);
  assert.equal(report.sources.find((s) => s.name === 'sockdiag')?.status, 'ok');
  assert.equal(report.host.privileged, true);
  assert.equal(report.services.length, servicePlan.length, `one service per daemon: ${report.services.map((s) => `${s.proto}/${s.port} ${s.process}`).join(', ')}`);

  // ---- the table: owners, modes, verdicts, V6ONLY as set by each daemon
  servicePlan.forEach((daemon, i) => {
    const want = expectedServices[daemon.title]!;
    const s = serviceOf(report, want.proto, want.port);
    const started = daemons[i]!;
    assert.equal(s.process, daemon.title, `${want.proto}/${want.port} process`);
    assert.equal(s.pid, started.pid, `${daemon.title} pid is the listener (master) pid`);
    assert.deepEqual(s.sharedWith, [...started.workers.flat()].sort((a, b) => a - b), `${daemon.title} sharedWith`);
    assert.deepEqual({ ipv4: s.ipv4, ipv6: s.ipv6, mode: s.mode }, { ipv4: want.ipv4, ipv6: want.ipv6, mode: want.mode }, `${daemon.title} verdicts`);
    // Each spec is one binding, with the V6ONLY flag the daemon set, read from sock_diag for `::`.
    assert.equal(s.bindings.length, daemon.specs.length, `${daemon.title} bindings`);
    for (const spec of daemon.specs) {
      const b = s.bindings.find((x) => x.address === spec.address);
      assert.ok(b, `${daemon.title}: binding ${spec.address} missing from ${JSON.stringify(s.bindings)}`);
      if (spec.address === '::') {
        assert.equal(b.v6onlySource, 'sock_diag', `${daemon.title} [::]:${spec.port} v6onlySource`);
        assert.equal(b.v6only, spec.ipv6Only === true, `${daemon.title} [::]:${spec.port} v6only`);
      } else if (b.family === 4) {
        assert.equal(b.v6onlySource, 'not-applicable');
      }
    }
  });
  const nginx = serviceOf(report, 'tcp', 8080);
  assert.equal(nginx.sharedWith.length, 2, 'nginx: the 2 workers share the master socket');

  // ---- established connections held from the peer
  assert.deepEqual(serviceOf(report, 'tcp', 22).connections, { ipv4: 3, ipv6: 2, mapped: 0 });
  assert.deepEqual(serviceOf(report, 'tcp', 80).connections, { ipv4: 0, ipv6: 1, mapped: 4 });
  for (const s of report.services.filter((x) => x.port !== 22 && x.port !== 80)) {
    assert.deepEqual(s.connections, { ipv4: 0, ipv6: 0, mapped: 0 }, `${s.proto}/${s.port} ${s.process} connections`);
  }
  assert.deepEqual(report.connections, { ipv4: 3, ipv6: 3, mapped: 4, unattributed: 0 });

  // ---- the kernel: every verdict of every service, every family, by real connects
  const addrs = await hostAddresses(host);
  t.diagnostic(`route source towards the peer: ${addrs[4].source}, ${addrs[6].source}`);
  const probes = report.services.flatMap((s) => probesFor(s, addrs));
  const t0 = Date.now();
  const outcomes = await runProbes(two, probes);
  const contradicted = outcomes.filter((o) => o.result.ok !== o.expected);
  t.diagnostic(
    `${outcomes.length} connects in ${Date.now() - t0} ms: ${outcomes.filter((o) => o.result.ok).length} connected, ` +
      `${outcomes.filter((o) => !o.result.ok).length} failed, ${contradicted.length} contradict the verdict`,
  );
  for (const o of contradicted) t.diagnostic(`CONTRADICTED: ${describe(o)}`);
  // Failures must be refusals: every address exists and is on-link, nothing may time out.
  for (const o of outcomes.filter((x) => !x.result.ok)) {
    assert.equal(o.result.error, 'ECONNREFUSED', `unexpected failure kind: ${describe(o)}`);
  }
  assert.deepEqual(contradicted.map(describe), [], 'verdicts the kernel contradicts');
});

test('bindv6only=1: python\'s :: socket is IPv6-only, Node\'s V6ONLY=0 socket still takes IPv4', { skip }, async (t) => {
  const two = await hosts(t, 'sb');
  const { host } = two;
  assert.equal(await host.sysctl('net.ipv6.bindv6only', '1'), '1');
  const pyPid = await startPythonListener(host, 9002);
  const node = await startListeners(host, [{ proto: 'tcp', address: '::', port: 9001, ipv6Only: false, title: 'nodesrv' }]);
  startedPids.push(node.pid);

  const report = await scanIn(host);
  assert.equal(report.sysctl.bindv6only, 1);
  const py = serviceOf(report, 'tcp', 9002);
  assert.equal(py.pid, pyPid);
  assert.match(py.process ?? '', /^python/);
  assert.deepEqual(py.bindings.map((b) => [b.address, b.v6only, b.v6onlySource]), [['::', true, 'sock_diag']]);
  assert.deepEqual({ ipv4: py.ipv4, ipv6: py.ipv6, mode: py.mode }, { ipv4: 'none', ipv6: 'any', mode: 'ipv6-only' });
  const nd = serviceOf(report, 'tcp', 9001);
  assert.equal(nd.pid, node.pid);
  assert.equal(nd.process, 'nodesrv');
  assert.deepEqual(nd.bindings.map((b) => [b.address, b.v6only, b.v6onlySource]), [['::', false, 'sock_diag']]);
  assert.deepEqual({ ipv4: nd.ipv4, ipv6: nd.ipv6, mode: nd.mode }, { ipv4: 'any', ipv6: 'any', mode: 'dual-mapped' });

  // The kernel agrees: python refuses IPv4, Node takes it (as ::ffff:192.0.2.1); both take IPv6.
  const addrs = await hostAddresses(host);
  const outcomes = await runProbes(two, [...probesFor(py, addrs), ...probesFor(nd, addrs)]);
  const contradicted = outcomes.filter((o) => o.result.ok !== o.expected);
  assert.deepEqual(contradicted.map(describe), []);
  const v4 = (port: number) => outcomes.find((o) => o.port === port && o.family === 4 && o.target === 'primary')!.result;
  assert.equal(v4(9002).ok, false);
  assert.equal(v4(9002).error, 'ECONNREFUSED');
  assert.equal(v4(9001).ok, true);
  await waitFor(() => node.events.some((e) => e.kind === 'ACCEPT' && e.remoteAddress === '::ffff:192.0.2.1'), { message: 'node saw the IPv4 peer mapped' });
});

test('without ss: sockdiag is absent and V6ONLY of :: sockets is inferred from bindv6only (and can be wrong)', { skip }, async (t) => {
  const ns = await Netns.create('sn');
  t.after(() => ns.destroy());
  assert.equal(await ns.sysctl('net.ipv6.bindv6only'), '0');
  const l = await startListeners(ns, [
    { proto: 'tcp', address: '::', port: 7001, ipv6Only: true },
    { proto: 'tcp', address: '::', port: 7002, ipv6Only: false },
    { proto: 'tcp', address: '::1', port: 7003 },
    { proto: 'tcp', address: '0.0.0.0', port: 7004 },
    { proto: 'udp', address: '::', port: 7005, ipv6Only: true },
  ]);
  startedPids.push(l.pid);
  const binding = (r: Report, proto: 'tcp' | 'udp', port: number) => {
    const s = serviceOf(r, proto, port);
    assert.equal(s.bindings.length, 1);
    return { v6only: s.bindings[0]!.v6only, source: s.bindings[0]!.v6onlySource, ipv4: s.ipv4, mode: s.mode };
  };

  // With ss: the truth, for reference.
  const truth = await scanIn(ns);
  assert.deepEqual(binding(truth, 'tcp', 7001), { v6only: true, source: 'sock_diag', ipv4: 'none', mode: 'ipv6-only' });
  assert.deepEqual(binding(truth, 'tcp', 7002), { v6only: false, source: 'sock_diag', ipv4: 'any', mode: 'dual-mapped' });

  // Without ss (no PATH to it; node by absolute path).
  const blind = await scanIn(ns, ['PATH=/nonexistent']);
  const sd = blind.sources.find((s) => s.name === 'sockdiag');
  assert.equal(sd?.status, 'absent');
  assert.equal(sd?.ok, true);
  assert.match(sd?.detail ?? '', /\bss\b/);
  assert.equal(blind.sysctl.bindv6only, 0);
  // A :: socket's flag is inferred from bindv6only=0: false. For 7001 (Node set V6ONLY=1 itself)
  // that inference is WRONG and the report claims IPv4 reach the kernel refuses; the report
  // does mark it 'inferred', which is exactly why the rule service-v6only-unknown exists.
  assert.deepEqual(binding(blind, 'tcp', 7001), { v6only: false, source: 'inferred', ipv4: 'any', mode: 'dual-mapped' });
  assert.deepEqual(binding(blind, 'tcp', 7002), { v6only: false, source: 'inferred', ipv4: 'any', mode: 'dual-mapped' });
  assert.deepEqual(binding(blind, 'udp', 7005), { v6only: false, source: 'inferred', ipv4: 'any', mode: 'dual-mapped' });
  // A socket bound to a specific IPv6 address is V6ONLY whatever the flag: implicit, not inferred.
  assert.deepEqual(binding(blind, 'tcp', 7003), { v6only: true, source: 'implicit', ipv4: 'none', mode: 'loopback-only' });
  assert.deepEqual(binding(blind, 'tcp', 7004), { v6only: null, source: 'not-applicable', ipv4: 'any', mode: 'ipv4-only' });
  // The kernel: 7001 refuses IPv4 although the inferred verdict says 'any'; 7002 takes it.
  const v4_7001 = await probeConnect(ns, 'tcp', '127.0.0.1', 7001);
  assert.deepEqual([v4_7001.ok, v4_7001.error], [false, 'ECONNREFUSED']);
  assert.equal((await probeConnect(ns, 'tcp', '127.0.0.1', 7002)).ok, true);

  // bindv6only=1 now (existing sockets keep their flags): the inference flips for every ::
  // socket, and this time it is 7002 (V6ONLY=0 set by Node) that is inferred wrong.
  assert.equal(await ns.sysctl('net.ipv6.bindv6only', '1'), '1');
  const blind1 = await scanIn(ns, ['PATH=/nonexistent']);
  assert.equal(blind1.sources.find((s) => s.name === 'sockdiag')?.status, 'absent');
  assert.deepEqual(binding(blind1, 'tcp', 7001), { v6only: true, source: 'inferred', ipv4: 'none', mode: 'ipv6-only' });
  assert.deepEqual(binding(blind1, 'tcp', 7002), { v6only: true, source: 'inferred', ipv4: 'none', mode: 'ipv6-only' });
  assert.equal((await probeConnect(ns, 'tcp', '127.0.0.1', 7002)).ok, true, 'the kernel still takes IPv4 on 7002');
});

test('cleanup: no namespace and no process of these tests is left', { skip }, async () => {
  assert.deepEqual(liveNamespaces(), []);
  const mine = (await listNamespaces()).filter((n) => n.includes(`-${process.pid}-`));
  assert.deepEqual(mine, []);
  const alive = startedPids.filter(pidAlive);
  assert.deepEqual(alive, [], 'processes still alive');
});
