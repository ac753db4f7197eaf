// Socket units under a real systemd as PID 1 (issue 16): systemd-nspawn boots this machine's
// own systemd from its /usr on a throw-away root (--volatile=yes: /etc and /var are tmpfs,
// nothing of the host is written) in a private network namespace, with a test unit
// dstest.socket (ListenStream=[::]:2222 and 0.0.0.0:2223, BindIPv6Only=ipv6-only) activating
// `cat`. The agent runs inside the container's namespaces (nsenter -a), where PID 1 really is
// systemd and really holds the sockets: each service is named after its unit and the daemon it
// activates, the V6ONLY flags are the ones systemd set, every verdict is checked with real
// connects over each family inside that network namespace, and the fix the finding prints
// (a drop-in) is applied with systemctl and makes the finding go.
//
// Run: node scripts/run-tests.mjs socket-units-live   (root and systemd-nspawn, from Debian's
// systemd-container; skipped otherwise, failing instead under CI=true)
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { validateReport, type Report, type Service } from '../../packages/core/src/schema.js';
import { rootSkipReason } from '../helpers/netns.js';
import { Container } from '../helpers/nspawn.js';
import { skipUnlessCommands } from '../helpers/requirements.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');
const CLI = join(REPO, 'packages/agent/dist/cli.js');
const skip = rootSkipReason() || skipUnlessCommands({ 'systemd-nspawn': 'systemd-container' });

const UNIT = `[Unit]
Description=dualstack test socket

[Socket]
ListenStream=[::]:2222
BindIPv6Only=ipv6-only
ListenStream=0.0.0.0:2223
Accept=yes
`;
const SERVICE = `[Service]
ExecStart=/bin/cat
StandardInput=socket
`;

/** A real TCP connect inside the container's network namespace: true when accepted. */
function connects(container: Container, address: string, port: number): boolean {
  const family = address.includes(':') ? 'AF_INET6' : 'AF_INET';
  const r = container.runInNetwork(['python3', '-c', `import socket,sys\ns=socket.socket(socket.${family});s.settimeout(3)\ntry:\n s.connect((sys.argv[1],int(sys.argv[2])));sys.exit(0)\nexcept OSError:\n sys.exit(1)`, address, String(port)]);
  return r.status === 0;
}

function scan(container: Container): Report {
  const out = container.run([process.execPath, CLI, 'scan', '--json']);
  const v = validateReport(JSON.parse(out) as unknown);
  assert.ok(v.ok, JSON.stringify(!v.ok && v.problems));
  return v.report;
}

function service(report: Report, port: number): Service {
  const s = report.services.find((x) => x.proto === 'tcp' && x.port === port);
  assert.ok(s, `tcp/${port} missing: ${report.services.map((x) => `${x.proto}/${x.port}`).join(', ')}`);
  return s;
}

test('socket units under a real systemd PID 1: named after the unit, V6ONLY as systemd set it, the printed drop-in fixes the unit', { skip }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dualstack-nspawn-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'dstest.socket'), UNIT);
  writeFileSync(join(dir, 'dstest@.service'), SERVICE);
  // The built agent is visible inside: the repository is bound read-only (node is under /usr).
  const container = await Container.boot('dstest', {
    bindReadOnly: [REPO, `${join(dir, 'dstest.socket')}:/etc/systemd/system/dstest.socket`, `${join(dir, 'dstest@.service')}:/etc/systemd/system/dstest@.service`],
    kernelArgs: ['systemd.unit=sockets.target', 'systemd.wants=dstest.socket'],
  });
  t.after(() => container.stop());
  let listening = '';
  for (let i = 0; i < 600 && !(listening.includes(':2222') && listening.includes(':2223')); i++) {
    if (i > 0) await delay(100);
    listening = String(container.runInNetwork(['ss', '-Hltn']).stdout ?? '');
  }
  assert.ok(listening.includes(':2222') && listening.includes(':2223'), `dstest.socket is not listening: ${listening}\n${container.log()}`);
  assert.equal(container.run(['cat', '/proc/1/comm']).trim(), 'systemd', 'PID 1 inside is systemd');
  // Documentation addresses on a veth pair inside (this kernel has no dummy driver), so each
  // family has an address to serve.
  for (const args of [['link', 'add', 'd0', 'type', 'veth', 'peer', 'name', 'd1'], ['addr', 'add', '192.0.2.5/24', 'dev', 'd0'], ['addr', 'add', '2001:db8:5::5/64', 'dev', 'd0', 'nodad'], ['link', 'set', 'd1', 'up'], ['link', 'set', 'd0', 'up']]) {
    const r = container.runInNetwork(['ip', ...args]);
    assert.equal(r.status, 0, `ip ${args.join(' ')}: ${r.stderr}`);
  }

  const before = scan(container);
  const v6 = service(before, 2222);
  const v4 = service(before, 2223);
  assert.deepEqual([v6.process, v6.pid, v6.socketUnit?.unit, v6.ipv4, v6.ipv6, v6.mode], ['cat', 1, 'dstest.socket', 'none', 'any', 'ipv6-only']);
  assert.deepEqual(v6.bindings.map((b) => [b.v6only, b.v6onlySource]), [[true, 'sock_diag']], 'BindIPv6Only=ipv6-only: systemd set V6ONLY');
  assert.deepEqual([v4.socketUnit?.unit, v4.ipv4, v4.ipv6, v4.mode], ['dstest.socket', 'any', 'none', 'ipv4-only']);
  // Every verdict against the kernel, inside the container's network namespace
  const checks: Array<[string, number, boolean]> = [['192.0.2.5', 2222, false], ['2001:db8:5::5', 2222, true], ['192.0.2.5', 2223, true], ['2001:db8:5::5', 2223, false]];
  for (const [address, port, expected] of checks) assert.equal(connects(container, address, port), expected, `${address} port ${port}: the report says ${expected ? 'reachable' : 'refused'}`);

  // The finding quotes the unit line and prints a drop-in for the unit, not the daemon's configuration
  const finding = before.findings.find((f) => f.rule === 'service-ipv4-only' && f.subject === 'tcp/2223');
  assert.ok(finding, `service-ipv4-only for tcp/2223 expected: ${before.findings.map((f) => `${f.rule} ${f.subject}`).join(', ')}`);
  assert.ok(finding.evidence.some((e) => e.includes('/etc/systemd/system/dstest.socket:')), finding.evidence.join('\n'));
  const edit = finding.fix.commands.findIndex((c) => c.startsWith('systemctl edit dstest.socket'));
  assert.ok(edit >= 0, finding.fix.commands.join('\n'));
  const dropIn = finding.fix.commands.slice(edit + 1).filter((c) => c.startsWith('#   ')).map((c) => c.slice(4)).join('\n');
  assert.match(dropIn, /^\[Socket\]\n/);
  t.diagnostic(`drop-in printed for dstest.socket:\n${dropIn}`);

  // Apply it the way an operator would (systemctl edit writes this file), reload, restart the socket
  container.run(['sh', '-c', 'mkdir -p /etc/systemd/system/dstest.socket.d && cat > /etc/systemd/system/dstest.socket.d/override.conf'], `${dropIn}\n`);
  container.run(['systemctl', 'daemon-reload']);
  container.run(['systemctl', 'restart', 'dstest.socket']);
  const after = scan(container);
  const fixed = service(after, 2223);
  assert.deepEqual([fixed.socketUnit?.unit, fixed.ipv4, fixed.ipv6], ['dstest.socket', 'any', 'any'], 'after the drop-in both families are served');
  assert.ok(!after.findings.some((f) => f.rule === 'service-ipv4-only' && f.subject === 'tcp/2223'), 'the finding is gone');
  assert.equal(connects(container, '2001:db8:5::5', 2223), true, 'IPv6 clients now connect');
  assert.equal(connects(container, '192.0.2.5', 2223), true, 'IPv4 clients still connect');
});
