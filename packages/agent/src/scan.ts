// Runs every enabled source (one failing never stops the others), then turns the facts into
// a report: services with per-family verdicts, connection counts, findings.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import {
  REPORT_SCHEMA,
  buildServices,
  type EstablishedGroup,
  type ListeningSocket,
  type Report,
  type SourceStatus,
  type V6onlySource,
  bindKind,
  isIpv4Mapped,
  parseAddress,
  decodeProcSocketAddress,
  formatAddress,
  runRules,
  type Profile,
  icmpv6Firewall,
  serviceFirewall,
  unreadServiceFirewall,
  type FirewallFacts,
  attachSocketUnits,
  runNamespaceRules,
  type NetworkNamespace,
} from '@dualstack/core';
import { emptyFacts, sources, type Facts, type ScanOptions, type SourceDefinition } from './sources.js';
import { socketFiles, type SocketFile, type SocketLine } from './proc/net-sockets.js';

import { AGENT_VERSION } from './version.js';

export { AGENT_VERSION };

export interface ScanResult {
  report: Report;
  facts: Facts;
}

export async function runSources(options: ScanOptions, disabled: ReadonlySet<string> = new Set(), list: SourceDefinition[] = sources) {
  const facts = emptyFacts();
  const prepared = new Map<SourceDefinition, Promise<unknown> | null>();
  const runOne = async (source: SourceDefinition): Promise<SourceStatus> => {
    if (disabled.has(source.name)) return { name: source.name, status: 'skipped', ok: true, durationMs: 0, detail: 'switched off' };
    const started = performance.now();
    try {
      const outcome = await source.run(options, facts, prepared.get(source) ?? null);
      return { name: source.name, ok: true, durationMs: elapsed(started), ...outcome };
    } catch (error) {
      return { name: source.name, status: 'failed', ok: false, durationMs: elapsed(started), error: (error as Error).message };
    }
  };
  // Concurrent sources start first, before any prepared work, and wait on their child
  // processes while the others read: spawning blocks this thread until the child has exec'd,
  // ~15 ms a spawn while the socket dumps held both cores at 100k sockets, ~9 ms before them
  // (test/bench/README.md: less CPU, the same wall on 2 cores). The others run in list order,
  // since later ones read earlier facts. A source whose work was prepared on another thread runs beside
  // the sources after it that have a prepare hook too (the other socket table, read here
  // meanwhile), and is awaited before the first later source without one.
  const pending = new Map(list.filter((s) => s.concurrent).map((s) => [s, runOne(s)]));
  // Work a source can start on another thread starts next (no concurrent source has any); a
  // failure shows when its run() awaits it (the catch only keeps it from counting as unhandled
  // meanwhile).
  for (const source of list) {
    if (!source.prepare || disabled.has(source.name)) continue;
    try {
      const started = source.prepare(options);
      started?.catch(() => {});
      prepared.set(source, started);
    } catch {
      prepared.set(source, null); // run() reads it the ordinary way
    }
  }
  const statuses: Array<SourceStatus | Promise<SourceStatus>> = [];
  let beside: Array<Promise<SourceStatus>> = [];
  for (const source of list) {
    const running = pending.get(source);
    if (running) {
      statuses.push(running);
    } else if (source.prepare && prepared.get(source)) {
      const started = runOne(source);
      beside.push(started);
      statuses.push(started);
    } else {
      if (!source.prepare && beside.length > 0) {
        await Promise.all(beside);
        beside = [];
      }
      statuses.push(await runOne(source));
    }
  }
  return { facts, statuses: await Promise.all(statuses) };
}

const elapsed = (started: number) => Math.round((performance.now() - started) * 100) / 100;

/** V6ONLY of one listening socket and how we know it. */
export function v6onlyOf(socket: SocketLine, facts: Facts): { v6only: boolean | null; v6onlySource: V6onlySource } {
  if (socket.family === 4) return { v6only: null, v6onlySource: 'not-applicable' };
  const known = facts.v6only?.get(socket.inode);
  if (known !== undefined) return { v6only: known, v6onlySource: 'sock_diag' };
  const address = parseAddress(socket.local);
  // Bound to a mapped address it cannot be V6ONLY; bound to any other specific address, the
  // kernel treats it as V6ONLY whatever the flag says.
  if (isIpv4Mapped(address)) return { v6only: false, v6onlySource: 'implicit' };
  if (bindKind(address) !== 'wildcard') return { v6only: true, v6onlySource: 'implicit' };
  const bindv6only = facts.sysctl?.bindv6only;
  if (bindv6only === null || bindv6only === undefined) return { v6only: null, v6onlySource: 'unknown' };
  return { v6only: bindv6only === 1, v6onlySource: 'inferred' };
}

export function analyzeServices(facts: Facts) {
  const listening: ListeningSocket[] = [];
  const listeningPorts = new Set<string>();
  for (const file of Object.keys(socketFiles) as SocketFile[]) {
    for (const socket of facts.sockets[file]?.listening ?? []) {
      listening.push({ proto: socket.proto, family: socket.family, address: socket.local, port: socket.localPort, inode: socket.inode, uid: socket.uid, ...v6onlyOf(socket, facts) });
      listeningPorts.add(`${socket.proto}|${socket.localPort}`);
    }
  }
  const established: EstablishedGroup[] = [];
  let unattributed = 0;
  // Many groups share a local address (one per listening port): decode each hex spelling once.
  const localAddresses = new Map<string, string>();
  for (const file of Object.keys(socketFiles) as SocketFile[]) {
    const { proto, family } = socketFiles[file];
    for (const entry of facts.sockets[file]?.established.values() ?? []) {
      if (!listeningPorts.has(`${proto}|${entry.localPort}`)) {
        unattributed += entry.peers.ipv4 + entry.peers.ipv6 + entry.peers.mapped;
        continue;
      }
      let localAddress = localAddresses.get(entry.localHex);
      if (localAddress === undefined) {
        localAddress = formatAddress(decodeProcSocketAddress(entry.localHex, family));
        localAddresses.set(entry.localHex, localAddress);
      }
      established.push({ proto, family, localAddress, localPort: entry.localPort, peers: entry.peers });
    }
  }
  const analysis = buildServices(listening, facts.owners?.owners ?? new Map(), established);
  analysis.connections.unattributed += unattributed;
  return analysis;
}

export interface BuildOptions {
  /** Rule profiles beyond 'default' (e.g. 'hardening'). */
  profiles?: Profile[];
  hostId?: string;
  hostname?: string;
  replay: boolean;
  now?: Date;
}

export function buildReport(facts: Facts, statuses: SourceStatus[], options: BuildOptions): Report {
  const { services, connections } = analyzeServices(facts);
  // A bare ListenStream=PORT is [::] when the kernel has IPv6 (sys/net/ipv6 exists), else 0.0.0.0.
  attachSocketUnits(services, facts.configs ?? undefined, facts.sysctl !== null);
  const hostname = options.hostname ?? facts.host?.hostname ?? 'unknown';
  const report: Report = {
    schema: REPORT_SCHEMA,
    reportId: randomUUID(),
    collectedAt: (options.now ?? new Date()).toISOString(),
    agent: { version: AGENT_VERSION },
    host: {
      hostId: options.hostId ?? (facts.host?.hostId || hostname),
      hostname,
      os: { distro: facts.host?.distro ?? null, release: facts.host?.release ?? null, kernel: facts.kernel, arch: facts.host?.arch ?? null },
      privileged: facts.owners !== null && facts.owners.unreadable === 0,
      replay: options.replay,
    },
    sources: statuses,
    sysctl: facts.sysctl ?? { bindv6only: null, interfaces: [] },
    addresses: [...facts.addresses4, ...facts.addresses6],
    routes: [...facts.routes4, ...facts.routes6],
    tableDefaults: facts.tableDefaults,
    routingRules: facts.routingRules,
    routers: facts.routers,
    networkConfig: facts.networkConfig,
    reachability: facts.reachability,
    services,
    connections,
    findings: [],
  };
  if (facts.firewall) report.firewall = applyFirewall(report, facts.firewall);
  if (facts.configs) report.configs = facts.configs;
  report.findings = runRules(report, { profiles: options.profiles ?? [] });
  const namespaces = namespaceReports(facts, report, options.profiles ?? []);
  if (namespaces.length > 0) report.namespaces = namespaces;
  return report;
}

/**
 * Each other namespace judged as the host is: its sockets grouped into services with the
 * owners the one fd walk found, its V6ONLY flags from its own sock_diag or bindv6only, then
 * the per-namespace rules (core's namespaceRules) on its own facts.
 */
function namespaceReports(facts: Facts, host: Report, profiles: Profile[]): NetworkNamespace[] {
  return (facts.namespaces?.namespaces ?? []).map((ns) => {
    const { services, connections } = analyzeServices({ ...emptyFacts(), sockets: ns.sockets, sysctl: ns.sysctl, v6only: ns.v6only, owners: facts.owners });
    const entry: Omit<NetworkNamespace, 'findings'> = {
      inode: ns.inode,
      pid: ns.pid,
      processes: ns.processes,
      owner: ns.owner,
      sources: ns.statuses,
      addresses: ns.addresses,
      routes: ns.routes,
      sysctl: ns.sysctl,
      services,
      connections,
    };
    return { ...entry, findings: runNamespaceRules(host, entry, { profiles }) };
  });
}

/** The firewall's verdict on each service and on essential ICMPv6, from the rule sets read. */
function applyFirewall(report: Report, firewall: NonNullable<Facts['firewall']>): FirewallFacts {
  const why = firewall.read ? null : firewall.problems.join('; ') || 'firewall not read';
  for (const service of report.services) {
    service.firewall = why === null ? serviceFirewall(firewall.rulesets, service, report.addresses) : unreadServiceFirewall(service, why);
  }
  return {
    read: firewall.read,
    why,
    rulesets: firewall.rulesets.map((r) => ({ backend: r.backend, command: r.command, tables: r.tables.length, rules: r.tables.reduce((n, t) => n + t.chains.reduce((m, c) => m + c.rules.length, 0), 0) })),
    icmpv6: why === null ? icmpv6Firewall(firewall.rulesets, report.addresses) : [],
  };
}

export async function scan(options: ScanOptions, disabled: ReadonlySet<string> = new Set(), profiles: Profile[] = []): Promise<ScanResult> {
  const { facts, statuses } = await runSources(options, disabled);
  const report = buildReport(facts, statuses, {
    profiles,
    replay: !options.procRoot.live,
    ...(options.hostId ? { hostId: options.hostId } : {}),
    ...(options.hostname ? { hostname: options.hostname } : {}),
  });
  return { report, facts };
}
