// The agent's /proc/net/{tcp,tcp6,udp,udp6} parser against an independent oracle: `ss -Htuna`
// (sock_diag over netlink, a different kernel interface) taken at the same moment.
//
// Listening sockets (TCP LISTEN; UDP unconnected with a nonzero port) must match exactly as a
// set of (proto, family, local address, port); inside a namespace with the socket-table
// scenario and held connections, established TCP sockets must match exactly too (as 4-tuples,
// and as the scan counts them: per local port, by peer family, IPv4-mapped apart).
// ss runs right before and right after the /proc read; when the two differ (a live machine is
// not quiet) the read is retried.
//
// Run: node --import tsx --test test/oracle/ss-oracle.test.ts   (the namespace part needs root)
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { test, type TestContext } from 'node:test';
import { promisify } from 'node:util';
import {
  parseSocketTable,
  procRoot,
  readSocketTable,
  socketFiles,
  TCP_ESTABLISHED,
  TCP_LISTEN,
  UDP_UNCONNECTED,
  type ProcRoot,
  type SocketFile,
} from '../../packages/agent/src/index.js';
import {
  listNamespaces,
  liveNamespaces,
  pidAlive,
  rootSkipReason,
  waitFor,
  waitForDad,
} from '../helpers/netns.js';
import { heldConnections, holdConnections, PEER4, servicePlan, startDaemons, twoHosts } from '../helpers/scenarios.js';
import { skipUnlessCommands } from '../helpers/requirements.js';

const run = promisify(execFile);
const skip = rootSkipReason();
const ssMissing = skipUnlessCommands({ ss: 'iproute2' });
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const startedPids: number[] = [];

// ------------------------------------------------------------------ addresses

/**
 * One spelling per address, independent of both ss's and the agent's formatting: the WHATWG
 * URL host serializer (IPv6 compressed per RFC 5952, lower case; IPv4-mapped as hex words).
 */
function canon(address: string): string {
  const family = isIP(address);
  if (family === 0) throw new Error(`not an IP address: ${JSON.stringify(address)}`);
  return new URL(`http://${family === 6 ? `[${address}]` : address}/`).hostname;
}

interface Endpoint {
  family: 4 | 6;
  address: string; // canonical
  port: number | null; // null for ss's `*`
  /** ss only: the device after `%` (SO_BINDTODEVICE or a link-local scope); /proc does not show it. */
  device: string | null;
  /** ss only: `*` is how ss prints an AF_INET6 `::` socket with V6ONLY=0. */
  dualStackStar: boolean;
}

/**
 * ss's address notation (iproute2 misc/ss.c inet_addr_print + sock_addr_print):
 *   `0.0.0.0:22`             AF_INET
 *   `[::]:22`                AF_INET6, V6ONLY=1 (or any other IPv6 address, bracketed)
 *   `*:80`                   AF_INET6 `::` with V6ONLY=0
 *   `[::ffff:127.0.0.1]:x`   AF_INET6 bound to an IPv4-mapped address
 *   `127.0.0.53%lo:53`       bound to a device (SO_BINDTODEVICE)
 *   `[fe80::1]%veth0:x`      link-local, scoped to its interface
 *   `...:*`                  port 0 (the peer of a listening socket)
 * Interface names cannot contain ':' (dev_valid_name), so the last ':' starts the port.
 */
function parseSsEndpoint(text: string): Endpoint {
  const m = /^(?:\[([^\]]+)\]|(\*)|([0-9.]+))(?:%([^:\s]+))?:(\d+|\*)$/.exec(text);
  if (!m) throw new Error(`unknown ss endpoint notation: ${JSON.stringify(text)}`);
  const [, bracketed, star, dotted, device, port] = m;
  const raw = bracketed ?? (star ? '::' : dotted!);
  const family = isIP(raw);
  if (family === 0 || (bracketed !== undefined && family !== 6) || (dotted !== undefined && family !== 4)) {
    throw new Error(`bad address in ss endpoint ${JSON.stringify(text)}`);
  }
  return {
    family: family as 4 | 6,
    address: canon(raw),
    port: port === '*' ? null : Number(port),
    device: device ?? null,
    dualStackStar: star !== undefined,
  };
}

// ------------------------------------------------------------------ views of one namespace

interface View {
  /** `proto family address port` of listening sockets. */
  listening: Set<string>;
  /** `local-address local-port remote-address remote-port` of established TCP sockets (canonical). */
  established: Set<string>;
  /** Established TCP peers per local port, counted as a scan counts them. */
  perPort: Map<number, { ipv4: number; ipv6: number; mapped: number }>;
}

const listenKey = (proto: string, family: number, address: string, port: number) => `${proto} ${family} ${address} ${port}`;
const estKey = (la: string, lp: number, ra: string, rp: number) => `${la} ${lp} ${ra} ${rp}`;

interface SsView extends View {
  /** ss's line for each listening socket, to check the notation itself. */
  lines: Map<string, string>;
  endpoints: Map<string, Endpoint>;
}

function tally(perPort: View['perPort'], port: number, remote: string, family: 4 | 6): void {
  const c = perPort.get(port) ?? { ipv4: 0, ipv6: 0, mapped: 0 };
  if (family === 4) c.ipv4++;
  // Canonical (URL) spelling of an IPv4-mapped address: [::ffff:hhhh:hhhh].
  else if (/^\[::ffff:[0-9a-f]{1,4}:[0-9a-f]{1,4}\]$/.test(remote)) c.mapped++;
  else c.ipv6++;
  perPort.set(port, c);
}

/** Parses `ss -Htuna`: `Netid State Recv-Q Send-Q Local:Port Peer:Port`, one socket a line. */
function parseSs(text: string): SsView {
  const view: SsView = { listening: new Set(), established: new Set(), perPort: new Map(), lines: new Map(), endpoints: new Map() };
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const f = line.trim().split(/\s+/);
    if (f.length !== 6) throw new Error(`unexpected ss line (${f.length} fields): ${JSON.stringify(line)}`);
    const [netid, state, , , local, peer] = f as [string, string, string, string, string, string];
    if (netid !== 'tcp' && netid !== 'udp') throw new Error(`unexpected netid in ${JSON.stringify(line)}`);
    const l = parseSsEndpoint(local);
    const listening = netid === 'tcp' ? state === 'LISTEN' : state === 'UNCONN' && l.port !== 0;
    if (listening) {
      const key = listenKey(netid, l.family, l.address, l.port!);
      view.listening.add(key);
      view.lines.set(key, line);
      view.endpoints.set(key, l);
    } else if (netid === 'tcp' && state === 'ESTAB') {
      const r = parseSsEndpoint(peer);
      view.established.add(estKey(l.address, l.port!, r.address, r.port!));
      tally(view.perPort, l.port!, r.address, l.family);
    }
  }
  return view;
}

/**
 * The agent's view: listening sockets and per-port tallies from readSocketTable (the streaming
 * reader a scan uses), established 4-tuples from parseSocketTable (the pure parser) on the same
 * files, read right after.
 */
function readProcView(root: ProcRoot): View & { pureListening: Set<string> } {
  const view = { listening: new Set<string>(), established: new Set<string>(), perPort: new Map<number, { ipv4: number; ipv6: number; mapped: number }>(), pureListening: new Set<string>() };
  for (const file of Object.keys(socketFiles) as SocketFile[]) {
    const summary = readSocketTable(root, file);
    if (summary === null) continue; // *6 absent: IPv6 off
    for (const s of summary.listening) view.listening.add(listenKey(s.proto, s.family, canon(s.local), s.localPort));
    for (const e of summary.established.values()) {
      const c = view.perPort.get(e.localPort) ?? { ipv4: 0, ipv6: 0, mapped: 0 };
      c.ipv4 += e.peers.ipv4;
      c.ipv6 += e.peers.ipv6;
      c.mapped += e.peers.mapped;
      view.perPort.set(e.localPort, c);
    }
  }
  for (const file of Object.keys(socketFiles) as SocketFile[]) {
    const { proto, family } = socketFiles[file];
    let text: string;
    try {
      text = readFileSync(`${root.path}/net/${file}`, 'latin1');
    } catch {
      continue;
    }
    for (const s of parseSocketTable(text, proto, family)) {
      if (proto === 'tcp' ? s.state === TCP_LISTEN : s.state === UDP_UNCONNECTED && s.localPort !== 0) {
        view.pureListening.add(listenKey(proto, family, canon(s.local), s.localPort));
      } else if (proto === 'tcp' && s.state === TCP_ESTABLISHED) {
        view.established.add(estKey(canon(s.local), s.localPort, canon(s.remote), s.remotePort));
      }
    }
  }
  return view;
}

const sorted = (s: Set<string>) => [...s].sort();
const portsObj = (m: View['perPort']) => Object.fromEntries([...m.entries()].sort((a, b) => a[0] - b[0]).map(([k, v]) => [String(k), v]));
const sameView = (a: View, b: View) =>
  JSON.stringify([sorted(a.listening), sorted(a.established), portsObj(a.perPort)]) ===
  JSON.stringify([sorted(b.listening), sorted(b.established), portsObj(b.perPort)]);

interface Snapshot {
  before: SsView;
  proc: ReturnType<typeof readProcView>;
  after: SsView;
  attempts: number;
  stable: boolean;
}

/** ss, /proc, ss; again (up to `tries` times) while the two ss snapshots differ. */
async function snapshot(ss: () => Promise<string>, root: ProcRoot, tries = 5): Promise<Snapshot> {
  let last: Snapshot | undefined;
  for (let attempt = 1; attempt <= tries; attempt++) {
    const before = parseSs(await ss());
    const proc = readProcView(root);
    const after = parseSs(await ss());
    last = { before, proc, after, attempts: attempt, stable: sameView(before, after) };
    if (last.stable) return last;
  }
  return last!;
}

/**
 * Stable snapshots: /proc must equal ss exactly. If ss never held still, still a sound check:
 * everything in both ss snapshots must be in /proc, and everything in /proc in one of them.
 */
function compareSets(t: TestContext, what: string, snap: Snapshot, pick: (v: View) => Set<string>): void {
  const proc = pick(snap.proc);
  if (snap.stable) {
    assert.deepEqual(sorted(proc), sorted(pick(snap.before)), `${what}: /proc (agent parser) vs ss`);
    return;
  }
  t.diagnostic(`${what}: ss changed between snapshots in all ${snap.attempts} attempts; checking bounds only`);
  const b = pick(snap.before);
  const a = pick(snap.after);
  const both = [...b].filter((k) => a.has(k));
  assert.deepEqual(both.filter((k) => !proc.has(k)), [], `${what}: in both ss snapshots but not in /proc`);
  assert.deepEqual(sorted(proc).filter((k) => !b.has(k) && !a.has(k)), [], `${what}: in /proc but in neither ss snapshot`);
}

// ------------------------------------------------------------------ tests

test("this machine's root namespace: listening sockets in /proc (agent parser) = ss -Htuna", { skip: ssMissing }, async (t) => {
  const snap = await snapshot(async () => (await run('ss', ['-Htuna'], { maxBuffer: 256 * 1024 * 1024 })).stdout, procRoot('/proc'));
  compareSets(t, 'listening', snap, (v) => v.listening);
  // The streaming reader and the pure parser agree on the same files.
  assert.deepEqual(sorted(snap.proc.listening), sorted(snap.proc.pureListening));
  const protoCount = (p: string) => [...snap.proc.listening].filter((k) => k.startsWith(`${p} `)).length;
  t.diagnostic(
    `root namespace: ${snap.proc.listening.size} listening (tcp ${protoCount('tcp')}, udp ${protoCount('udp')}), ` +
      `${snap.proc.established.size} established; ss stable after ${snap.attempts} attempt(s)`,
  );
});

/** Extra sockets for ss's rarer notations: a device-bound UDP socket, link-local, mapped, a connected UDP socket. */
const EXTRA_SCRIPT = `
import socket, sys, time
ll, ifindex = sys.argv[1], int(sys.argv[2])
keep = []
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"lo")
u.bind(("127.0.0.53", 5300)); keep.append(u)                     # 127.0.0.53%lo:5300 (53 is named's)
t = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
t.bind((ll, 9100, 0, ifindex)); t.listen(4); keep.append(t)        # [fe80::..]%veth0:9100
m = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
m.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
m.bind(("::ffff:127.0.0.1", 9101)); m.listen(4); keep.append(m)    # [::ffff:127.0.0.1]:9101
c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
c.connect((sys.argv[3], 9)); keep.append(c)                        # connected UDP: ESTAB, not listening
print("READY", flush=True)
time.sleep(600)
`;

test('inside a namespace with the socket-table services and held connections: listening and established match exactly', { skip: skip || ssMissing }, async (t) => {
  const { host, peer, destroy } = await twoHosts('or');
  t.after(destroy);
  const daemons = await startDaemons(host, servicePlan);
  for (const d of daemons) startedPids.push(d.pid, ...d.workers.flat());
  const held = await holdConnections(peer, heldConnections);

  const [ll] = await waitForDad(host, 'veth0', { linkLocal: true });
  const ifindex = Number((await host.exec('cat', ['/sys/class/net/veth0/ifindex'])).stdout.trim());
  const extra = host.spawn(PYTHON, ['-c', EXTRA_SCRIPT, ll!.local, String(ifindex), PEER4]);
  let extraErr = '';
  extra.stderr!.setEncoding('utf8').on('data', (d: string) => (extraErr += d));
  let extraOut = '';
  extra.stdout!.setEncoding('utf8').on('data', (d: string) => (extraOut += d));
  await waitFor(() => extraOut.includes('READY') || extra.exitCode !== null, { timeoutMs: 10_000, message: 'extra sockets ready' });
  assert.ok(extraOut.includes('READY'), `extra sockets failed: ${extraErr}`);
  startedPids.push(extra.pid!);

  // /proc/<pid>/net is the network namespace of <pid>: read the host namespace's tables from here.
  const root = procRoot(`/proc/${daemons[0]!.pid}`);
  const ss = async () => {
    const r = await host.exec('ss', ['-Htuna']);
    assert.equal(r.code, 0, `ss failed: ${r.stderr}`);
    return r.stdout;
  };
  const snap = await snapshot(ss, root);
  assert.ok(snap.stable, `the namespace is quiet, yet ss changed between snapshots ${snap.attempts} times`);
  compareSets(t, 'listening', snap, (v) => v.listening);
  compareSets(t, 'established', snap, (v) => v.established);
  assert.deepEqual(portsObj(snap.proc.perPort), portsObj(snap.before.perPort), 'established peers per local port and family');
  assert.deepEqual(sorted(snap.proc.listening), sorted(snap.proc.pureListening));

  // What the scenario must show: one listening socket per spec plus the extra ones, the held
  // connections with their families (4 IPv4 clients of apache2 arrive mapped).
  const specCount = servicePlan.reduce((n, d) => n + d.specs.length, 0);
  assert.equal(snap.proc.listening.size, specCount + 3);
  assert.equal(snap.proc.established.size, held);
  assert.deepEqual(portsObj(snap.proc.perPort), {
    '22': { ipv4: 3, ipv6: 2, mapped: 0 },
    '80': { ipv4: 0, ipv6: 1, mapped: 4 },
  });

  // ss's notation, as documented above, for the sockets whose flags we know.
  const line = (proto: string, family: number, address: string, port: number) => {
    const key = listenKey(proto, family, canon(address), port);
    return { text: snap.before.lines.get(key) ?? '(missing)', ep: snap.before.endpoints.get(key) };
  };
  for (const d of servicePlan) {
    for (const spec of d.specs) {
      const { text, ep } = line(spec.proto, isIP(spec.address), spec.address, spec.port);
      assert.ok(ep, `${d.title} ${spec.address}:${spec.port} not in ss`);
      if (spec.address === '::') assert.equal(ep.dualStackStar, spec.ipv6Only !== true, `${d.title}: ss prints ${text}`);
    }
  }
  assert.match(line('udp', 4, '127.0.0.53', 5300).text, /\s127\.0\.0\.53%lo:5300\s/);
  assert.match(line('tcp', 6, ll!.local, 9100).text, new RegExp(`\\s\\[${ll!.local}\\]%veth0:9100\\s`));
  assert.match(line('tcp', 6, '::ffff:127.0.0.1', 9101).text, /\s\[::ffff:127\.0\.0\.1\]:9101\s/);
  assert.match(line('tcp', 6, '::', 80).text, /\s\*:80\s/);
  assert.match(line('tcp', 6, '::', 22).text, /\s\[::\]:22\s/);
  // Mapped established sockets (apache2's IPv4 clients) are in both views with mapped addresses.
  assert.equal([...snap.proc.established].filter((k) => k.startsWith(`${canon('::ffff:192.0.2.2')} 80 `)).length, 4);

  t.diagnostic(
    `namespace: ${snap.proc.listening.size} listening, ${snap.proc.established.size} established; ` +
      `ss stable after ${snap.attempts} attempt(s)`,
  );
});

test('parseSsEndpoint reads every ss notation', () => {
  const ep = (s: string) => {
    const e = parseSsEndpoint(s);
    return [e.family, e.address, e.port, e.device, e.dualStackStar];
  };
  assert.deepEqual(ep('0.0.0.0:22'), [4, '0.0.0.0', 22, null, false]);
  assert.deepEqual(ep('[::]:22'), [6, '[::]', 22, null, false]);
  assert.deepEqual(ep('*:80'), [6, '[::]', 80, null, true]);
  assert.deepEqual(ep('[::ffff:127.0.0.1]:5432'), [6, canon('::ffff:127.0.0.1'), 5432, null, false]);
  assert.deepEqual(ep('127.0.0.53%lo:53'), [4, '127.0.0.53', 53, 'lo', false]);
  assert.deepEqual(ep('[fe80::1]%veth0:546'), [6, '[fe80::1]', 546, 'veth0', false]);
  assert.deepEqual(ep('0.0.0.0:*'), [4, '0.0.0.0', null, null, false]);
  assert.deepEqual(ep('[2001:DB8:0:0::2]:443'), [6, '[2001:db8::2]', 443, null, false]);
  assert.throws(() => parseSsEndpoint('localhost:22'), /unknown ss endpoint notation/);
  assert.throws(() => parseSsEndpoint('[1.2.3.4]:22'), /bad address/);
});

test('cleanup: no namespace and no process of these tests is left', { skip }, async () => {
  assert.deepEqual(liveNamespaces(), []);
  assert.deepEqual((await listNamespaces()).filter((n) => n.includes(`-${process.pid}-`)), []);
  assert.deepEqual(startedPids.filter(pidAlive), [], 'processes still alive');
});

