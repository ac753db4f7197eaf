// Every source the agent reads, declared in one explicit list. Each reads one thing, can fail
// alone, and reports its status and duration; docs/sources.md is generated from this list.
import { existsSync, readFileSync } from 'node:fs';
import { arch as osArch, hostname as osHostname } from 'node:os';
import { join } from 'node:path';
import type { DaemonConfig, FirewallRuleset, HostAddress, NetworkConfig, Reachability, Route, Router, RoutingRule, Sysctls, TableDefaultRoute } from '@dualstack/core';
import { readSocketTableYielding, type SocketFile, type SocketTableSummary } from './proc/net-sockets.js';
import { readSocketTableOnWorker } from './proc/net-sockets-worker.js';
import { readTcpSocketCounts, type TcpSocketCounts } from './proc/sockstat.js';

import { readIfInet6 } from './proc/if-inet6.js';
import { readIpv6Route } from './proc/ipv6-route.js';
import { readIpv4Route } from './proc/route.js';
import { readIpv6Sysctls } from './proc/sysctl-ipv6.js';
import { holdsOwnerCapabilities, scanSocketOwners, scanSocketOwnersWith, type OwnerScan } from './proc/owners.js';
import { procPath, readProcText, type ProcRoot } from './proc/root.js';
import { parseSsV6only, runSs } from './sockdiag.js';
import { loadNativeSockdiag, type NativeLoad } from './sockdiag-native/load.js';
import { summaryOfRecords } from './sockdiag-native/socket-table.js';
import { nativeFdPassReader } from './sockdiag-native/fd-sockets.js';
import { ssLinesOfRecords, v6onlyOfRecords } from './sockdiag-native/records.js';
import { CommandMissingError } from './command.js';
import { probeFamily } from './reachability.js';
import { readIpv4Addresses } from './addresses4.js';
import { runIp } from './ip-command.js';
import { readOsRelease } from './os-release.js';
import { commandLine, DEFAULT_ROUTE_ARGS, parseDefaultRoutes, parseRules, RULE_ARGS } from './iproute.js';
import { NEIGHBOUR_ARGS, parseRouterNeighbours } from './neighbours.js';
import { readNetworkConfig, resolveEtcRoot } from './netconfig.js';
import { daemonConfigReaders, EtcRoot } from './config/index.js';
import { LIVE_LINK_TARGETS } from './config/etc-root.js';
import { combineFirewallOutputs, firewallCaptureFiles, readFirewall, type FirewallCaptureKey } from './firewall/read.js';
import { finishNamespaceScan, startNamespaceScan, type NamespaceScan, type Started } from './namespaces/scan.js';
import { ENTER_COMMANDS } from './namespaces/enter.js';

/** Files a capture keeps beside the proc tree for the sources that do not read /proc. */
export const captureFiles = {
  sockdiag: 'sockdiag.txt',
  ipv4Addresses: 'ipv4-addresses.json',
  reachability: 'reachability.json',
  host: 'host.json',
  // Raw `ip -j` output, as the command printed it.
  defaultRoutes6: 'ip-6-route-defaults.json',
  defaultRoutes4: 'ip-4-route-defaults.json',
  rules6: 'ip-6-rules.json',
  rules4: 'ip-4-rules.json',
  neighbours6: 'ip-6-neigh.json',
  // The firewall as nft and iptables-save printed it.
  ...firewallCaptureFiles,
} as const;

export type CaptureFile = (typeof captureFiles)[keyof typeof captureFiles];

export interface CapturedHost {
  hostId: string;
  hostname: string;
  distro: string | null;
  release: string | null;
  arch: string | null;
}

export interface ScanOptions {
  procRoot: ProcRoot;
  /** The capture directory (parent of the proc tree) when replaying, else null. */
  captureDir: string | null;
  hostId?: string;
  hostname?: string;
  ssBinary?: string;
  ipBinary?: string;
  /**
   * Where network configuration files are read (the 'netconfig' source). Unset: /etc on a live
   * host, `<capture>/etc` on a replay when the capture has one; null: not read.
   */
  etcRoot?: string | null;
  /**
   * Where files outside /etc are read (systemd units under /run and /usr/lib). Unset: / on a
   * live host, the capture directory on a replay (a capture lays them out as on the host).
   */
  root?: string;
  /**
   * Which network namespaces are scanned: 'all' (the default) reads every other namespace
   * (containers, pods) beside the agent's; 'host' only the agent's.
   */
  namespaces?: 'host' | 'all';
}

/** What the sources collect; later sources read what earlier ones found. */
export interface Facts {
  sockets: Partial<Record<SocketFile, SocketTableSummary>>;
  addresses6: HostAddress[];
  addresses4: HostAddress[];
  routes6: Route[];
  routes4: Route[];
  tableDefaults: TableDefaultRoute[];
  routingRules: RoutingRule[];
  routers: Router[];
  networkConfig: NetworkConfig;
  sysctl: Sysctls | null;
  v6only: Map<number, boolean> | null;
  v6onlyText: string | null;
  /** Raw output of the commands live sources ran, by the capture file that keeps it. */
  commandOutputs: Partial<Record<CaptureFile, string>>;
  owners: OwnerScan | null;
  reachability: Reachability[];
  host: CapturedHost | null;
  kernel: string | null;
  /** The host firewall's rule sets; null when not read (switched off, or a replay without them). */
  firewall: { rulesets: FirewallRuleset[]; read: boolean; problems: string[] } | null;
  /** Daemon configurations found under the /etc root; null when not read. */
  configs: DaemonConfig[] | null;
  /** Every daemon configuration file read, as /etc paths (a capture copies them). */
  configFiles: string[];
  /** Every file read outside /etc (systemd units), as host paths (a capture copies them). */
  systemFiles: string[];
  /** The other network namespaces and what was read of each; null when not scanned. */
  namespaces: NamespaceScan | null;
}

export function emptyFacts(): Facts {
  return {
    sockets: {},
    addresses6: [],
    addresses4: [],
    routes6: [],
    routes4: [],
    tableDefaults: [],
    routingRules: [],
    routers: [],
    networkConfig: { systems: [], gateways: [] },
    sysctl: null,
    v6only: null,
    v6onlyText: null,
    commandOutputs: {},
    owners: null,
    reachability: [],
    host: null,
    kernel: null,
    firewall: null,
    configs: null,
    configFiles: [],
    systemFiles: [],
    namespaces: null,
  };
}

export interface SourceOutcome {
  status: 'ok' | 'absent' | 'partial' | 'skipped';
  detail?: string;
}

export interface SourceDefinition {
  name: string;
  /** One sentence: what the source reads and why. */
  description: string;
  /** Paths under the proc root it reads (for docs and capture). */
  paths: string[];
  /** What it asks the live system beyond /proc, if anything. */
  live?: string;
  /**
   * Starts before the others and runs beside them: it waits on a child process and needs
   * nothing another source collects (ss, systeminformation), so its wait costs no scan time.
   */
  concurrent?: boolean;
  /**
   * Starts the source's work before any source runs, on another thread, when that pays (a big
   * socket table read while the main thread reads another); runSources passes what it
   * returned to run(), still called in list order. Null: nothing started, run() does it all.
   */
  prepare?(options: ScanOptions): Promise<unknown> | null;
  run(options: ScanOptions, facts: Facts, prepared?: Promise<unknown> | null): Promise<SourceOutcome> | SourceOutcome;
}

function defineSource(source: SourceDefinition): SourceDefinition {
  return source;
}

/** How a socket source reads its table: here, or on a worker thread. Injectable for tests. */
export interface SocketTableReaders {
  /** On this thread, returning to the event loop between chunks (child processes run beside). */
  inThread(root: ProcRoot, file: SocketFile): Promise<SocketTableSummary | null>;
  /** On a worker thread; onFallback hears why when it could not run and the table was read here. */
  onWorker(root: ProcRoot, file: SocketFile, options?: { onFallback?(reason: string): void }): Promise<SocketTableSummary | null>;
  /** Sockets in use per table, from net/sockstat{,6}; null where unknown. */
  counts(root: ProcRoot): TcpSocketCounts;
}

export const socketTableReaders: SocketTableReaders = { inThread: readSocketTableYielding, onWorker: readSocketTableOnWorker, counts: readTcpSocketCounts };

// Bytes per line of each table, for the kernel's text and our parse (IPv6 addresses are 32
// hex digits, IPv4 ones 8): measured on this machine's tables, lines of established sockets.
const LINE_BYTES = { tcp: 150, tcp6: 178 } as const;

/**
 * Both TCP tables at least this big: one is read on a worker thread while the main thread
 * reads the other. A worker takes ~30 ms to start on an idle machine (more while the main
 * thread loads), so below about 20k sockets a table is read before the worker could have
 * started. DUALSTACK_WORKER_MIN_SOCKETS overrides it (the tests use 0 to take the worker path
 * on a small host). Tried and dropped: both tables on workers, started before the agent's
 * modules load: on 2 cores the second worker's start-up cost more than it overlapped (+50 ms).
 */
export const WORKER_MIN_SOCKETS = workerMinSockets(process.env.DUALSTACK_WORKER_MIN_SOCKETS);

function workerMinSockets(value: string | undefined): number {
  return value !== undefined && /^\d+$/.test(value) ? Number(value) : 20_000;
}

/**
 * Which TCP table goes to the worker: none unless both are big; else the one with less text,
 * since the worker starts later than this thread and the two should finish together. Measured
 * on 2 cores at 100k sockets (50k per table): tcp ~150 ms and tcp6 ~175 ms one after the
 * other, both done after ~260-290 ms in parallel.
 */
export function tcpTableOnWorker(counts: TcpSocketCounts): 'tcp' | 'tcp6' | null {
  const { tcp, tcp6 } = counts;
  if (tcp === null || tcp6 === null || tcp < WORKER_MIN_SOCKETS || tcp6 < WORKER_MIN_SOCKETS) return null;
  return tcp * LINE_BYTES.tcp <= tcp6 * LINE_BYTES.tcp6 ? 'tcp' : 'tcp6';
}

/**
 * The native module for the socket tables and the owners walk: only on a live scan of the agent's own /proc (a
 * replay reads the captured text, and says nothing about paths: null), and only when it loads.
 */
function nativeTables(options: ScanOptions): NativeLoad | null {
  return options.procRoot.live ? loadNativeSockdiag() : null;
}

function socketSource(file: SocketFile, description: string, readers: SocketTableReaders = socketTableReaders): SourceDefinition {
  const ipv6 = file.endsWith('6');
  return defineSource({
    name: file,
    description,
    paths: [`net/${file}`],
    live: "on a live scan, when the packaged agent's native module loads (sockdiag.node beside its executable): one NETLINK_SOCK_DIAG dump of the table in place of its /proc text, the same sockets; the detail names the path used: `sock_diag (native module PATH)` or `/proc (why not)`",
    // The native dump starts here, on a threadpool thread, so the four tables dump in parallel
    // beside the other sources; else a big TCP table may go to a worker thread.
    prepare(options: ScanOptions) {
      const native = nativeTables(options);
      if (native?.module) return native.module.dumpSocketsAsync(ipv6 ? 6 : 4, file.startsWith('tcp') ? 'tcp' : 'udp').then((records) => ({ records }));
      if ((file !== 'tcp' && file !== 'tcp6') || tcpTableOnWorker(readers.counts(options.procRoot)) !== file) return null;
      let fellBack: string | null = null;
      return readers.onWorker(options.procRoot, file, { onFallback: (reason) => (fellBack = reason) }).then((summary) => ({ summary, fellBack }));
    },
    async run(options, facts, prepared) {
      const native = nativeTables(options);
      let notNative = native && !native.module ? native.why : '';
      if (native?.module) {
        try {
          const records = prepared ? ((await prepared) as { records: Uint8Array }).records : native.module.dumpSockets(ipv6 ? 6 : 4, file.startsWith('tcp') ? 'tcp' : 'udp');
          facts.sockets[file] = summaryOfRecords(records, file);
          return { status: 'ok', detail: `sock_diag (native module ${native.path})` };
        } catch (error) {
          notNative = `the native sock_diag module failed: ${(error as Error).message}`;
        }
        prepared = null; // the dump failed: /proc, read here
      }
      let summary: SocketTableSummary | null;
      // A live scan names its path: 'sock_diag (native module PATH)' above, '/proc (why not)' here.
      const details = native ? [`/proc (${notNative})`] : [];
      if (prepared) {
        const onWorker = (await prepared) as { summary: SocketTableSummary | null; fellBack: string | null };
        summary = onWorker.summary;
        details.push(onWorker.fellBack ? `${onWorker.fellBack}; read on the main thread instead` : 'read on a worker thread');
      } else {
        summary = await readers.inThread(options.procRoot, file);
      }
      if (summary === null) {
        // A missing *6 file means the kernel has IPv6 off, not a failure.
        if (ipv6) return { status: 'absent', detail: `net/${file} is missing: IPv6 is disabled in this kernel` };
        throw new Error(`net/${file} is missing`);
      }
      facts.sockets[file] = summary;
      return details.length > 0 ? { status: 'ok', detail: details.join('; ') } : { status: 'ok' };
    },
  });
}

function readCaptured<T>(options: ScanOptions, file: string): T | null {
  const text = options.captureDir ? readCapturedText(options.captureDir, file) : null;
  if (text === null) return null;
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    throw new Error(`${file} in the capture: ${(error as Error).message}`);
  }
}

const notLive = (what: string) => ({ status: 'skipped' as const, detail: `replaying a captured tree without ${what}` });

interface IpCommand {
  args: readonly string[];
  /** The capture file that keeps its output. */
  file: CaptureFile;
}

/**
 * The output of each `ip` command: run live (and kept in facts for a capture), or read from
 * the capture when replaying. A command that failed or was not captured is listed in
 * `missing`; the source reports partial. No ip at all is 'absent'; nothing captured, 'skipped'.
 */
async function ipOutputs(options: ScanOptions, facts: Facts, commands: IpCommand[]): Promise<{ texts: Map<CaptureFile, string>; missing: string[] } | SourceOutcome> {
  const texts = new Map<CaptureFile, string>();
  const missing: string[] = [];
  if (!options.procRoot.live) {
    for (const { file } of commands) {
      const text = options.captureDir ? readCapturedText(options.captureDir, file) : null;
      if (text === null) missing.push(`${file} is not in the capture`);
      else texts.set(file, text);
    }
    if (texts.size === 0) return notLive(commands.map((c) => c.file).join(', '));
    return { texts, missing };
  }
  const results = await Promise.allSettled(commands.map((c) => runIp(c.args, options.ipBinary)));
  const failures: string[] = [];
  results.forEach((result, index) => {
    const { file } = commands[index]!;
    if (result.status === 'fulfilled') {
      texts.set(file, result.value);
      facts.commandOutputs[file] = result.value;
    } else {
      failures.push((result.reason as Error).message);
    }
  });
  const unavailable = results.find((r): r is PromiseRejectedResult => r.status === 'rejected' && r.reason instanceof CommandMissingError);
  if (unavailable) return { status: 'absent', detail: `${(unavailable.reason as Error).message}: routing tables, rules and neighbour flags cannot be read` };
  if (texts.size === 0) throw new Error(failures.join('; '));
  return { texts, missing: failures };
}

/** IPv6 is on in the kernel (or was, in the captured one): net/if_inet6 exists, as for the if_inet6 source. */
const kernelHasIpv6 = (options: ScanOptions) => existsSync(procPath(options.procRoot, 'net/if_inet6'));
const IPV6_OFF = 'net/if_inet6 is missing: IPv6 is disabled in this kernel';

const partialUnless = (missing: string[]): SourceOutcome => (missing.length > 0 ? { status: 'partial', detail: missing.join('; ') } : { status: 'ok' });

const routeTableCommands: Array<IpCommand & { family: 4 | 6; kind: 'defaults' | 'rules' }> = [
  { family: 4, kind: 'defaults', args: DEFAULT_ROUTE_ARGS[4], file: captureFiles.defaultRoutes4 },
  { family: 6, kind: 'defaults', args: DEFAULT_ROUTE_ARGS[6], file: captureFiles.defaultRoutes6 },
  { family: 4, kind: 'rules', args: RULE_ARGS[4], file: captureFiles.rules4 },
  { family: 6, kind: 'rules', args: RULE_ARGS[6], file: captureFiles.rules6 },
];

export const sources: SourceDefinition[] = [
  socketSource('tcp', 'IPv4 TCP sockets: listening ones kept, established ones counted per local service.'),
  socketSource('tcp6', 'IPv6 TCP sockets, including IPv4 clients arriving as IPv4-mapped addresses on dual-stack sockets.'),
  socketSource('udp', 'IPv4 UDP sockets; a bound, unconnected socket counts as listening.'),
  socketSource('udp6', 'IPv6 UDP sockets; a bound, unconnected socket counts as listening.'),
  defineSource({
    name: 'if_inet6',
    description: 'IPv6 addresses with their scope and DAD state (tentative, dadfailed, deprecated, temporary, permanent).',
    paths: ['net/if_inet6'],
    run(options, facts) {
      const addresses = readIfInet6(options.procRoot);
      if (addresses === null) return { status: 'absent', detail: 'net/if_inet6 is missing: IPv6 is disabled in this kernel' };
      facts.addresses6 = addresses;
      return { status: 'ok' };
    },
  }),
  defineSource({
    name: 'ipv4-addresses',
    description: 'IPv4 addresses of every interface, from the OS (getifaddrs).',
    paths: [],
    live: 'getifaddrs(3) through Node.js os.networkInterfaces()',
    run(options, facts) {
      if (!options.procRoot.live) {
        const captured = readCaptured<HostAddress[]>(options, captureFiles.ipv4Addresses);
        if (captured === null) return notLive(captureFiles.ipv4Addresses);
        facts.addresses4 = captured;
        return { status: 'ok' };
      }
      facts.addresses4 = readIpv4Addresses();
      return { status: 'ok' };
    },
  }),
  defineSource({
    name: 'ipv6_route',
    description: 'IPv6 routes of every routing table (the file has no table id); per-table null routes are dropped.',
    paths: ['net/ipv6_route'],
    run(options, facts) {
      const routes = readIpv6Route(options.procRoot);
      if (routes === null) return { status: 'absent', detail: 'net/ipv6_route is missing: IPv6 is disabled in this kernel' };
      facts.routes6 = routes;
      return { status: 'ok' };
    },
  }),
  defineSource({
    name: 'route',
    description: 'IPv4 routes of the main table.',
    paths: ['net/route'],
    run(options, facts) {
      const routes = readIpv4Route(options.procRoot);
      if (routes === null) throw new Error('net/route is missing');
      facts.routes4 = routes;
      return { status: 'ok' };
    },
  }),
  defineSource({
    name: 'route-tables',
    description:
      'Default routes of every routing table, with the table id that /proc/net/ipv6_route leaves out, and the policy rules that decide which tables a lookup uses.',
    paths: ['net/if_inet6'],
    live: routeTableCommands.map((c) => `\`${commandLine(c.args)}\``).join(', '),
    concurrent: true,
    async run(options, facts) {
      // Without IPv6 in the kernel only the IPv4 tables and rules exist to ask about.
      const commands = kernelHasIpv6(options) ? routeTableCommands : routeTableCommands.filter((c) => c.family === 4);
      const outputs = await ipOutputs(options, facts, commands);
      if (!('texts' in outputs)) return outputs;
      // Everything is parsed before anything is stored: a parse error leaves no half-filled facts.
      const tableDefaults: TableDefaultRoute[] = [];
      const routingRules: RoutingRule[] = [];
      for (const command of commands) {
        const text = outputs.texts.get(command.file);
        if (text === undefined) continue;
        if (command.kind === 'defaults') tableDefaults.push(...parseDefaultRoutes(text, command.family));
        else routingRules.push(...parseRules(text, command.family));
      }
      facts.tableDefaults = tableDefaults;
      facts.routingRules = routingRules;
      return partialUnless(outputs.missing);
    },
  }),
  defineSource({
    name: 'routers',
    description:
      'IPv6 neighbours flagged as routers (the R flag of their neighbour advertisements, or the sender of a router advertisement): gateways the host has heard from, whatever its routes say.',
    paths: ['net/if_inet6'],
    live: `\`${commandLine(NEIGHBOUR_ARGS)}\``,
    concurrent: true,
    async run(options, facts) {
      if (!kernelHasIpv6(options)) return { status: 'absent', detail: IPV6_OFF };
      const outputs = await ipOutputs(options, facts, [{ args: NEIGHBOUR_ARGS, file: captureFiles.neighbours6 }]);
      if (!('texts' in outputs)) return outputs;
      const text = outputs.texts.get(captureFiles.neighbours6);
      if (text !== undefined) facts.routers = parseRouterNeighbours(text);
      return partialUnless(outputs.missing);
    },
  }),
  defineSource({
    name: 'netconfig',
    description:
      'Network configuration systems found under the /etc root (netplan, NetworkManager keyfiles, systemd-networkd, ifupdown, RHEL ifcfg), the one in charge first, and the default gateways they configure.',
    paths: [],
    live:
      'files under `--etc-root` (default /etc): `netplan/*.yaml`, `NetworkManager/system-connections/*.nmconnection`, `systemd/network/*.network`, `network/interfaces` and `network/interfaces.d/*`, `sysconfig/network` and `sysconfig/network-scripts/ifcfg-*`',
    run(options, facts) {
      const etcRoot = resolveEtcRoot({ etcRoot: options.etcRoot, live: options.procRoot.live, captureDir: options.captureDir });
      if (etcRoot === null) {
        return { status: 'skipped', detail: options.etcRoot === null ? 'no /etc root to read' : 'replaying a capture without an etc/ directory (give one with --etc-root)' };
      }
      const scan = readNetworkConfig(etcRoot);
      facts.networkConfig = scan.config;
      return scan.problems.length > 0 ? { status: 'partial', detail: scan.problems.join('; ') } : { status: 'ok' };
    },
  }),
  defineSource({
    name: 'sysctl',
    description: 'net.ipv6.bindv6only and, for all, default and each interface, the IPv6 conf values with what the kernel makes of them.',
    paths: ['sys/net/ipv6'],
    run(options, facts) {
      facts.sysctl = readIpv6Sysctls(options.procRoot);
      if (facts.sysctl === null) return { status: 'absent', detail: 'sys/net/ipv6 is missing: IPv6 is disabled in this kernel' };
      return { status: 'ok' };
    },
  }),
  defineSource({
    name: 'sockdiag',
    description:
      "The IPV6_V6ONLY flag of each listening IPv6 socket, read from sock_diag by the packaged agent's native module (sockdiag.node beside its executable), else by ss; /proc does not show it. The detail names the path used.",
    paths: [],
    live: `NETLINK_SOCK_DIAG dump (native module), else ss -Hlne -A inet`,
    concurrent: true,
    async run(options, facts) {
      let text: string | null;
      if (options.procRoot.live) {
        const native = loadNativeSockdiag();
        let notNative = native.module ? '' : native.why;
        if (native.module) {
          try {
            const records = native.module.dumpListening();
            facts.v6only = v6onlyOfRecords(records);
            facts.v6onlyText = ssLinesOfRecords(records);
            return { status: 'ok', detail: `native sock_diag module ${native.path}` };
          } catch (error) {
            notNative = `the native sock_diag module failed: ${(error as Error).message}`;
          }
        }
        try {
          text = await runSs(options.ssBinary);
        } catch (error) {
          if (error instanceof CommandMissingError) {
            return { status: 'absent', detail: `${error.message} (${notNative}): V6ONLY is inferred from net.ipv6.bindv6only` };
          }
          throw error;
        }
        facts.v6onlyText = text;
        facts.v6only = parseSsV6only(text);
        return { status: 'ok', detail: `ss (${notNative})` };
      } else {
        text = options.captureDir ? readCapturedText(options.captureDir, captureFiles.sockdiag) : null;
        if (text === null) return { status: 'skipped', detail: `replaying a captured tree without ${captureFiles.sockdiag}: V6ONLY is inferred` };
      }
      facts.v6onlyText = text;
      facts.v6only = parseSsV6only(text);
      return { status: 'ok' };
    },
  }),
  defineSource({
    name: 'namespaces',
    description:
      "The other network namespaces (containers, pods): every distinct /proc/[pid]/ns/net besides the agent's, each read through its lowest pid (its socket tables, IPv6 addresses, IPv4 addresses from fib_trie, routes), its owner from that process's cgroup path (docker, containerd, podman, kubernetes pods, lxc, systemd-nspawn) and the name the runtime's files give it; its net.ipv6 sysctls and V6ONLY flags by entering it, when the agent holds CAP_SYS_ADMIN (else sysctls not read, V6ONLY unknown). Off with --namespaces host.",
    paths: ['self/ns/net', '[pid]/ns/net', '[pid]/cgroup', '[pid]/net/tcp', '[pid]/net/tcp6', '[pid]/net/udp', '[pid]/net/udp6', '[pid]/net/if_inet6', '[pid]/net/fib_trie', '[pid]/net/route', '[pid]/net/ipv6_route'],
    live: `${ENTER_COMMANDS}; under \`--root\` (default /, the capture directory on a replay): /var/lib/docker/containers/ID/config.v2.json (its Name only), /var/lib/kubelet/pods/UID/etc-hosts and the namespace file of the pod's service-account volume, podman's /var/lib/containers/storage/{overlay,vfs}-containers/{,volatile-}containers.json (ids and names only, read once per scan)`,
    prepare(options) {
      if (options.namespaces === 'host') return null;
      return Promise.resolve(startNamespaceScan(options.procRoot, options.captureDir));
    },
    async run(options, facts, prepared) {
      if (options.namespaces === 'host') return { status: 'skipped', detail: 'switched off by --namespaces host' };
      const started = prepared ? ((await prepared) as Started) : startNamespaceScan(options.procRoot, options.captureDir);
      if (started.discovery.self === null) return { status: 'skipped', detail: "the agent's own namespace is unknown (a capture without proc/self/ns/net): no other can be told apart" };
      const scan = await finishNamespaceScan(options.procRoot, started, systemRootPath(options));
      facts.namespaces = scan;
      const problems: string[] = [];
      if (started.discovery.unreadable > 0) {
        // With the capabilities, a refusal is a security module's (as for the owners source), not ours to fix.
        const why = options.procRoot.live && holdsOwnerCapabilities(readProcText(options.procRoot, 'self/status'))
          ? 'refused even to CAP_SYS_PTRACE by a security module'
          : 'run as root, or with CAP_SYS_PTRACE';
        problems.push(`${started.discovery.unreadable} of ${started.discovery.processes} processes' namespaces could not be read (${why})`);
      }
      if (scan.notEntered && scan.namespaces.length > 0 && options.procRoot.live) problems.push(`${scan.notEntered}: their sysctls are not read and V6ONLY is unknown`);
      for (const ns of scan.namespaces) {
        const bad = ns.statuses.filter((s) => s.status === 'failed' || s.status === 'partial');
        if (bad.length > 0) problems.push(`net:[${ns.inode}] (pid ${ns.pid}): ${bad.map((s) => `${s.name} ${s.error ?? s.detail ?? s.status}`).join(', ')}`);
      }
      const count = `${scan.namespaces.length} namespace${scan.namespaces.length === 1 ? '' : 's'}${started.enteredBy ? ` (entered by ${started.enteredBy})` : ''}`;
      return problems.length > 0 ? { status: 'partial', detail: `${count}; ${problems.join('; ')}` } : { status: 'ok', detail: count };
    },
  }),
  defineSource({
    name: 'owners',
    description:
      "Which process holds each listening socket (pid, name, executable, systemd unit), from /proc/[pid]/fd of the processes in the agent's network namespace and in the other namespaces scanned (one walk for all): each process's first 256 descriptors, the rest only of processes in the namespace of a listening socket still without an owner.",
    paths: ['[pid]/fd', '[pid]/ns/net', '[pid]/comm', '[pid]/stat', '[pid]/exe', '[pid]/cgroup', '[pid]/status'],
    async run(options, facts) {
      const wanted = new Set<number>();
      for (const summary of Object.values(facts.sockets)) for (const socket of summary.listening) wanted.add(socket.inode);
      // This source's status speaks for the agent's own namespace: a socket of another
      // namespace without a visible holder (a container's, or one held from another PID
      // namespace) is that namespace's business, not a reason to call the host's owners partial.
      const ownWanted = [...wanted];
      const scanned = facts.namespaces;
      for (const ns of scanned?.namespaces ?? []) for (const summary of Object.values(ns.sockets)) for (const socket of summary.listening) wanted.add(socket.inode);
      const self = scanned?.discovery.self;
      const searched = self ? new Set([self, ...scanned.namespaces.map((n) => n.link)]) : null;
      const known = new Map((scanned?.namespaces ?? []).map((n) => [n.pid, n.process]));
      const socketNamespace = new Map<number, string>();
      if (self) for (const inode of ownWanted) socketNamespace.set(inode, self);
      for (const ns of scanned?.namespaces ?? []) for (const summary of Object.values(ns.sockets)) for (const socket of summary.listening) socketNamespace.set(socket.inode, ns.link);
      const namespaces = scanned && searched ? { byPid: scanned.discovery.byPid, searched, known, socketNamespace } : null;
      // The packaged agent's native module walks the fd tables on a threadpool thread (the
      // other sources go on meanwhile); the same passes, so the same owners. No detail names
      // the path: an ok owners source's detail would read as why a socket has no process.
      const native = nativeTables(options);
      facts.owners = null;
      if (native?.module) {
        try {
          facts.owners = await scanSocketOwnersWith(nativeFdPassReader(native.module, options.procRoot.path), options.procRoot, wanted, undefined, namespaces);
        } catch {
          // the walk below reads the same tables
        }
      }
      facts.owners ??= scanSocketOwners(options.procRoot, wanted, undefined, namespaces);
      if (facts.owners.unreadable > 0) {
        return {
          status: 'partial',
          detail: `${facts.owners.unreadable} of ${facts.owners.processes} processes could not be read (run as root, or with CAP_DAC_READ_SEARCH and CAP_SYS_PTRACE, to name every socket's process)`,
        };
      }
      // Processes no privilege can read (a security module says no even to root) matter only
      // when a listening socket is left without its process.
      const ownerless = ownWanted.filter((inode) => !facts.owners!.owners.has(inode)).length;
      if (facts.owners.denied > 0 && ownerless > 0) {
        return {
          status: 'partial',
          detail: `${ownerless} listening socket${ownerless === 1 ? ' has' : 's have'} no known process: ${facts.owners.denied} of ${facts.owners.processes} processes refuse ptrace read access even to CAP_SYS_PTRACE (a security module such as Landlock, Yama, AppArmor or SELinux)`,
        };
      }
      // Every process was read and still some sockets have no holder: not a privilege problem,
      // so the report must not send the operator to run the agent as root.
      if (ownerless > 0) {
        return {
          status: 'partial',
          detail: `${ownerless} listening socket${ownerless === 1 ? ' has' : 's have'} no process visible to the agent although every process was read: held by a process in another PID namespace (a container sharing this network namespace), or by the kernel itself`,
        };
      }
      return { status: 'ok' };
    },
  }),
  defineSource({
    name: 'reachability',
    description: "The kernel's answer on reaching the wider internet per family: a UDP connect() to a documentation address (no packet is sent).",
    paths: [],
    live: 'UDP connect() to 2001:db8::1 and 192.0.2.1 (or another documentation address when those are routed locally)',
    async run(options, facts) {
      if (!options.procRoot.live) {
        const captured = readCaptured<Reachability[]>(options, captureFiles.reachability);
        if (captured === null) return notLive(captureFiles.reachability);
        facts.reachability = captured;
        return { status: 'ok' };
      }
      const results: Reachability[] = [];
      if (facts.sockets.tcp6 || facts.addresses6.length > 0) results.push(await probeFamily(6, facts.routes6));
      results.push(await probeFamily(4, facts.routes4));
      facts.reachability = results;
      return { status: 'ok' };
    },
  }),
  defineSource({
    name: 'daemon-config',
    description:
      `The configuration of the daemons in the knowledge base found under the /etc root (${daemonConfigReaders.map((r) => r.daemon).join(', ')}), with the files they include, kept to the directives that decide addresses, address families and access lists, each with its file and line.`,
    paths: [],
    live: "files under `--etc-root` (default /etc): each daemon's main configuration file where it is installed, and the files it includes; when PID 1 holds a listening socket, the systemd socket units (`*.socket` with their `*.socket.d/*.conf` drop-ins, and the ExecStart= of the services they activate) from /etc/systemd/system and, under `--root` (default /, the capture directory on a replay), /run/systemd and /usr/lib/systemd",
    run(options, facts) {
      const etcRoot = resolveEtcRoot({ etcRoot: options.etcRoot, live: options.procRoot.live, captureDir: options.captureDir });
      if (etcRoot === null) {
        return { status: 'skipped', detail: options.etcRoot === null ? 'no /etc root to read' : 'replaying a capture without an etc/ directory (give one with --etc-root)' };
      }
      // Links into package data are followed on the live /etc only (never from a capture).
      const etc = new EtcRoot(etcRoot, options.procRoot.live && etcRoot === '/etc' ? LIVE_LINK_TARGETS : []);
      const system = pid1Listens(facts) ? systemRoot(options) : null;
      const configs: DaemonConfig[] = [];
      const problems: string[] = [];
      for (const reader of daemonConfigReaders) {
        const config = reader.read(etc, system);
        if (!config) continue;
        configs.push(config);
        for (const f of config.files) if (f.status !== 'read') problems.push(`${f.path}: ${f.status}${f.detail ? ` (${f.detail})` : ''}`);
      }
      facts.configs = configs;
      facts.configFiles = [...etc.read];
      facts.systemFiles = [...(system?.read ?? [])];
      if (problems.length > 0) return { status: 'partial', detail: problems.join('; ') };
      return configs.length === 0 ? { status: 'ok', detail: 'no configuration of a known daemon found' } : { status: 'ok', detail: `read: ${configs.map((c) => c.daemon).join(', ')}` };
    },
  }),
  defineSource({
    name: 'firewall',
    description:
      'The host firewall: the nftables rule set (nft -j list ruleset), the iptables-nft tables in their own syntax (iptables-nft-save, ip6tables-nft-save) and the legacy iptables tables where the kernel has them (iptables-legacy-save, ip6tables-legacy-save). Reading them needs CAP_NET_ADMIN.',
    paths: ['net/ip_tables_names', 'net/ip6_tables_names'],
    live: 'nft -j list ruleset; iptables-nft-save / ip6tables-nft-save when iptables-nft tables exist; iptables-legacy-save / ip6tables-legacy-save when the legacy tables are loaded',
    concurrent: true,
    async run(options, facts) {
      if (!options.procRoot.live) {
        const outputs: Partial<Record<FirewallCaptureKey, string>> = {};
        for (const [key, file] of Object.entries(firewallCaptureFiles) as Array<[FirewallCaptureKey, string]>) {
          const text = options.captureDir ? readCapturedText(options.captureDir, file) : null;
          if (text !== null) outputs[key] = text;
        }
        if (outputs.nft === undefined && Object.keys(outputs).length === 0) return notLive(firewallCaptureFiles.nft);
        facts.firewall = { rulesets: combineFirewallOutputs(outputs), read: true, problems: [] };
        return { status: 'ok' };
      }
      const read = await readFirewall(options.procRoot);
      for (const [key, text] of Object.entries(read.outputs) as Array<[FirewallCaptureKey, string]>) facts.commandOutputs[firewallCaptureFiles[key]] = text;
      facts.firewall = { rulesets: read.rulesets, read: read.read, problems: read.problems };
      if (!read.read) return { status: 'partial', detail: read.problems.join('; ') };
      return read.problems.length > 0 ? { status: 'partial', detail: read.problems.join('; ') } : { status: 'ok' };
    },
  }),
  defineSource({
    name: 'host',
    description: 'Host identity and OS: machine id, hostname, distribution, and the kernel release from <proc-root>/sys/kernel/osrelease.',
    paths: ['sys/kernel/osrelease'],
    live: '/etc/machine-id, hostname, and the distribution from /etc/os-release (systeminformation where it is missing)',
    concurrent: true,
    async run(options, facts) {
      facts.kernel = readProcText(options.procRoot, 'sys/kernel/osrelease')?.trim() ?? null;
      if (!options.procRoot.live) {
        facts.host = readCaptured<CapturedHost>(options, captureFiles.host);
        if (facts.host === null) return notLive(captureFiles.host);
        return { status: 'ok' };
      }
      // os.arch(), as systeminformation reports it; the distribution from os-release(5).
      let os: { distro: string | null; release: string | null; arch: string | null };
      const release = readOsRelease();
      if (release) {
        os = { ...release, arch: osArch() };
      } else {
        const { osInfo } = await import('systeminformation');
        const info = await osInfo();
        os = { distro: info.distro || null, release: info.release || null, arch: info.arch || null };
      }
      let hostId: string;
      try {
        hostId = readFileSync('/etc/machine-id', 'utf8').trim();
      } catch {
        hostId = '';
      }
      facts.host = { hostId, hostname: osHostname(), ...os };
      return hostId ? { status: 'ok' } : { status: 'partial', detail: '/etc/machine-id is unreadable: the hostname stands in as host id' };
    },
  }),
];

/** Whether PID 1 holds a listening socket: then systemd socket units are worth reading. */
function pid1Listens(facts: Facts): boolean {
  for (const owners of facts.owners?.owners.values() ?? []) if (owners.some((o) => o.pid === 1)) return true;
  return false;
}

/** The root of the files outside /etc: --root, else / live, the capture directory on a replay. */
function systemRootPath(options: ScanOptions): string | null {
  return options.root ?? (options.procRoot.live ? '/' : options.captureDir);
}

function systemRoot(options: ScanOptions): EtcRoot | null {
  const root = systemRootPath(options);
  if (root === null) return null;
  try {
    return new EtcRoot(root, [], '/');
  } catch {
    return null; // no such directory: nothing to read there
  }
}

function readCapturedText(dir: string, file: string): string | null {
  try {
    return readFileSync(join(dir, file), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}
