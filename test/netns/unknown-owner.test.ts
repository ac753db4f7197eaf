// A listening socket whose process the agent cannot see although it runs as root: the agent
// in its own PID namespace (as in a container that shares the host's network namespace) and
// a daemon outside it. The report must say why the process is unknown, and must not tell
// the operator to run the agent as root, which it already is.
//
// Run: node scripts/run-tests.mjs test/netns/unknown-owner   (root; skipped otherwise)
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { validateReport } from '../../packages/core/src/schema.js';
import { addAddress, linkVeth, Netns, rootSkipReason, startListeners } from '../helpers/netns.js';

const skip = rootSkipReason();
const CLI = fileURLToPath(new URL('../../packages/agent/dist/cli.js', import.meta.url));

test('as root in another PID namespace: the process is unknown because of the PID namespace, never "run as root"', { skip }, async (t) => {
  const host = await Netns.create('own');
  t.after(() => host.destroy());
  const peer = await Netns.create('ownp');
  t.after(() => peer.destroy());
  await linkVeth(host, 'veth0', peer, 'veth1');
  await addAddress(host, 'veth0', '2001:db8:7::2/64');
  await addAddress(host, 'veth0', '192.0.2.2/24');
  // An IPv4-only daemon, so that service-ipv4-only quotes the unknown process in its evidence.
  const listeners = await startListeners(host, [{ proto: 'tcp', address: '0.0.0.0', port: 2525 }]);
  t.after(() => listeners.stop());

  // The same network namespace, a new PID namespace with its own /proc: the daemon is not in it.
  const r = await host.exec('unshare', ['--pid', '--fork', '--mount-proc', process.execPath, CLI, 'scan', '--json'], { timeoutMs: 30_000 });
  assert.equal(r.code, 0, `scan failed: ${r.stderr}`);
  const v = validateReport(JSON.parse(r.stdout) as unknown);
  assert.ok(v.ok, JSON.stringify(!v.ok && v.problems));
  const report = v.report;

  const service = report.services.find((s) => s.proto === 'tcp' && s.port === 2525);
  assert.ok(service, `tcp/2525 missing: ${report.services.map((s) => `${s.proto}/${s.port}`).join(', ')}`);
  assert.equal(service.process, null, 'the daemon is outside the agent\'s PID namespace: no process can be named');

  const owners = report.sources.find((s) => s.name === 'owners')!;
  t.diagnostic(`owners: ${owners.status}: ${owners.detail ?? ''}`);
  assert.equal(owners.status, 'partial');
  assert.match(owners.detail ?? '', /1 listening socket has no process visible to the agent although every process was read: held by a process in another PID namespace/);

  const finding = report.findings.find((f) => f.rule === 'service-ipv4-only' && f.subject === 'tcp/2525');
  assert.ok(finding, `service-ipv4-only expected: ${report.findings.map((f) => `${f.rule} ${f.subject}`).join(', ')}`);
  const evidence = finding.evidence.find((e) => e.startsWith('process unknown'));
  t.diagnostic(`evidence: ${evidence}`);
  assert.match(evidence ?? '', /another PID namespace/);
  for (const e of finding.evidence) assert.doesNotMatch(e, /run (the agent )?as root/, 'the agent is root: it must not blame privileges it has');
});
