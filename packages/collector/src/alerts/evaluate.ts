// One evaluation: every rule looks at the fleet (observe), every alert takes a step of the
// state machine, every group that is due gets one notification per receiver routed to it, and
// all of it (states, history, outbox, group times, readiness references) is written in ONE
// transaction: a notification exists exactly when the state change that caused it does.
import { randomUUID } from 'node:crypto';
import type { EvaluationView } from './api.js';
import type { AlertRule, AlertsSettings } from './config.js';
import { buildNotification } from './notify.js';
import { fingerprint, observe, type Observation } from './rules.js';
import { groupDue, markNotified, needSince, notificationNeed, step, type NotificationNeed, type Transition } from './state.js';
import type { AlertEvent, AlertStore, EvaluationWrite, StoredAlert } from './store.js';

export interface EvaluationResult extends EvaluationView {
  /** Status changes by rule. */
  changes: Array<{ rule: string; to: Transition }>;
  /** Outbox entries written, by rule and receiver. */
  enqueued: Array<{ rule: string; receiver: string; alerts: number }>;
}

export interface EvaluatorOptions {
  store: AlertStore;
  settings: AlertsSettings;
  /** Fresh hosts for the fleet shares (the collector's staleAfterSeconds), ms. */
  staleAfterMs: number;
  newId?: () => string;
}

const sameAnnotations = (a: Record<string, string>, b: Record<string, string>): boolean => {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
};

export class Evaluator {
  private readonly newId: () => string;

  constructor(private readonly options: EvaluatorOptions) {
    this.newId = options.newId ?? randomUUID;
  }

  /** Evaluates every rule at `now`. Throws when the store fails (nothing is then written). */
  async evaluate(now: Date): Promise<EvaluationResult> {
    const started = performance.now();
    const { store, settings } = this.options;
    const nowMs = now.getTime();
    const at = now.toISOString();
    const [live, groups, references] = await Promise.all([store.liveAlerts(), store.groupsNotifiedAt(), store.readinessReferences()]);
    const liveByRule = new Map<string, StoredAlert[]>();
    for (const alert of live) {
      let list = liveByRule.get(alert.rule);
      if (!list) liveByRule.set(alert.rule, (list = []));
      list.push(alert);
    }

    const write: EvaluationWrite = { at, upserts: [], deletes: [], events: [], outbox: [], groupsNotified: [], references: [] };
    const changes: EvaluationResult['changes'] = [];
    const enqueued: EvaluationResult['enqueued'] = [];
    let active = 0;

    for (const rule of settings.rules) {
      const outcome = await observe(rule, { store, now, references, staleAfterMs: this.options.staleAfterMs });
      write.references.push(...outcome.references);
      active += outcome.observations.length;
      const observed = new Map<string, Observation>();
      for (const o of outcome.observations) observed.set(fingerprint(o.labels), o);
      const previous = new Map((liveByRule.get(rule.name) ?? []).map((a) => [a.fingerprint, a]));
      liveByRule.delete(rule.name);

      const alerts: Array<{ alert: StoredAlert; changed: boolean }> = [];
      for (const fp of new Set([...previous.keys(), ...observed.keys()])) {
        const prev = previous.get(fp) ?? null;
        const seen = observed.get(fp);
        const result = step(prev?.state ?? null, seen !== undefined, nowMs, rule.timing);
        const labels = seen?.labels ?? prev!.labels;
        const annotations = seen?.annotations ?? prev!.annotations;
        if (result.transition) {
          write.events.push(event(at, fp, rule.name, labels, prev?.state.status ?? null, result.transition, annotations.summary ?? ''));
          changes.push({ rule: rule.name, to: result.transition });
        }
        if (result.state === null) {
          if (prev) write.deletes.push(fp);
          continue;
        }
        const alert: StoredAlert = { fingerprint: fp, rule: rule.name, labels, annotations, state: result.state };
        // Write a row only when something a reader or a later step uses changed: lastActiveAt
        // matters only with keepFiringFor, so a steady firing alert costs no write.
        const changed =
          prev === null ||
          result.transition !== null ||
          !sameAnnotations(prev.annotations, annotations) ||
          (rule.timing.keepFiringForMs > 0 && prev.state.lastActiveAt !== result.state.lastActiveAt);
        alerts.push({ alert, changed });
      }

      this.notifyGroup(rule, alerts, groups.get(rule.name) ?? null, now, write, enqueued);
      for (const { alert, changed } of alerts) if (changed) write.upserts.push(alert);
    }

    // Alerts of rules no longer configured: resolved silently (no route is left to tell).
    for (const [rule, alerts] of liveByRule) {
      for (const alert of alerts) {
        write.events.push(event(at, alert.fingerprint, rule, alert.labels, alert.state.status, 'resolved', `${alert.annotations.summary ?? ''} (rule ${rule} is no longer configured)`));
        write.deletes.push(alert.fingerprint);
      }
    }

    await store.commitEvaluation(write);
    return {
      startedAt: at,
      durationMs: performance.now() - started,
      active,
      transitions: write.events.length,
      notifications: write.outbox.length,
      error: null,
      changes,
      enqueued,
    };
  }

  /** When the group is due, builds its notification, queues it per receiver and marks its alerts notified. */
  private notifyGroup(rule: AlertRule, alerts: Array<{ alert: StoredAlert; changed: boolean }>, lastNotified: string | null, now: Date, write: EvaluationWrite, enqueued: EvaluationResult['enqueued']): void {
    const nowMs = now.getTime();
    const due: Array<{ entry: { alert: StoredAlert; changed: boolean }; need: NotificationNeed }> = [];
    for (const entry of alerts) {
      const need = notificationNeed(entry.alert.state, nowMs, rule.timing);
      if (need) due.push({ entry, need });
    }
    const needs = due.map(({ entry, need }) => needSince(entry.alert.state, need, rule.timing));
    if (!groupDue(lastNotified === null ? null : Date.parse(lastNotified), needs, nowMs, rule.timing)) return;

    const groupFiring = alerts.filter((a) => a.alert.state.status === 'firing').length;
    const id = this.newId();
    const notification = buildNotification(id, rule, due.map(({ entry, need }) => ({ alert: entry.alert, need })), groupFiring, now);
    for (const receiver of this.options.settings.routes.get(rule.name) ?? []) {
      write.outbox.push({ notificationId: id, receiver, rule: rule.name, notification });
      enqueued.push({ rule: rule.name, receiver, alerts: notification.alerts.length });
    }
    write.groupsNotified.push(rule.name);
    for (const { entry } of due) {
      entry.alert = { ...entry.alert, state: markNotified(entry.alert.state, nowMs) };
      entry.changed = true;
    }
  }
}

function event(at: string, fp: string, rule: string, labels: StoredAlert['labels'], from: AlertEvent['from'], to: Transition, summary: string): AlertEvent {
  return { at, fingerprint: fp, rule, labels, from, to, summary };
}
