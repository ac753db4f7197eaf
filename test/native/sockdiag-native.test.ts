// The native sock_diag module (issue 14) against ss and /proc/sys, socket for socket, on a
// namespace made here: TCP on 0.0.0.0, on :: with V6ONLY 0 and 1, UDP likewise; bindv6only=1
// and disable_ipv6=1 on one end of a veth pair, set after the listeners (so the flags disagree with
// what bindv6only would infer). Entered from this process, dumped by a process inside it, and
// through the agent's sockdiag source, with the ss path for reference. ~5 s.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readlinkSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Report } from '../../packages/core/src/schema.js';
import { parseSsV6only, SS_ARGS } from '../../packages/agent/src/sockdiag.js';
import { v6onlyOfRecords, nativeSockets } from '../../packages/agent/src/sockdiag-native/records.js';
import { grepDumpOfPairs } from '../../packages/agent/src/sockdiag-native/sysctl-dump.js';
import { enterNamespaces, enterNatively, enterWithShell, sysctlsFromDump } from '../../packages/agent/src/namespaces/enter.js';
import { SOCKDIAG_MODULE_ENV } from '../../packages/agent/src/sockdiag-native/load.js';
import { ipv6ConfKeys } from '../../packages/agent/src/proc/sysctl-ipv6.js';
import { Netns, rootSkipReason, startListeners, type Listeners } from '../helpers/netns.js';
import { skipUnlessCommands } from '../helpers/requirements.js';
import { buildDir, buildModule, loadModule } from './build-module.js';

const CLI = fileURLToPath(new URL('../../packages/agent/dist/cli.js', import.meta.url));
const skip = skipUnlessCommands({ gcc: 'gcc' }) || rootSkipReason();

/** Every tcp/udp socket's inode in ss's output (what the module dumps: -A inet also lists raw). */
const ssInodes = (text: string): number[] =>
  text.split('\n').filter((l) => /^(tcp|udp)\s/.test(l)).map((l) => Number(/\sino:(\d+)/.exec(l)?.[1])).sort((a, b) => a - b);
const inodesOf = (records: Uint8Array): number[] => [...nativeSockets(records)].map((s) => s.inode).sort((a, b) => a - b);

test('native sock_diag: the same sockets, V6ONLY flags and sysctls as ss and /proc/sys', { skip }, async (t) => {
  const built = buildDir();
  t.after(() => built.remove());
  const modulePath = buildModule(built.dir);
  const native = loadModule(modulePath);

  const ns = await Netns.create('native');
  t.after(() => ns.destroy());
  await ns.ip('link', 'add', 'd0', 'type', 'veth', 'peer', 'name', 'd1');
  const listeners: Listeners = await startListeners(ns, [
    { proto: 'tcp', address: '0.0.0.0', port: 7101 },
    { proto: 'tcp', address: '::', port: 7102, ipv6Only: true },
    { proto: 'tcp', address: '::', port: 7103, ipv6Only: false },
    { proto: 'udp', address: '::', port: 7104, ipv6Only: true },
    { proto: 'udp', address: '::', port: 7105, ipv6Only: false },
    { proto: 'udp', address: '0.0.0.0', port: 7106 },
  ]);
  t.after(() => listeners.stop());
  assert.equal(await ns.sysctl('net.ipv6.bindv6only', '1'), '1');
  assert.equal(await ns.sysctl('net.ipv6.conf.d0.disable_ipv6', '1'), '1');

  const ss = await ns.exec('ss', SS_ARGS);
  assert.equal(ss.code, 0, ss.stderr);
  const ssFlags = parseSsV6only(ss.stdout);
  assert.deepEqual([...ssFlags.values()].sort(), [false, false, true, true], `ss saw the four IPv6 sockets: ${ss.stdout}`);
  const grep = await ns.exec('grep', ['-r', '-H', ...['bindv6only', ...ipv6ConfKeys].map((k) => `--include=${k}`), '', '/proc/sys/net/ipv6/bindv6only', '/proc/sys/net/ipv6/conf']);
  assert.equal(grep.code, 0, grep.stderr);

  await t.test('entered from this process, by /proc/PID/ns/net and by /run/netns', () => {
    const before = readlinkSync('/proc/thread-self/ns/net');
    const results = native.enterEach([`/proc/${listeners.pid}/ns/net`, `/run/netns/${ns.name}`, '/nonexistent/ns/net', '/proc/self/ns/uts'], [...ipv6ConfKeys]);
    assert.equal(readlinkSync('/proc/thread-self/ns/net'), before, 'back in its own namespace');
    for (const r of results.slice(0, 2)) {
      assert.equal(r.error, null);
      assert.deepEqual(v6onlyOfRecords(r.records!), ssFlags);
      assert.deepEqual(inodesOf(r.records!), ssInodes(ss.stdout));
      const sysctls = sysctlsFromDump(grepDumpOfPairs(r.sysctls!));
      assert.deepEqual(sysctls, sysctlsFromDump(grep.stdout));
      assert.equal(sysctls?.bindv6only, 1);
      assert.equal(sysctls?.interfaces.find((i) => i.name === 'd0')?.raw.disable_ipv6, 1);
    }
    assert.match(results[2]!.error ?? '', /^open: No such file or directory$/);
    assert.match(results[3]!.error ?? '', /^setns: Invalid argument$/, 'a UTS namespace is not a network namespace');
  });

  await t.test('the namespaces source: the native path gives what the nsenter batch gives', async () => {
    process.env[SOCKDIAG_MODULE_ENV] = modulePath; // read once, at the agent's first load
    const inode = Number(/^net:\[(\d+)\]$/.exec(readlinkSync(`/proc/${listeners.pid}/ns/net`))?.[1]);
    const entering = enterNamespaces([{ pid: listeners.pid, inode }]);
    assert.equal(entering.by, `native sock_diag module ${modulePath}`);
    const inProcess = (await entering.entered).get(listeners.pid)!;
    const shell = (await enterWithShell([listeners.pid])).get(listeners.pid)!;
    assert.equal(inProcess.problem, null);
    assert.equal(shell.problem, null);
    assert.deepEqual(parseSsV6only(inProcess.sockdiag!), parseSsV6only(shell.sockdiag!));
    assert.deepEqual(parseSsV6only(inProcess.sockdiag!), ssFlags);
    assert.deepEqual(sysctlsFromDump(inProcess.sysctl!), sysctlsFromDump(shell.sysctl!));
    // A pid that discovery saw in another namespace (exited, pid reused): nothing taken from it.
    const reused = enterNatively(native, [{ pid: listeners.pid, inode: inode + 1 }]).get(listeners.pid)!;
    assert.deepEqual([reused.sockdiag, reused.sysctl], [null, null]);
    assert.match(reused.problem ?? '', new RegExp(`is now in net:\\[${inode}\\], not net:\\[${inode + 1}\\] \\(it exited and the pid was reused\\)`));
  });

  await t.test("in the dumping process's own namespace", async () => {
    const script = `const m = { exports: {} }; process.dlopen(m, ${JSON.stringify(modulePath)}); process.stdout.write(m.exports.dumpListening().toString('base64'));`;
    const r = await ns.exec(process.execPath, ['-e', script]);
    assert.equal(r.code, 0, r.stderr);
    const records = Buffer.from(r.stdout, 'base64');
    assert.deepEqual(v6onlyOfRecords(records), ssFlags);
    assert.deepEqual(inodesOf(records), ssInodes(ss.stdout));
    const ports = [...nativeSockets(records)].map((s) => `${s.proto}/${s.family}/${s.port}/${s.v6only}`).sort();
    assert.deepEqual(ports, ['tcp/4/7101/null', 'tcp/6/7102/true', 'tcp/6/7103/false', 'udp/4/7106/null', 'udp/6/7104/true', 'udp/6/7105/false']);
  });

  await t.test("the agent's sockdiag source: native when the module loads, ss otherwise, same verdicts", async () => {
    const scan = async (module: string): Promise<Report> => {
      const r = await ns.exec('env', [`DUALSTACK_SOCKDIAG_MODULE=${module}`, process.execPath, CLI, 'scan', '--json', '--namespaces', 'host', ...['reachability', 'owners', 'firewall', 'daemon-config'].flatMap((s) => ['--disable-source', s])], { timeoutMs: 30_000 });
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout) as Report;
    };
    const flags = (report: Report) => report.services.flatMap((s) => s.bindings.map((b) => `${s.proto}/${s.port}/${b.inode}/${b.v6only}/${b.v6onlySource}`)).sort();
    const viaNative = await scan(modulePath);
    const viaSs = await scan('/nonexistent/sockdiag.node');
    assert.equal(viaNative.sources.find((s) => s.name === 'sockdiag')?.detail, `native sock_diag module ${modulePath}`);
    assert.equal(viaSs.sources.find((s) => s.name === 'sockdiag')?.detail, 'ss (DUALSTACK_SOCKDIAG_MODULE=/nonexistent/sockdiag.node does not exist)');
    assert.deepEqual(flags(viaNative), flags(viaSs));
    assert.ok(flags(viaNative).some((f) => f.startsWith('tcp/7102/') && f.endsWith('/true/sock_diag')), flags(viaNative).join(' '));
    assert.ok(flags(viaNative).some((f) => f.startsWith('udp/7105/') && f.endsWith('/false/sock_diag')), flags(viaNative).join(' '));
  });
});
