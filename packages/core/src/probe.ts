// "Service is not server": published endpoints probed from outside by agents acting as vantage
// points. The shapes the collector hands out (probe targets) and takes back (probe batches),
// shared like the report's: types for the agent, TypeBox values and a validator for the
// collector (through '@dualstack/core/schema').
import Type, { type Static } from 'typebox';
import { Compile } from 'typebox/compile';
import { schemaProblems, type SchemaProblem } from './report.js';
import { PROBE_SCHEMA } from './schema-id.js';

const Nullable = <T extends Type.TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

/** Endpoint names appear in URLs (/api/v1/endpoints/:name) and alert labels. */
export const ENDPOINT_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$';

export const EndpointExpect = Type.Object(
  {
    status: Type.Optional(Type.Integer({ minimum: 100, maximum: 599, description: 'HTTP status every address must answer (redirects are not followed). Without it, any status below 500 counts as answering.' })),
    tlsName: Type.Optional(Type.String({ minLength: 1, description: 'The name the certificate must be valid for; defaults to the URL host.' })),
  },
  { additionalProperties: false },
);

export const EndpointSpec = Type.Object(
  {
    name: Type.String({ pattern: ENDPOINT_NAME_PATTERN, description: 'Unique; letters, digits, dot, dash, underscore.' }),
    url: Type.String({ minLength: 1, description: 'scheme://host[:port][/path]: http, https, smtp, smtps, imap, imaps, pop3, pop3s, ftp, ssh, tcp, tls.' }),
    expect: Type.Optional(EndpointExpect),
    backends: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { description: 'Host ids or hostnames whose services serve this endpoint.' })),
  },
  { additionalProperties: false },
);

/** One endpoint as an agent probes it: the declaration plus its parsed URL. */
export const ProbeTarget = Type.Object({
  name: Type.String(),
  url: Type.String(),
  scheme: Type.String(),
  tls: Type.Boolean(),
  protocol: Type.Union([Type.Literal('http'), Type.Literal('smtp'), Type.Literal('imap'), Type.Literal('pop3'), Type.Literal('ftp'), Type.Literal('ssh'), Type.Literal('tcp')]),
  host: Type.String(),
  literal: Nullable(Type.Union([Type.Literal(4), Type.Literal(6)])),
  port: Type.Integer({ minimum: 1, maximum: 65535 }),
  path: Type.String(),
  expect: Type.Optional(EndpointExpect),
});

/** GET /api/v1/probe-targets. */
export const ProbeTargets = Type.Object({
  targets: Type.Array(ProbeTarget),
  /** Per-attempt budget (connect + TLS + first answer) the collector asks for. */
  timeoutMs: Type.Integer({ minimum: 100 }),
});

export const DnsStatus = Type.Union(
  [
    Type.Literal('ok'),
    Type.Literal('nodata'),
    Type.Literal('nxdomain'),
    Type.Literal('servfail'),
    Type.Literal('refused'),
    Type.Literal('timeout'),
    Type.Literal('error'),
    Type.Literal('literal'),
  ],
  { description: 'ok: addresses; nodata: the name exists without this record type; literal: the URL names an address (no lookup).' },
);

/** One record type's lookup (A or AAAA) with the host's resolver. */
export const DnsAnswer = Type.Object({
  status: DnsStatus,
  addresses: Type.Array(Type.Object({ address: Type.String(), ttl: Nullable(Type.Integer({ minimum: 0 })) }), { description: 'Addresses a probe connects to.' }),
  /** The CNAME chain from the asked name to the answering one, in order. */
  cname: Type.Array(Type.String()),
  /** Addresses in the answer that are never probed (loopback, link-local, unspecified, multicast, mapped …) and why. */
  rejected: Type.Array(Type.Object({ address: Type.String(), reason: Type.String() })),
  /** The answer held more addresses than a probe follows; the rest were dropped. */
  truncated: Type.Boolean(),
  error: Type.Optional(Type.String()),
  durationMs: Type.Number({ minimum: 0 }),
});

export const TlsFacts = Type.Object({
  protocol: Nullable(Type.String({ description: 'TLSv1.3, TLSv1.2 …' })),
  subject: Nullable(Type.String({ description: 'The certificate subject CN.' })),
  san: Type.Array(Type.String(), { description: 'subjectAltName entries, e.g. DNS:www.example.net.' }),
  issuer: Nullable(Type.String()),
  validTo: Nullable(Type.String({ format: 'date-time' })),
  fingerprint256: Nullable(Type.String()),
  /** The chain verified and the certificate is valid for the expected name. */
  authorized: Type.Boolean(),
  authorizationError: Type.Optional(Type.String()),
});

export const AttemptOutcome = Type.Union(
  [
    Type.Literal('ok'),
    Type.Literal('refused'),
    Type.Literal('timeout'),
    Type.Literal('unreachable'),
    Type.Literal('reset'),
    Type.Literal('tls-error'),
    Type.Literal('unexpected'),
    Type.Literal('protocol-error'),
    Type.Literal('error'),
  ],
  {
    description:
      'ok: connected and the protocol answered as expected; unreachable: no route / host or network unreachable; unexpected: answered, but not what `expect` asks (or an HTTP 5xx); protocol-error: connected, the answer is not the protocol.',
  },
);

/** One connection to one address. */
export const ProbeAttempt = Type.Object({
  family: Type.Union([Type.Literal(4), Type.Literal(6)]),
  address: Type.String(),
  port: Type.Integer({ minimum: 1, maximum: 65535 }),
  outcome: AttemptOutcome,
  error: Type.Optional(Type.String({ description: 'The system error code or a short reason (ECONNREFUSED, certificate has expired …).' })),
  connectMs: Nullable(Type.Number({ minimum: 0 })),
  totalMs: Type.Number({ minimum: 0 }),
  tls: Type.Optional(TlsFacts),
  http: Type.Optional(Type.Object({ status: Type.Integer(), server: Nullable(Type.String()), location: Nullable(Type.String()) })),
  /** The first line the server sent (SMTP, IMAP, POP3, FTP, SSH), at most 200 characters. */
  banner: Type.Optional(Type.String({ maxLength: 200 })),
});

/** One endpoint probed once from one vantage point. */
export const EndpointProbe = Type.Object({
  name: Type.String({ pattern: ENDPOINT_NAME_PATTERN }),
  url: Type.String(),
  probedAt: Type.String({ format: 'date-time' }),
  durationMs: Type.Number({ minimum: 0 }),
  dns: Type.Object({ a: DnsAnswer, aaaa: DnsAnswer }),
  attempts: Type.Array(ProbeAttempt),
});

/** POST /api/v1/probe-results: one probe round of one vantage point. Idempotent on batchId. */
export const ProbeBatch = Type.Object({
  schema: Type.Literal(PROBE_SCHEMA),
  batchId: Type.String({ format: 'uuid' }),
  vantage: Type.Object({
    hostId: Type.String({ minLength: 1 }),
    hostname: Type.String({ minLength: 1 }),
    /** The vantage point has a route for the family (a default route or a global one): a family it lacks is untested there, not broken. */
    ipv4: Type.Boolean(),
    ipv6: Type.Boolean(),
  }),
  startedAt: Type.String({ format: 'date-time' }),
  finishedAt: Type.String({ format: 'date-time' }),
  agent: Type.Object({ version: Type.String() }),
  results: Type.Array(EndpointProbe),
});

export const ProbeAck = Type.Object({
  batchId: Type.String(),
  duplicate: Type.Boolean(),
  receivedAt: Type.String({ format: 'date-time' }),
  results: Type.Integer({ minimum: 0, description: 'Endpoint results stored (0 for a duplicate).' }),
  unknown: Type.Array(Type.String(), { description: 'Endpoint names in the batch that the collector does not declare (not stored).' }),
});

export type EndpointExpect = Static<typeof EndpointExpect>;
export type EndpointSpec = Static<typeof EndpointSpec>;
export type ProbeTarget = Static<typeof ProbeTarget>;
export type ProbeTargets = Static<typeof ProbeTargets>;
export type DnsStatus = Static<typeof DnsStatus>;
export type DnsAnswer = Static<typeof DnsAnswer>;
export type TlsFacts = Static<typeof TlsFacts>;
export type AttemptOutcome = Static<typeof AttemptOutcome>;
export type ProbeAttempt = Static<typeof ProbeAttempt>;
export type EndpointProbe = Static<typeof EndpointProbe>;
export type ProbeBatch = Static<typeof ProbeBatch>;
export type ProbeAck = Static<typeof ProbeAck>;

const compileBatch = () => Compile(ProbeBatch);
let batchValidator: ReturnType<typeof compileBatch> | undefined;

export type ProbeBatchValidation = { ok: true; batch: ProbeBatch } | { ok: false; problems: SchemaProblem[] };

/** Validates an untrusted probe batch, naming each failing field. */
export function validateProbeBatch(value: unknown): ProbeBatchValidation {
  batchValidator ??= compileBatch();
  if (batchValidator.Check(value)) return { ok: true, batch: value };
  return { ok: false, problems: schemaProblems(batchValidator.Errors(value)) };
}
