#!/usr/bin/env node
// Test listener: opens real sockets, meant to run inside a network namespace
// (see startListeners() in netns.ts).
//
//   node listener.mjs '[{"proto":"tcp","address":"::","port":8080,"ipv6Only":false}, ...]'
//
// Spec fields:
//   proto     "tcp" | "udp"
//   address   IP literal to bind ("0.0.0.0", "::", "127.0.0.1", "2001:db8:1::1", ...)
//   port      number (0 = let the kernel choose; the chosen port is printed)
//   ipv6Only  boolean, IPV6_V6ONLY for AF_INET6 sockets (ignored for IPv4 addresses)
//   workers   (tcp only) number of child processes forked that inherit this same
//             listening socket (child_process.fork + send(server handle)), like an
//             nginx master with its workers: one socket inode, several pids, master = parent.
//   title     optional process title (process.title, which also sets /proc/PID/comm, 15
//             chars) for the listener and its workers, e.g. "sshd"; every spec that names
//             one must name the same (one process).
//
// All specs are opened by this one process (one process holding several sockets, like sshd
// with 0.0.0.0:22 and [::]:22). TCP servers accept and keep connections open; UDP sockets
// echo each datagram back to its sender.
//
// stdout protocol (one line each):
//   READY <pid> {"ports":[...],"workers":[[pid,...],...]}   once every socket is bound
//   ACCEPT tcp <pid> <localAddr> <localPort> <remoteAddr> <remotePort>
//   RECV udp <pid> <localAddr> <localPort> <remoteAddr> <remotePort>
// Errors go to stderr with exit code 1. SIGTERM closes everything, stops the workers and
// exits 0.
import { fork } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

const self = fileURLToPath(import.meta.url);

function say(line) {
  process.stdout.write(`${line}\n`);
}

function fail(message) {
  process.stderr.write(`listener: ${message}\n`);
  process.exit(1);
}

/** Keeps accepted TCP connections open; logs each accept. */
function trackConnections(server, conns) {
  server.on('connection', (sock) => {
    conns.add(sock);
    say(`ACCEPT tcp ${process.pid} ${sock.localAddress} ${sock.localPort} ${sock.remoteAddress} ${sock.remotePort}`);
    sock.on('error', () => {});
    sock.on('close', () => conns.delete(sock));
    sock.resume(); // read and discard whatever the client sends
  });
}

// ---------------------------------------------------------------- worker mode
if (process.argv[2] === '--worker') {
  if (process.argv[3]) process.title = process.argv[3];
  const conns = new Set();
  let server = null;
  const stop = () => {
    for (const c of conns) c.destroy();
    if (server) server.close();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // The master died or closed the channel: do not outlive it.
  process.on('disconnect', stop);
  process.on('message', (msg, handle) => {
    if (msg === 'server' && handle) {
      server = handle;
      trackConnections(server, conns);
      process.send('ok');
    }
  });
} else {
  await master();
}

// ---------------------------------------------------------------- master mode
function validate(raw) {
  let specs;
  try {
    specs = JSON.parse(raw ?? '');
  } catch (e) {
    fail(`argv[2] must be a JSON array of specs: ${e.message}`);
  }
  if (!Array.isArray(specs)) specs = [specs];
  if (specs.length === 0) fail('no specs given');
  specs.forEach((s, i) => {
    const where = `spec ${i} (${JSON.stringify(s)})`;
    if (typeof s !== 'object' || s === null) fail(`${where}: not an object`);
    if (s.proto !== 'tcp' && s.proto !== 'udp') fail(`${where}: proto must be "tcp" or "udp"`);
    if (!net.isIP(s.address ?? '')) fail(`${where}: address must be an IP literal`);
    if (!Number.isInteger(s.port) || s.port < 0 || s.port > 65535) fail(`${where}: port must be 0..65535`);
    if (s.ipv6Only !== undefined && typeof s.ipv6Only !== 'boolean') fail(`${where}: ipv6Only must be a boolean`);
    if (s.workers !== undefined) {
      if (s.proto !== 'tcp') fail(`${where}: workers are supported for tcp only`);
      if (!Number.isInteger(s.workers) || s.workers < 0 || s.workers > 64) fail(`${where}: workers must be 0..64`);
    }
    if (s.title !== undefined && (typeof s.title !== 'string' || !/^[\w.@:+-]{1,64}$/.test(s.title))) {
      fail(`${where}: title must be a short word`);
    }
  });
  const titles = [...new Set(specs.map((s) => s.title).filter((t) => t !== undefined))];
  if (titles.length > 1) fail(`specs name different titles (${titles.join(', ')}), but they share one process`);
  return specs;
}

function openTcp(spec, conns) {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    trackConnections(server, conns);
    server.once('error', reject);
    server.listen({ host: spec.address, port: spec.port, ipv6Only: spec.ipv6Only === true }, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

function openUdp(spec) {
  return new Promise((resolve, reject) => {
    const type = net.isIPv6(spec.address) ? 'udp6' : 'udp4';
    const sock = dgram.createSocket({ type, ipv6Only: spec.ipv6Only === true });
    sock.on('message', (msg, rinfo) => {
      say(`RECV udp ${process.pid} ${spec.address} ${sock.address().port} ${rinfo.address} ${rinfo.port}`);
      sock.send(msg, rinfo.port, rinfo.address);
    });
    sock.once('error', reject);
    sock.bind({ address: spec.address, port: spec.port }, () => {
      sock.off('error', reject);
      sock.on('error', (e) => process.stderr.write(`listener: udp error: ${e.message}\n`));
      resolve(sock);
    });
  });
}

function startWorker(server, title) {
  return new Promise((resolve, reject) => {
    const child = fork(self, ['--worker', ...(title ? [title] : [])], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const onExit = (code, signal) => reject(new Error(`worker ${child.pid} exited early (${code ?? signal})`));
    child.once('exit', onExit);
    child.once('error', reject);
    child.once('message', (m) => {
      if (m === 'ok') {
        child.off('exit', onExit);
        resolve(child);
      }
    });
    child.send('server', server);
  });
}

async function master() {
  const specs = validate(process.argv[2]);
  const title = specs.find((s) => s.title)?.title;
  if (title) process.title = title;
  const conns = new Set();
  const handles = [];
  const workers = [];
  const ports = [];
  const workerPids = [];
  try {
    for (const spec of specs) {
      const h = spec.proto === 'tcp' ? await openTcp(spec, conns) : await openUdp(spec);
      handles.push(h);
      ports.push(h.address().port);
      const pids = [];
      for (let i = 0; i < (spec.workers ?? 0); i++) {
        const w = await startWorker(h, title);
        workers.push(w);
        pids.push(w.pid);
      }
      workerPids.push(pids);
    }
  } catch (e) {
    for (const w of workers) w.kill('SIGKILL');
    fail(`${e.code ?? 'error'}: ${e.message}`);
  }

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    for (const c of conns) c.destroy();
    for (const h of handles) h.close();
    await Promise.all(
      workers.map(
        (w) =>
          new Promise((resolve) => {
            if (w.exitCode !== null || w.signalCode !== null) return resolve();
            const t = setTimeout(() => w.kill('SIGKILL'), 2000);
            w.once('exit', () => {
              clearTimeout(t);
              resolve();
            });
            w.kill('SIGTERM');
          }),
      ),
    );
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  for (const w of workers) {
    w.on('exit', (code, signal) => {
      if (!stopping) process.stderr.write(`listener: worker ${w.pid} exited (${code ?? signal})\n`);
    });
  }
  say(`READY ${process.pid} ${JSON.stringify({ ports, workers: workerPids })}`);
}
