// The agent's systemd unit under a real systemd (issue 16): what test/privilege/namespace-caps
// cannot show with setpriv, the unit's seccomp filter. systemd-nspawn boots this machine's own
// systemd as PID 1 (test/helpers/nspawn.ts); inside, the agent bundle runs as the unit's
// dualstack user with every line of deploy/systemd/dualstack-agent.service (capabilities,
// SystemCallFilter, RestrictNamespaces=yes, ProtectSystem=strict, ...), a test drop-in only
// making it a one-shot `scan --json` into its state directory, next to a network namespace with
// a [::] V6ONLY=1 listener:
//   (a) the unit alone: the namespace is read through /proc but not entered (needs CAP_SYS_ADMIN);
//   (b) with deploy/systemd/dualstack-agent.service.d/namespaces.conf: entered, its sysctls read
//       and V6ONLY from sock_diag;
//   (c) with that drop-in's capability but not its RestrictNamespaces=net: RestrictNamespaces=yes
//       refuses setns(2) by seccomp whatever the capabilities, and the report says so;
//   (d) with the drop-in and the native sock_diag module (packages/agent/native, as the packaged
//       agent loads it): entered in-process, through the unit's RestrictAddressFamilies
//       (AF_NETLINK) and seccomp filter, with the same flags and sysctls as (b).
//
// Needs root and systemd-nspawn (Debian's systemd-container); skipped otherwise, failing under CI=true.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { validateReport, type NetworkNamespace, type Report } from '../../packages/core/src/schema.js';
import { rootSkipReason } from '../helpers/netns.js';
import { Container } from '../helpers/nspawn.js';
import { skipUnlessCommands } from '../helpers/requirements.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');
const UNIT = join(REPO, 'deploy/systemd/dualstack-agent.service');
const NAMESPACES_CONF = readFileSync(join(REPO, 'deploy/systemd/dualstack-agent.service.d/namespaces.conf'), 'utf8');
const DROP_IN_DIR = '/etc/systemd/system/dualstack-agent.service.d';
const skip = rootSkipReason() || skipUnlessCommands({ 'systemd-nspawn': 'systemd-container' });

// The one change to the unit: a single scan into the state directory instead of `run` (no collector here).
const ONE_SCAN = `[Service]
Type=oneshot
Restart=no
ExecStart=
ExecStart=/bin/sh -c '/usr/bin/node /opt/dualstack/dualstack-agent.mjs scan --json > /var/lib/dualstack/scan.json'
`;

test("the agent's unit under a real systemd: the namespaces drop-in lets it enter a namespace, its seccomp side included", { skip }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dualstack-unit-live-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { packageAgent } = (await import(join(REPO, 'scripts/package-agent.mjs'))) as { packageAgent(o: { outfile: string }): Promise<{ outfile: string }> };
  await packageAgent({ outfile: join(dir, 'dualstack-agent.mjs') });
  execFileSync(join(REPO, 'packages/agent/native/build.sh'), [join(dir, 'sockdiag.node')], { stdio: 'pipe' });
  if (process.execPath !== '/usr/bin/node') t.diagnostic(`node is ${process.execPath}: the unit's ExecStart names /usr/bin/node`);

  const container = await Container.boot('dsunit', { bindReadOnly: [`${dir}:/opt/dualstack`, `${UNIT}:/etc/systemd/system/dualstack-agent.service`] });
  t.after(() => container.stop());
  container.run(['useradd', '--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', 'dualstack']);
  container.run(['mkdir', '-p', DROP_IN_DIR]);
  container.run(['sh', '-c', `cat > ${DROP_IN_DIR}/test.conf`], ONE_SCAN);
  // The "container": a network namespace with a [::] listener holding V6ONLY=1. Deleted at the
  // end: /run/netns can be a shared mount, so a name added inside may also show on the host.
  const ctr = `dsunit-ctr-${process.pid}`;
  container.run(['ip', 'netns', 'add', ctr]);
  t.after(() => {
    spawnSync('nsenter', ['-t', String(container.init), '-a', 'ip', 'netns', 'del', ctr]);
    spawnSync('ip', ['netns', 'del', ctr], { stdio: 'ignore' });
  });
  container.run(['ip', '-n', ctr, 'link', 'set', 'lo', 'up']);
  container.run(['sh', '-c', `ip netns exec ${ctr} python3 -c 'import socket,time\ns=socket.socket(socket.AF_INET6)\ns.setsockopt(socket.IPPROTO_IPV6,socket.IPV6_V6ONLY,1)\ns.bind(("::",8443))\ns.listen()\nprint("READY",flush=True)\ntime.sleep(600)' > /run/${ctr}.out 2>&1 &`]);
  for (let i = 0; i < 100 && !container.run(['cat', `/run/${ctr}.out`]).includes('READY'); i++) await new Promise((r) => setTimeout(r, 100));

  const scanWith = (dropIn: string | null, report?: (r: Report) => void): NetworkNamespace => {
    container.run(['rm', '-f', `${DROP_IN_DIR}/namespaces.conf`, '/var/lib/dualstack/scan.json']);
    if (dropIn !== null) container.run(['sh', '-c', `cat > ${DROP_IN_DIR}/namespaces.conf`], dropIn);
    container.run(['systemctl', 'daemon-reload']);
    container.run(['systemctl', 'reset-failed']);
    try {
      container.run(['systemctl', 'start', 'dualstack-agent.service']);
    } catch (error) {
      assert.fail(`the unit failed: ${(error as Error).message}\n${container.run(['journalctl', '-u', 'dualstack-agent', '--no-pager', '-n', '30'])}`);
    }
    const v = validateReport(JSON.parse(container.run(['cat', '/var/lib/dualstack/scan.json'])) as unknown);
    assert.ok(v.ok, JSON.stringify(!v.ok && v.problems));
    const scanned: Report = v.report;
    report?.(scanned);
    const ns = scanned.namespaces?.find((n) => n.services.some((s) => s.port === 8443));
    assert.ok(ns, `the namespace with tcp/8443 is missing: ${JSON.stringify(scanned.namespaces?.map((n) => n.owner.name))}`);
    return ns;
  };
  const source = (ns: NetworkNamespace, name: string) => ns.sources.find((s) => s.name === name);
  const v6onlySource = (ns: NetworkNamespace) => ns.services.find((s) => s.port === 8443)!.bindings.map((b) => b.v6onlySource);

  // (a) the unit alone
  const alone = scanWith(null);
  assert.equal(source(alone, 'sysctl')?.status, 'skipped');
  assert.match(source(alone, 'sysctl')?.detail ?? '', /needs CAP_SYS_ADMIN/);
  assert.equal(alone.sysctl, null);

  // (b) with the namespaces drop-in as shipped
  const entered = scanWith(NAMESPACES_CONF);
  assert.deepEqual([source(entered, 'sysctl')?.status, source(entered, 'sockdiag')?.status], ['ok', 'ok'], JSON.stringify(entered.sources));
  assert.equal(entered.sysctl?.bindv6only, 0);
  assert.deepEqual(v6onlySource(entered), ['sock_diag']);
  assert.equal(entered.services.find((s) => s.port === 8443)?.mode, 'ipv6-only');

  // (c) the capability without RestrictNamespaces=net: the unit's seccomp filter refuses setns
  const capOnly = NAMESPACES_CONF.split('\n').filter((line) => !line.startsWith('RestrictNamespaces=')).join('\n');
  assert.notEqual(capOnly, NAMESPACES_CONF, 'the drop-in sets RestrictNamespaces');
  const refused = scanWith(capOnly);
  assert.notEqual(source(refused, 'sockdiag')?.status, 'ok');
  assert.match(`${source(refused, 'sockdiag')?.detail} ${source(refused, 'sysctl')?.detail}`, /Operation not permitted/, JSON.stringify(refused.sources));
  assert.equal(refused.sysctl, null);

  // (d) the drop-in and the native module (the packaged agent finds it beside its executable; here the variable names it)
  let namespacesDetail = '';
  const native = scanWith(`${NAMESPACES_CONF}\n[Service]\nEnvironment=DUALSTACK_SOCKDIAG_MODULE=/opt/dualstack/sockdiag.node\n`, (r) => {
    namespacesDetail = r.sources.find((x) => x.name === 'namespaces')?.detail ?? '';
  });
  assert.match(namespacesDetail, /entered by native sock_diag module \/opt\/dualstack\/sockdiag\.node/);
  assert.deepEqual([source(native, 'sysctl')?.status, source(native, 'sockdiag')?.status], ['ok', 'ok'], JSON.stringify(native.sources));
  assert.deepEqual(native.sysctl, entered.sysctl, 'the same sysctls as through nsenter');
  assert.deepEqual(v6onlySource(native), ['sock_diag']);
  assert.equal(native.services.find((s) => s.port === 8443)?.mode, 'ipv6-only');
});
