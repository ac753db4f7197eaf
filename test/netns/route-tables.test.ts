// The route-tables, routers and netconfig sources, checked against the kernel in network
// namespaces: the agent runs inside a host namespace and its report must say what the kernel
// does (ip route get, a UDP connect, the neighbour table).
//
// Run: node --import tsx --test test/netns/route-tables.test.ts   (root; skipped otherwise)
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { validateReport, type Report } from '../../packages/core/src/schema.js';
import { listNamespaces, liveNamespaces, probeConnect, rootSkipReason, sendRouterAdvertisement, waitFor, type Netns } from '../helpers/netns.js';
import { HOST6, PEER4, PEER6, twoHosts, type TwoHosts } from '../helpers/scenarios.js';

const skip = rootSkipReason();
const CLI = fileURLToPath(new URL('../../packages/agent/dist/cli.js', import.meta.url));
const ETC_FIXTURES = fileURLToPath(new URL('../fixtures/etc/', import.meta.url));

async function hosts(t: TestContext, prefix: string): Promise<TwoHosts> {
  const h = await twoHosts(prefix, { defaults: false });
  t.after(() => h.destroy());
  return h;
}

/** Runs the built agent inside ns and validates its report. */
async function scanIn(ns: Netns, args: string[] = [], env: string[] = []): Promise<Report> {
  const r = await ns.exec('env', [...env, process.execPath, CLI, 'scan', '--json', ...args], { timeoutMs: 20_000 });
  assert.equal(r.code, 0, `agent scan in ${ns.name} exited ${r.code}: ${r.stderr}`);
  const v = validateReport(JSON.parse(r.stdout) as unknown);
  assert.ok(v.ok, `report does not match its schema: ${JSON.stringify(!v.ok && v.problems)}`);
  return v.report;
}

const status = (report: Report, name: string) => report.sources.find((s) => s.name === name);

test('a default route only in table 100: listed with its table, no rule leads there, and the kernel says unreachable', { skip }, async (t) => {
  const { host } = await hosts(t, 'rt');
  await host.ip('-6', 'route', 'add', 'default', 'via', PEER6, 'dev', 'veth0', 'table', '100');
  await host.ip('route', 'add', 'default', 'via', PEER4, 'dev', 'veth0');
  const report = await scanIn(host);
  assert.deepEqual(status(report, 'route-tables'), { ...status(report, 'route-tables'), status: 'ok', ok: true });

  assert.deepEqual(
    report.tableDefaults.filter((d) => d.family === 6),
    [{ family: 6, table: '100', type: 'unicast', gateway: PEER6, interface: 'veth0', metric: 1024, protocol: 'boot', expires: false }],
  );
  assert.deepEqual(
    report.tableDefaults.filter((d) => d.family === 4).map((d) => [d.table, d.gateway]),
    [['main', PEER4]],
  );
  assert.deepEqual(report.routingRules.filter((r) => r.table === '100'), [], 'no rule looks up table 100');
  assert.deepEqual(
    report.routingRules.filter((r) => r.family === 6).map((r) => [r.priority, r.selector, r.action, r.table]),
    [
      [0, 'all', 'lookup', 'local'],
      [32766, 'all', 'lookup', 'main'],
    ],
  );
  // The trap the table id resolves: /proc/net/ipv6_route shows the default of table 100 too.
  assert.ok(report.routes.some((r) => r.family === 6 && r.prefixLength === 0 && r.gateway === PEER6), 'ipv6_route lists the table-100 default');

  const reach6 = report.reachability.find((r) => r.family === 6);
  assert.equal(reach6?.reachable, false, JSON.stringify(reach6));
  assert.equal(reach6?.error, 'ENETUNREACH');
  assert.equal(report.reachability.find((r) => r.family === 4)?.reachable, true);
  // The kernel, asked directly, agrees.
  const get = await host.exec('ip', ['-6', 'route', 'get', reach6!.target]);
  assert.notEqual(get.code, 0);
  assert.match(get.stderr, /Network is unreachable/);
});

test('with `ip -6 rule add from 2001:db8:9::/64 table 100` the rule is listed, and only that source reaches table 100', { skip }, async (t) => {
  const { host } = await hosts(t, 'rr');
  await host.ip('-6', 'route', 'add', 'default', 'via', PEER6, 'dev', 'veth0', 'table', '100');
  await host.ip('-6', 'rule', 'add', 'from', '2001:db8:9::/64', 'table', '100');
  const report = await scanIn(host);
  assert.deepEqual(report.routingRules.filter((r) => r.table === '100'), [
    { family: 6, priority: 32765, table: '100', selector: 'from 2001:db8:9::/64', action: 'lookup' },
  ]);
  // The kernel: a lookup from that prefix uses table 100; from the host's address it fails.
  const from9 = JSON.parse(await host.ip('-6', '-j', 'route', 'get', '2001:db8::1', 'from', '2001:db8:9::1')) as Array<{ gateway?: string }>;
  assert.equal(from9[0]?.gateway, PEER6);
  const fromHost = await host.exec('ip', ['-6', 'route', 'get', '2001:db8::1', 'from', HOST6]);
  assert.match(fromHost.stderr, /Network is unreachable/);
  assert.equal(report.reachability.find((r) => r.family === 6)?.reachable, false);
});

test('routers: the RA sender and a forwarding peer are listed as the neighbour table flags them; the RA default expires', { skip }, async (t) => {
  const { host, peer } = await hosts(t, 'rn');
  await peer.sysctl('net.ipv6.conf.all.forwarding', '1');
  const ra = await sendRouterAdvertisement(peer, 'veth1', { prefix: '2001:db8:2::/64', routerLifetime: 1800 });
  await waitFor(async () => (await host.ip('-6', 'route', 'show', 'default')).includes('proto ra'), { message: 'RA default route' });
  await probeConnect(host, 'udp', PEER6, 9, 300);
  await waitFor(async () => /2001:db8:1::1 .* router REACHABLE/.test(await host.ip('-6', 'neigh', 'show')), { message: 'peer flagged router' });
  const report = await scanIn(host);
  assert.deepEqual(status(report, 'routers'), { ...status(report, 'routers'), status: 'ok', ok: true });
  const kernelRouters = (JSON.parse(await host.ip('-6', '-j', 'neigh', 'show')) as Array<{ dst: string; router?: null }>).filter((n) => 'router' in n).map((n) => n.dst);
  assert.deepEqual(report.routers.map((r) => r.address).sort(), kernelRouters.sort());
  assert.ok(report.routers.some((r) => r.address === ra.source && r.interface === 'veth0'), 'the RA sender');
  assert.ok(report.routers.some((r) => r.address === PEER6 && r.state === 'REACHABLE'), 'the forwarding peer');
  assert.deepEqual(
    report.tableDefaults.filter((d) => d.family === 6),
    [{ family: 6, table: 'main', type: 'unicast', gateway: ra.source, interface: 'veth0', metric: 1024, protocol: 'ra', expires: true }],
  );
});

test('capture keeps the ip output and the configuration; the replay reports the same tables, rules, routers and config', { skip }, async (t) => {
  const { host } = await hosts(t, 'rc');
  await host.ip('-6', 'route', 'add', 'default', 'via', PEER6, 'dev', 'veth0', 'table', '100');
  await host.ip('-6', 'rule', 'add', 'from', '2001:db8:9::/64', 'table', '100');
  await host.ip('-6', 'route', 'add', 'unreachable', 'default', 'metric', '4096');
  const dir = mkdtempSync(join(tmpdir(), 'dualstack-capture-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const etcRoot = join(ETC_FIXTURES, 'netplan');
  const captured = await host.exec(process.execPath, [CLI, 'capture', dir, '--etc-root', etcRoot], { timeoutMs: 20_000 });
  assert.equal(captured.code, 0, captured.stderr);
  const live = await scanIn(host, ['--etc-root', etcRoot]);
  // The replay runs outside the namespace: it needs nothing but the capture.
  const replay = JSON.parse(execFileSync(process.execPath, [CLI, 'scan', '--json', '--proc-root', join(dir, 'proc')], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })) as Report;
  for (const name of ['route-tables', 'routers', 'netconfig']) assert.equal(status(replay, name)?.status, 'ok', name);
  assert.deepEqual(replay.tableDefaults, live.tableDefaults);
  assert.deepEqual(replay.routingRules, live.routingRules);
  assert.deepEqual(replay.routers, live.routers);
  assert.deepEqual(replay.networkConfig, live.networkConfig);
  assert.equal(live.networkConfig.systems[0], 'netplan');
  // Raw command output is kept as ip printed it; secrets are not kept at all.
  assert.equal(readFileSync(join(dir, 'ip-6-rules.json'), 'utf8'), (await host.exec('ip', ['-6', '-j', 'rule', 'show'])).stdout);
  const wifi = readFileSync(join(dir, 'etc/netplan/90-wifi.yaml'), 'utf8');
  assert.ok(!wifi.includes('correct horse'), wifi);
  assert.match(wifi, /password: <redacted>/);
});

test('without ip: route-tables and routers are absent and say why; the scan still completes', { skip }, async (t) => {
  const { host } = await hosts(t, 'ri');
  const report = await scanIn(host, [], ['PATH=/nonexistent']);
  for (const name of ['route-tables', 'routers']) {
    const s = status(report, name);
    assert.equal(s?.status, 'absent', name);
    assert.match(s?.detail ?? '', /ip \(iproute2\) is not installed/);
  }
  assert.deepEqual(report.tableDefaults, []);
});

test('cleanup: no namespace of these tests is left', { skip }, async () => {
  assert.deepEqual(liveNamespaces(), []);
  assert.deepEqual((await listNamespaces()).filter((n) => n.includes(`-${process.pid}-`)), []);
});
