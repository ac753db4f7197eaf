// Host scenarios built in network namespaces, shared by the fixture maker
// (test/fixtures/make-fixtures.ts) and the kernel-checked tests: one definition of each
// scenario, so the captured fixtures and the live checks describe the same host.
import { addAddress, linkVeth, Netns, startListeners, type Listeners, type ListenerSpec } from './netns.js';

export const HOST4 = '192.0.2.2';
export const HOST4_SECOND = '192.0.2.3';
export const PEER4 = '192.0.2.1';
export const HOST6 = '2001:db8:1::2';
export const HOST6_SECOND = '2001:db8:1::3';
export const PEER6 = '2001:db8:1::1';

/** One daemon-like process: its comm name and the sockets it holds. */
export interface DaemonPlan {
  title: string;
  specs: ListenerSpec[];
}

/**
 * Every row of the field report's socket table, one process each (comm names set through
 * process.title so that services are named like the daemons they imitate).
 */
export const servicePlan: DaemonPlan[] = [
  { title: 'sshd', specs: [{ proto: 'tcp', address: '0.0.0.0', port: 22 }, { proto: 'tcp', address: '::', port: 22, ipv6Only: true }] },
  { title: 'apache2', specs: [{ proto: 'tcp', address: '::', port: 80, ipv6Only: false }] },
  { title: 'sendmail-mta', specs: [{ proto: 'tcp', address: '0.0.0.0', port: 25 }] },
  { title: 'v6daemon', specs: [{ proto: 'tcp', address: '::', port: 8443, ipv6Only: true }] },
  { title: 'redis-server', specs: [{ proto: 'tcp', address: '127.0.0.1', port: 6379 }] },
  { title: 'memcached', specs: [{ proto: 'tcp', address: '::1', port: 11211 }] },
  { title: 'postgres', specs: [{ proto: 'tcp', address: HOST4, port: 5432 }] },
  { title: 'mariadbd', specs: [{ proto: 'tcp', address: HOST6, port: 3306 }] },
  { title: 'named', specs: [{ proto: 'udp', address: '0.0.0.0', port: 53 }, { proto: 'udp', address: '::', port: 53, ipv6Only: true }] },
  { title: 'avahi-daemon', specs: [{ proto: 'udp', address: '::', port: 5353, ipv6Only: false }] },
  { title: 'nginx', specs: [{ proto: 'tcp', address: '::', port: 8080, ipv6Only: true, workers: 2 }, { proto: 'tcp', address: '0.0.0.0', port: 8080 }] },
];

/** Connections held open from the peer while a scan runs: [proto, address, port, count]. */
export const heldConnections: Array<[string, number, number]> = [
  [HOST4, 22, 3],
  [HOST6, 22, 2],
  [HOST4, 80, 4], // arrives on the :: V6ONLY=0 socket as ::ffff:192.0.2.1
  [HOST6, 80, 1],
];

export interface TwoHosts {
  host: Netns;
  peer: Netns;
  destroy(): Promise<void>;
}

/**
 * A host and a peer joined by veth: host veth0 has 192.0.2.2 and .3, 2001:db8:1::2 and ::3;
 * the kernel picks the newest IPv6 address (::3) as source towards the peer, so a wildcard
 * UDP socket answers IPv6 clients from ::3 (UDP checks must target it or loopback).
 * the peer (192.0.2.1, 2001:db8:1::1) is the host's default gateway for both families
 * unless `defaults` is false.
 */
export async function twoHosts(prefix: string, opts: { defaults?: boolean } = {}): Promise<TwoHosts> {
  const host = await Netns.create(`${prefix}h`);
  let peer: Netns | undefined;
  try {
    peer = await Netns.create(`${prefix}p`);
    await linkVeth(host, 'veth0', peer, 'veth1');
    for (const cidr of [`${HOST4}/24`, `${HOST4_SECOND}/24`, `${HOST6}/64`, `${HOST6_SECOND}/64`]) await addAddress(host, 'veth0', cidr);
    for (const cidr of [`${PEER4}/24`, `${PEER6}/64`]) await addAddress(peer, 'veth1', cidr);
    if (opts.defaults !== false) {
      await host.ip('route', 'add', 'default', 'via', PEER4, 'dev', 'veth0');
      await host.ip('-6', 'route', 'add', 'default', 'via', PEER6, 'dev', 'veth0');
    }
  } catch (error) {
    await Promise.allSettled([host.destroy(), peer?.destroy()]);
    throw error;
  }
  const both = peer;
  return { host, peer: both, destroy: async () => void (await Promise.allSettled([host.destroy(), both.destroy()])) };
}

export async function startDaemons(ns: Netns, plan: DaemonPlan[]): Promise<Listeners[]> {
  const started: Listeners[] = [];
  for (const daemon of plan) {
    started.push(await startListeners(ns, daemon.specs.map((spec) => ({ ...spec, title: daemon.title }))));
  }
  return started;
}

const HOLD_SCRIPT = `
const net = require('node:net');
const plan = JSON.parse(process.argv[1]);
let open = 0, want = plan.reduce((n, p) => n + p[2], 0);
const sockets = [];
for (const [host, port, count] of plan) for (let i = 0; i < count; i++) {
  const s = net.connect({ host, port }, () => { if (++open === want) process.stdout.write('HELD ' + open + '\\n'); });
  s.on('error', (e) => { process.stderr.write(host + ':' + port + ' ' + e.message + '\\n'); process.exit(1); });
  sockets.push(s);
}
process.on('SIGTERM', () => { for (const s of sockets) s.destroy(); process.exit(0); });
`;

/** Opens the connections from `from` and keeps them until the namespace is destroyed. */
export async function holdConnections(from: Netns, plan: Array<[string, number, number]>): Promise<number> {
  const child = from.spawn(process.execPath, ['-e', HOLD_SCRIPT, JSON.stringify(plan)]);
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`connections not held within 10 s: ${stderr}`)), 10_000);
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      const match = /HELD (\d+)/.exec(d);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`connection holder exited ${code}: ${stderr}`));
    });
  });
}
