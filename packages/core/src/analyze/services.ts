// Listening sockets -> services with a reachability verdict per family (the socket table in
// docs/linux-facts.md#which-clients-reach-which-socket).
import type { Binding, ConnectionCounts, Family, Reach, Service, ServiceMode, V6onlySource } from '../report.js';
import { bindKind, isIpv4Mapped, parseAddress, type BindKind, type IpAddress } from '../ip.js';

// The same few address strings (0.0.0.0, ::, 127.0.0.1, the host's own) are parsed for every
// binding and every connection group; ipaddr.js parsing was ~50 ms of a scan with 1,000
// listeners. Parsed addresses are only read, never changed, so they can be shared; the cache is
// emptied when it grows past a bound.
const parsedAddresses = new Map<string, IpAddress>();
function parsed(text: string): IpAddress {
  let address = parsedAddresses.get(text);
  if (address === undefined) {
    if (parsedAddresses.size >= 4096) parsedAddresses.clear();
    address = parseAddress(text);
    parsedAddresses.set(text, address);
  }
  return address;
}

export interface ListeningSocket {
  proto: 'tcp' | 'udp';
  family: Family;
  address: string;
  port: number;
  inode: number;
  uid: number;
  v6only: boolean | null;
  v6onlySource: V6onlySource;
}

export interface SocketOwner {
  pid: number;
  ppid: number | null;
  comm: string;
  exe: string | null;
  unit: string | null;
  uid: number | null;
}

/** Established connections of one local endpoint, counted by the peer's family. */
export interface EstablishedGroup {
  proto: 'tcp' | 'udp';
  family: Family;
  localAddress: string;
  localPort: number;
  peers: ConnectionCounts;
}

const REACH_ORDER: Reach[] = ['none', 'loopback', 'addresses', 'any'];
const reachOfKind: Record<BindKind, Reach> = { wildcard: 'any', loopback: 'loopback', specific: 'addresses' };

function wider(a: Reach, b: Reach): Reach {
  return REACH_ORDER.indexOf(a) >= REACH_ORDER.indexOf(b) ? a : b;
}

const isOutside = (reach: Reach): boolean => reach === 'any' || reach === 'addresses';

/** Who can reach one socket: IPv4 clients and IPv6 clients. */
export function bindingReach(binding: Pick<Binding, 'address' | 'family' | 'v6only'>): { ipv4: Reach; ipv6: Reach } {
  const address = parsed(binding.address);
  const kind = bindKind(address);
  if (binding.family === 4) return { ipv4: reachOfKind[kind], ipv6: 'none' };
  // An AF_INET6 socket bound to ::ffff:a.b.c.d serves that IPv4 address only.
  if (isIpv4Mapped(address)) return { ipv4: reachOfKind[kind], ipv6: 'none' };
  // Only a `::` socket with IPV6_V6ONLY=0 also takes IPv4 (as mapped addresses); a socket
  // bound to a specific IPv6 address is V6ONLY implicitly. Unknown V6ONLY claims nothing.
  const takesIpv4 = kind === 'wildcard' && binding.v6only === false;
  return { ipv4: takesIpv4 ? 'any' : 'none', ipv6: reachOfKind[kind] };
}

export function serviceMode(bindings: Pick<Binding, 'address' | 'family' | 'v6only'>[]): { ipv4: Reach; ipv6: Reach; mode: ServiceMode } {
  let ipv4: Reach = 'none';
  let ipv6: Reach = 'none';
  let ipv4FromInetSocket: Reach = 'none';
  for (const binding of bindings) {
    const reach = bindingReach(binding);
    ipv4 = wider(ipv4, reach.ipv4);
    ipv6 = wider(ipv6, reach.ipv6);
    const viaMapping = binding.family === 6 && !isIpv4Mapped(parsed(binding.address));
    if (!viaMapping) ipv4FromInetSocket = wider(ipv4FromInetSocket, reach.ipv4);
  }
  let mode: ServiceMode;
  if (isOutside(ipv4) && isOutside(ipv6)) mode = isOutside(ipv4FromInetSocket) ? 'dual-separate' : 'dual-mapped';
  else if (isOutside(ipv4)) mode = 'ipv4-only';
  else if (isOutside(ipv6)) mode = 'ipv6-only';
  else mode = 'loopback-only';
  return { ipv4, ipv6, mode };
}

/**
 * The process that names a shared socket: the one whose parent does not also hold it
 * (the master of nginx/apache/postfix workers); ties go to the lowest pid.
 */
export function representativeOwner(owners: SocketOwner[]): SocketOwner | null {
  if (owners.length === 0) return null;
  const pids = new Set(owners.map((o) => o.pid));
  const roots = owners.filter((o) => o.ppid === null || !pids.has(o.ppid));
  const pool = roots.length > 0 ? roots : owners;
  return pool.reduce((best, o) => (o.pid < best.pid ? o : best));
}

const zeroCounts = (): ConnectionCounts => ({ ipv4: 0, ipv6: 0, mapped: 0 });

function addCounts(into: ConnectionCounts, from: ConnectionCounts): void {
  into.ipv4 += from.ipv4;
  into.ipv6 += from.ipv6;
  into.mapped += from.mapped;
}

function bindingServes(binding: Binding, group: EstablishedGroup): boolean {
  if (binding.family !== group.family) return false;
  if (binding.address === group.localAddress) return true;
  const kind = bindKind(parsed(binding.address));
  if (kind !== 'wildcard') return false;
  // A `::` socket with V6ONLY=1 never accepts on a mapped local address.
  if (group.family === 6 && isIpv4Mapped(parsed(group.localAddress))) return binding.v6only !== true;
  return true;
}

export interface ServiceAnalysis {
  services: Service[];
  connections: ConnectionCounts & { unattributed: number };
}

/** Groups listening sockets by (proto, port, owning process) and attributes established peers. */
export function buildServices(
  sockets: ListeningSocket[],
  ownersByInode: ReadonlyMap<number, SocketOwner[]>,
  established: EstablishedGroup[],
): ServiceAnalysis {
  const groups = new Map<string, { owner: SocketOwner | null; others: Set<number>; sockets: ListeningSocket[] }>();
  for (const socket of sockets) {
    const owners = ownersByInode.get(socket.inode) ?? [];
    const owner = representativeOwner(owners);
    const key = `${socket.proto}|${socket.port}|${owner?.pid ?? '?'}`;
    let group = groups.get(key);
    if (!group) {
      group = { owner, others: new Set(), sockets: [] };
      groups.set(key, group);
    }
    for (const o of owners) if (o.pid !== owner?.pid) group.others.add(o.pid);
    group.sockets.push(socket);
  }

  const services: Service[] = [];
  for (const { owner, others, sockets: members } of groups.values()) {
    const bindings: Binding[] = members
      .map((s) => ({ address: s.address, family: s.family, v6only: s.v6only, v6onlySource: s.v6onlySource, inode: s.inode }))
      .sort((a, b) => a.family - b.family || a.address.localeCompare(b.address) || a.inode - b.inode);
    const first = members[0]!;
    services.push({
      proto: first.proto,
      port: first.port,
      process: owner?.comm ?? null,
      pid: owner?.pid ?? null,
      exe: owner?.exe ?? null,
      unit: owner?.unit ?? null,
      uid: owner?.uid ?? first.uid,
      sharedWith: [...others].sort((a, b) => a - b),
      bindings,
      ...serviceMode(bindings),
      connections: zeroCounts(),
    });
  }
  services.sort((a, b) => a.proto.localeCompare(b.proto) || a.port - b.port || (a.pid ?? 0) - (b.pid ?? 0));

  // The services of each (proto, port), in the order above: a host with 1,000 listeners and as
  // many connection groups would otherwise scan every service for every group.
  const byPort = new Map<string, Service[]>();
  for (const service of services) {
    const key = `${service.proto}|${service.port}`;
    const list = byPort.get(key);
    if (list) list.push(service);
    else byPort.set(key, [service]);
  }
  const totals = { ...zeroCounts(), unattributed: 0 };
  for (const group of established) {
    addCounts(totals, group.peers);
    const candidates = byPort.get(`${group.proto}|${group.localPort}`) ?? [];
    // The kernel's listener lookup tries sockets bound to the local address before wildcard
    // ones (two processes can hold 0.0.0.0:P and 192.0.2.3:P with SO_REUSEPORT), so an exact
    // binding wins over a wildcard one whatever the order of the services.
    const target =
      candidates.find((s) => s.bindings.some((b) => b.family === group.family && b.address === group.localAddress)) ??
      candidates.find((s) => s.bindings.some((b) => bindingServes(b, group))) ??
      candidates[0];
    if (target) addCounts(target.connections, group.peers);
    else totals.unattributed += group.peers.ipv4 + group.peers.ipv6 + group.peers.mapped;
  }
  return { services, connections: totals };
}
