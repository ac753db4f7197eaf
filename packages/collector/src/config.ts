// The collector's configuration: defaults, then the --config file (JSON, or YAML for a .yaml
// or .yml file), then environment variables, then flags. Validated at start with a message
// naming the bad key.
import { readFileSync } from 'node:fs';
import Type, { type Static } from 'typebox';
import { Compile } from 'typebox/compile';
import { parse as parseYaml } from 'yaml';
import { EndpointSpec } from '@dualstack/core/schema';
import { AlertsConfig, AlertsConfigError, resolveAlerts } from './alerts/config.js';
import { checkEndpointSpecs, EndpointSpecError } from './endpoints/spec.js';
import { DEFAULT_MAX_CLOCK_SKEW_SECONDS } from './findings/host-clock-skew.js';
import { RateLimitConfig } from './limits/rate-limit-config.js';
import { MAX_POOL_SIZE } from './db/postgres/pool.js';

export const CollectorConfig = Type.Object(
  {
    listen: Type.String({ description: 'host:port to listen on; [::]:8080 for every address.' }),
    db: Type.String({ description: 'SQLite database file, or a postgres:// (postgresql://) URL of a PostgreSQL database.' }),
    bodyLimitBytes: Type.Integer({ minimum: 1024, description: 'Largest accepted report body.' }),
    staleAfterSeconds: Type.Integer({ minimum: 1, description: 'A host is stale when its last report is older (3 x the agent interval).' }),
    maxClockSkewSeconds: Type.Integer({ minimum: 1, description: "A report whose collectedAt is further than this from the collector's receive time is stored with a host-clock-skew finding." }),
    retentionDays: Type.Integer({ minimum: 1, description: 'Report history kept this many days.' }),
    retentionSchedule: Type.String({ description: 'node-cron expression of the retention job.' }),
    openReadsOnLoopback: Type.Boolean({ description: 'Serve the read API and dashboard without a token to loopback clients.' }),
    rateLimit: Type.Optional(RateLimitConfig),
    maxReportsPerHost: Type.Optional(Type.Integer({ minimum: 2, description: "Each host's stored reports (its history) are at most this many: at ingest its oldest beyond it are deleted, never its latest." })),
    dbPoolSize: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_POOL_SIZE, description: "PostgreSQL: the most connections this collector's pool opens (default 10); collectors x this must stay under the server's max_connections. Ignored for SQLite." })),
    maxHostsPerEnrollSecret: Type.Optional(Type.Integer({ minimum: 1, description: 'The most hosts one enroll secret may enroll, for secrets created without --max-hosts (default: no limit).' })),
    tls: Type.Optional(Type.Object({ cert: Type.String(), key: Type.String() }, { additionalProperties: false })),
    logLevel: Type.Union([Type.Literal('fatal'), Type.Literal('error'), Type.Literal('warn'), Type.Literal('info'), Type.Literal('debug'), Type.Literal('trace'), Type.Literal('silent')]),
    alerts: Type.Optional(AlertsConfig),
    endpoints: Type.Optional(Type.Array(EndpointSpec, { description: 'Published endpoints the vantage points (agents with --probe) probe: name, url, expect, backends.' })),
    probe: Type.Optional(
      Type.Object(
        { timeoutMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 120_000, description: 'Per-attempt budget handed to vantage points (default 5000).' })) },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type CollectorConfig = Static<typeof CollectorConfig>;

export const defaultConfig: CollectorConfig = {
  listen: '127.0.0.1:8080',
  db: './data/dualstack.db',
  bodyLimitBytes: 2 * 1024 * 1024,
  staleAfterSeconds: 15 * 60,
  maxClockSkewSeconds: DEFAULT_MAX_CLOCK_SKEW_SECONDS,
  retentionDays: 30,
  // 30 days of reports every 30 s (the agent's shortest regular interval) are 86,400: a healthy host never meets it.
  maxReportsPerHost: 100_000,
  retentionSchedule: '17 3 * * *',
  openReadsOnLoopback: false,
  // Every role's default (limits/rate-limit-config.ts); false turns the limit off.
  rateLimit: {},
  logLevel: 'info',
};

/** The per-attempt budget vantage points get when `probe.timeoutMs` is not set. */
export const DEFAULT_PROBE_TIMEOUT_MS = 5000;

export class ConfigError extends Error {}

const validator = Compile(CollectorConfig);

/** Merges the layers and validates the result; throws ConfigError naming the bad key. */
export function resolveConfig(layers: Array<Partial<Record<string, unknown>>>, source = 'configuration'): CollectorConfig {
  const merged: Record<string, unknown> = { ...defaultConfig };
  for (const layer of layers) for (const [key, value] of Object.entries(layer)) if (value !== undefined) merged[key] = value;
  if (!validator.Check(merged)) {
    const { key, message } = firstProblem([...validator.Errors(merged)] as SchemaError[]);
    throw new ConfigError(`${source}: bad key '${key}': ${message}`);
  }
  parseListen(merged.listen as string);
  try {
    resolveAlerts(merged.alerts as AlertsConfig | undefined);
  } catch (error) {
    if (error instanceof AlertsConfigError) throw new ConfigError(`${source}: bad key 'alerts.${error.key}': ${error.reason}`);
    throw error;
  }
  try {
    checkEndpointSpecs((merged.endpoints as EndpointSpec[] | undefined) ?? []);
  } catch (error) {
    if (error instanceof EndpointSpecError) throw new ConfigError(`${source}: ${error.message}`);
    throw error;
  }
  return merged as CollectorConfig;
}

interface SchemaError {
  keyword: string;
  instancePath: string;
  message: string;
  params: { additionalProperties?: string[]; requiredProperties?: string[]; allowedValue?: unknown };
}

/** The first schema error as a dotted key and a message that says what is wrong with it. */
function firstProblem(errors: SchemaError[]): { key: string; message: string } {
  const first = errors[0];
  if (!first) return { key: '?', message: 'invalid' };
  const dotted = (pointer: string) => pointer.replace(/^\//, '').replace(/\//g, '.');
  // An unknown key: TypeBox reports it at its own path ("schema is false").
  if (first.keyword === 'boolean' || first.keyword === 'additionalProperties') {
    const extra = first.params.additionalProperties?.[0];
    return { key: extra !== undefined ? dotted(`${first.instancePath}/${extra}`) : dotted(first.instancePath) || '?', message: 'is not a known key' };
  }
  if (first.keyword === 'required') {
    const missing = first.params.requiredProperties?.[0];
    return { key: dotted(`${first.instancePath}/${missing ?? ''}`) || '?', message: 'is required' };
  }
  // A value that must be one of some constants: list them.
  if (first.keyword === 'const') {
    const allowed = errors.filter((e) => e.keyword === 'const' && e.instancePath === first.instancePath).map((e) => JSON.stringify(e.params.allowedValue));
    return { key: dotted(first.instancePath) || '?', message: `must be one of ${allowed.join(', ')}` };
  }
  if (first.keyword === 'enum') {
    const allowed = ((first.params as { allowedValues?: unknown[] }).allowedValues ?? []).map((v) => JSON.stringify(v));
    return { key: dotted(first.instancePath) || '?', message: `must be one of ${allowed.join(', ')}` };
  }
  return { key: dotted(first.instancePath) || '?', message: first.message };
}

export function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read --config ${path}: ${(error as Error).message}`);
  }
  const yaml = /\.ya?ml$/i.test(path);
  try {
    const value: unknown = yaml ? parseYaml(text) : JSON.parse(text);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`not a ${yaml ? 'YAML mapping' : 'JSON object'}`);
    return value as Record<string, unknown>;
  } catch (error) {
    throw new ConfigError(`${path}: ${(error as Error).message}`);
  }
}

/** Environment variables DUALSTACK_LISTEN, DUALSTACK_DB, DUALSTACK_DB_POOL_SIZE, DUALSTACK_LOG_LEVEL. */
export function configFromEnv(env: NodeJS.ProcessEnv): Partial<CollectorConfig> {
  // An empty variable (DUALSTACK_DB= in a unit file) means "not set", not "the empty path".
  const set = (value: string | undefined) => (value === undefined || value === '' ? undefined : value);
  const poolSize = set(env.DUALSTACK_DB_POOL_SIZE);
  return {
    listen: set(env.DUALSTACK_LISTEN),
    db: set(env.DUALSTACK_DB),
    dbPoolSize: poolSize === undefined ? undefined : parsePoolSize(poolSize, 'DUALSTACK_DB_POOL_SIZE'),
    logLevel: set(env.DUALSTACK_LOG_LEVEL) as CollectorConfig['logLevel'] | undefined,
  };
}

/** --db-pool-size / DUALSTACK_DB_POOL_SIZE: a whole number of connections, 1 to 1000; the error names `option`. */
export function parsePoolSize(value: string, option: string): number {
  const size = /^\d{1,4}$/.test(value.trim()) ? Number(value.trim()) : NaN;
  if (!(size >= 1 && size <= MAX_POOL_SIZE)) throw new ConfigError(`${option}: the database pool size is a whole number of connections from 1 to ${MAX_POOL_SIZE}, not '${value}'`);
  return size;
}

/** `127.0.0.1:8080`, `[::1]:8080`, `[::]:0` -> host and port. */
export function parseListen(listen: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(listen);
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 65535) throw new ConfigError(`bad key 'listen': expected host:port or [v6]:port, got '${listen}'`);
  return { host: (match[1] ?? match[2])!, port };
}
