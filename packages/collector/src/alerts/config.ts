// The `alerts` key of the collector's configuration: the schema (part of CollectorConfig, so
// the file is checked in one pass with the bad key named), the defaults shipped, and
// resolveAlerts(), which checks what a schema cannot (names that must exist, cron syntax,
// per-kind options) and turns the input into the settings the alert code runs on.
import Type, { type Static } from 'typebox';
import cron from 'node-cron';

const Duration = Type.String({ pattern: '^[0-9]+(ms|s|m|h|d)$', description: 'A duration: 500ms, 30s, 5m, 4h, 1d.' });
const Severity = Type.Union([Type.Literal('critical'), Type.Literal('warning'), Type.Literal('info')]);
const Name = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$', description: 'Letters, digits, _ . -; at most 64.' });

export const RULE_KINDS = ['host-stale', 'finding', 'service-regressed', 'fleet-readiness-drop', 'endpoint', 'duplicate-identity'] as const;
export type RuleKind = (typeof RULE_KINDS)[number];
export const RECEIVER_TYPES = ['webhook', 'slack', 'alertmanager'] as const;
export type ReceiverType = (typeof RECEIVER_TYPES)[number];

// One flat object for every kind: the schema names an unknown key precisely, and
// resolveAlerts() refuses an option that belongs to another kind, naming it too.
export const AlertRuleInput = Type.Object(
  {
    name: Name,
    kind: Type.Optional(Type.Enum(RULE_KINDS, { description: 'Defaults to the name when the name is a kind.' })),
    severity: Type.Optional(Severity),
    for: Type.Optional(Duration),
    keepFiringFor: Type.Optional(Duration),
    repeatInterval: Type.Optional(Duration),
    groupWait: Type.Optional(Duration),
    groupInterval: Type.Optional(Duration),
    // host-stale
    interval: Type.Optional(Duration),
    missedIntervals: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
    // finding, endpoint
    minSeverity: Type.Optional(Severity),
    rules: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { minItems: 1 })),
    // service-regressed
    forgetAfter: Type.Optional(Duration),
    // fleet-readiness-drop
    points: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 100 })),
    minHosts: Type.Optional(Type.Integer({ minimum: 1 })),
    resetAfter: Type.Optional(Duration),
  },
  { additionalProperties: false },
);

export const ReceiverInput = Type.Object(
  {
    name: Name,
    type: Type.Enum(RECEIVER_TYPES),
    url: Type.String({ minLength: 1, description: 'http(s) URL; for alertmanager the base URL (/api/v2/alerts is appended).' }),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 300_000 })),
    headers: Type.Optional(Type.Record(Type.String(), Type.String(), { description: 'Sent with every request (e.g. authorization).' })),
    retry: Type.Optional(
      Type.Object(
        { initialMs: Type.Optional(Type.Integer({ minimum: 10, maximum: 86_400_000 })), maxMs: Type.Optional(Type.Integer({ minimum: 10, maximum: 86_400_000 })) },
        { additionalProperties: false },
      ),
    ),
    resendInterval: Type.Optional(Duration),
  },
  { additionalProperties: false },
);

export const RouteInput = Type.Object(
  {
    rules: Type.Optional(Type.Array(Name, { minItems: 1, description: 'Alert rule names; omitted: every rule.' })),
    receivers: Type.Array(Name, { minItems: 1 }),
  },
  { additionalProperties: false },
);

export const AlertsConfig = Type.Object(
  {
    schedule: Type.Optional(Type.String({ description: 'node-cron expression of the evaluation (default every minute).' })),
    rules: Type.Optional(Type.Array(AlertRuleInput, { description: 'Replaces the default rules when given.' })),
    receivers: Type.Optional(Type.Array(ReceiverInput)),
    route: Type.Optional(Type.Array(RouteInput, { description: 'Which rules go to which receivers; omitted: every rule to every receiver.' })),
    recentResolved: Type.Optional(Duration),
  },
  { additionalProperties: false },
);
export type AlertsConfig = Static<typeof AlertsConfig>;
export type AlertRuleInput = Static<typeof AlertRuleInput>;
export type ReceiverInput = Static<typeof ReceiverInput>;

// --- settings: what the alert code runs on ------------------------------------------------------

export interface AlertTiming {
  /** The condition must hold this long before the alert fires (pending until then). */
  forMs: number;
  /** A firing alert stays firing this long after its condition cleared (flap damping). */
  keepFiringForMs: number;
  /** A still-firing alert is notified again after this long. */
  repeatIntervalMs: number;
  /** The first notification of a group waits this long to gather the group's other alerts. */
  groupWaitMs: number;
  /** Two notifications of the same group are at least this far apart. */
  groupIntervalMs: number;
}

interface RuleBase {
  name: string;
  severity: 'critical' | 'warning' | 'info';
  timing: AlertTiming;
}
export interface HostStaleRule extends RuleBase {
  kind: 'host-stale';
  intervalMs: number;
  missedIntervals: number;
}
export interface FindingAlertRule extends RuleBase {
  kind: 'finding';
  minSeverity: 'critical' | 'warning' | 'info';
  /** Only findings of these rule ids; null: all. */
  findingRules: string[] | null;
}
export interface ServiceRegressedRule extends RuleBase {
  kind: 'service-regressed';
  forgetAfterMs: number;
}
export interface ReadinessDropRule extends RuleBase {
  kind: 'fleet-readiness-drop';
  points: number;
  minHosts: number;
  resetAfterMs: number;
}
export interface EndpointAlertRule extends RuleBase {
  kind: 'endpoint';
  minSeverity: 'critical' | 'warning' | 'info';
  /** Only findings of these endpoint rule ids; null: all. */
  findingRules: string[] | null;
}
export interface DuplicateIdentityRule extends RuleBase {
  kind: 'duplicate-identity';
}
export type AlertRule = HostStaleRule | FindingAlertRule | ServiceRegressedRule | ReadinessDropRule | EndpointAlertRule | DuplicateIdentityRule;

export interface ReceiverSettings {
  name: string;
  type: ReceiverType;
  /** Where the POST goes (for alertmanager, with /api/v2/alerts). */
  url: string;
  timeoutMs: number;
  headers: Record<string, string>;
  retry: { initialMs: number; maxMs: number };
  /** alertmanager: firing alerts are sent again this often, so Alertmanager keeps them active. */
  resendIntervalMs: number;
}

export interface AlertsSettings {
  schedule: string;
  rules: AlertRule[];
  receivers: ReceiverSettings[];
  /** Rule name -> receiver names. */
  routes: Map<string, string[]>;
  /** GET /api/v1/alerts lists alerts resolved this recently. */
  recentResolvedMs: number;
}

export const DEFAULT_SCHEDULE = '* * * * *';
export const DEFAULT_TIMING: AlertTiming = {
  forMs: 0,
  keepFiringForMs: 0,
  repeatIntervalMs: 4 * 3600_000,
  groupWaitMs: 30_000,
  groupIntervalMs: 5 * 60_000,
};
export const DEFAULT_RECEIVER = { timeoutMs: 10_000, retry: { initialMs: 1000, maxMs: 5 * 60_000 }, resendIntervalMs: 60_000 };

/** The rules shipped: used when the configuration has no `alerts.rules`. */
export const DEFAULT_RULES: readonly AlertRuleInput[] = [
  { name: 'host-stale', interval: '5m', missedIntervals: 3, severity: 'warning' },
  { name: 'finding', minSeverity: 'critical' },
  { name: 'service-regressed', severity: 'warning', forgetAfter: '7d' },
  { name: 'fleet-readiness-drop', points: 10, minHosts: 1, severity: 'warning', resetAfter: '1d' },
  { name: 'endpoint', minSeverity: 'warning' },
  { name: 'duplicate-identity', severity: 'warning' },
];

/** A check of the alerts configuration failed; `key` is the dotted path below `alerts`. */
export class AlertsConfigError extends Error {
  constructor(
    readonly key: string,
    readonly reason: string,
  ) {
    super(`bad key '${key}': ${reason}`);
    this.name = 'AlertsConfigError';
  }
}

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3600_000, d: 86_400_000 } as const;

/** '500ms', '30s', '5m', '4h', '1d' -> milliseconds. */
export function parseDuration(text: string, key = 'duration'): number {
  const match = /^([0-9]+)(ms|s|m|h|d)$/.exec(text);
  if (!match) throw new AlertsConfigError(key, `expected a duration like 30s, 5m, 4h or 1d, got '${text}'`);
  return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
}

const KIND_OPTIONS: Record<RuleKind, ReadonlyArray<keyof AlertRuleInput>> = {
  'host-stale': ['interval', 'missedIntervals'],
  finding: ['minSeverity', 'rules'],
  'service-regressed': ['forgetAfter'],
  'fleet-readiness-drop': ['points', 'minHosts', 'resetAfter'],
  endpoint: ['minSeverity', 'rules'],
  'duplicate-identity': [],
};

function ruleOf(input: AlertRuleInput, key: string): AlertRule {
  const kind = input.kind ?? ((RULE_KINDS as readonly string[]).includes(input.name) ? (input.name as RuleKind) : undefined);
  if (!kind) throw new AlertsConfigError(`${key}.kind`, `is required when the name is not a kind (${RULE_KINDS.join(', ')})`);
  for (const [other, options] of Object.entries(KIND_OPTIONS)) {
    if (other === kind) continue;
    for (const option of options) {
      if (input[option] !== undefined && !KIND_OPTIONS[kind].includes(option)) {
        throw new AlertsConfigError(`${key}.${option}`, `is an option of kind '${other}', not of '${kind}'`);
      }
    }
  }
  const ms = (option: 'for' | 'keepFiringFor' | 'repeatInterval' | 'groupWait' | 'groupInterval' | 'interval' | 'forgetAfter' | 'resetAfter', fallback: number) =>
    input[option] === undefined ? fallback : parseDuration(input[option], `${key}.${option}`);
  const timing: AlertTiming = {
    forMs: ms('for', DEFAULT_TIMING.forMs),
    keepFiringForMs: ms('keepFiringFor', DEFAULT_TIMING.keepFiringForMs),
    repeatIntervalMs: ms('repeatInterval', DEFAULT_TIMING.repeatIntervalMs),
    groupWaitMs: ms('groupWait', DEFAULT_TIMING.groupWaitMs),
    groupIntervalMs: ms('groupInterval', DEFAULT_TIMING.groupIntervalMs),
  };
  if (timing.repeatIntervalMs < 1000) throw new AlertsConfigError(`${key}.repeatInterval`, 'must be at least 1s');
  const base = { name: input.name, severity: input.severity ?? 'warning', timing } as const;
  switch (kind) {
    case 'host-stale': {
      const intervalMs = ms('interval', 5 * 60_000);
      if (intervalMs < 1000) throw new AlertsConfigError(`${key}.interval`, 'must be at least 1s');
      return { ...base, kind, intervalMs, missedIntervals: input.missedIntervals ?? 3 };
    }
    case 'finding':
      // A finding alert carries the finding's own severity unless one is configured.
      return { ...base, severity: input.severity ?? input.minSeverity ?? 'critical', kind, minSeverity: input.minSeverity ?? 'critical', findingRules: input.rules ?? null };
    case 'endpoint':
      // Like finding: the alert carries the endpoint finding's own severity unless one is configured.
      return { ...base, severity: input.severity ?? input.minSeverity ?? 'warning', kind, minSeverity: input.minSeverity ?? 'warning', findingRules: input.rules ?? null };
    case 'service-regressed':
      return { ...base, kind, forgetAfterMs: ms('forgetAfter', 7 * 86_400_000) };
    case 'duplicate-identity':
      return { ...base, kind };
    case 'fleet-readiness-drop':
      return { ...base, kind, points: input.points ?? 10, minHosts: input.minHosts ?? 1, resetAfterMs: ms('resetAfter', 86_400_000) };
  }
}

function receiverOf(input: ReceiverInput, key: string): ReceiverSettings {
  let url: URL;
  try {
    url = new URL(input.url);
  } catch {
    throw new AlertsConfigError(`${key}.url`, `is not a URL: '${input.url}'`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new AlertsConfigError(`${key}.url`, `must be http or https, got '${url.protocol}'`);
  if (input.resendInterval !== undefined && input.type !== 'alertmanager') {
    throw new AlertsConfigError(`${key}.resendInterval`, `is an option of type 'alertmanager', not of '${input.type}'`);
  }
  for (const header of Object.keys(input.headers ?? {})) {
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(header)) throw new AlertsConfigError(`${key}.headers.${header}`, 'is not an HTTP header name');
  }
  const initialMs = input.retry?.initialMs ?? DEFAULT_RECEIVER.retry.initialMs;
  const maxMs = input.retry?.maxMs ?? Math.max(initialMs, DEFAULT_RECEIVER.retry.maxMs);
  if (maxMs < initialMs) throw new AlertsConfigError(`${key}.retry.maxMs`, `must be at least retry.initialMs (${initialMs})`);
  let target = url.href;
  if (input.type === 'alertmanager' && !url.pathname.endsWith('/api/v2/alerts')) target = `${url.href.replace(/\/+$/, '')}/api/v2/alerts`;
  const resendIntervalMs = input.resendInterval === undefined ? DEFAULT_RECEIVER.resendIntervalMs : parseDuration(input.resendInterval, `${key}.resendInterval`);
  if (resendIntervalMs < 1000) throw new AlertsConfigError(`${key}.resendInterval`, 'must be at least 1s');
  return {
    name: input.name,
    type: input.type,
    url: target,
    timeoutMs: input.timeoutMs ?? DEFAULT_RECEIVER.timeoutMs,
    headers: { ...(input.headers ?? {}) },
    retry: { initialMs, maxMs },
    resendIntervalMs,
  };
}

/**
 * The settings for an `alerts` value that passed the schema. Throws AlertsConfigError naming
 * the key below `alerts` (e.g. `route.0.receivers.1`) for what the schema cannot check.
 */
export function resolveAlerts(input: AlertsConfig | undefined): AlertsSettings {
  const config = input ?? {};
  const schedule = config.schedule ?? DEFAULT_SCHEDULE;
  if (!cron.validate(schedule)) {
    const detail = cron.validateDetailed(schedule).errors.map((e) => e.message).join('; ');
    throw new AlertsConfigError('schedule', `not a cron expression: '${schedule}'${detail ? ` (${detail})` : ''}`);
  }
  const ruleInputs = config.rules ?? DEFAULT_RULES;
  const rules: AlertRule[] = [];
  ruleInputs.forEach((input, index) => {
    if (rules.some((r) => r.name === input.name)) throw new AlertsConfigError(`rules.${index}.name`, `'${input.name}' is used by another rule`);
    rules.push(ruleOf(input, `rules.${index}`));
  });
  const receivers: ReceiverSettings[] = [];
  (config.receivers ?? []).forEach((input, index) => {
    if (receivers.some((r) => r.name === input.name)) throw new AlertsConfigError(`receivers.${index}.name`, `'${input.name}' is used by another receiver`);
    receivers.push(receiverOf(input, `receivers.${index}`));
  });
  const routes = new Map<string, string[]>(rules.map((r) => [r.name, []]));
  if (config.route === undefined) {
    for (const rule of rules) routes.set(rule.name, receivers.map((r) => r.name));
  } else {
    config.route.forEach((route, index) => {
      route.receivers.forEach((name, i) => {
        if (!receivers.some((r) => r.name === name)) {
          throw new AlertsConfigError(`route.${index}.receivers.${i}`, `no receiver named '${name}' (receivers: ${receivers.map((r) => r.name).join(', ') || 'none'})`);
        }
      });
      (route.rules ?? []).forEach((name, i) => {
        if (!routes.has(name)) throw new AlertsConfigError(`route.${index}.rules.${i}`, `no rule named '${name}' (rules: ${rules.map((r) => r.name).join(', ') || 'none'})`);
      });
      for (const ruleName of route.rules ?? rules.map((r) => r.name)) {
        const list = routes.get(ruleName)!;
        for (const name of route.receivers) if (!list.includes(name)) list.push(name);
      }
    });
  }
  const recentResolvedMs = config.recentResolved === undefined ? 24 * 3600_000 : parseDuration(config.recentResolved, 'recentResolved');
  return { schedule, rules, receivers, routes, recentResolvedMs };
}
