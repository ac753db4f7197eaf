// Established connections of one port served by two processes, checked against the kernel.
//
// Each scenario starts two processes on the same TCP port of the host (scenarios.ts
// twoHosts: veth0 192.0.2.2 + .3, 2001:db8:1::2 + ::3), holds real connections from the peer,
// records which process accepted each one (the listeners print every accept), and checks that
// the agent's report gives every service exactly the peers its own process accepted:
//   - 0.0.0.0 in one process, [::] V6ONLY=1 in another (the IPv6 one started first, so it
//     sorts first);
//   - [::] V6ONLY=1 in one process, [::ffff:192.0.2.2] in another: mapped peers;
//   - 0.0.0.0 and 192.0.2.3, both SO_REUSEPORT, the wildcard started first: the kernel
//     gives connections to 192.0.2.3 to the socket bound to it.
//
// Run: node scripts/run-tests.mjs test/netns/connection-attribution   (root; skipped otherwise)
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { validateReport, type ConnectionCounts, type Report } from '../../packages/core/src/schema.js';
import { listNamespaces, liveNamespaces, pidAlive, rootSkipReason, startListeners, waitFor, type Netns } from '../helpers/netns.js';
import { HOST4, HOST4_SECOND, HOST6, HOST6_SECOND, holdConnections, twoHosts, type TwoHosts } from '../helpers/scenarios.js';

const skip = rootSkipReason();
const CLI = fileURLToPath(new URL('../../packages/agent/dist/cli.js', import.meta.url));
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const startedPids: number[] = [];

async function hosts(t: TestContext, prefix: string): Promise<TwoHosts> {
  const h = await twoHosts(prefix);
  t.after(() => h.destroy());
  return h;
}

async function scan(ns: Netns): Promise<Report> {
  const r = await ns.exec(process.execPath, [CLI, 'scan', '--json'], { timeoutMs: 20_000 });
  assert.equal(r.code, 0, `agent scan in ${ns.name} exited ${r.code}: ${r.stderr}`);
  const v = validateReport(JSON.parse(r.stdout) as unknown);
  assert.ok(v.ok, `report does not match its schema: ${JSON.stringify(!v.ok && v.problems)}`);
  return v.report;
}

/** Connections per pid of the services on `port`, as the report attributes them. */
function attributed(report: Report, port: number): Record<number, ConnectionCounts> {
  const services = report.services.filter((s) => s.proto === 'tcp' && s.port === port);
  return Object.fromEntries(services.map((s) => [s.pid ?? -1, s.connections]));
}

/** What the kernel did: accepted connections per pid, classified by the remote address the program saw. */
function accepted(byPid: Record<number, string[]>): Record<number, ConnectionCounts> {
  const out: Record<number, ConnectionCounts> = {};
  for (const [pid, remotes] of Object.entries(byPid)) {
    const c = { ipv4: 0, ipv6: 0, mapped: 0 };
    for (const r of remotes) {
      if (r.startsWith('::ffff:')) c.mapped++;
      else if (r.includes(':')) c.ipv6++;
      else c.ipv4++;
    }
    out[Number(pid)] = c;
  }
  return out;
}

/**
 * A python3 listener on address:port with SO_REUSEPORT, keeping every connection open and
 * printing `ACCEPT <remote>` for each (Node 20's net has no reusePort option).
 */
async function startReusePortListener(ns: Netns, address: string, port: number): Promise<{ pid: number; remotes: string[] }> {
  const family = address.includes(':') ? 'AF_INET6' : 'AF_INET';
  const script = [
    'import socket, sys',
    `s = socket.socket(socket.${family}, socket.SOCK_STREAM)`,
    's.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)',
    `s.bind((${JSON.stringify(address)}, ${port}))`,
    's.listen(16)',
    'print("READY", flush=True)',
    'held = []',
    'while True:',
    '    c, a = s.accept()',
    '    held.append(c)',
    '    print("ACCEPT", a[0], flush=True)',
  ].join('\n');
  const child = ns.spawn(PYTHON, ['-c', script]);
  startedPids.push(child.pid!);
  const remotes: string[] = [];
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`python listener on ${address}:${port} not ready in 10 s: ${stderr}`)), 10_000);
    let buf = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line === 'READY') {
          clearTimeout(timer);
          resolve();
        }
        const m = /^ACCEPT (\S+)$/.exec(line);
        if (m) remotes.push(m[1]!);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`python listener on ${address}:${port} exited ${code}: ${stderr}`));
    });
  });
  return { pid: child.pid!, remotes };
}

test('0.0.0.0 and [::] V6ONLY=1 in two processes: each service counts the peers its process accepted', { skip }, async (t) => {
  const { host, peer } = await hosts(t, 'ca');
  const port = 9200;
  const v6 = await startListeners(host, [{ proto: 'tcp', address: '::', port, ipv6Only: true, title: 'v6d' }]);
  const v4 = await startListeners(host, [{ proto: 'tcp', address: '0.0.0.0', port, title: 'v4d' }]);
  startedPids.push(v6.pid, v4.pid);
  assert.ok(v6.pid < v4.pid, 'the IPv6 process sorts first');
  assert.equal(await holdConnections(peer, [[HOST4, port, 3], [HOST4_SECOND, port, 1], [HOST6, port, 2]]), 6);
  await waitFor(() => v4.events.length + v6.events.length === 6, { message: 'six accepts' });
  const kernel = accepted({ [v4.pid]: v4.events.map((e) => e.remoteAddress), [v6.pid]: v6.events.map((e) => e.remoteAddress) });
  assert.deepEqual(kernel, { [v4.pid]: { ipv4: 4, ipv6: 0, mapped: 0 }, [v6.pid]: { ipv4: 0, ipv6: 2, mapped: 0 } });

  const report = await scan(host);
  assert.deepEqual(attributed(report, port), kernel);
  assert.equal(report.connections.unattributed, 0);
});

test('[::] V6ONLY=1 and [::ffff:192.0.2.2] in two processes: the mapped peers go to the mapped socket', { skip }, async (t) => {
  const { host, peer } = await hosts(t, 'cm');
  const port = 9201;
  const v6 = await startListeners(host, [{ proto: 'tcp', address: '::', port, ipv6Only: true, title: 'v6d' }]);
  const mapped = await startListeners(host, [{ proto: 'tcp', address: `::ffff:${HOST4}`, port, ipv6Only: false, title: 'mapd' }]);
  startedPids.push(v6.pid, mapped.pid);
  assert.ok(v6.pid < mapped.pid);
  assert.equal(await holdConnections(peer, [[HOST4, port, 2], [HOST6_SECOND, port, 1]]), 3);
  await waitFor(() => v6.events.length + mapped.events.length === 3, { message: 'three accepts' });
  const kernel = accepted({ [v6.pid]: v6.events.map((e) => e.remoteAddress), [mapped.pid]: mapped.events.map((e) => e.remoteAddress) });
  assert.deepEqual(kernel, { [v6.pid]: { ipv4: 0, ipv6: 1, mapped: 0 }, [mapped.pid]: { ipv4: 0, ipv6: 0, mapped: 2 } });

  const report = await scan(host);
  assert.deepEqual(attributed(report, port), kernel);
});

test('0.0.0.0 and 192.0.2.3 with SO_REUSEPORT in two processes: connections to 192.0.2.3 belong to the process bound to it', { skip }, async (t) => {
  const { host, peer } = await hosts(t, 'cr');
  const port = 9202;
  const wildcard = await startReusePortListener(host, '0.0.0.0', port);
  const specific = await startReusePortListener(host, HOST4_SECOND, port);
  assert.ok(wildcard.pid < specific.pid, 'the wildcard process sorts first');
  assert.equal(await holdConnections(peer, [[HOST4_SECOND, port, 3], [HOST4, port, 1]]), 4);
  await waitFor(() => wildcard.remotes.length + specific.remotes.length === 4, { message: 'four accepts' });
  const kernel = accepted({ [wildcard.pid]: wildcard.remotes, [specific.pid]: specific.remotes });
  assert.deepEqual(kernel, { [wildcard.pid]: { ipv4: 1, ipv6: 0, mapped: 0 }, [specific.pid]: { ipv4: 3, ipv6: 0, mapped: 0 } }, 'the kernel prefers the exact address');

  const report = await scan(host);
  assert.deepEqual(attributed(report, port), kernel);
});

test('cleanup: no namespace and no process of these tests is left', { skip }, async () => {
  assert.deepEqual(liveNamespaces(), []);
  assert.deepEqual((await listNamespaces()).filter((n) => n.includes(`-${process.pid}-`)), []);
  assert.deepEqual(startedPids.filter(pidAlive), []);
});
