// The native module with exactly the capabilities the agent's unit gives (issue 16's drop-in),
// as nobody through setpriv: its own namespace's dump needs none; entering another namespace
// is refused without CAP_SYS_ADMIN (setns: EPERM, reported per namespace, the agent then
// falls back to the nsenter batch, which is refused the same) and works with the drop-in's.
// The capability lists are parsed from deploy/systemd, as test/privilege/namespace-caps.test.ts
// does. The unit's seccomp part (RestrictNamespaces) is not applied by setpriv. ~4 s.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ipv6ConfKeys } from '../../packages/agent/src/proc/sysctl-ipv6.js';
import { v6onlyOfRecords } from '../../packages/agent/src/sockdiag-native/records.js';
import { Netns, rootSkipReason, startListeners } from '../helpers/netns.js';
import { skipUnlessCommands } from '../helpers/requirements.js';
import { capabilities, setprivAs } from '../helpers/unit-capabilities.js';
import { buildDir, buildModule } from './build-module.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const UNIT = join(REPO, 'deploy/systemd/dualstack-agent.service');
const DROP_IN = join(REPO, 'deploy/systemd/dualstack-agent.service.d/namespaces.conf');
const skip = skipUnlessCommands({ gcc: 'gcc', setpriv: 'util-linux' }) || rootSkipReason();

test('native module as nobody: own dump with the unit\'s capabilities, entering only with the drop-in\'s', { skip }, async (t) => {
  const built = buildDir();
  t.after(() => built.remove());
  const modulePath = buildModule(built.dir);
  chmodSync(built.dir, 0o755); // nobody loads it
  const agentNs = await Netns.create('nativecaps-agent');
  t.after(() => agentNs.destroy());
  const container = await Netns.create('nativecaps-ct');
  t.after(() => container.destroy());
  const listeners = await startListeners(container, [
    { proto: 'tcp', address: '::', port: 9191, ipv6Only: true },
    { proto: 'tcp', address: '::', port: 9192, ipv6Only: false },
  ]);
  t.after(() => listeners.stop());

  const script = `const m = { exports: {} }; process.dlopen(m, ${JSON.stringify(modulePath)});
const own = m.exports.dumpListening().length;
const [r] = m.exports.enterEach([${JSON.stringify(`/proc/${listeners.pid}/ns/net`)}], ${JSON.stringify([...ipv6ConfKeys])});
process.stdout.write(JSON.stringify({ own, error: r.error, records: r.records && r.records.toString('base64') }));`;
  const runAs = async (caps: string[]) => {
    const r = await agentNs.exec('setpriv', [...setprivAs(caps), process.execPath, '-e', script]);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as { own: number; error: string | null; records: string | null };
  };

  const unitOnly = await runAs(capabilities([UNIT], 'AmbientCapabilities'));
  assert.equal(unitOnly.own, 0, "the agent's (empty) namespace dumped without any capability");
  assert.equal(unitOnly.error, 'setns: Operation not permitted');
  const withDropIn = await runAs(capabilities([UNIT, DROP_IN], 'AmbientCapabilities'));
  assert.equal(withDropIn.error, null);
  assert.deepEqual([...v6onlyOfRecords(Buffer.from(withDropIn.records!, 'base64')).values()].sort(), [false, true]);
});
