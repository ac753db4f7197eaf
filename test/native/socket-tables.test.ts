// The socket tables from the native module (dumpSockets, issue 14) against /proc, socket for
// socket, on a namespace made here: TCP listening on 0.0.0.0, 127.0.0.1, and [::] with V6ONLY 1
// and 0, established connections to each (IPv4, IPv6, and IPv4 clients of the dual-stack
// socket arriving as ::ffff: mapped peers), the outgoing ends of those connections, UDP bound
// on [::] with V6ONLY 1 and 0 and on 0.0.0.0, and a connected UDP socket. First the summaries
// (every SocketLine, every established tally, whole), then the agent's whole scan by both
// paths: the same services, bindings, V6ONLY flags, owners' inodes and verdicts, and once more
// with a module that loads but cannot dump (no NETLINK_SOCK_DIAG, as under qemu-user: an
// LD_PRELOAD shim, no-sock-diag.c): each table falls back to /proc and says why. ~12 s at load 20.
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import type { Report } from '../../packages/core/src/schema.js';
import { readSocketTable, socketFiles, type SocketFile, type SocketTableSummary } from '../../packages/agent/src/proc/net-sockets.js';
import { summaryOfRecords } from '../../packages/agent/src/sockdiag-native/socket-table.js';
import { nativeSockets } from '../../packages/agent/src/sockdiag-native/records.js';
import { Netns, rootSkipReason } from '../helpers/netns.js';
import { skipUnlessCommands } from '../helpers/requirements.js';
import { buildDir, buildModule } from './build-module.js';

const CLI = fileURLToPath(new URL('../../packages/agent/dist/cli.js', import.meta.url));
const SHIM = fileURLToPath(new URL('./no-sock-diag.c', import.meta.url));

const HOLDER = `
import socket, time
A4, A6, S, D = socket.AF_INET, socket.AF_INET6, socket.SOCK_STREAM, socket.SOCK_DGRAM
held = []
def bound(family, kind, address, port, v6only=None):
    s = socket.socket(family, kind)
    if v6only is not None: s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, v6only)
    s.bind((address, port))
    if kind == S: s.listen(64)
    held.append(s)
    return s
listeners = {7201: bound(A4, S, "0.0.0.0", 7201), 7202: bound(A6, S, "::", 7202, 1), 7203: bound(A6, S, "::", 7203, 0), 7207: bound(A4, S, "127.0.0.1", 7207)}
bound(A6, D, "::", 7204, 1); bound(A6, D, "::", 7205, 0); bound(A4, D, "0.0.0.0", 7206)
for family, address, port, count in [(A4, "127.0.0.1", 7201, 3), (A6, "::1", 7202, 1), (A6, "::1", 7203, 2), (A4, "127.0.0.1", 7203, 2), (A4, "127.0.0.1", 7207, 1)]:
    for _ in range(count):
        c = socket.socket(family, S); c.connect((address, port)); held.append(c)
        held.append(listeners[port].accept()[0])
u = socket.socket(A6, D); u.connect(("::1", 7205)); held.append(u)
print("READY", flush=True)
time.sleep(1e9)
`;

const files = Object.keys(socketFiles) as SocketFile[];

/** A summary as plain data, listening sockets sorted: compared whole. */
const plain = (s: SocketTableSummary | null) =>
  s && { ...s, listening: [...s.listening].sort((a, b) => a.inode - b.inode || a.localPort - b.localPort), established: [...s.established.entries()].sort(([a], [b]) => a.localeCompare(b)) };

test('native socket tables: the same summaries as /proc, and the same scan', { skip: skipUnlessCommands({ gcc: 'gcc', python3: 'python3' }) || rootSkipReason() }, async (t) => {
  const built = buildDir();
  t.after(() => built.remove());
  const modulePath = buildModule(built.dir);
  const ns = await Netns.create('tables');
  t.after(() => ns.destroy());
  const holder = ns.spawn('python3', ['-c', HOLDER]);
  await once(holder.stdout!, 'data');

  await t.test('every table: the records walk gives what the /proc parser gives', async () => {
    // Dumped by a process inside the namespace; /proc read through the holder's pid (its net/).
    const script = `const m = { exports: {} }; process.dlopen(m, ${JSON.stringify(modulePath)}); process.stdout.write(JSON.stringify(${JSON.stringify(files.map((f) => [socketFiles[f].family, socketFiles[f].proto]))}.map(([f, p]) => m.exports.dumpSockets(f, p).toString('base64'))));`;
    const r = await ns.exec(process.execPath, ['-e', script]);
    assert.equal(r.code, 0, r.stderr);
    const dumps = (JSON.parse(r.stdout) as string[]).map((b) => Buffer.from(b, 'base64'));
    files.forEach((file, i) => {
      const fromProc = readSocketTable({ path: `/proc/${holder.pid}`, live: false }, file);
      assert.deepEqual(plain(summaryOfRecords(dumps[i]!, file)), plain(fromProc), file);
    });
    // What the namespace holds, so the equality is not of empty tables.
    const tcp6 = summaryOfRecords(dumps[1]!, 'tcp6');
    assert.deepEqual(
      tcp6.established.size > 0 && [...tcp6.established.values()].map((e) => `${e.localPort}:${e.peers.ipv4}/${e.peers.ipv6}/${e.peers.mapped}`).sort(),
      ['7202:0/1/0', '7203:0/0/2', '7203:0/2/0'],
      'peers of ::1 and of ::ffff:127.0.0.1, each at its own local endpoint',
    );
    assert.deepEqual(summaryOfRecords(dumps[0]!, 'tcp').unattributed.ipv4, 6, 'the outgoing ends of the IPv4 connections');
    assert.deepEqual([...nativeSockets(dumps[1]!)].filter((s) => s.state === 10).map((s) => `${s.port}/${s.v6only}`).sort(), ['7202/true', '7203/false']);
  });

  await t.test("the agent's scan: native for every table when the module loads, /proc otherwise, the same services", async () => {
    const shim = join(built.dir, 'no-sock-diag.so');
    execFileSync('gcc', ['-shared', '-fPIC', '-O2', '-Wall', '-Wextra', '-Werror', SHIM, '-o', shim, '-ldl'], { stdio: 'pipe' });
    const scan = async (module: string, preload: string[] = []): Promise<Report> => {
      const r = await ns.exec('env', [...preload, `DUALSTACK_SOCKDIAG_MODULE=${module}`, process.execPath, CLI, 'scan', '--json', '--namespaces', 'host', ...['reachability', 'firewall', 'daemon-config'].flatMap((s) => ['--disable-source', s])], { timeoutMs: 30_000 });
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout) as Report;
    };
    const viaNative = await scan(modulePath);
    const viaProc = await scan('/nonexistent/sockdiag.node');
    for (const file of files) {
      assert.equal(viaNative.sources.find((s) => s.name === file)?.detail, `sock_diag (native module ${modulePath})`, file);
      assert.equal(viaProc.sources.find((s) => s.name === file)?.detail, '/proc (DUALSTACK_SOCKDIAG_MODULE=/nonexistent/sockdiag.node does not exist)', file);
    }
    assert.deepEqual(viaNative.services, viaProc.services);
    assert.deepEqual(viaNative.connections, viaProc.connections);
    assert.deepEqual(viaNative.findings, viaProc.findings);
    const failing = await scan(modulePath, [`LD_PRELOAD=${shim}`]);
    const failed = 'the native sock_diag module failed: socket(NETLINK_SOCK_DIAG): Protocol not supported';
    for (const file of files) assert.equal(failing.sources.find((s) => s.name === file)?.detail, `/proc (${failed})`, file);
    assert.equal(failing.sources.find((s) => s.name === 'sockdiag')?.detail, `ss (${failed})`);
    assert.deepEqual(failing.services, viaProc.services);
    const bindings = viaNative.services.flatMap((s) => s.bindings.map((b) => `${s.proto}/${s.port}/${b.address}/${b.v6only}/${s.pid === holder.pid}`)).sort();
    assert.deepEqual(bindings, [
      'tcp/7201/0.0.0.0/null/true',
      'tcp/7202/::/true/true',
      'tcp/7203/::/false/true',
      'tcp/7207/127.0.0.1/null/true',
      'udp/7204/::/true/true',
      'udp/7205/::/false/true',
      'udp/7206/0.0.0.0/null/true',
    ]);
  });
});
