// The collector's API shapes, schema first: routes validate and serialize with these, and
// the TypeScript types are derived from them (never written twice).
import Type, { type Static } from 'typebox';
import { Finding, NamespaceOwner, Service, ServiceMode, Severity } from '@dualstack/core/schema';

const Nullable = <T extends Type.TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

export const Role = Type.Union([Type.Literal('agent'), Type.Literal('reader'), Type.Literal('admin'), Type.Literal('enroll'), Type.Literal('host')]);

export { IngestAck, Problem } from '@dualstack/core/schema';

// offset is capped so a huge value is a 400 naming the field, not a 500 from SQLite (which
// takes a 64-bit integer and fails on a larger one bound as a float).
const MAX_OFFSET = 1_000_000_000;
export const Pagination = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
  offset: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_OFFSET, default: 0 })),
});

export const Page = <T extends Type.TSchema>(item: T) =>
  Type.Object({ total: Type.Integer(), limit: Type.Integer(), offset: Type.Integer(), items: Type.Array(item) });

export const HostQuery = Type.Object({
  ...Pagination.properties,
  rule: Type.Optional(Type.String({ description: 'Only hosts with an open finding of this rule.' })),
  severity: Type.Optional(Severity),
  mode: Type.Optional(ServiceMode),
  stale: Type.Optional(Type.Boolean({ description: 'true: only stale hosts; false: only fresh ones.' })),
  q: Type.Optional(Type.String({ description: 'Substring of the hostname or host id.' })),
  port: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535, description: 'Only hosts running a service on this port (with mode: in that mode).' })),
  proto: Type.Optional(Type.Union([Type.Literal('tcp'), Type.Literal('udp')], { description: 'With port: the service\'s protocol.' })),
  process: Type.Optional(Type.String({ maxLength: 256, description: 'With port: the service\'s process name.' })),
  filtered: Type.Optional(
    Type.Union([Type.Literal('ipv4'), Type.Literal('ipv6')], {
      description: "With port: only hosts where the host firewall drops or restricts that family of the service although its sockets take it from outside (the service matrix's firewallFiltered).",
    }),
  ),
});

export const HostSummary = Type.Object({
  hostId: Type.String(),
  hostname: Type.String(),
  distro: Nullable(Type.String()),
  kernel: Nullable(Type.String()),
  firstSeen: Type.String(),
  lastSeen: Type.String(),
  stale: Type.Boolean(),
  ipv6Routable: Nullable(Type.Boolean()),
  ipv4Routable: Nullable(Type.Boolean()),
  services: Type.Object({
    exposed: Type.Integer({ description: 'Services reachable from outside in at least one family.' }),
    dual: Type.Integer({ description: 'Exposed services reachable over both families.' }),
  }),
  findings: Type.Object({ critical: Type.Integer(), warning: Type.Integer(), info: Type.Integer() }),
  readiness: Type.Number({ description: 'Share of exposed services that are dual-stack, 0..1 (1 when none are exposed and IPv6 routes).' }),
});

/** A row of GET /api/v1/hosts: the host, and whether other machines enrolled with its id. */
export const HostListItem = Type.Object({
  ...HostSummary.properties,
  duplicateIdentity: Type.Boolean({ description: 'Other machines enrolled with this host id and wait with pending keys (GET /api/v1/hosts/ID, identity).' }),
});

export const StoredFinding = Type.Object({
  ...Finding.properties,
  firstSeen: Type.String(),
  lastSeen: Type.String(),
  resolvedAt: Nullable(Type.String()),
});

export const ReadinessPoint = Type.Object({
  reportId: Type.String(),
  collectedAt: Type.String(),
  ipv6Routable: Nullable(Type.Boolean()),
  exposed: Type.Integer(),
  dual: Type.Integer(),
  critical: Type.Integer(),
  warning: Type.Integer(),
});

export const HostNamespace = Type.Object({
  inode: Type.Integer({ minimum: 0, description: 'The namespace inode (net:[INODE]).' }),
  owner: NamespaceOwner,
  services: Type.Array(Service),
  findings: Type.Integer({ minimum: 0, description: "The namespace's open findings (in the host's findings, subjects naming the owner)." }),
});

export const HostDetail = Type.Object({
  host: HostSummary,
  services: Type.Array(Service, { description: "The host's own network namespace." }),
  namespaces: Type.Array(HostNamespace, { description: "The host's other network namespaces (containers, pods) from its latest report, each with its services; empty when the report has none." }),
  findings: Type.Array(StoredFinding, { description: 'Open findings first, then the recently resolved.' }),
  history: Type.Array(ReadinessPoint, { description: 'Newest first.' }),
  latestReport: Type.Unknown({ description: 'The latest report as the agent sent it.' }),
  identity: Type.Optional(
    Type.Object(
      {
        enrolled: Type.Boolean({ description: 'Whether the host has a live host key (false: it reports with an agent token, or its key was revoked)' }),
        pendingKeys: Type.Integer({ description: 'Later enrollments with this host id: a duplicate identity when above 0' }),
        fix: Nullable(Type.String({ description: 'With pending keys: what to run on a clone, or how to accept the new machine' })),
        live: Nullable(
          Type.Object({
            createdAt: Type.String({ format: 'date-time', description: 'When the live key was enrolled' }),
            lastUsedAt: Nullable(Type.String({ format: 'date-time', description: 'Its last accepted request' })),
          }),
        ),
        pending: Type.Array(
          Type.Object({
            id: Type.String({ description: 'The key id, for host accept or host revoke' }),
            hostname: Type.String({ description: 'What the enrolling machine said its hostname was' }),
            peer: Nullable(Type.String({ description: 'The enrolling client address as the collector saw it' })),
            createdAt: Type.String({ format: 'date-time', description: 'When it enrolled' }),
          }),
          { description: 'The pending keys, oldest first' },
        ),
      },
      { description: 'Host-key state (enrollment): a duplicate identity shows here.' },
    ),
  ),
});

export const ServiceScope = Type.Union([Type.Literal('host'), Type.Literal('containers')], {
  description: "host: the hosts' own network namespace; containers: their other network namespaces (containers, pods: the report's namespaces[]).",
});

export const ServicesQuery = Type.Object({
  ...Pagination.properties,
  scope: Type.Optional(
    Type.Union([Type.Literal('host'), Type.Literal('containers'), Type.Literal('all')], {
      default: 'all',
      description: "host: the hosts' own services; containers: the services in their containers' and pods' network namespaces; all (default): both, a row per scope.",
    }),
  ),
});

export const ServiceMatrixRow = Type.Object({
  scope: ServiceScope,
  proto: Type.Union([Type.Literal('tcp'), Type.Literal('udp')]),
  port: Type.Integer(),
  process: Nullable(Type.String()),
  hosts: Type.Integer({ description: 'Hosts with the service (scope containers: in at least one of their namespaces).' }),
  modes: Type.Object({
    'dual-separate': Type.Integer(),
    'dual-mapped': Type.Integer(),
    'ipv4-only': Type.Integer(),
    'ipv6-only': Type.Integer(),
    'loopback-only': Type.Integer(),
  }),
  firewallFiltered: Type.Object(
    {
      ipv4: Type.Integer({ minimum: 0, description: 'Hosts where the firewall drops or restricts IPv4 clients that the sockets let in from outside.' }),
      ipv6: Type.Integer({ minimum: 0, description: 'Hosts where the firewall drops or restricts IPv6 clients that the sockets let in from outside.' }),
    },
    { description: "Per family, the hosts whose firewall verdict (services[].firewall: dropped or restricted) contradicts the socket table's: the service listens for that family, but not every client of it gets in. Hosts whose agent sent no firewall verdict are not counted." },
  ),
});

export const FindingRuleRow = Type.Object({
  rule: Type.String(),
  severity: Severity,
  hosts: Type.Integer({ description: 'Hosts with an open finding of this rule.' }),
  findings: Type.Integer(),
  hostIds: Type.Array(Type.String(), { description: 'Up to 100 affected hosts.' }),
});

export const FleetSummary = Type.Object({
  hosts: Type.Integer(),
  staleHosts: Type.Integer(),
  ipv6RoutableShare: Nullable(Type.Number({ description: 'Share of fresh hosts whose kernel routes global IPv6.' })),
  dualStackServiceShare: Nullable(Type.Number({ description: 'Share of exposed services reachable over both families.' })),
  ipv6ConnectionShare: Nullable(Type.Number({ description: 'Share of established connections to services that came over real IPv6.' })),
  connections: Type.Object({ ipv4: Type.Integer(), ipv6: Type.Integer(), mapped: Type.Integer() }),
  findings: Type.Object({ critical: Type.Integer(), warning: Type.Integer(), info: Type.Integer() }),
  generatedAt: Type.String(),
});

/** GET /api/v1/summary: the fleet summary and the duplicate identities counted beside it. */
export const SummaryView = Type.Object({
  ...FleetSummary.properties,
  duplicateIdentities: Type.Integer({ description: 'Host ids with pending host keys: other machines enrolled with them (the duplicate-identity alert).' }),
});

export type Role = Static<typeof Role>;
export type HostQuery = Static<typeof HostQuery>;
export type HostSummary = Static<typeof HostSummary>;
export type StoredFinding = Static<typeof StoredFinding>;
export type ReadinessPoint = Static<typeof ReadinessPoint>;
export type HostDetail = Static<typeof HostDetail>;
export type ServiceMatrixRow = Static<typeof ServiceMatrixRow>;
export type ServicesQuery = Static<typeof ServicesQuery>;
export type HostNamespace = Static<typeof HostNamespace>;
export type FindingRuleRow = Static<typeof FindingRuleRow>;
export type FleetSummary = Static<typeof FleetSummary>;
export interface Paged<T> {
  total: number;
  limit: number;
  offset: number;
  items: T[];
}
