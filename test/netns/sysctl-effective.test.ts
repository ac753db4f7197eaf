// The effective disable_ipv6 of the agent's report, checked against the kernel.
//
// One namespace with a veth pair inside it (veth0 with 192.0.2.2/24 and 2001:db8:5::2/64,
// veth1 with 2001:db8:5::3/64). disable_ipv6 is written the ways operators write it (on one
// interface; as -1; on `all`, then one interface re-enabled), the built agent scans the
// namespace, and each interface's effective value must say what the kernel did: disabled
// exactly where `ip -6 addr` shows no IPv6 address at all, link-local included.
//
// ip-sysctl.rst: writing conf/all/disable_ipv6 writes conf/default and every interface's own
// value; reading `all` afterwards "does not have any particular meaning".
//
// Run: node scripts/run-tests.mjs test/netns/sysctl-effective   (root; skipped otherwise)
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { validateReport, type InterfaceSysctls, type Report } from '../../packages/core/src/schema.js';
import { addAddress, addresses, listNamespaces, liveNamespaces, Netns, rootSkipReason, waitFor } from '../helpers/netns.js';

const skip = rootSkipReason();
const CLI = fileURLToPath(new URL('../../packages/agent/dist/cli.js', import.meta.url));

async function pairNamespace(t: TestContext, prefix: string): Promise<Netns> {
  const ns = await Netns.create(prefix);
  t.after(() => ns.destroy());
  await ns.ip('link', 'add', 'veth0', 'type', 'veth', 'peer', 'name', 'veth1');
  await ns.ip('link', 'set', 'veth0', 'up');
  await ns.ip('link', 'set', 'veth1', 'up');
  await addAddress(ns, 'veth0', '192.0.2.2/24');
  await addAddress(ns, 'veth0', '2001:db8:5::2/64');
  await addAddress(ns, 'veth1', '2001:db8:5::3/64');
  // The kernel gives each interface its fe80:: address once the link is up.
  for (const iface of ['veth0', 'veth1']) await waitFor(async () => (await ipv6Of(ns, iface)).some((a) => a.startsWith('fe80:')), { message: `${iface} link-local` });
  return ns;
}

/** The kernel's IPv6 addresses of iface (`ip -j addr`), link-local included. */
async function ipv6Of(ns: Netns, iface: string): Promise<string[]> {
  return (await addresses(ns, iface)).filter((a) => a.family === 'inet6').map((a) => a.local);
}

async function scan(ns: Netns): Promise<Report> {
  const r = await ns.exec(process.execPath, [CLI, 'scan', '--json'], { timeoutMs: 20_000 });
  assert.equal(r.code, 0, `agent scan in ${ns.name} exited ${r.code}: ${r.stderr}`);
  const v = validateReport(JSON.parse(r.stdout) as unknown);
  assert.ok(v.ok, `report does not match its schema: ${JSON.stringify(!v.ok && v.problems)}`);
  assert.equal(v.report.sources.find((s) => s.name === 'sysctl')?.status, 'ok');
  return v.report;
}

function sysctlsOf(report: Report, name: string): InterfaceSysctls {
  const found = report.sysctl.interfaces.find((i) => i.name === name);
  assert.ok(found, `${name} missing from the report's sysctls: ${report.sysctl.interfaces.map((i) => i.name).join(', ')}`);
  return found;
}

/** [raw disable_ipv6, effective disableIpv6] of an interface in the report. */
function disableOf(report: Report, name: string): [number | null, boolean | undefined] {
  const s = sysctlsOf(report, name);
  return [s.raw.disable_ipv6, s.effective?.disableIpv6];
}

const reportedIpv6 = (report: Report, iface: string): string[] =>
  report.addresses.filter((a) => a.family === 6 && a.interface === iface).map((a) => a.address);

test('disable_ipv6 on one interface (1, then -1): effective on that interface only, and the kernel took its every IPv6 address', { skip }, async (t) => {
  const ns = await pairNamespace(t, 'sd');
  const before = await scan(ns);
  assert.deepEqual(disableOf(before, 'veth0'), [0, false]);
  assert.ok(reportedIpv6(before, 'veth0').includes('2001:db8:5::2'), JSON.stringify(before.addresses));

  for (const value of ['1', '-1']) {
    // Re-enabled between the two writes: the kernel brings the link-local address back.
    if (value === '-1') {
      assert.equal(await ns.sysctl('net.ipv6.conf.veth0.disable_ipv6', '0'), '0');
      await waitFor(async () => (await ipv6Of(ns, 'veth0')).some((a) => a.startsWith('fe80:')), { message: 'veth0 link-local back' });
    }
    // The kernel stores the value as written (-1 included) and drops every IPv6 address.
    assert.equal(await ns.sysctl('net.ipv6.conf.veth0.disable_ipv6', value), value);
    assert.deepEqual(await ipv6Of(ns, 'veth0'), [], `kernel: veth0 has no IPv6 address after disable_ipv6=${value}`);
    const added = await ns.exec('ip', ['-6', 'addr', 'add', '2001:db8:5::9/64', 'dev', 'veth0', 'nodad']);
    assert.notEqual(added.code, 0, `kernel: no IPv6 address can be added with disable_ipv6=${value}`);
    assert.ok((await ipv6Of(ns, 'veth1')).includes('2001:db8:5::3'), 'kernel: veth1 keeps its IPv6');

    const report = await scan(ns);
    assert.deepEqual(disableOf(report, 'veth0'), [Number(value), true], `veth0 after disable_ipv6=${value}`);
    assert.deepEqual(disableOf(report, 'veth1'), [0, false]);
    assert.deepEqual(disableOf(report, 'lo'), [0, false]);
    assert.equal(sysctlsOf(report, 'all').raw.disable_ipv6, 0);
    assert.deepEqual(reportedIpv6(report, 'veth0'), []);
  }
});

test('all.disable_ipv6=1 disables every interface; one re-enabled afterwards has IPv6 again while all still reads 1', { skip }, async (t) => {
  const ns = await pairNamespace(t, 'sa');
  assert.equal(await ns.sysctl('net.ipv6.conf.all.disable_ipv6', '1'), '1');
  // The kernel copied the value into default and every interface, and dropped every address.
  for (const iface of ['lo', 'veth0', 'veth1']) {
    assert.equal(await ns.sysctl(`net.ipv6.conf.${iface}.disable_ipv6`), '1', `kernel: ${iface} disable_ipv6`);
    assert.deepEqual(await ipv6Of(ns, iface), [], `kernel: ${iface} has no IPv6 address`);
  }
  assert.equal(await ns.sysctl('net.ipv6.conf.default.disable_ipv6'), '1');

  const off = await scan(ns);
  for (const iface of ['lo', 'veth0', 'veth1']) assert.deepEqual(disableOf(off, iface), [1, true], `${iface} after all=1`);
  assert.deepEqual(off.addresses.filter((a) => a.family === 6), []);

  // veth0 alone back on: its own value is in force, `all` keeps reading 1.
  assert.equal(await ns.sysctl('net.ipv6.conf.veth0.disable_ipv6', '0'), '0');
  const linkLocal = await waitFor(async () => (await ipv6Of(ns, 'veth0')).find((a) => a.startsWith('fe80:')), { message: 'kernel: veth0 link-local after re-enabling' });
  assert.equal(await ns.sysctl('net.ipv6.conf.all.disable_ipv6'), '1');
  assert.deepEqual(await ipv6Of(ns, 'veth1'), []);

  const mixed = await scan(ns);
  assert.equal(sysctlsOf(mixed, 'all').raw.disable_ipv6, 1);
  assert.deepEqual(disableOf(mixed, 'veth0'), [0, false], 'veth0 re-enabled although all reads 1');
  assert.deepEqual(disableOf(mixed, 'veth1'), [1, true]);
  assert.deepEqual(disableOf(mixed, 'lo'), [1, true]);
  assert.deepEqual(reportedIpv6(mixed, 'veth0'), [linkLocal]);
  assert.deepEqual(reportedIpv6(mixed, 'veth1'), []);
});

test('cleanup: no namespace of these tests is left', { skip }, async () => {
  assert.deepEqual(liveNamespaces(), []);
  assert.deepEqual((await listNamespaces()).filter((n) => n.includes(`-${process.pid}-`)), []);
});
