// The `rateLimit` configuration: requests per credential and window, by role. Defaults are
// set so a healthy agent never meets them (see DEFAULT_RATE_LIMIT) and a stolen credential
// hammering the API gets a small share of what the collector can ingest.
import Type, { type Static } from 'typebox';

const perWindow = (who: string) => Type.Optional(Type.Integer({ minimum: 1, description: `Requests per window of ${who}.` }));

export const RateLimitConfig = Type.Union([
  Type.Literal(false, { description: 'No request rate limit.' }),
  Type.Object(
    {
      windowSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 3600, description: 'The window the counts are of (default 60).' })),
      agent: perWindow('each agent token and each host key (reports, probe targets and results)'),
      enroll: perWindow('each enroll secret (enrollments, shared by the hosts it enrolls)'),
      reader: perWindow('each reader token'),
      admin: perWindow('each admin token'),
      anonymous: perWindow('each client address without a token (loopback reads with openReadsOnLoopback)'),
    },
    { additionalProperties: false },
  ),
]);
export type RateLimitConfig = Static<typeof RateLimitConfig>;

/** Whose requests a count is of: a role's credential, or a client address without one. */
export type RateLimitClass = 'agent' | 'enroll' | 'reader' | 'admin' | 'anonymous';
export type RateLimits = { windowSeconds: number } & Record<RateLimitClass, number>;

/**
 * Per 60 s. agent: one report per scan interval (at least 30 s) is ~2, but after an outage an
 * agent sends its whole spool in one burst, one request after the other: up to 1,000 reports
 * (the agent's default spool bound) and as many probe batches: 2,400 leaves room for both,
 * and is 40/s, a few percent of the ~1,000-2,400 reports/s the collector ingests
 * (test/bench/README.md). enroll: one secret is shared by the fleet; a rollout enrolls many
 * hosts at once (600/min; the hosts a secret may create are bounded separately). reader and
 * anonymous: dashboards refresh every few seconds; scripts page through hosts. admin: scripts
 * walking a large fleet host by host.
 */
export const DEFAULT_RATE_LIMIT: RateLimits = { windowSeconds: 60, agent: 2400, enroll: 600, reader: 1200, admin: 3000, anonymous: 1200 };

/** The configured limits with the defaults filled in; null when rate limiting is off. */
export function resolveRateLimit(config: RateLimitConfig | undefined): RateLimits | null {
  if (config === false) return null;
  return { ...DEFAULT_RATE_LIMIT, ...Object.fromEntries(Object.entries(config ?? {}).filter(([, v]) => v !== undefined)) };
}

/**
 * `serve --rate-limit`: `off`, or comma-separated KEY=N with the keys of the configuration's
 * `rateLimit` (agent=5000,windowSeconds=60). Throws naming the part at fault.
 */
export function parseRateLimitOption(value: string): RateLimitConfig {
  if (value.trim() === 'off') return false;
  const keys = ['windowSeconds', 'agent', 'enroll', 'reader', 'admin', 'anonymous'];
  const parsed: Record<string, number> = {};
  for (const part of value.split(',')) {
    const match = /^\s*(\w+)=([1-9]\d*)\s*$/.exec(part);
    if (!match) throw new Error(`--rate-limit takes 'off' or KEY=N,... (e.g. agent=5000,windowSeconds=60), not '${part}'`);
    if (!keys.includes(match[1]!)) throw new Error(`--rate-limit: unknown key '${match[1]}' (${keys.join(', ')})`);
    parsed[match[1]!] = Number(match[2]);
  }
  return parsed as RateLimitConfig;
}
