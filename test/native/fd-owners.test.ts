// The owners walk by the native module (fdSocketsAsync, packages/agent/native/fd-sockets.c)
// against the TypeScript walk it stands in for (packages/agent/src/proc/owners.ts), on the live
// /proc of this machine: every process searched, and in a namespace made here a process holding
// listening sockets at low descriptors, one past 400 descriptors and one again at fd 1000, a
// child holding one shared socket only at fd 700 (found by the second pass alone), and a socket
// with no holder at all (in flight in a unix socket's queue), which makes the second pass run.
// With the low sockets wanted (one pass), then all (two), both walks give the same owners, in
// the same order, and the same counts. ~3 s.
import { once } from 'node:events';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scanSocketOwners, scanSocketOwnersWith, type OwnerScan } from '../../packages/agent/src/proc/owners.js';
import { nativeFdPassReader } from '../../packages/agent/src/sockdiag-native/fd-sockets.js';
import { Netns, rootSkipReason } from '../helpers/netns.js';
import { skipUnlessCommands } from '../helpers/requirements.js';
import { buildDir, buildModule, loadModule } from './build-module.js';

const HOLDER = `
import os, resource, socket, time
resource.setrlimit(resource.RLIMIT_NOFILE, (4096, 4096))
def listen(family, address, port):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.bind((address, port)); s.listen()
    return s
low4, low6 = listen(socket.AF_INET, "0.0.0.0", 7301), listen(socket.AF_INET6, "::", 7302)
pad = [os.open("/dev/null", os.O_RDONLY) for _ in range(400)]
high = listen(socket.AF_INET, "127.0.0.1", 7303)
os.dup2(low4.fileno(), 1000)
# In flight: sent, never received, closed here. The kernel keeps it; no process holds it.
a, b = socket.socketpair()
orphan = listen(socket.AF_INET, "0.0.0.0", 7304)
socket.send_fds(a, [b"x"], [orphan.fileno()])
orphan.close()
child = os.fork()
if child == 0:
    os.dup2(low6.fileno(), 700)
    for s in (low4, low6, high, a, b): s.close()
    os.close(1000)
    time.sleep(1e9)
print(f"READY {child}", flush=True)
time.sleep(1e9)
`;

/** The listening sockets' inodes by port, from the namespace's tables (read through `pid`). */
function listeners(pid: number): Map<number, number> {
  const byPort = new Map<number, number>();
  for (const file of ['tcp', 'tcp6']) {
    for (const line of readFileSync(`/proc/${pid}/net/${file}`, 'latin1').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f[3] === '0A') byPort.set(parseInt(f[1]!.split(':')[1]!, 16), Number(f[9]));
    }
  }
  return byPort;
}

/** What both walks must agree on (processes and otherNamespace count the host's processes of the moment). */
const agreed = (scan: OwnerScan) => ({ owners: [...scan.owners.entries()], unreadable: scan.unreadable, denied: scan.denied, secondPass: scan.secondPass });

test('the native fd walk finds the same owners as the TypeScript walk, in one pass and in two', { skip: skipUnlessCommands({ gcc: 'gcc', python3: 'python3' }) || rootSkipReason() }, async (t) => {
  const built = buildDir();
  t.after(() => built.remove());
  const module = loadModule(buildModule(built.dir));
  const ns = await Netns.create('fdown');
  t.after(() => ns.destroy());
  const holder = ns.spawn('python3', ['-c', HOLDER]);
  let said = '';
  while (!said.includes('\n')) said += String(((await once(holder.stdout!, 'data')) as [Buffer])[0]);
  const parent = holder.pid!;
  const child = Number(/READY (\d+)/.exec(said)?.[1] ?? assert.fail(`holder said: ${said}`));
  const link = readlinkSync(`/proc/${parent}/ns/net`);
  const inode = listeners(parent);
  assert.deepEqual([...inode.keys()].sort(), [7301, 7302, 7303, 7304]);

  const root = { path: '/proc', live: true };
  const reader = nativeFdPassReader(module, '/proc');
  // Every process of the host's namespace and of this one is searched, as the agent walks
  // them; the second pass reads only this namespace's (the one with a socket lacking a holder).
  const byPid = new Map<number, string>();
  for (const name of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      byPid.set(Number(name), readlinkSync(`/proc/${name}/ns/net`));
    } catch {
      // exited, or refused: searched like the agent searches it
    }
  }
  const searched = new Set([link, readlinkSync('/proc/self/ns/net')]);
  const namespaces = (wanted: Set<number>) => ({ byPid, searched, socketNamespace: new Map([...wanted].map((i) => [i, link])) });
  const pidsOf = (scan: OwnerScan, port: number) => scan.owners.get(inode.get(port)!)?.map((o) => o.pid);

  await t.test('every socket has a holder among the first 256 descriptors: one pass; the child, at fd 700, is not read', async () => {
    const wanted = new Set([7301, 7302].map((p) => inode.get(p)!));
    const js = scanSocketOwners(root, wanted, undefined, namespaces(wanted));
    const native = await scanSocketOwnersWith(reader, root, wanted, undefined, namespaces(wanted));
    assert.deepEqual(agreed(native), agreed(js));
    assert.equal(js.secondPass, false);
    assert.deepEqual([7301, 7302].map((p) => pidsOf(js, p)), [[parent], [parent]]);
  });

  await t.test('a socket without a holder: a second pass, which finds the socket past 400 descriptors and the child at fd 700', async () => {
    const wanted = new Set(inode.values());
    const js = scanSocketOwners(root, wanted, undefined, namespaces(wanted));
    const native = await scanSocketOwnersWith(reader, root, wanted, undefined, namespaces(wanted));
    assert.deepEqual(agreed(native), agreed(js));
    assert.equal(js.secondPass, true);
    assert.deepEqual([7301, 7302, 7303, 7304].map((p) => pidsOf(js, p)), [[parent], [parent, child], [parent], undefined]);
  });
});
