// The routing findings of the agent, and the fixes it prints, checked against the kernel.
//
// Each scenario builds a router and a host in two network namespaces joined by veth
// (test/helpers/router.ts: host veth0 2001:db8:2::2/64 + 192.0.2.2/24, router veth1
// 2001:db8:2::1/64 + 192.0.2.1/24, the router forwarding), breaks the host's routing in one
// known way, runs the built agent inside the host, and checks the finding against what the
// kernel says (`ip route get`). Then it runs the fix the agent printed, line by line, inside
// the host namespace, and shows that the kernel now routes and that a fresh scan is clean.
//
// Fix lines are run with `sh -c` inside the host namespace only, and only when they act on
// the namespace alone (see outsideNamespace()): comments ('#...') are placeholders, and lines
// that write files or drive the machine's network configuration would change THIS machine,
// because a network namespace shares the filesystem and the init system with it.
//
// Run: node scripts/run-tests.mjs test/netns/findings   (root; skipped otherwise)
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { validateReport, type Finding, type Report } from '../../packages/core/src/schema.js';
import { liveNamespaces, listNamespaces, rootSkipReason, sendRouterAdvertisement, snmp6, startListeners, waitFor, type ExecResult, type Netns } from '../helpers/netns.js';
import { servicePlan } from '../helpers/scenarios.js';
import { HOST_IF, ROUTER4, ROUTER6, ROUTER_IF, routedHost, type RoutedHost } from '../helpers/router.js';

const skip = rootSkipReason();
const CLI = fileURLToPath(new URL('../../packages/agent/dist/cli.js', import.meta.url));
/** Global destinations no route of the scenario covers: only a default route reaches them. */
const FAR6 = '2001:db8:ffff::1';
const FAR4 = '198.51.100.1';
const ROUTING_RULES = ['ipv6-unroutable', 'ipv4-unroutable', 'ipv6-ra-ignored'];

// ------------------------------------------------------------------ helpers

async function routed(t: TestContext, prefix: string, defaults: { 4?: boolean; 6?: boolean }): Promise<RoutedHost> {
  const r = await routedHost(prefix, { defaults });
  t.after(() => r.destroy());
  return r;
}

/** Runs the built agent inside ns and validates its report against the schema. */
async function scan(t: TestContext, ns: Netns, label: string): Promise<Report> {
  const r = await ns.exec(process.execPath, [CLI, 'scan', '--json'], { timeoutMs: 20_000 });
  assert.equal(r.code, 0, `agent scan in ${ns.name} exited ${r.code}: ${r.stderr}`);
  const v = validateReport(JSON.parse(r.stdout) as unknown);
  assert.ok(v.ok, `report does not match its schema: ${JSON.stringify(!v.ok && v.problems)}`);
  const report = v.report;
  // The routing rules stand on these sources; a failed one would make any verdict meaningless.
  for (const name of ['ipv6_route', 'route', 'route-tables', 'routers', 'sysctl', 'reachability']) {
    const s = report.sources.find((x) => x.name === name);
    assert.ok(s, `source ${name} missing from the report (is packages/agent/dist up to date?): ${report.sources.map((x) => x.name).join(', ')}`);
    assert.equal(s.status, 'ok', `source ${name}: ${s.status} ${s.error ?? ''}`);
  }
  t.diagnostic(`scan ${label}: ${show(report.findings)}`);
  return report;
}

function show(findings: Finding[]): string {
  return findings.length === 0 ? 'no findings' : findings.map((f) => `\n    [${f.severity}] ${f.rule} (${f.subject}): ${f.message}`).join('');
}

const alarms = (r: Report): Finding[] => r.findings.filter((f) => f.severity === 'warning' || f.severity === 'critical');
const ofRule = (r: Report, rule: string): Finding[] => r.findings.filter((f) => f.rule === rule);

function only(r: Report, rule: string): Finding {
  const hits = ofRule(r, rule);
  assert.equal(hits.length, 1, `exactly one ${rule} expected, got ${show(r.findings)}`);
  return hits[0]!;
}

/** `ip [-6] route get DEST` inside ns: the kernel's own answer. */
async function routeGet(t: TestContext, ns: Netns, dest: string): Promise<ExecResult> {
  const args = dest.includes(':') ? ['-6', 'route', 'get', dest] : ['route', 'get', dest];
  const r = await ns.exec('ip', args, { timeoutMs: 10_000 });
  t.diagnostic(`kernel: ip ${args.join(' ')} -> exit ${r.code}: ${(r.stdout || r.stderr).trim()}`);
  return r;
}

async function assertUnreachable(t: TestContext, ns: Netns, dest: string): Promise<void> {
  const r = await routeGet(t, ns, dest);
  assert.notEqual(r.code, 0, `ip route get ${dest} should fail, got: ${r.stdout}`);
  assert.match(r.stderr, /Network is unreachable/);
}

async function assertRoutes(t: TestContext, ns: Netns, dest: string, via?: RegExp): Promise<string> {
  const r = await routeGet(t, ns, dest);
  assert.equal(r.code, 0, `ip route get ${dest} failed: ${r.stderr}`);
  if (via) assert.match(r.stdout, via);
  return r.stdout;
}

/**
 * Why a fix line must not be run by this test, or null when it acts on the namespace only.
 * The host namespace shares this machine's filesystem, init system and kernel-wide sysctls:
 * a line that writes /etc (sysctl.d, interfaces, netplan...), restarts networking
 * (systemctl, netplan apply, nmcli, networkctl, ifup/ifdown) or sets a sysctl outside
 * net.ipv4/net.ipv6 would change the real machine, not the namespace under test.
 */
function outsideNamespace(line: string): string | null {
  if (/>>?\s*(?!\/proc\/sys\/net\/)[^\s&|;]*\//.test(line) || /\btee\b/.test(line)) return 'writes a file (the namespace shares this machine\'s /etc)';
  const segments = line.split(/&&|\|\||[;|`]|\$\(/).map((s) => s.trim().replace(/^\(+/, '').replace(/^sudo\s+/, ''));
  for (const seg of segments) {
    const [cmd = '', ...args] = seg.split(/\s+/);
    if (/^(systemctl|service|netplan|nmcli|nmtui|networkctl|resolvectl|ifup|ifdown|ifreload|dhclient|update-grub|grubby|reboot|shutdown)$/.test(cmd)) {
      return `runs ${cmd}, which acts on this machine's network configuration or init system, not on the namespace`;
    }
    if (/^(cp|mv|rm|install|touch|mkdir|ln|chmod|chown|tee|dd)$/.test(cmd) || (cmd === 'sed' && args.some((a) => /^-\w*i/.test(a)))) {
      return `runs ${cmd}, which changes files shared with this machine`;
    }
    if (cmd === 'sysctl') {
      if (args.some((a) => /^(-p|--system|--load)/.test(a))) return 'loads sysctl files of this machine (kernel-wide keys included)';
      const keys = args.filter((a) => !a.startsWith('-')).map((a) => a.split('=')[0]!);
      if (keys.some((k) => !/^net[./]ipv[46][./]/.test(k))) return `sets ${keys.join(', ')}: not all are per-namespace (net.ipv4/net.ipv6) keys`;
    }
  }
  return null;
}

interface FixRun {
  ran: Array<{ line: string; result: ExecResult }>;
  skipped: Array<{ line: string; why: string }>;
}

/** Runs a finding's fix inside ns: non-comment lines acting on the namespace only; each must exit 0. */
async function runFix(t: TestContext, ns: Netns, f: Finding): Promise<FixRun> {
  const out: FixRun = { ran: [], skipped: [] };
  for (const line of f.fix.commands) {
    if (line.trim() === '' || line.trim().startsWith('#')) {
      out.skipped.push({ line, why: 'comment / placeholder' });
      continue;
    }
    const why = outsideNamespace(line);
    if (why) {
      out.skipped.push({ line, why });
      t.diagnostic(`fix ${f.rule}: NOT run: ${line}   (${why})`);
      continue;
    }
    const result = await ns.exec('sh', ['-c', line], { timeoutMs: 15_000 });
    t.diagnostic(`fix ${f.rule}: ran in ${ns.name}: ${line} -> exit ${result.code}${result.stderr.trim() ? `: ${result.stderr.trim()}` : ''}`);
    out.ran.push({ line, result });
  }
  for (const { line, result } of out.ran) assert.equal(result.code, 0, `fix line of ${f.rule} failed in the kernel: ${line}\n${result.stderr}`);
  return out;
}

interface RouteJson {
  dst: string;
  gateway?: string;
  dev?: string;
  protocol?: string;
}

async function ipv6Defaults(ns: Netns): Promise<RouteJson[]> {
  return JSON.parse((await ns.ip('-6', '-j', 'route', 'show', 'default')) || '[]') as RouteJson[];
}

// ------------------------------------------------------------------ the self-check of the filter

test('fix-line filter: keeps namespace-only commands, drops writes to this machine', () => {
  assert.equal(outsideNamespace('ip -6 route add default via 2001:db8:2::1 dev veth0'), null);
  assert.equal(outsideNamespace('sysctl -w net.ipv6.conf.veth0.accept_ra=2'), null);
  assert.equal(outsideNamespace('sysctl -w net/ipv6/conf/veth0.100/accept_ra=2'), null);
  for (const line of [
    "grep -qsxF 'net.ipv6.conf.veth0.accept_ra = 2' /etc/sysctl.d/60-dualstack.conf || echo 'net.ipv6.conf.veth0.accept_ra = 2' >> /etc/sysctl.d/60-dualstack.conf",
    'ifdown veth0 && ifup veth0',
    'ifdown veth0; ifup veth0',
    'netplan apply',
    'networkctl reload',
    'nmcli connection modify "$(nmcli -g GENERAL.CONNECTION device show veth0)" ipv6.gateway 2001:db8:2::1',
    "sed -i 's/ *ipv6.disable=1//' /etc/default/grub && update-grub",
    'systemctl reboot',
    'sysctl --system',
    'sysctl -w kernel.panic=1',
    'printf x | tee -a /etc/sysctl.conf',
  ]) {
    assert.ok(outsideNamespace(line), `must not run: ${line}`);
  }
});

// ------------------------------------------------------------------ 1. no IPv6 default route

test('1. no IPv6 default: ipv6-unroutable; the router answers as router, the printed default route fixes it', { skip }, async (t) => {
  const { host } = await routed(t, 'f1', { 4: true });
  await assertUnreachable(t, host, FAR6);

  // (a) Nothing on the host names a gateway: the finding says why and offers only placeholders.
  const before = await scan(t, host, 'before (no gateway known)');
  assert.deepEqual(alarms(before).map((f) => f.rule), ['ipv6-unroutable'], `only ipv6-unroutable expected: ${show(before.findings)}`);
  const f = only(before, 'ipv6-unroutable');
  assert.equal(f.severity, 'critical');
  assert.equal(f.subject, 'host');
  assert.match(f.message, /2001:db8:2::2/);
  assert.match(f.message, /ENETUNREACH/);
  assert.match(f.message, /no IPv6 default route in any table/);
  assert.ok(f.evidence.some((e) => /no gateway candidate/.test(e)), `evidence: ${f.evidence.join(' | ')}`);
  const runnable = f.fix.commands.filter((l) => !l.trim().startsWith('#'));
  assert.deepEqual(runnable, [], `no gateway is known, so every fix line must be a comment: ${f.fix.commands.join(' | ')}`);

  // (b) Talk to the router once: it forwards, so its neighbour advertisement carries the
  // Router flag (RFC 4861 7.2.4) and the host's neighbour table marks it as a router.
  await host.exec(process.execPath, ['-e', `const s=require('node:dgram').createSocket('udp6');s.send('x',9,'${ROUTER6}',()=>setTimeout(()=>s.close(),200))`]);
  const neigh = await waitFor(async () => {
    const n = await host.ip('-6', 'neigh', 'show', ROUTER6, 'dev', HOST_IF);
    return /\brouter\b/.test(n) && n.trim();
  }, { message: `${ROUTER6} not flagged as router in the host's neighbour table` });
  t.diagnostic(`kernel: ip -6 neigh show ${ROUTER6} -> ${neigh}`);

  const candidate = await scan(t, host, 'before (router neighbour known)');
  const g = only(candidate, 'ipv6-unroutable');
  assert.equal(g.fix.commands[0], `ip -6 route add default via ${ROUTER6} dev ${HOST_IF}`);
  assert.ok(g.evidence.some((e) => /neighbour flagged as router/.test(e)), `evidence: ${g.evidence.join(' | ')}`);

  const fix = await runFix(t, host, g);
  assert.ok(fix.ran.length >= 1);
  await assertRoutes(t, host, FAR6, new RegExp(`via ${ROUTER6} dev ${HOST_IF}`));
  const after = await scan(t, host, 'after the fix');
  assert.deepEqual(alarms(after), [], `no warning or critical expected after the fix: ${show(after.findings)}`);
});

// ------------------------------------------------------------------ 2. default only in table 100

test('2. IPv6 default only in table 100: ipv6-unroutable names the table; its fix makes the kernel route', { skip }, async (t) => {
  const { host } = await routed(t, 'f2', { 4: true });
  await host.ip('-6', 'route', 'add', 'default', 'via', ROUTER6, 'dev', HOST_IF, 'table', '100');
  await assertUnreachable(t, host, FAR6);
  // The trap: /proc/net/ipv6_route lists the table-100 default without a table id.
  const procRoutes = await host.exec('cat', ['/proc/net/ipv6_route']);
  assert.match(procRoutes.stdout, /^0{32} 00 0{32} 00 20010db8000200000000000000000001 /m, 'the table-100 default shows in /proc/net/ipv6_route');

  const before = await scan(t, host, 'before');
  assert.ok(before.tableDefaults.some((d) => d.family === 6 && d.table === '100' && d.gateway === ROUTER6), `tableDefaults: ${JSON.stringify(before.tableDefaults)}`);
  assert.deepEqual(alarms(before).map((f) => f.rule), ['ipv6-unroutable'], show(before.findings));
  const f = only(before, 'ipv6-unroutable');
  assert.equal(f.severity, 'critical');
  assert.match(f.message, /table 100/);
  assert.ok(f.evidence.some((e) => /table 100/.test(e)), `evidence: ${f.evidence.join(' | ')}`);
  assert.equal(f.fix.commands[0], `ip -6 route add default via ${ROUTER6} dev ${HOST_IF}`);

  await runFix(t, host, f);
  await assertRoutes(t, host, FAR6, new RegExp(`via ${ROUTER6} dev ${HOST_IF}`));
  const after = await scan(t, host, 'after the fix');
  assert.deepEqual(ofRule(after, 'ipv6-unroutable'), [], show(after.findings));
  assert.deepEqual(alarms(after), [], show(after.findings));
});

// ------------------------------------------------------------------ 3. a working static default

test('3. static defaults that work: no routing finding', { skip }, async (t) => {
  const { host } = await routed(t, 'f3', { 4: true, 6: true });
  await assertRoutes(t, host, FAR6, new RegExp(`via ${ROUTER6}`));
  await assertRoutes(t, host, FAR4, new RegExp(`via ${ROUTER4}`));
  const report = await scan(t, host, 'static defaults');
  for (const rule of ROUTING_RULES) assert.deepEqual(ofRule(report, rule), [], `${rule} must not fire: ${show(report.findings)}`);
  assert.deepEqual(
    report.reachability.map((r) => [r.family, r.reachable]).sort(),
    [[4, true], [6, true]],
    `the agent's own probe must agree with ip route get: ${JSON.stringify(report.reachability)}`,
  );
});

// ------------------------------------------------------------------ 4. forwarding=1 + accept_ra=1

async function forwardingHostIgnoringRa(t: TestContext, prefix: string): Promise<{ r: RoutedHost; raSource: string; report: Report }> {
  const r = await routed(t, prefix, { 4: true });
  const { host, router } = r;
  // A container host: forwarding on (all.forwarding sets every interface), accept_ra left at 1.
  await host.sysctl('net.ipv6.conf.all.forwarding', '1');
  assert.equal(await host.sysctl(`net.ipv6.conf.${HOST_IF}.forwarding`), '1');
  assert.equal(await host.sysctl(`net.ipv6.conf.${HOST_IF}.accept_ra`), '1');
  const inBefore = (await snmp6(host, HOST_IF)).Icmp6InRouterAdvertisements ?? 0;
  const ra = await sendRouterAdvertisement(router, ROUTER_IF, { routerLifetime: 1800 });
  // The RA did arrive (the counter moved), and the kernel still learned no default from it.
  await waitFor(async () => ((await snmp6(host, HOST_IF)).Icmp6InRouterAdvertisements ?? 0) > inBefore, { message: 'RA not received' });
  t.diagnostic(`RA from ${ra.source} received by ${HOST_IF} (Icmp6InRouterAdvertisements ${inBefore} -> ${(await snmp6(host, HOST_IF)).Icmp6InRouterAdvertisements})`);
  assert.deepEqual(await ipv6Defaults(host), [], 'forwarding=1 with accept_ra=1 must not learn a default');
  await assertUnreachable(t, host, FAR6);

  const report = await scan(t, host, 'before');
  assert.deepEqual(alarms(report).map((f) => f.rule).sort(), ['ipv6-ra-ignored', 'ipv6-unroutable'], show(report.findings));
  const ignored = only(report, 'ipv6-ra-ignored');
  assert.equal(ignored.severity, 'warning');
  assert.equal(ignored.subject, HOST_IF);
  const unroutable = only(report, 'ipv6-unroutable');
  assert.equal(unroutable.severity, 'critical');
  assert.ok(
    unroutable.evidence.some((e) => /forwarding=1\) with accept_ra=1/.test(e)),
    `the cause (forwarding with accept_ra=1) must be named: ${unroutable.evidence.join(' | ')}`,
  );
  return { r, raSource: ra.source, report };
}

/** Runs every finding's fix in the order the scan prints them, as an operator would. */
async function runEveryFix(t: TestContext, ns: Netns, report: Report): Promise<string[]> {
  const ran: string[] = [];
  for (const f of report.findings) ran.push(...(await runFix(t, ns, f)).ran.map((x) => x.line));
  return ran;
}

/** After the fixes and one more RA: the default is the router's own (proto ra), and a rescan is clean. */
async function assertRaDefaultAfterFix(t: TestContext, r: RoutedHost, raSource: string): Promise<void> {
  const { host, router } = r;
  await sendRouterAdvertisement(router, ROUTER_IF, { routerLifetime: 1800 });
  const learned = await waitFor(async () => (await ipv6Defaults(host)).find((d) => d.gateway === raSource && d.protocol === 'ra'), {
    message: `no RA default via ${raSource} after the printed fixes`,
  });
  t.diagnostic(`kernel: default via ${learned.gateway} dev ${learned.dev} proto ${learned.protocol}`);
  const defaults = await ipv6Defaults(host);
  assert.deepEqual(defaults.map((d) => d.protocol), ['ra'], `the only default must be the RA-learned one: ${JSON.stringify(defaults)}`);
  await assertRoutes(t, host, FAR6, new RegExp(`via ${raSource} dev ${HOST_IF} proto ra`));
  const after = await scan(t, host, 'after the fixes and a second RA');
  assert.deepEqual(alarms(after), [], show(after.findings));
}

test('4. forwarding=1 + accept_ra=1 and a real RA: every printed fix in order, then the RA installs the default (proto ra)', { skip }, async (t) => {
  const { r, raSource, report } = await forwardingHostIgnoringRa(t, 'f4');
  const { host } = r;
  const ignored = only(report, 'ipv6-ra-ignored');
  const unroutable = only(report, 'ipv6-unroutable');
  await t.test('ipv6-unroutable headline names the cause (forwarding with accept_ra=1)', () => {
    assert.match(unroutable.message, /accept_ra|forward/);
  });
  // The cause is "RAs ignored": the fix is accept_ra=2; the static default (via the RA sender, a
  // router neighbour now) is only a commented alternative, because added beside the RA it would win.
  assert.equal(unroutable.fix.commands[0], `sysctl -w net.ipv6.conf.${HOST_IF}.accept_ra=2`);
  assert.ok(unroutable.fix.commands.includes(`#   ip -6 route add default via ${raSource} dev ${HOST_IF}`), unroutable.fix.commands.join(' | '));
  assert.equal(ignored.fix.commands[0], `sysctl -w net.ipv6.conf.${HOST_IF}.accept_ra=2`);

  const ran = await runEveryFix(t, host, report);
  assert.deepEqual(ran, [`sysctl -w net.ipv6.conf.${HOST_IF}.accept_ra=2`, `sysctl -w net.ipv6.conf.${HOST_IF}.accept_ra=2`]);
  assert.equal(await host.sysctl(`net.ipv6.conf.${HOST_IF}.accept_ra`), '2');
  await assertRaDefaultAfterFix(t, r, raSource);
});

/** A plain host (no forwarding) whose RA handling is switched off one way; the router advertises. */
async function hostRefusingRaDefault(t: TestContext, prefix: string, setting: 'accept_ra' | 'accept_ra_defrtr'): Promise<{ r: RoutedHost; raSource: string; report: Report }> {
  const r = await routed(t, prefix, { 4: true });
  const { host, router } = r;
  await host.sysctl(`net.ipv6.conf.${HOST_IF}.${setting}`, '0');
  const inBefore = (await snmp6(host, HOST_IF)).Icmp6InRouterAdvertisements ?? 0;
  const ra = await sendRouterAdvertisement(router, ROUTER_IF, { routerLifetime: 1800 });
  await waitFor(async () => ((await snmp6(host, HOST_IF)).Icmp6InRouterAdvertisements ?? 0) > inBefore, { message: 'RA not received' });
  assert.deepEqual(await ipv6Defaults(host), [], `${setting}=0 must not learn a default`);
  await assertUnreachable(t, host, FAR6);
  const report = await scan(t, host, 'before');
  assert.deepEqual(alarms(report).map((f) => f.rule), ['ipv6-unroutable'], show(report.findings));
  return { r, raSource: ra.source, report };
}

for (const [label, setting, value] of [['4b', 'accept_ra', 1], ['4c', 'accept_ra_defrtr', 1]] as const) {
  test(`${label}. ${setting}=0 and a real RA: ipv6-unroutable sets ${setting}=${value}; every printed fix in order, then the default is proto ra`, { skip }, async (t) => {
    const { r, raSource, report } = await hostRefusingRaDefault(t, `f${label}`, setting);
    const unroutable = only(report, 'ipv6-unroutable');
    assert.ok(unroutable.evidence.some((e) => e.includes(`${setting}=0`)), `the cause must be named: ${unroutable.evidence.join(' | ')}`);
    assert.equal(unroutable.fix.commands[0], `sysctl -w net.ipv6.conf.${HOST_IF}.${setting}=${value}`);
    const ran = await runEveryFix(t, r.host, report);
    assert.deepEqual(ran, [`sysctl -w net.ipv6.conf.${HOST_IF}.${setting}=${value}`]);
    await assertRaDefaultAfterFix(t, r, raSource);
  });
}

// ------------------------------------------------------------------ 5. IPv4 without a default

test('5. no IPv4 default: ipv4-unroutable; the default via the router clears it', { skip }, async (t) => {
  const { host } = await routed(t, 'f5', { 6: true });
  await assertUnreachable(t, host, FAR4);
  const before = await scan(t, host, 'before');
  assert.deepEqual(alarms(before).map((f) => f.rule), ['ipv4-unroutable'], show(before.findings));
  const f = only(before, 'ipv4-unroutable');
  assert.equal(f.severity, 'critical');
  assert.match(f.message, /192\.0\.2\.2/);
  assert.match(f.message, /no IPv4 default route/);
  const runnable = f.fix.commands.filter((l) => !l.trim().startsWith('#'));
  if (runnable.length > 0) {
    await runFix(t, host, f);
  } else {
    // No candidate on the host (IPv4 has no router neighbour flag): the fix is a placeholder
    // naming the interface; fill it in with the router, as the comment tells the operator to.
    assert.match(f.fix.commands[0]!, /^# ip route add default via <IPv4-gateway> dev veth0/);
    const r = await host.exec('sh', ['-c', `ip route add default via ${ROUTER4} dev ${HOST_IF}`]);
    assert.equal(r.code, 0, r.stderr);
  }
  await assertRoutes(t, host, FAR4, new RegExp(`via ${ROUTER4} dev ${HOST_IF}`));
  const after = await scan(t, host, 'after');
  assert.deepEqual(ofRule(after, 'ipv4-unroutable'), [], show(after.findings));
  assert.deepEqual(alarms(after), [], show(after.findings));
});

test('5b. IPv4 default only in table 100: ipv4-unroutable offers it, and the printed command works', { skip }, async (t) => {
  const { host } = await routed(t, 'f5b', { 6: true });
  await host.ip('route', 'add', 'default', 'via', ROUTER4, 'dev', HOST_IF, 'table', '100');
  await assertUnreachable(t, host, FAR4);
  const before = await scan(t, host, 'before');
  const f = only(before, 'ipv4-unroutable');
  assert.equal(f.severity, 'critical');
  assert.ok(f.evidence.some((e) => /table 100/.test(e)), `evidence: ${f.evidence.join(' | ')}`);
  assert.equal(f.fix.commands[0], `ip route add default via ${ROUTER4} dev ${HOST_IF}`);
  await t.test('ipv4-unroutable message names table 100 like ipv6-unroutable does', () => {
    assert.match(f.message, /table 100/);
  });
  await runFix(t, host, f);
  await assertRoutes(t, host, FAR4, new RegExp(`via ${ROUTER4} dev ${HOST_IF}`));
  const after = await scan(t, host, 'after');
  assert.deepEqual(alarms(after), [], show(after.findings));
});

// ------------------------------------------------------------------ 6. a clean host

test('6. a well-configured dual-stack host: no warning or critical finding at all', { skip }, async (t) => {
  const { host } = await routed(t, 'f6', { 4: true, 6: true });
  const wanted = ['sshd', 'named', 'nginx'];
  const plan = servicePlan.filter((d) => wanted.includes(d.title));
  assert.equal(plan.length, 3);
  for (const d of plan) await startListeners(host, d.specs.map((s) => ({ ...s, title: d.title })));
  await assertRoutes(t, host, FAR6);
  await assertRoutes(t, host, FAR4);

  const report = await scan(t, host, 'clean host');
  // The scan did see the daemons (otherwise "no finding" would prove nothing).
  const seen = report.services.map((s) => `${s.proto}/${s.port} ${s.process} ${s.mode}`).sort();
  t.diagnostic(`services: ${seen.join(', ')}`);
  assert.deepEqual(seen, ['tcp/22 sshd dual-separate', 'tcp/8080 nginx dual-separate', 'udp/53 named dual-separate']);
  assert.deepEqual(alarms(report), [], `false alarms on a clean host: ${show(report.findings)}`);
});

// ------------------------------------------------------------------ nothing left behind

test('every namespace of this file is gone', { skip }, async () => {
  assert.deepEqual(liveNamespaces(), []);
  const left = (await listNamespaces()).filter((n) => n.startsWith('ds-f') && n.includes(`-${process.pid}-`));
  assert.deepEqual(left, []);
});
