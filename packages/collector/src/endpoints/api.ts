// The endpoint API's shapes, schema first (routes validate and serialize with them; the types
// are derived from them). The family verdicts mirror core's EndpointFamilyView and
// EndpointVantageVerdict (rules/endpoint-verdicts.ts), which are TypeScript types only.
import Type, { type Static } from 'typebox';
import { DnsAnswer, EndpointProbe, EndpointSpec, Finding } from '@dualstack/core/schema';

const Nullable = <T extends Type.TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

export const EndpointSourceView = Type.Union([Type.Literal('config'), Type.Literal('api')], {
  description: 'config: the endpoints: list of the configuration file (changed only there); api: POST /api/v1/endpoints.',
});

export const DeclaredEndpointView = Type.Object({
  ...EndpointSpec.properties,
  source: EndpointSourceView,
  createdAt: Type.String(),
});

export const FamilyVerdict = Type.Union(
  [Type.Literal('works'), Type.Literal('partial'), Type.Literal('broken'), Type.Literal('unpublished'), Type.Literal('unresolved'), Type.Literal('untested')],
  {
    description:
      'works: every address of the family answers; partial: some do; broken: none does; unpublished: no record of the family; unresolved: the lookup failed; untested: the vantage point has no route for the family (never broken).',
  },
);

export const FamilyCounts = Type.Object({
  verdict: FamilyVerdict,
  answering: Type.Integer({ minimum: 0, description: 'Addresses that answered.' }),
  total: Type.Integer({ minimum: 0, description: 'Addresses that count for the verdict.' }),
});

export const FamilyDetail = Type.Object({
  ...FamilyCounts.properties,
  family: Type.Union([Type.Literal(4), Type.Literal(6)]),
  dns: DnsAnswer,
  addresses: Type.Array(
    Type.Object({
      address: Type.String(),
      outcome: Type.String({ description: "An attempt outcome, 'rejected' (in the DNS answer, never probed) or 'not-probed'." }),
      detail: Nullable(Type.String()),
    }),
  ),
});

const VantageBase = {
  hostId: Type.String({ description: 'The vantage point: the host id of the agent that probed.' }),
  hostname: Type.String(),
  receivedAt: Type.String(),
  probedAt: Type.String(),
  stale: Type.Boolean({ description: "Its latest batch is older than the collector's staleAfterSeconds: shown, but not judged by the rules nor counted in the overall verdicts." }),
};

export const Families = Type.Object(
  { ipv4: FamilyVerdict, ipv6: FamilyVerdict },
  { description: 'Per family, the worst verdict among the fresh vantage points (broken, unresolved, partial, unpublished, works); untested when none tested it.' },
);

export const SeverityCounts = Type.Object({ critical: Type.Integer(), warning: Type.Integer(), info: Type.Integer() });

export const EndpointSummary = Type.Object({
  name: Type.String(),
  url: Type.String(),
  source: EndpointSourceView,
  families: Families,
  vantages: Type.Array(Type.Object({ ...VantageBase, ipv4: FamilyCounts, ipv6: FamilyCounts })),
  findings: SeverityCounts,
  lastProbed: Nullable(Type.String({ description: 'The newest probe of any vantage point.' })),
});

export const BackendView = Type.Object({
  declared: Type.String(),
  hostId: Nullable(Type.String()),
  hostname: Nullable(Type.String()),
  found: Type.Boolean({ description: "A TCP service on the endpoint's port in the host's latest report." }),
  ipv4: Nullable(Type.Boolean({ description: 'Clients of the family reach that service from outside: its socket verdict any or addresses, and the host firewall does not drop them.' })),
  ipv6: Nullable(Type.Boolean()),
  link: Nullable(Type.String({ description: "The host's API resource, /api/v1/hosts/ID." })),
});

export const HistoryPoint = Type.Object({
  batchId: Type.String(),
  receivedAt: Type.String(),
  probedAt: Type.String(),
  ipv4: FamilyCounts,
  ipv6: FamilyCounts,
});

export const EndpointDetail = Type.Object({
  endpoint: Type.Object({
    ...DeclaredEndpointView.properties,
    address: Type.Object({
      scheme: Type.String(),
      host: Type.String(),
      port: Type.Integer(),
      literal: Nullable(Type.Union([Type.Literal(4), Type.Literal(6)])),
      tls: Type.Boolean(),
      protocol: Type.String(),
      path: Type.String(),
    }),
  }),
  families: Families,
  vantages: Type.Array(Type.Object({ ...VantageBase, batchId: Type.String(), ipv4: FamilyDetail, ipv6: FamilyDetail, probe: EndpointProbe }), {
    description: "Each vantage point's latest probe (its attempts) and verdicts.",
  }),
  findings: Type.Array(Finding, { description: 'Open findings, most severe first, with the vantage points that saw them as evidence.' }),
  backends: Type.Array(BackendView),
  history: Type.Array(
    Type.Object({ hostId: Type.String(), hostname: Type.String(), results: Type.Array(HistoryPoint, { description: 'Newest first.' }) }),
    { description: 'Per vantage point, its last `limit` probes with their per-family verdicts.' },
  ),
});

export const EndpointQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 20, description: 'History entries per vantage point.' })),
});

export type DeclaredEndpointView = Static<typeof DeclaredEndpointView>;
export type EndpointSummary = Static<typeof EndpointSummary>;
export type EndpointDetail = Static<typeof EndpointDetail>;
export type FamilyCounts = Static<typeof FamilyCounts>;
