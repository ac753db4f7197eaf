// The native sock_diag reader's C under AddressSanitizer and UndefinedBehaviorSanitizer (issue
// 14): crafted netlink buffers (truncated at every byte, oversized and zero lengths, unknown
// attributes and message types, kernel errors) through the attribute walk, each with the result
// it must give; then live dumps, in this namespace and entering one made here and a path that
// does not exist, through the code the module runs. Any finding aborts the driver (no recover).
// The namespace holds 4000 listening sockets and 3000 connections (12000 sockets in all), so
// its dumps span many receive buffers; every table of it is dumped too (dumpSockets' code),
// and the owners walk (fd-sockets.c) reads every process's descriptors for its listeners.
// The 100k-socket dump is the benchmark's (test/bench/scan.bench.mjs), not CI's. ~7 s.

// 2000 TCP listeners and 2000 bound UDP sockets on [::], V6ONLY alternating; 1500 IPv6 and
// 1500 IPv4-mapped connections to the dual-stack listeners, both ends held.
const HOLDER = `
import resource, socket, time
resource.setrlimit(resource.RLIMIT_NOFILE, (16384, 16384))
held = []
tcp = []
for i in range(2000):
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        s = socket.socket(socket.AF_INET6, kind)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, i % 2)
        s.bind(("::", 0))
        if kind == socket.SOCK_STREAM: s.listen(); tcp.append(s)
        held.append(s)
for i in range(3000):
    listener = tcp[(i % 1000) * 2]
    family, address = (socket.AF_INET6, "::1") if i % 2 else (socket.AF_INET, "127.0.0.1")
    c = socket.socket(family, socket.SOCK_STREAM)
    c.connect((address, listener.getsockname()[1]))
    held += [c, listener.accept()[0]]
print("READY", flush=True)
time.sleep(1e9)
`;
import { once } from 'node:events';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { Netns, rootSkipReason } from '../helpers/netns.js';
import { skipUnlessCommands } from '../helpers/requirements.js';
import { buildDir, buildSanitizedDriver } from './build-module.js';

test('the attribute walk and the live dumps run clean under ASan and UBSan', { skip: skipUnlessCommands({ gcc: 'gcc' }) || rootSkipReason() }, async (t) => {
  const built = buildDir();
  t.after(() => built.remove());
  const driver = buildSanitizedDriver(built.dir);
  const ns = await Netns.create('sanitize');
  t.after(() => ns.destroy());
  await ns.ip('link', 'add', 'd0', 'type', 'veth', 'peer', 'name', 'd1');
  const holder = ns.spawn('python3', ['-c', HOLDER]);
  await once(holder.stdout!, 'data');
  const r = spawnSync(driver, ['--tables', `/run/netns/${ns.name}`, `/run/netns/${ns.name}`, '/nonexistent/ns/net'], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=0', UBSAN_OPTIONS: 'print_stacktrace=1' } });
  t.diagnostic(r.stdout.trim());
  assert.equal(r.status, 0, `driver failed (${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /^ok \d+$/m);
  assert.match(r.stdout, new RegExp(`entered /run/netns/${ns.name}: 4000 records, \\d+ sysctl bytes, error 0`));
  // IPv4 clients: their ends in tcp, the accepted ends (mapped) in tcp6 with the IPv6 ones' both ends.
  assert.match(r.stdout, /^table tcp: 1500 records, 1500 established$/m);
  assert.match(r.stdout, /^table tcp6: 6500 records, 4500 established$/m);
  assert.match(r.stdout, /^table udp6: 2000 records, 0 established$/m);
  assert.match(r.stdout, /entered \/nonexistent\/ns\/net: 0 records, 0 sysctl bytes, error -2 \(open\)/);
  // The owners walk over every process: the holder's 2000 listeners, among its 12000 descriptors.
  assert.match(r.stdout, /^fd walk: \d+ processes \([1-9]\d* with more than 256 descriptors\), 2000 holdings of 2000 listening sockets$/m);
  assert.equal(r.stderr, '', 'no sanitizer report');
});
