// The agent's least privilege, checked against the kernel: a root-owned service listens in a
// network namespace, and the single-file agent scans from inside that namespace as an
// unprivileged user (nobody) through setpriv, holding exactly the capabilities that
// deploy/systemd/dualstack-agent.service grants (read from the unit: AmbientCapabilities and
// CapabilityBoundingSet), or fewer.
//
// What the kernel decides (Linux fs/proc): /proc/[pid]/fd is a directory of mode 0500 owned by
// the process's user, so listing it needs DAC permission (CAP_DAC_READ_SEARCH); reading each
// socket:[inode] link is a ptrace read-access check (PTRACE_MODE_READ_FSCREDS), which only
// CAP_SYS_PTRACE passes for another user's process. Each alone names nothing. sock_diag (ss)
// reports V6ONLY to anyone: no capability is needed for it.
//
// Needs root (to create the namespace and switch users), `ip`, `ss` and `setpriv`; skipped
// with the reason otherwise.
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Netns, rootSkipReason, startListeners, type Listeners } from '../helpers/netns.js';
import { skipUnlessCommands } from '../helpers/requirements.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const UNIT = join(REPO, 'deploy/systemd/dualstack-agent.service');
const NOBODY = 65534;

const skip = rootSkipReason() || skipUnlessCommands({ setpriv: 'util-linux', ss: 'iproute2' });

/** The unit's capability lines, as setpriv names: CAP_SYS_PTRACE -> sys_ptrace. */
function unitCapabilities(key: 'AmbientCapabilities' | 'CapabilityBoundingSet'): string[] {
  const lines = readFileSync(UNIT, 'utf8').split('\n').filter((l) => l.startsWith(`${key}=`));
  return lines.flatMap((l) => l.slice(key.length + 1).split(/\s+/).filter(Boolean)).map((c) => c.toLowerCase().replace(/^cap_/, '')).sort();
}

interface Scan {
  report: {
    host: { privileged: boolean };
    sources: Array<{ name: string; status: string; detail?: string }>;
    services: Array<{ proto: string; port: number; process: string | null; pid: number | null; uid: number | null; bindings: Array<{ address: string; v6only: boolean | null; v6onlySource: string }> }>;
  };
  text: string;
  capEff: string;
}

describe('the agent as an unprivileged user with the unit capabilities', { skip }, () => {
  let ns: Netns;
  let listeners: Listeners;
  let dir: string;
  let bundle: string;
  const unitCaps = skip ? [] : unitCapabilities('AmbientCapabilities');

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dualstack-caps-'));
    chmodSync(dir, 0o755); // nobody must read the agent
    const { packageAgent } = (await import(join(REPO, 'scripts/package-agent.mjs'))) as { packageAgent(o: { outfile: string }): Promise<{ outfile: string }> };
    ({ outfile: bundle } = await packageAgent({ outfile: join(dir, 'dualstack-agent.mjs') }));
    chmodSync(bundle, 0o755);
    ns = await Netns.create('caps');
    // One root-owned process, like sshd: [::]:A with V6ONLY=1, [::]:B with V6ONLY=0.
    listeners = await startListeners(ns, [
      { proto: 'tcp', address: '::', port: 0, ipv6Only: true, title: 'rootd' },
      { proto: 'tcp', address: '::', port: 0, ipv6Only: false, title: 'rootd' },
    ]);
  });
  after(async () => {
    await listeners?.stop();
    await ns?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** The agent scanning inside the namespace as nobody, with `caps` ambient, inheritable and bounding (and no_new_privs, as the unit). */
  async function scanAs(caps: string[]): Promise<Scan> {
    const set = ['-all', ...caps.map((c) => `+${c}`)].join(',');
    const setpriv = ['--reuid', String(NOBODY), '--regid', String(NOBODY), '--clear-groups', `--inh-caps=${set}`, `--ambient-caps=${set}`, `--bounding-set=${set}`, '--no-new-privs'];
    const json = await ns.exec('setpriv', [...setpriv, process.execPath, bundle, 'scan', '--json']);
    assert.equal(json.code, 0, json.stderr);
    const text = await ns.exec('setpriv', [...setpriv, process.execPath, bundle, 'scan']);
    assert.equal(text.code, 0, text.stderr);
    const status = await ns.exec('setpriv', [...setpriv, 'sh', '-c', 'grep -E "^(Uid|CapEff):" /proc/self/status']);
    assert.match(status.stdout, new RegExp(`^Uid:\\s+${NOBODY}\\s`, 'm'), 'the agent runs as nobody');
    return { report: JSON.parse(json.stdout) as Scan['report'], text: text.stdout, capEff: /CapEff:\s+(\S+)/.exec(status.stdout)![1]! };
  }

  const service = (scan: Scan, port: number) => {
    const found = scan.report.services.find((s) => s.proto === 'tcp' && s.port === port);
    assert.ok(found, `tcp ${port} in ${JSON.stringify(scan.report.services.map((s) => s.port))}`);
    return found;
  };
  const owners = (scan: Scan) => scan.report.sources.find((s) => s.name === 'owners')!;

  test('the unit grants exactly CAP_DAC_READ_SEARCH and CAP_SYS_PTRACE, and bounds itself to them', () => {
    assert.deepEqual(unitCaps, ['dac_read_search', 'sys_ptrace']);
    assert.deepEqual(unitCapabilities('CapabilityBoundingSet'), unitCaps);
    assert.match(readFileSync(UNIT, 'utf8'), /^NoNewPrivileges=yes$/m);
    const uid = readFileSync(`/proc/${listeners.pid}/status`, 'utf8').match(/^Uid:\s+(\d+)/m)![1];
    assert.equal(uid, '0', 'the listening service is root-owned');
  });

  test("with the unit's capabilities: the root-owned service's process is named, V6ONLY comes from sock_diag", async () => {
    const scan = await scanAs(unitCaps);
    assert.equal(scan.capEff, '0000000000080004', 'effective: exactly CAP_DAC_READ_SEARCH (2) and CAP_SYS_PTRACE (19)');
    assert.equal(owners(scan).status, 'ok', JSON.stringify(owners(scan)));
    assert.equal(scan.report.host.privileged, true);
    const [v6only, mapped] = [service(scan, listeners.ports[0]!), service(scan, listeners.ports[1]!)];
    for (const s of [v6only, mapped]) {
      assert.equal(s.process, 'rootd');
      assert.equal(s.pid, listeners.pid);
      assert.equal(s.uid, 0);
    }
    assert.deepEqual(v6only.bindings.map((b) => [b.address, b.v6only, b.v6onlySource]), [['::', true, 'sock_diag']]);
    assert.deepEqual(mapped.bindings.map((b) => [b.address, b.v6only, b.v6onlySource]), [['::', false, 'sock_diag']]);
    assert.doesNotMatch(scan.text, /Not every process was readable/);
    // The same as root sees: every service's process, the same owners status.
    const asRoot = await ns.exec(process.execPath, [bundle, 'scan', '--json']);
    assert.equal(asRoot.code, 0, asRoot.stderr);
    const rootReport = JSON.parse(asRoot.stdout) as Scan['report'];
    assert.deepEqual(
      scan.report.services.map((s) => [s.proto, s.port, s.process, s.pid]),
      rootReport.services.map((s) => [s.proto, s.port, s.process, s.pid]),
    );
    assert.equal(owners(scan).status, rootReport.sources.find((s) => s.name === 'owners')!.status);
  });

  test('without capabilities: the process is unknown and the report says why; V6ONLY is still read (sock_diag needs none)', async () => {
    const scan = await scanAs([]);
    assert.equal(scan.capEff, '0000000000000000');
    const source = owners(scan);
    assert.equal(source.status, 'partial');
    assert.match(source.detail!, /^\d+ of \d+ processes could not be read \(run as root, or with CAP_DAC_READ_SEARCH and CAP_SYS_PTRACE, to name every socket's process\)$/);
    assert.equal(scan.report.host.privileged, false);
    const [v6only, mapped] = [service(scan, listeners.ports[0]!), service(scan, listeners.ports[1]!)];
    for (const s of [v6only, mapped]) {
      assert.equal(s.process, null);
      assert.equal(s.pid, null);
    }
    assert.deepEqual(v6only.bindings.map((b) => [b.v6only, b.v6onlySource]), [[true, 'sock_diag']]);
    assert.deepEqual(mapped.bindings.map((b) => [b.v6only, b.v6onlySource]), [[false, 'sock_diag']]);
    assert.match(scan.text, /Not every process was readable: services of other users show process "\?"/);
    assert.match(scan.text, new RegExp(`^tcp +${listeners.ports[0]} +\\? `, 'm'));
  });

  test('either capability alone names nothing: both are needed', async () => {
    for (const only of unitCaps) {
      const scan = await scanAs([only]);
      assert.equal(owners(scan).status, 'partial', `with only ${only}`);
      assert.match(owners(scan).detail!, /processes could not be read \(run as root, or with CAP_DAC_READ_SEARCH and CAP_SYS_PTRACE/);
      assert.equal(scan.report.host.privileged, false, `with only ${only}`);
      assert.equal(service(scan, listeners.ports[0]!).process, null, `with only ${only}`);
      assert.equal(service(scan, listeners.ports[0]!).bindings[0]!.v6onlySource, 'sock_diag');
    }
  });
});
