// The host report: the single source of truth for its TypeScript types (Static<>) and for
// validation, shared by the agent that writes it and the collector that ingests it.
import Type, { type Static } from 'typebox';
import { Compile } from 'typebox/compile';

import { REPORT_SCHEMA } from './schema-id.js';

const Nullable = <T extends Type.TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

export const Family = Type.Union([Type.Literal(4), Type.Literal(6)], {
  description: 'Address family: 4 for IPv4, 6 for IPv6.',
});

export const SourceStatus = Type.Object({
  name: Type.String({ description: 'Source name, as listed in docs/sources.md.' }),
  status: Type.Union(
    [Type.Literal('ok'), Type.Literal('absent'), Type.Literal('partial'), Type.Literal('failed'), Type.Literal('skipped')],
    { description: 'absent: the kernel does not provide it (e.g. IPv6 off); partial: read with gaps; skipped: not run.' },
  ),
  ok: Type.Boolean({ description: 'False only when the source failed.' }),
  durationMs: Type.Number({ minimum: 0 }),
  error: Type.Optional(Type.String()),
  detail: Type.Optional(Type.String({ description: 'Why a source is partial, absent or skipped.' })),
});

export const HostFacts = Type.Object({
  hostId: Type.String({ minLength: 1 }),
  hostname: Type.String({ minLength: 1 }),
  os: Type.Object({
    distro: Nullable(Type.String()),
    release: Nullable(Type.String()),
    kernel: Nullable(Type.String({ description: 'Kernel release, from <proc-root>/sys/kernel/osrelease.' })),
    arch: Nullable(Type.String()),
  }),
  privileged: Type.Boolean({ description: "True when the agent could read every process's file descriptors." }),
  replay: Type.Boolean({ description: 'True when the report was built from a captured /proc tree, not the live host.' }),
});

const SysctlValue = Nullable(Type.Integer());

export const InterfaceSysctlsRaw = Type.Object({
  accept_ra: SysctlValue,
  accept_ra_defrtr: SysctlValue,
  autoconf: SysctlValue,
  forwarding: SysctlValue,
  disable_ipv6: SysctlValue,
  accept_redirects: SysctlValue,
  accept_source_route: SysctlValue,
  use_tempaddr: SysctlValue,
});

export const InterfaceSysctlsEffective = Type.Object({
  acceptRa: Type.Boolean({ description: 'Router advertisements are processed (accept_ra=2, or 1 with forwarding off).' }),
  acceptRaDefrtr: Type.Boolean({ description: 'A default route is learned from RAs.' }),
  autoconf: Type.Boolean({ description: 'Addresses are made from RA prefixes.' }),
  forwarding: Type.Boolean(),
  disableIpv6: Type.Boolean(),
  acceptRedirects: Type.Boolean({ description: 'ICMPv6 redirects are accepted (accept_redirects=1 and forwarding off).' }),
  acceptSourceRoute: Type.Integer({ description: 'min(all, interface): >= 0 accepts type 2 routing headers only, < 0 none.' }),
  useTempaddr: Type.Union([Type.Literal('off'), Type.Literal('on'), Type.Literal('prefer')]),
});

export const InterfaceSysctls = Type.Object({
  name: Type.String({ description: "'all', 'default', or an interface name." }),
  raw: InterfaceSysctlsRaw,
  effective: Nullable(InterfaceSysctlsEffective),
});

export const Sysctls = Type.Object({
  bindv6only: SysctlValue,
  interfaces: Type.Array(InterfaceSysctls),
});

export const AddressScope = Type.Union([
  Type.Literal('global'),
  Type.Literal('host'),
  Type.Literal('link'),
  Type.Literal('site'),
  Type.Literal('compat'),
  Type.Literal('unknown'),
]);

export const HostAddress = Type.Object({
  family: Family,
  address: Type.String(),
  prefixLength: Type.Integer({ minimum: 0, maximum: 128 }),
  interface: Type.String(),
  scope: AddressScope,
  flags: Type.Array(Type.String(), { description: 'if_inet6 flags: permanent, tentative, dadfailed, deprecated, temporary, ...' }),
});

export const Route = Type.Object({
  family: Family,
  destination: Type.String(),
  prefixLength: Type.Integer({ minimum: 0, maximum: 128 }),
  gateway: Nullable(Type.String()),
  interface: Type.String(),
  metric: Type.Integer({ minimum: 0 }),
  flags: Type.Array(Type.String()),
  origin: Type.Union(
    [Type.Literal('ra'), Type.Literal('static'), Type.Literal('kernel'), Type.Literal('local'), Type.Literal('reject')],
    { description: 'ra: learned from a router advertisement; kernel: prefix or address route; local: a local address.' },
  ),
  expires: Type.Boolean({ description: 'The route has a lifetime (RA-learned routes do).' }),
});

export const Reachability = Type.Object({
  family: Family,
  target: Type.String({ description: 'A documentation address no more specific route of the host covers.' }),
  reachable: Nullable(Type.Boolean()),
  error: Nullable(Type.String({ description: 'The errno of the UDP connect(), e.g. ENETUNREACH.' })),
  sourceAddress: Nullable(Type.String({ description: 'The local address the kernel picked.' })),
  route: Nullable(
    Type.Object({
      destination: Type.String(),
      prefixLength: Type.Integer(),
      gateway: Nullable(Type.String()),
      interface: Type.String(),
    }),
  ),
  note: Type.Optional(Type.String()),
});

export const TableDefaultRoute = Type.Object({
  family: Family,
  table: Type.String({ description: "Routing table name or number as ip(8) prints it ('main' when it prints none)." }),
  type: Type.String({ description: "Route type: 'unicast', 'unreachable', 'blackhole', 'prohibit', ..." }),
  gateway: Nullable(Type.String()),
  interface: Nullable(Type.String()),
  metric: Nullable(Type.Integer()),
  protocol: Nullable(Type.String({ description: "Who installed it: 'ra', 'static', 'dhcp', 'boot', ..." })),
  expires: Type.Boolean(),
});

export const RoutingRule = Type.Object({
  family: Family,
  priority: Type.Integer(),
  table: Type.String(),
  selector: Type.String({ description: "What traffic the rule applies to: 'all', or its selectors (from, to, iif, fwmark, ...)." }),
  action: Type.String({ description: "'lookup' or another action (unreachable, prohibit, blackhole, goto, nop)." }),
});

export const Router = Type.Object({
  address: Type.String(),
  interface: Type.String(),
  state: Type.String({ description: 'Neighbour state: REACHABLE, STALE, DELAY, PROBE, FAILED, ...' }),
});

export const ConfiguredGateway = Type.Object({
  family: Family,
  gateway: Type.String(),
  interface: Nullable(Type.String()),
  system: Type.String({ description: 'ifupdown, ifcfg, netplan, networkmanager or systemd-networkd.' }),
  file: Type.String({ description: 'The configuration file, relative to the /etc root.' }),
});

export const NetworkConfig = Type.Object({
  systems: Type.Array(Type.String(), { description: 'Network configuration systems found on the host, the one in charge first.' }),
  gateways: Type.Array(ConfiguredGateway),
});

export const Reach = Type.Union(
  [Type.Literal('any'), Type.Literal('addresses'), Type.Literal('loopback'), Type.Literal('none')],
  { description: 'Who of one family can connect: any address, only specific non-loopback ones, loopback only, or nobody.' },
);

export const ServiceMode = Type.Union([
  Type.Literal('dual-separate'),
  Type.Literal('dual-mapped'),
  Type.Literal('ipv4-only'),
  Type.Literal('ipv6-only'),
  Type.Literal('loopback-only'),
]);

export const V6onlySource = Type.Union(
  [Type.Literal('sock_diag'), Type.Literal('implicit'), Type.Literal('inferred'), Type.Literal('not-applicable'), Type.Literal('unknown')],
  {
    description:
      'sock_diag: read from the kernel via ss; implicit: bound to a specific IPv6 address; inferred: from net.ipv6.bindv6only; not-applicable: an IPv4 socket.',
  },
);

export const Binding = Type.Object({
  address: Type.String(),
  family: Family,
  v6only: Nullable(Type.Boolean()),
  v6onlySource: V6onlySource,
  inode: Type.Integer({ minimum: 0 }),
});

export const ConnectionCounts = Type.Object({
  ipv4: Type.Integer({ minimum: 0, description: 'Peers on IPv4 sockets.' }),
  ipv6: Type.Integer({ minimum: 0, description: 'Peers with a real IPv6 address.' }),
  mapped: Type.Integer({ minimum: 0, description: 'IPv4 peers arriving as ::ffff:a.b.c.d on an IPv6 socket.' }),
});

export const FirewallRuleRef = Type.Object(
  {
    backend: Type.Union([Type.Literal('nftables'), Type.Literal('iptables-nft'), Type.Literal('iptables-legacy')]),
    family: Type.String({ description: 'Table family: ip, ip6, inet.' }),
    table: Type.String(),
    chain: Type.String(),
    handle: Nullable(Type.Integer({ description: 'nftables rule handle.' })),
    line: Nullable(Type.Integer({ description: 'Line in the iptables-save output.' })),
    position: Nullable(Type.Integer({ description: '1-based position in the chain; null for the chain policy.' })),
    text: Type.String({ description: 'The rule as written, or "policy drop" / "policy accept".' }),
  },
  { description: 'The rule (or chain policy) that decided.' },
);

export const FirewallVerdict = Type.Union([Type.Literal('accepted'), Type.Literal('dropped'), Type.Literal('restricted'), Type.Literal('unknown')], {
  description: 'accepted from anywhere; dropped (or rejected); restricted: accepted only from some sources or on some interfaces; unknown: a rule the evaluator does not model decides, or the firewall was not read.',
});

export const FamilyFirewall = Type.Object({
  verdict: FirewallVerdict,
  by: Nullable(FirewallRuleRef),
  allowedSources: Type.Array(Type.String(), { description: 'restricted: the source prefixes or ranges accepted.' }),
  unmodelled: Nullable(Type.String({ description: 'unknown: what the evaluator could not model, or why the firewall was not read.' })),
  interfaces: Type.Array(Type.String(), { description: 'Interfaces a client of that family arrives on (where the packet was evaluated).' }),
  acceptedOn: Type.Array(Type.String(), { description: 'When the answer differs per interface: those that accept.' }),
});

export const ServiceFirewall = Type.Object(
  { ipv4: Nullable(FamilyFirewall), ipv6: Nullable(FamilyFirewall) },
  { description: "The host firewall's answer to a new connection from outside, per family the service listens for (null: not exposed in that family)." },
);

export const FirewallRulesetSummary = Type.Object({
  backend: Type.Union([Type.Literal('nftables'), Type.Literal('iptables-nft'), Type.Literal('iptables-legacy')]),
  command: Type.String(),
  tables: Type.Integer({ minimum: 0 }),
  rules: Type.Integer({ minimum: 0 }),
});

export const Icmpv6Firewall = Type.Object({
  type: Type.Integer(),
  name: Type.String(),
  interface: Type.String(),
  verdict: FirewallVerdict,
  by: Nullable(FirewallRuleRef),
  allowedSources: Type.Array(Type.String()),
  unmodelled: Nullable(Type.String()),
  breaks: Type.String({ description: 'What IPv6 loses when this message is dropped.' }),
});

export const FirewallFacts = Type.Object({
  read: Type.Boolean({ description: 'Whether the rule sets could be read; when false every verdict is unknown.' }),
  why: Nullable(Type.String({ description: 'Why not read (e.g. needs CAP_NET_ADMIN).' })),
  rulesets: Type.Array(FirewallRulesetSummary),
  icmpv6: Type.Array(Icmpv6Firewall, { description: 'Essential ICMPv6 (RFC 4890) per IPv6 interface.' }),
});

export const SocketUnit = Type.Object(
  {
    unit: Type.String({ description: 'The .socket unit whose Listen line opened these sockets, e.g. ssh.socket.' }),
    file: Type.String({ description: 'The unit file or drop-in holding that line.' }),
    line: Type.Integer({ minimum: 1 }),
    listen: Type.String({ description: 'The line, e.g. ListenStream=22.' }),
    bindIpv6Only: Type.Union([Type.Literal('default'), Type.Literal('both'), Type.Literal('ipv6-only')], { description: 'BindIPv6Only= in effect (default: net.ipv6.bindv6only decides).' }),
    listens: Type.Array(Type.String(), { description: 'Every Listen line in effect, in order: what a drop-in that resets the list repeats.' }),
    accept: Type.Boolean({ description: 'Accept=yes: one service instance per connection.' }),
    service: Nullable(Type.String({ description: 'The service unit it activates (Service=, or the same name; NAME@.service with Accept=yes).' })),
    daemon: Nullable(Type.String({ description: "The program that service's ExecStart= runs, when its unit was read." })),
  },
  { description: 'Set when PID 1 holds the sockets for a systemd socket unit (socket activation).' },
);

export const Service = Type.Object({
  proto: Type.Union([Type.Literal('tcp'), Type.Literal('udp')]),
  port: Type.Integer({ minimum: 0, maximum: 65535 }),
  process: Nullable(Type.String()),
  pid: Nullable(Type.Integer()),
  exe: Nullable(Type.String()),
  unit: Nullable(Type.String({ description: 'systemd unit from /proc/[pid]/cgroup.' })),
  uid: Nullable(Type.Integer()),
  sharedWith: Type.Array(Type.Integer(), { description: 'Other processes holding the same sockets (workers).' }),
  bindings: Type.Array(Binding),
  ipv4: Reach,
  ipv6: Reach,
  mode: ServiceMode,
  connections: ConnectionCounts,
  firewall: Type.Optional(ServiceFirewall),
  socketUnit: Type.Optional(SocketUnit),
});

export const ConfigFileStatus = Type.Object({
  path: Type.String({ description: 'As the daemon names it, e.g. /etc/ssh/sshd_config.' }),
  status: Type.Union([
    Type.Literal('read'),
    Type.Literal('missing'),
    Type.Literal('unreadable'),
    Type.Literal('too-large'),
    Type.Literal('binary'),
    Type.Literal('outside-root'),
    Type.Literal('include-loop'),
    Type.Literal('unparsable'),
  ]),
  detail: Type.Optional(Type.String()),
});

export const ConfigDirective = Type.Object({
  file: Type.String(),
  line: Type.Integer({ minimum: 1 }),
  key: Type.String({ description: 'The directive as written (case kept).' }),
  value: Type.String({ description: 'Its arguments as written, without the key.' }),
  raw: Type.String({ description: 'The whole line as written, for quoting.' }),
  context: Type.Optional(Type.String({ description: 'The enclosing block when it matters, e.g. "Match Address 192.0.2.0/24".' })),
});

export const DaemonConfig = Type.Object(
  {
    daemon: Type.String({ description: 'Knowledge-base id (sshd, nginx, postfix, ...).' }),
    files: Type.Array(ConfigFileStatus),
    directives: Type.Array(ConfigDirective, { description: 'The directives that decide addresses, families and access lists, in the order the daemon reads them.' }),
  },
  { description: "A daemon's configuration as read under the /etc root: only what decides how it listens and whom it lets in." },
);

export const Severity = Type.Union([Type.Literal('critical'), Type.Literal('warning'), Type.Literal('info')]);

export const Finding = Type.Object({
  rule: Type.String(),
  severity: Severity,
  subject: Type.String({ description: 'What the finding is about: the host, an interface, or proto/port.' }),
  message: Type.String(),
  evidence: Type.Array(Type.String()),
  fix: Type.Object({
    summary: Type.String(),
    commands: Type.Array(Type.String()),
  }),
});

export const ContainerRuntime = Type.Union(
  [Type.Literal('docker'), Type.Literal('containerd'), Type.Literal('podman'), Type.Literal('kubernetes'), Type.Literal('lxc'), Type.Literal('nspawn'), Type.Literal('unknown')],
  { description: "Who made the namespace, from the cgroup path of its process: kubernetes when the path carries a pod UID (whatever engine runs the pod's containers); unknown when no runtime's layout matches." },
);

export const NamespaceOwner = Type.Object({
  runtime: ContainerRuntime,
  id: Nullable(Type.String({ description: 'The container id from the cgroup path (for a pod: the container whose process the namespace was read through, usually the sandbox).' })),
  pod: Type.Optional(
    Type.Object({
      uid: Type.String(),
      name: Type.Optional(Type.String({ description: "The pod's hostname from the kubelet's etc-hosts: its name unless spec.hostname is set." })),
      namespace: Type.Optional(Type.String({ description: "From the service-account volume's namespace file." })),
    }),
  ),
  name: Type.String({ description: 'How findings and the table name it: the container or pod name where a read-only file gives it (pods as namespace/name), else the short id, else the process (comm[pid]).' }),
  cgroup: Nullable(Type.String({ description: 'The cgroup path the owner was read from.' })),
});

export const NetworkNamespace = Type.Object(
  {
    inode: Type.Integer({ minimum: 0, description: 'The namespace inode, as in /proc/[pid]/ns/net -> net:[INODE].' }),
    pid: Type.Integer({ minimum: 1, description: 'The process it was read through (the lowest pid in it).' }),
    processes: Type.Integer({ minimum: 1 }),
    owner: NamespaceOwner,
    sources: Type.Array(SourceStatus, { description: 'What was read of this namespace: its socket tables, addresses, routes, sysctls and V6ONLY flags.' }),
    addresses: Type.Array(HostAddress),
    routes: Type.Array(Route),
    sysctl: Nullable(Sysctls),
    services: Type.Array(Service),
    connections: Type.Object({ ...ConnectionCounts.properties, unattributed: Type.Integer({ minimum: 0 }) }),
    findings: Type.Array(Finding, { description: "The host's per-namespace rules on this namespace's facts, each subject naming the owner." }),
  },
  { description: 'A network namespace other than the host\'s (a container or pod), with its services judged as the host\'s are.' },
);

export const Report = Type.Object({
  schema: Type.Literal(REPORT_SCHEMA),
  reportId: Type.String({ format: 'uuid' }),
  collectedAt: Type.String({ format: 'date-time' }),
  agent: Type.Object({ version: Type.String() }),
  host: HostFacts,
  sources: Type.Array(SourceStatus),
  sysctl: Sysctls,
  addresses: Type.Array(HostAddress),
  routes: Type.Array(Route),
  tableDefaults: Type.Array(TableDefaultRoute, { description: 'Default routes of every routing table, from ip route show table all.' }),
  routingRules: Type.Array(RoutingRule),
  routers: Type.Array(Router, { description: 'IPv6 neighbours flagged as routers.' }),
  networkConfig: NetworkConfig,
  reachability: Type.Array(Reachability),
  services: Type.Array(Service),
  connections: Type.Object({
    ...ConnectionCounts.properties,
    unattributed: Type.Integer({ minimum: 0, description: 'Established connections to no listening service (outgoing ones).' }),
  }),
  firewall: Type.Optional(FirewallFacts),
  configs: Type.Optional(Type.Array(DaemonConfig)),
  findings: Type.Array(Finding),
  namespaces: Type.Optional(Type.Array(NetworkNamespace, { description: "The other network namespaces (containers, pods); absent when none was found or discovery was off (--namespaces host)." })),
});

export type Family = Static<typeof Family>;
export type SourceStatus = Static<typeof SourceStatus>;
export type HostFacts = Static<typeof HostFacts>;
export type InterfaceSysctlsRaw = Static<typeof InterfaceSysctlsRaw>;
export type InterfaceSysctlsEffective = Static<typeof InterfaceSysctlsEffective>;
export type InterfaceSysctls = Static<typeof InterfaceSysctls>;
export type Sysctls = Static<typeof Sysctls>;
export type AddressScope = Static<typeof AddressScope>;
export type HostAddress = Static<typeof HostAddress>;
export type Route = Static<typeof Route>;
export type Reachability = Static<typeof Reachability>;
export type TableDefaultRoute = Static<typeof TableDefaultRoute>;
export type RoutingRule = Static<typeof RoutingRule>;
export type Router = Static<typeof Router>;
export type ConfiguredGateway = Static<typeof ConfiguredGateway>;
export type NetworkConfig = Static<typeof NetworkConfig>;
export type Reach = Static<typeof Reach>;
export type ServiceMode = Static<typeof ServiceMode>;
export type V6onlySource = Static<typeof V6onlySource>;
export type Binding = Static<typeof Binding>;
export type ConnectionCounts = Static<typeof ConnectionCounts>;
export type SocketUnit = Static<typeof SocketUnit>;
export type Service = Static<typeof Service>;
export type FirewallRuleRef = Static<typeof FirewallRuleRef>;
export type FirewallVerdict = Static<typeof FirewallVerdict>;
export type FamilyFirewall = Static<typeof FamilyFirewall>;
export type ServiceFirewall = Static<typeof ServiceFirewall>;
export type FirewallRulesetSummary = Static<typeof FirewallRulesetSummary>;
export type FirewallFacts = Static<typeof FirewallFacts>;
export type Icmpv6Firewall = Static<typeof Icmpv6Firewall>;
export type ConfigFileStatus = Static<typeof ConfigFileStatus>;
export type ConfigDirective = Static<typeof ConfigDirective>;
export type DaemonConfig = Static<typeof DaemonConfig>;
export type Severity = Static<typeof Severity>;
export type Finding = Static<typeof Finding>;
export type ContainerRuntime = Static<typeof ContainerRuntime>;
export type NamespaceOwner = Static<typeof NamespaceOwner>;
export type NetworkNamespace = Static<typeof NetworkNamespace>;
export type Report = Static<typeof Report>;

// Compiled on first use: the agent imports this module's types only, and compiling costs
// ~140 ms at start-up (test/bench).
const compileReport = () => Compile(Report);
let reportValidator: ReturnType<typeof compileReport> | undefined;

function validator(): ReturnType<typeof compileReport> {
  reportValidator ??= compileReport();
  return reportValidator;
}

export interface SchemaProblem {
  /** JSON pointer of the failing field, e.g. `/services/0/port`. */
  path: string;
  message: string;
}

/** A compiled validator's errors as field/message pairs: the first 20, enough to fix a payload. */
export function schemaProblems(errors: Iterable<{ instancePath: string; message: string }>): SchemaProblem[] {
  const problems: SchemaProblem[] = [];
  for (const error of errors) {
    problems.push({ path: error.instancePath || '/', message: error.message });
    if (problems.length >= 20) break;
  }
  return problems;
}

export type ReportValidation = { ok: true; report: Report } | { ok: false; problems: SchemaProblem[] };

/** Validates an untrusted value against the report schema, naming each failing field. */
export function validateReport(value: unknown): ReportValidation {
  const compiled = validator();
  if (compiled.Check(value)) return { ok: true, report: value };
  return { ok: false, problems: schemaProblems(compiled.Errors(value)) };
}
