// The kinds of alert rule: each turns fleet facts (from the AlertStore) into the alerts
// whose condition holds now, with their labels, a human summary and the fix. Whether an alert
// fires, and when receivers hear of it, is the state machine's business (state.ts).
import { createHash } from 'node:crypto';
import type { AlertLabels } from './api.js';
import { evaluateEndpointInput } from '../endpoints/evaluate.js';
import { duplicateIdentityFix } from '../identity/duplicate-identity.js';
import type { AlertRule, DuplicateIdentityRule, EndpointAlertRule, FindingAlertRule, HostStaleRule, ReadinessDropRule, ServiceRegressedRule } from './config.js';
import type { AlertStore, Fix, ReadinessReference } from './store.js';

/** An alert whose condition holds at this evaluation. */
export interface Observation {
  labels: AlertLabels;
  /** summary, fix, title (a short name for lists) and per-kind details. */
  annotations: Record<string, string>;
}

export interface RuleOutcome {
  observations: Observation[];
  /** fleet-readiness-drop: the references to keep for the next evaluation. */
  references: ReadinessReference[];
}

/** The fingerprint of a label set: the alert's identity (a hash of the sorted labels). */
export function fingerprint(labels: AlertLabels): string {
  const canonical = Object.keys(labels)
    .sort()
    .map((key) => [key, labels[key]]);
  return createHash('sha256').update(JSON.stringify(canonical)).digest('hex').slice(0, 16);
}

/** 90000 -> '1m30s', 900000 -> '15m', 7200000 -> '2h'. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  let rest = Math.round(ms / 1000);
  const parts: string[] = [];
  for (const [unit, size] of [['d', 86400], ['h', 3600], ['m', 60], ['s', 1]] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.join('');
}

const fixText = (fix: Fix): string => [fix.summary, ...fix.commands].join('\n');
const percent = (share: number): string => `${(share * 100).toFixed(1).replace(/\.0$/, '')}%`;

export interface ObserveContext {
  store: AlertStore;
  now: Date;
  /** The readiness references kept by the previous evaluation. */
  references: readonly ReadinessReference[];
  /** Fresh hosts for the fleet shares, as in the summary (the collector's staleAfterSeconds). */
  staleAfterMs: number;
}

export async function observe(rule: AlertRule, context: ObserveContext): Promise<RuleOutcome> {
  const { store, now } = context;
  switch (rule.kind) {
    case 'host-stale':
      return { observations: await hostStale(rule, store, now), references: [] };
    case 'finding':
      return { observations: await findings(rule, store), references: [] };
    case 'service-regressed':
      return { observations: await serviceRegressed(rule, store, now), references: [] };
    case 'fleet-readiness-drop':
      return readinessDrop(rule, context);
    case 'endpoint':
      return { observations: await endpointFindings(rule, store, new Date(now.getTime() - context.staleAfterMs)), references: [] };
    case 'duplicate-identity':
      return { observations: await duplicateIdentities(rule, store), references: [] };
  }
}

/**
 * One alert per host id with pending keys: other machines enrolled with it (clones). It holds
 * until every pending key is accepted or revoked. Nothing that changes with each report (the
 * live key's last use) goes into the annotations: a steady alert then costs no write.
 */
async function duplicateIdentities(rule: DuplicateIdentityRule, store: AlertStore): Promise<Observation[]> {
  return (await store.duplicateIdentities()).map((d) => {
    const since = d.pending[0]!.createdAt;
    const others = d.pending.map((k) => `${k.hostname}${k.peer ? ` from ${k.peer}` : ''} at ${k.createdAt} (key ${k.id})`).join('; ');
    const live = d.live ? `the host's own key was enrolled at ${d.live.createdAt} by ${d.live.hostname} and keeps writing` : "the host's live key is revoked";
    return {
      labels: { alertname: rule.name, severity: rule.severity, host: d.hostId },
      annotations: {
        title: `duplicate identity: ${d.hostname}`,
        summary:
          `${d.hostname} (${d.hostId}): ${d.pending.length} other machine(s) enrolled with its host id since ${since}, most likely clones (same /etc/machine-id): ${others}. ` +
          `Their reports are refused (403 duplicate-identity) and wait in their spools; ${live}.`,
        fix: duplicateIdentityFix(d.hostId, d.pending)!,
        hostname: d.hostname,
        since,
        pendingKeys: d.pending.map((k) => k.id).join(' '),
      },
    };
  });
}

async function hostStale(rule: HostStaleRule, store: AlertStore, now: Date): Promise<Observation[]> {
  const staleAfterMs = rule.intervalMs * rule.missedIntervals;
  const hosts = await store.staleHosts(new Date(now.getTime() - staleAfterMs));
  return hosts.map((h) => ({
    labels: { alertname: rule.name, severity: rule.severity, host: h.hostId },
    annotations: {
      title: h.hostname,
      summary: `${h.hostname} (${h.hostId}) stopped reporting: its last report arrived at ${h.lastSeen}, and agents report every ${formatDuration(rule.intervalMs)} (stale after ${rule.missedIntervals} missed, ${formatDuration(staleAfterMs)}).`,
      fix:
        `Check the agent on ${h.hostname}: systemctl status dualstack-agent, then its log (journalctl -u dualstack-agent -n 50: each delivery, spool and retry is a line). ` +
        'Check that the host reaches the collector and that its token is still valid (dualstack-collector token list). Reports it could not send wait in its spool and arrive when it is back.',
      hostname: h.hostname,
      lastSeen: h.lastSeen,
    },
  }));
}

async function findings(rule: FindingAlertRule, store: AlertStore): Promise<Observation[]> {
  const open = await store.openFindings(rule.minSeverity, rule.findingRules);
  return open.map((f) => ({
    labels: { alertname: rule.name, severity: f.severity, host: f.hostId, rule: f.rule, subject: f.subject },
    annotations: {
      title: `${f.rule} on ${f.hostname}${f.subject ? ` (${f.subject})` : ''}`,
      summary: `${f.hostname}: ${f.message}`,
      fix: fixText(f.fix),
      hostname: f.hostname,
      firstSeen: f.firstSeen,
    },
  }));
}

const SEVERITY_RANK = { critical: 0, warning: 1, info: 2 } as const;

/** One alert per open endpoint finding (core's endpoint rules over the fresh vantage points, as GET /api/v1/endpoints shows them). */
async function endpointFindings(rule: EndpointAlertRule, store: AlertStore, staleBefore: Date): Promise<Observation[]> {
  const observations: Observation[] = [];
  for (const input of await store.endpointInputs(staleBefore)) {
    const { spec } = input.declared;
    for (const f of evaluateEndpointInput(input).findings) {
      if (SEVERITY_RANK[f.severity] > SEVERITY_RANK[rule.minSeverity]) continue;
      if (rule.findingRules !== null && !rule.findingRules.includes(f.rule)) continue;
      observations.push({
        labels: { alertname: rule.name, severity: f.severity, endpoint: spec.name, rule: f.rule },
        annotations: { title: `${f.rule} on ${spec.name}`, summary: f.message, fix: fixText(f.fix), url: spec.url },
      });
    }
  }
  return observations;
}

async function serviceRegressed(rule: ServiceRegressedRule, store: AlertStore, now: Date): Promise<Observation[]> {
  const regressions = await store.serviceRegressions(now, new Date(now.getTime() - rule.forgetAfterMs));
  return regressions.map((r) => {
    const service = `${r.proto}/${r.port}${r.process ? ` ${r.process}` : ''}`;
    const daemon = r.process ?? 'the daemon';
    const nowState = r.currentMode === null ? 'gone: nothing listens on it any more' : r.currentMode;
    let fix: string;
    if (r.fix) fix = fixText(r.fix);
    else if (r.currentMode === null) {
      fix =
        `If ${daemon} was stopped or moved on purpose, nothing needs doing: the alert resolves when the regression is ${formatDuration(rule.forgetAfterMs)} old. ` +
        `Otherwise start it again and check that it listens on both families: ss -Hlnp '( sport = :${r.port} )'.`;
    } else {
      fix = `Make ${daemon} listen on both families again (one [::] socket with IPV6_V6ONLY=0, or 0.0.0.0 and [::] with V6ONLY=1), then restart it; the host's findings name the exact lines.`;
    }
    return {
      labels: { alertname: rule.name, severity: rule.severity, host: r.hostId, service },
      annotations: {
        title: `${service} on ${r.hostname}`,
        summary: `${service} on ${r.hostname} was dual-stack (${r.dualMode}) and is now ${nowState} (since ${r.regressedSince}).`,
        fix,
        hostname: r.hostname,
        wasMode: r.dualMode,
        nowMode: r.currentMode ?? 'gone',
        regressedSince: r.regressedSince,
      },
    };
  });
}

/** The result of one metric's comparison with its reference. */
export interface ReadinessStep {
  active: boolean;
  reference: { value: number; at: string; dropSince: string | null } | null;
}

/**
 * fleet-readiness-drop for one metric. The reference is the previous evaluation's value; while
 * a drop of more than `points` lasts, the reference is held (the value before the drop), so the
 * alert stays active until the share recovers, or until the drop is `resetAfter` old and the new
 * level becomes the reference. A metric without a value (too few hosts) keeps its reference.
 */
export function readinessStep(previous: { value: number; at: string; dropSince: string | null } | null, value: number | null, now: Date, rule: Pick<ReadinessDropRule, 'points' | 'resetAfterMs'>): ReadinessStep {
  const at = now.toISOString();
  if (value === null) return { active: false, reference: previous };
  if (previous === null) return { active: false, reference: { value, at, dropSince: null } };
  const dropPoints = (previous.value - value) * 100;
  // Compare in tenths of a point, so that 0.3 - 0.2 counts as 10 points, not 9.99...
  if (Math.round(dropPoints * 1000) / 1000 > rule.points) {
    const dropSince = previous.dropSince ?? at;
    if (now.getTime() - Date.parse(dropSince) >= rule.resetAfterMs) return { active: false, reference: { value, at, dropSince: null } };
    return { active: true, reference: { ...previous, dropSince } };
  }
  return { active: false, reference: { value, at, dropSince: null } };
}

const METRICS = [
  {
    metric: 'ipv6-routable',
    title: 'IPv6-routable hosts',
    describe: 'the share of fresh hosts whose kernel routes global IPv6',
    fix: 'See which hosts lost their IPv6 route: GET /api/v1/hosts?rule=ipv6-unroutable (each finding names the cause and the exact route command), and the finding alerts of the same hosts.',
  },
  {
    metric: 'dual-stack-services',
    title: 'dual-stack services',
    describe: 'the share of exposed services reachable over both IPv4 and IPv6',
    fix: 'See which services lost a family: the service-regressed alerts, GET /api/v1/services, and the service-ipv4-only / service-ipv6-only findings with their fixes (GET /api/v1/findings).',
  },
] as const;

async function readinessDrop(rule: ReadinessDropRule, { store, now, references, staleAfterMs }: ObserveContext): Promise<RuleOutcome> {
  // The shares as GET /api/v1/summary shows them (fresh hosts by the collector's staleAfterSeconds).
  const shares = await store.fleetShares(new Date(now.getTime() - staleAfterMs));
  const observations: Observation[] = [];
  const kept: ReadinessReference[] = [];
  for (const m of METRICS) {
    const enough = shares.freshHosts >= rule.minHosts;
    const value = !enough ? null : m.metric === 'ipv6-routable' ? shares.ipv6RoutableShare : shares.dualStackServiceShare;
    const previous = references.find((r) => r.rule === rule.name && r.metric === m.metric) ?? null;
    const result = readinessStep(previous, value, now, rule);
    if (result.reference) kept.push({ rule: rule.name, metric: m.metric, ...result.reference });
    if (!result.active || value === null || !result.reference) continue;
    const drop = (result.reference.value - value) * 100;
    observations.push({
      labels: { alertname: rule.name, severity: rule.severity, metric: m.metric },
      annotations: {
        title: m.title,
        summary: `Fleet readiness dropped: ${m.describe} fell from ${percent(result.reference.value)} (at ${result.reference.at}) to ${percent(value)}, ${drop.toFixed(1)} points, more than the ${rule.points} allowed.`,
        fix: m.fix,
        reference: String(result.reference.value),
        current: String(value),
      },
    });
  }
  return { observations, references: kept };
}
