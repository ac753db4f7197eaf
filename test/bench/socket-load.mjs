#!/usr/bin/env node
// Opens about N TCP sockets on loopback and holds them until SIGTERM, for the scan benchmark.
//
//   ip netns exec NS node test/bench/socket-load.mjs --total N [--workers W] [--concurrency C]
//
// Layout of the N sockets (every established connection is TWO sockets: client end + server end):
//   listeners   L = max(2, round(N * 1%)): half on 0.0.0.0 (IPv4), half on `::` (IPv6), the `::`
//               ones alternating IPV6_V6ONLY=0 and =1. Ports BASE_PORT .. BASE_PORT+L-1.
//   connections C = floor((N - L) / 2), round-robin over three kinds:
//               v4      127.0.0.1 -> 127.0.0.1:p   (p an 0.0.0.0 listener)      both ends in tcp
//               v6      ::1       -> ::1:p         (p a `::` listener)          both ends in tcp6
//               mapped  127.0.0.1 -> 127.0.0.1:p   (p a `::` V6ONLY=0 listener) client in tcp,
//                       server end in tcp6 as ::ffff:127.0.0.1 <-> ::ffff:127.0.0.1
// Total sockets = L + 2*C (= N, or N-1 when N - L is odd).
//
// The work is spread over W child processes (default ceil(N / 25000)); each child owns a
// contiguous block of listeners and only connects to its own listeners, so both ends of each
// connection live in the same process. The file-descriptor limit is raised with prlimit(1)
// on this process before the children are forked (they inherit it).
//
// Prints `READY <sockets>` on stdout when every socket is open (progress goes to stderr), then
// holds everything until SIGTERM/SIGINT, kills its children by pid and exits 0.
//
// Safety: it refuses to run in the host's (initial) network namespace unless
// --allow-host-netns is given, because it would take tens of thousands of ephemeral ports that
// other programs on the host share. Inside a namespace it widens
// net.ipv4.ip_local_port_range (a per-namespace sysctl) when needed.
import { fork, spawnSync } from 'node:child_process';
import { readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { parseArgs } from 'node:util';

const BASE_PORT = 2000;

const { values: opts } = parseArgs({
  options: {
    total: { type: 'string', default: '1000' },
    workers: { type: 'string' },
    concurrency: { type: 'string', default: '256' },
    'allow-host-netns': { type: 'boolean', default: false },
    // internal: run as a worker (forked by the parent)
    worker: { type: 'boolean', default: false },
  },
});

const log = (...a) => process.stderr.write(`[socket-load ${process.pid}] ${a.join(' ')}\n`);

if (opts.worker) {
  runWorker();
} else {
  runParent().catch((err) => {
    log('FAILED:', err?.stack ?? String(err));
    process.exit(1);
  });
}

// ---------------------------------------------------------------------------------------------
// parent

function nofileLimit() {
  const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
  const [soft, hard] = line.split(/\s{2,}/).slice(1, 3).map((v) => (v === 'unlimited' ? Infinity : Number(v)));
  return { soft, hard };
}

function raiseNofile(want) {
  let nrOpen = 1048576;
  try { nrOpen = Number(readFileSync('/proc/sys/fs/nr_open', 'utf8')); } catch { /* keep default */ }
  const target = Math.min(want, nrOpen);
  const before = nofileLimit();
  if (before.soft >= target) return before;
  // Node has no setrlimit(); prlimit(1) on our own pid does it (needs CAP_SYS_RESOURCE to raise
  // the hard limit, else only the soft one up to the hard one).
  const hard = Math.max(target, before.hard === Infinity ? target : before.hard);
  let r = spawnSync('prlimit', ['--pid', String(process.pid), `--nofile=${target}:${hard}`], { encoding: 'utf8' });
  if (r.status !== 0 && before.hard !== Infinity && before.hard > before.soft) {
    r = spawnSync('prlimit', ['--pid', String(process.pid), `--nofile=${before.hard}:${before.hard}`], { encoding: 'utf8' });
  }
  const after = nofileLimit();
  if (after.soft < target) log(`could not raise RLIMIT_NOFILE to ${target} (now ${after.soft}): ${(r.stderr || r.error?.message || '').trim()}`);
  return after;
}

function inHostNetns() {
  try {
    return readlinkSync('/proc/self/ns/net') === readlinkSync('/proc/1/ns/net');
  } catch {
    return false; // cannot tell (no access to pid 1): assume a namespace
  }
}

function ensurePortRange(lowest) {
  const path = '/proc/sys/net/ipv4/ip_local_port_range';
  const [lo, hi] = readFileSync(path, 'utf8').trim().split(/\s+/).map(Number);
  const wantLo = Math.max(1024, Math.ceil(lowest / 1000) * 1000);
  if (lo === wantLo && hi === 65535) return `${lo}-${hi}`;
  try {
    writeFileSync(path, `${wantLo} 65535`);
  } catch (err) {
    log(`cannot widen ${path} (${lo}-${hi}): ${err.message}`);
  }
  return readFileSync(path, 'utf8').trim().split(/\s+/).join('-');
}

async function runParent() {
  const total = Number(opts.total);
  if (!Number.isInteger(total) || total < 10) throw new Error(`--total must be an integer >= 10, got ${opts.total}`);
  if (inHostNetns() && !opts['allow-host-netns']) {
    throw new Error('refusing to open sockets in the host network namespace; run it with `ip netns exec NS ...` (or pass --allow-host-netns)');
  }
  const listeners = Math.max(2, Math.round(total * 0.01));
  const connections = Math.floor((total - listeners) / 2);
  if (BASE_PORT + listeners > 30000) throw new Error(`too many listeners (${listeners}) for the port plan`);

  // Listener ports BASE_PORT.. must stay out of the ephemeral range, which we also want wide.
  const range = inHostNetns() ? 'unchanged (host netns)' : ensurePortRange(BASE_PORT + listeners + 1);

  let workers = opts.workers ? Number(opts.workers) : Math.min(8, Math.max(1, Math.ceil(total / 25000)));
  const limit = raiseNofile(Math.ceil(total / workers) + 1000);
  const perWorkerMax = limit.soft - 200; // node itself, pipes, epoll, ...
  if (Math.ceil(total / workers) > perWorkerMax) {
    workers = Math.ceil(total / perWorkerMax);
    log(`fd limit ${limit.soft}: using ${workers} workers`);
  }
  log(`total=${total} listeners=${listeners} connections=${connections} (=${2 * connections} sockets) workers=${workers} nofile=${limit.soft} port_range=${range}`);

  // contiguous blocks of listeners and a share of the connections per worker
  const plans = [];
  for (let w = 0; w < workers; w++) {
    const lFrom = Math.floor((listeners * w) / workers);
    const lTo = Math.floor((listeners * (w + 1)) / workers);
    const cFrom = Math.floor((connections * w) / workers);
    const cTo = Math.floor((connections * (w + 1)) / workers);
    plans.push({ firstPort: BASE_PORT + lFrom, listeners: lTo - lFrom, connections: cTo - cFrom });
  }

  const children = [];
  let stopping = false;
  const stop = (code) => {
    if (stopping) return;
    stopping = true;
    for (const c of children) if (c.exitCode === null && c.signalCode === null) { try { process.kill(c.pid, 'SIGTERM'); } catch { /* gone */ } }
    const deadline = Date.now() + 5000;
    const wait = () => {
      if (children.every((c) => c.exitCode !== null || c.signalCode !== null) || Date.now() > deadline) {
        for (const c of children) if (c.exitCode === null && c.signalCode === null) { try { process.kill(c.pid, 'SIGKILL'); } catch { /* gone */ } }
        process.exit(code);
      }
      setTimeout(wait, 20);
    };
    wait();
  };
  process.on('SIGTERM', () => stop(0));
  process.on('SIGINT', () => stop(0));
  process.on('SIGHUP', () => stop(0));

  const t0 = performance.now();
  const results = await Promise.all(plans.map((plan, w) => new Promise((resolve, reject) => {
    const child = fork(new URL(import.meta.url).pathname, ['--worker'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    children.push(child);
    child.on('message', (m) => {
      if (m.type === 'ready') resolve(m);
      else if (m.type === 'error') reject(new Error(`worker ${w}: ${m.message}`));
    });
    child.on('exit', (code, sig) => { if (!stopping) reject(new Error(`worker ${w} exited (${code ?? sig}) before READY`)); });
    child.send({ type: 'plan', plan, concurrency: Number(opts.concurrency) });
  }))).catch((err) => { log(err.message); stop(1); return null; });
  if (!results) return;

  const sockets = results.reduce((s, r) => s + r.sockets, 0);
  const ms = Math.round(performance.now() - t0);
  log(`open: ${sockets} sockets (listening ${results.reduce((s, r) => s + r.listening, 0)}, ` +
      `connections ${results.reduce((s, r) => s + r.connected, 0)} v4=${results.reduce((s, r) => s + r.kinds.v4, 0)} ` +
      `v6=${results.reduce((s, r) => s + r.kinds.v6, 0)} mapped=${results.reduce((s, r) => s + r.kinds.mapped, 0)}) in ${ms} ms; ` +
      `pids ${[process.pid, ...children.map((c) => c.pid)].join(',')}`);
  process.stdout.write(`READY ${sockets}\n`);
  setInterval(() => {}, 1 << 30); // hold until a signal
}

// ---------------------------------------------------------------------------------------------
// worker

function runWorker() {
  const die = () => process.exit(0);
  process.on('SIGTERM', die);
  process.on('SIGINT', die);
  process.on('disconnect', die); // parent gone: do not linger holding sockets

  process.on('message', (m) => {
    if (m.type !== 'plan') return;
    work(m.plan, m.concurrency).then(
      (r) => process.send({ type: 'ready', ...r }),
      (err) => process.send({ type: 'error', message: err?.message ?? String(err) }),
    );
  });
}

async function work(plan, concurrency) {
  const held = [];
  let accepted = 0;
  const onConnection = (s) => { accepted++; s.on('error', () => {}); held.push(s); };

  // listeners: first half IPv4 0.0.0.0, second half `::` alternating V6ONLY 0 / 1
  const v4 = [];
  const v6 = [];
  const v6dual = [];
  const halfV4 = Math.ceil(plan.listeners / 2);
  await Promise.all(Array.from({ length: plan.listeners }, (_, i) => new Promise((resolve, reject) => {
    const port = plan.firstPort + i;
    const server = net.createServer(onConnection);
    server.on('error', reject);
    let spec;
    if (i < halfV4) {
      spec = { host: '0.0.0.0', port };
      v4.push(port);
    } else {
      const ipv6Only = (i - halfV4) % 2 === 1;
      spec = { host: '::', port, ipv6Only };
      v6.push(port);
      if (!ipv6Only) v6dual.push(port);
    }
    server.listen({ ...spec, backlog: 4096 }, () => { held.push(server); resolve(); });
  })));

  // connections: round-robin over kinds, falling back when this worker lacks a listener kind
  const kinds = { v4: 0, v6: 0, mapped: 0 };
  const pick = (k) => {
    const order = [['v4', 'v6', 'mapped'], ['v6', 'v4', 'mapped'], ['mapped', 'v4', 'v6']][k % 3];
    for (const kind of order) {
      const pool = kind === 'v4' ? v4 : kind === 'v6' ? v6 : v6dual;
      if (pool.length) return { kind, host: kind === 'v6' ? '::1' : '127.0.0.1', port: pool[Math.floor(k / 3) % pool.length] };
    }
    throw new Error('no listeners in this worker');
  };

  let next = 0;
  let connected = 0;
  const one = () => new Promise((resolve, reject) => {
    const t = pick(next++);
    const s = net.connect({ host: t.host, port: t.port });
    s.once('connect', () => {
      s.removeListener('error', reject);
      s.on('error', () => {});
      held.push(s);
      kinds[t.kind]++;
      connected++;
      resolve();
    });
    s.once('error', (err) => reject(new Error(`connect ${t.host}:${t.port} (#${connected}): ${err.code ?? err.message}`)));
  });
  const lane = async () => { while (next < plan.connections) await one(); };
  await Promise.all(Array.from({ length: Math.min(concurrency, plan.connections) }, lane));

  // wait until every server end has been accepted too
  const deadline = Date.now() + 30000;
  while (accepted < connected) {
    if (Date.now() > deadline) throw new Error(`only ${accepted} of ${connected} connections accepted`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return { listening: plan.listeners, connected, accepted, kinds, sockets: plan.listeners + connected + accepted };
}
