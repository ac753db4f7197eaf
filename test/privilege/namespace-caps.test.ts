// The namespaces source's privileges, checked against the kernel (issue 16): a test network
// namespace standing for a container, with root-owned listeners on [::] with V6ONLY=1 and
// with V6ONLY=0 and its own net.ipv6.bindv6only=1 (the host's is 0, and a V6ONLY inferred
// from it would say 1 for both), and the built agent (packages/agent/dist/cli.js) scanning
// from another namespace as an unprivileged user (nobody) through setpriv, holding:
//   (a) exactly the capabilities of deploy/systemd/dualstack-agent.service: the namespace is
//       found and read through /proc, but not entered: its sysctls are not read, its V6ONLY
//       flags unknown, and its sources say it needs CAP_SYS_ADMIN;
//   (b) those plus the drop-in's (deploy/systemd/dualstack-agent.service.d/namespaces.conf):
//       entered, both flags from sock_diag and the namespace's own sysctls.
// The capability lists are parsed from the two files, so the test follows them. What setpriv
// cannot show, the unit's seccomp filter (RestrictNamespaces=yes refuses setns), is checked
// in the files here (the drop-in must allow network namespaces) and under a real systemd in
// test/privilege/namespace-unit-live.test.ts.
//
// Needs root, ip, ss, nsenter, setpriv and a build (npx turbo run build).
import assert from 'node:assert/strict';
import { readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { validateReport, type NetworkNamespace, type Report } from '../../packages/core/src/schema.js';
import { Netns, rootSkipReason, startListeners, type Listeners } from '../helpers/netns.js';
import { skipUnlessCommands } from '../helpers/requirements.js';
import { capabilities, capEffMask, NOBODY, setprivAs } from '../helpers/unit-capabilities.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const UNIT = join(REPO, 'deploy/systemd/dualstack-agent.service');
const DROP_IN = join(REPO, 'deploy/systemd/dualstack-agent.service.d/namespaces.conf');
const CLI = join(REPO, 'packages/agent/dist/cli.js');
const NOT_ENTERED = 'not entered: setns(2) into another network namespace needs CAP_SYS_ADMIN';
const [V6ONLY_PORT, DUAL_PORT] = [9091, 9092];

const skip = rootSkipReason() || skipUnlessCommands({ setpriv: 'util-linux', nsenter: 'util-linux', ss: 'iproute2' });

/** The last value of `key` in each file that sets it, in order. */
const settings = (file: string, key: string) =>
  readFileSync(file, 'utf8').split('\n').filter((l) => l.startsWith(`${key}=`)).map((l) => l.slice(key.length + 1).trim());

describe('the namespaces source as an unprivileged user with the unit (and drop-in) capabilities', { skip }, () => {
  let agentNs: Netns;
  let container: Netns;
  let listeners: Listeners;
  let inode: number;
  const unitCaps = skip ? [] : capabilities([UNIT], 'AmbientCapabilities');
  const withDropIn = skip ? [] : capabilities([UNIT, DROP_IN], 'AmbientCapabilities');

  before(async () => {
    agentNs = await Netns.create('nscaps-agent');
    container = await Netns.create('nscaps-ct');
    assert.equal(await container.sysctl('net.ipv6.bindv6only', '1'), '1');
    listeners = await startListeners(container, [
      { proto: 'tcp', address: '::', port: V6ONLY_PORT, ipv6Only: true, title: 'ctd' },
      { proto: 'tcp', address: '::', port: DUAL_PORT, ipv6Only: false, title: 'ctd' },
    ]);
    inode = Number(/^net:\[(\d+)\]$/.exec(readlinkSync(`/proc/${listeners.pid}/ns/net`))![1]);
  });
  after(async () => {
    await listeners?.stop();
    await container?.destroy();
    await agentNs?.destroy();
  });

  /** The built agent scanning from agentNs as nobody holding `caps`; the container's namespace from its report. */
  async function scanAs(caps: string[]): Promise<{ ns: NetworkNamespace; capEff: string }> {
    const r = await agentNs.exec('setpriv', [...setprivAs(caps), process.execPath, CLI, 'scan', '--json'], { timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stderr);
    const status = await agentNs.exec('setpriv', [...setprivAs(caps), 'sh', '-c', 'grep -E "^(Uid|CapEff):" /proc/self/status']);
    assert.match(status.stdout, new RegExp(`^Uid:\\s+${NOBODY}\\s`, 'm'), 'the agent runs as nobody');
    const v = validateReport(JSON.parse(r.stdout) as unknown);
    assert.ok(v.ok, JSON.stringify(!v.ok && v.problems));
    const report: Report = v.report;
    const ns = report.namespaces?.find((n) => n.inode === inode);
    assert.ok(ns, `net:[${inode}] of pid ${listeners.pid} not in ${report.namespaces?.map((n) => n.inode).join(', ')}`);
    return { ns, capEff: /CapEff:\s+(\S+)/.exec(status.stdout)![1]! };
  }

  const source = (ns: NetworkNamespace, name: string) => {
    const found = ns.sources.find((s) => s.name === name);
    assert.ok(found, `source ${name} in ${ns.sources.map((s) => s.name).join(', ')}`);
    return { status: found.status, detail: found.detail };
  };
  const flags = (ns: NetworkNamespace) =>
    Object.fromEntries([V6ONLY_PORT, DUAL_PORT].map((port) => {
      const s = ns.services.find((x) => x.proto === 'tcp' && x.port === port);
      assert.ok(s, `tcp/${port} in ${ns.services.map((x) => `${x.proto}/${x.port}`).join(', ')}`);
      return [port, s.bindings.map((b) => [b.v6only, b.v6onlySource])];
    }));

  test('the drop-in adds exactly CAP_SYS_ADMIN, bounded as granted, and lets setns(2) past the unit\'s RestrictNamespaces for network namespaces only', () => {
    assert.deepEqual(capabilities([DROP_IN], 'AmbientCapabilities'), ['sys_admin']);
    assert.deepEqual(capabilities([DROP_IN], 'CapabilityBoundingSet'), ['sys_admin']);
    assert.deepEqual(capabilities([UNIT, DROP_IN], 'CapabilityBoundingSet'), withDropIn);
    assert.equal(unitCaps.includes('sys_admin'), false, 'the unit alone does not have it');
    // Opening /proc/PID/ns/net takes ptrace read access: the unit's CAP_SYS_PTRACE.
    assert.ok(unitCaps.includes('sys_ptrace'));
    // RestrictNamespaces=yes refuses setns() by seccomp; a drop-in's list is ORed in (systemd.exec(5)).
    assert.deepEqual(settings(UNIT, 'RestrictNamespaces'), ['yes']);
    assert.deepEqual(settings(DROP_IN, 'RestrictNamespaces'), ['net']);
  });

  test('what the kernel says: setns into the namespace is refused with the unit\'s capabilities, allowed with the drop-in\'s', async () => {
    const enter = (caps: string[]) => agentNs.exec('setpriv', [...setprivAs(caps), 'nsenter', `--net=/proc/${listeners.pid}/ns/net`, '--', 'ss', '-Hlnt']);
    const refused = await enter(unitCaps);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /reassociate to namespace 'ns\/net' failed: Operation not permitted/);
    const entered = await enter(withDropIn);
    assert.equal(entered.code, 0, entered.stderr);
    // What ss inside prints: the V6ONLY=1 socket as [::], the V6ONLY=0 one as * (both families).
    assert.deepEqual(entered.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/)[3]).sort(), [`*:${DUAL_PORT}`, `[::]:${V6ONLY_PORT}`]);
  });

  test("(a) the unit's capabilities: found and read through /proc, not entered: sysctls not read, V6ONLY unknown, saying it needs CAP_SYS_ADMIN", async () => {
    const { ns, capEff } = await scanAs(unitCaps);
    assert.equal(capEff, capEffMask(unitCaps));
    assert.equal(ns.pid, listeners.pid);
    assert.deepEqual(source(ns, 'sysctl'), { status: 'skipped', detail: NOT_ENTERED });
    assert.deepEqual(source(ns, 'sockdiag'), { status: 'skipped', detail: `${NOT_ENTERED}: V6ONLY is unknown` });
    assert.equal(ns.sysctl, null);
    assert.deepEqual(flags(ns), { [V6ONLY_PORT]: [[null, 'unknown']], [DUAL_PORT]: [[null, 'unknown']] });
  });

  test('(b) with the drop-in: entered, both V6ONLY flags from sock_diag and the namespace\'s own sysctls', async () => {
    const { ns, capEff } = await scanAs(withDropIn);
    assert.equal(capEff, capEffMask(withDropIn));
    assert.deepEqual(source(ns, 'sysctl'), { status: 'ok', detail: undefined });
    assert.deepEqual(source(ns, 'sockdiag'), { status: 'ok', detail: undefined });
    assert.equal(ns.sysctl?.bindv6only, 1, "the container's bindv6only, not the agent's (0)");
    assert.deepEqual(flags(ns), { [V6ONLY_PORT]: [[true, 'sock_diag']], [DUAL_PORT]: [[false, 'sock_diag']] });
  });
});
