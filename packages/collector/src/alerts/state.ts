// The alert state machine, per (rule, labels): pure functions of the previous state, whether
// the condition holds now, and `now`. No timers and no clock: the evaluator passes the time,
// so tests drive it with any clock they like.
//
//   (none) --active--> pending --held for `for`--> firing --inactive (after keepFiringFor)--> resolved
//   pending --inactive--> (none)             resolved --active--> pending/firing again
//
// What receivers were last told is part of the state (notifiedStatus), apart from the status:
// notifications are sent per group (alert rule) when the group is due (groupWait after the
// first change, groupInterval after the group's previous notification), and then tell each
// alert's current status. So an alert that fires and resolves between two notifications of
// its group is never announced, and one that flaps back to firing before its resolve was sent
// is not announced again: receivers hear about changes of what they were told, not every flip.
import type { AlertTiming } from './config.js';

export type AlertStatus = 'pending' | 'firing' | 'resolved';
export type NotifiedStatus = 'firing' | 'resolved';

export interface AlertState {
  status: AlertStatus;
  /** When the condition started to hold (start of pending). Epoch ms, as every time here. */
  activeSince: number;
  /** When the alert started firing; null while pending. */
  firingSince: number | null;
  /** When it resolved; null unless resolved. */
  resolvedAt: number | null;
  /** The last evaluation at which the condition held. */
  lastActiveAt: number;
  /** What receivers were last told about this alert; null: nothing yet. */
  notifiedStatus: NotifiedStatus | null;
  lastNotifiedAt: number | null;
}

/** A status change of one evaluation ('cancelled': pending whose condition cleared before `for`). */
export type Transition = 'pending' | 'firing' | 'resolved' | 'cancelled';

export interface Step {
  /** The state after this evaluation; null: the alert no longer exists. */
  state: AlertState | null;
  transition: Transition | null;
}

/** One evaluation of one alert: the condition holds (`active`) or not, at `now`. */
export function step(prev: AlertState | null, active: boolean, now: number, timing: AlertTiming): Step {
  const told = { notifiedStatus: prev?.notifiedStatus ?? null, lastNotifiedAt: prev?.lastNotifiedAt ?? null };
  if (prev === null || prev.status === 'resolved') {
    if (!active) return { state: prev, transition: null };
    // A new instance: what receivers were told about the last one is kept, so a flap back
    // to firing before its resolve was sent is not announced twice.
    if (timing.forMs <= 0) {
      return { state: { status: 'firing', activeSince: now, firingSince: now, resolvedAt: null, lastActiveAt: now, ...told }, transition: 'firing' };
    }
    return { state: { status: 'pending', activeSince: now, firingSince: null, resolvedAt: null, lastActiveAt: now, ...told }, transition: 'pending' };
  }
  if (prev.status === 'pending') {
    if (active) {
      if (now - prev.activeSince >= timing.forMs) return { state: { ...prev, status: 'firing', firingSince: now, lastActiveAt: now }, transition: 'firing' };
      return { state: { ...prev, lastActiveAt: now }, transition: null };
    }
    // Receivers still believe in a firing instance from before this pending one: keep it
    // as resolved so that the resolve is still sent.
    if (prev.notifiedStatus === 'firing') {
      return { state: { ...prev, status: 'resolved', firingSince: prev.firingSince ?? prev.activeSince, resolvedAt: now }, transition: 'cancelled' };
    }
    return { state: null, transition: 'cancelled' };
  }
  // firing
  if (active) return { state: { ...prev, lastActiveAt: now }, transition: null };
  if (now - prev.lastActiveAt < timing.keepFiringForMs) return { state: prev, transition: null };
  return { state: { ...prev, status: 'resolved', resolvedAt: now }, transition: 'resolved' };
}

/** Why an alert belongs in its group's next notification, if it does. */
export type NotificationNeed = 'firing' | 'repeat' | 'resolved';

export function notificationNeed(state: AlertState, now: number, timing: AlertTiming): NotificationNeed | null {
  if (state.status === 'firing') {
    if (state.notifiedStatus !== 'firing') return 'firing';
    if (state.lastNotifiedAt !== null && now - state.lastNotifiedAt >= timing.repeatIntervalMs) return 'repeat';
    return null;
  }
  if (state.status === 'resolved' && state.notifiedStatus === 'firing') return 'resolved';
  return null;
}

/** When the alert's need for a notification arose (for groupWait). */
export function needSince(state: AlertState, need: NotificationNeed, timing: AlertTiming): number {
  switch (need) {
    case 'firing':
      return state.firingSince ?? state.activeSince;
    case 'repeat':
      // The group was gathered when it was first told: a reminder does not wait groupWait.
      return (state.lastNotifiedAt ?? 0) + timing.repeatIntervalMs - timing.groupWaitMs;
    case 'resolved':
      return state.resolvedAt ?? state.lastActiveAt;
  }
}

/**
 * Whether a group (an alert rule) sends a notification now: some of its alerts need one,
 * the earliest need is groupWait old (so alerts that become due together go out together),
 * and the group's previous notification is groupInterval old.
 */
export function groupDue(lastNotifiedAt: number | null, needs: readonly number[], now: number, timing: AlertTiming): boolean {
  if (needs.length === 0) return false;
  const earliest = needs.reduce((min, at) => (at < min ? at : min), Infinity);
  if (now < earliest + timing.groupWaitMs) return false;
  return lastNotifiedAt === null || now >= lastNotifiedAt + timing.groupIntervalMs;
}

/** The state after its group's notification told receivers its current status. */
export function markNotified(state: AlertState, now: number): AlertState {
  return { ...state, notifiedStatus: state.status === 'firing' ? 'firing' : 'resolved', lastNotifiedAt: now };
}

/** A resolved alert that receivers know about (or never heard of) needs nothing more. */
export function isSettled(state: AlertState): boolean {
  return state.status === 'resolved' && state.notifiedStatus !== 'firing';
}
