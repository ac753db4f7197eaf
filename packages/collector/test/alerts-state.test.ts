// The alert state machine (alerts/state.ts) with a controllable clock: pending, firing,
// repeat, resolve, flapping, and the group timing that turns state changes into notifications.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { AlertTiming } from '../src/alerts/config.js';
import { groupDue, isSettled, markNotified, needSince, notificationNeed, step, type AlertState, type NotificationNeed, type Transition } from '../src/alerts/state.js';

const S = 1000;
const M = 60 * S;

const timing = (overrides: Partial<AlertTiming> = {}): AlertTiming => ({
  forMs: 0,
  keepFiringForMs: 0,
  repeatIntervalMs: 4 * 60 * M,
  groupWaitMs: 0,
  groupIntervalMs: 0,
  ...overrides,
});

/** A clock the test moves by hand. */
function clock(start = Date.parse('2030-01-01T00:00:00Z')) {
  let now = start;
  return {
    now: () => now,
    advance: (ms: number) => (now += ms),
  };
}

/**
 * One alert in one group, driven like the evaluator drives it: a step per evaluation, then the
 * group's notification when it is due. Returns what receivers were told, in order.
 */
function simulate(t: AlertTiming, holds: (tick: number) => boolean, ticks: number, tickMs: number) {
  const c = clock();
  let state: AlertState | null = null;
  let groupNotifiedAt: number | null = null;
  const told: Array<{ tick: number; need: NotificationNeed }> = [];
  const transitions: Array<Transition> = [];
  for (let tick = 0; tick < ticks; tick++) {
    const result = step(state, holds(tick), c.now(), t);
    if (result.transition) transitions.push(result.transition);
    state = result.state;
    if (state) {
      const need = notificationNeed(state, c.now(), t);
      if (need && groupDue(groupNotifiedAt, [needSince(state, need, t)], c.now(), t)) {
        told.push({ tick, need });
        state = markNotified(state, c.now());
        groupNotifiedAt = c.now();
      }
    }
    c.advance(tickMs);
  }
  return { told, transitions, state };
}

describe('alert state machine', () => {
  test('without `for`: firing at once, one notification, nothing more while it holds, one resolve', () => {
    const t = timing();
    const c = clock();
    let r = step(null, true, c.now(), t);
    assert.equal(r.transition, 'firing');
    assert.equal(r.state?.status, 'firing');
    assert.equal(r.state?.firingSince, c.now());
    assert.equal(notificationNeed(r.state!, c.now(), t), 'firing');
    let state = markNotified(r.state!, c.now());
    for (let i = 0; i < 10; i++) {
      c.advance(M);
      r = step(state, true, c.now(), t);
      assert.equal(r.transition, null);
      assert.equal(notificationNeed(r.state!, c.now(), t), null, 'no second notification while it holds');
      state = r.state!;
    }
    c.advance(M);
    r = step(state, false, c.now(), t);
    assert.equal(r.transition, 'resolved');
    assert.equal(r.state?.resolvedAt, c.now());
    assert.equal(notificationNeed(r.state!, c.now(), t), 'resolved');
    state = markNotified(r.state!, c.now());
    assert.ok(isSettled(state));
    c.advance(M);
    assert.deepEqual(step(state, false, c.now(), t), { state, transition: null }, 'a resolved alert stays resolved, quietly');
  });

  test('with `for`: pending until the condition held that long, then firing; cleared before: cancelled, never told', () => {
    const t = timing({ forMs: 5 * M });
    const c = clock();
    let r = step(null, true, c.now(), t);
    assert.equal(r.transition, 'pending');
    assert.equal(notificationNeed(r.state!, c.now(), t), null, 'pending is not notified');
    const since = c.now();
    c.advance(4 * M);
    r = step(r.state, true, c.now(), t);
    assert.equal(r.state?.status, 'pending');
    c.advance(M);
    r = step(r.state, true, c.now(), t);
    assert.equal(r.transition, 'firing');
    assert.equal(r.state?.activeSince, since);
    assert.equal(r.state?.firingSince, c.now());

    // A second alert whose condition clears while pending.
    let p = step(null, true, c.now(), t);
    c.advance(2 * M);
    p = step(p.state, false, c.now(), t);
    assert.deepEqual(p, { state: null, transition: 'cancelled' });
  });

  test('repeat: a still-firing alert is told again after repeatInterval, not before', () => {
    const t = timing({ repeatIntervalMs: 60 * M });
    const { told } = simulate(t, () => true, 200, M);
    assert.deepEqual(
      told.map((x) => [x.tick, x.need]),
      [
        [0, 'firing'],
        [60, 'repeat'],
        [120, 'repeat'],
        [180, 'repeat'],
      ],
    );
  });

  test('a host that stops and comes back: one firing, one resolve', () => {
    const { told, transitions } = simulate(timing({ groupWaitMs: 30 * S, groupIntervalMs: 5 * M }), (tick) => tick >= 3 && tick < 20, 40, M);
    assert.deepEqual(transitions, ['firing', 'resolved']);
    assert.deepEqual(
      told.map((x) => [x.tick, x.need]),
      [
        [4, 'firing'], // groupWait (30 s) after it fired at tick 3
        [21, 'resolved'],
      ],
    );
  });

  test('flapping every evaluation: keepFiringFor keeps it firing, one notification', () => {
    const t = timing({ keepFiringForMs: 3 * M });
    const { told, transitions, state } = simulate(t, (tick) => tick < 30 && tick % 2 === 0, 30, M);
    assert.deepEqual(transitions, ['firing']);
    assert.deepEqual(told.map((x) => x.need), ['firing']);
    assert.equal(state?.status, 'firing');
    // Once it stays clear longer than keepFiringFor, it resolves (once).
    const after = simulate(t, (tick) => tick < 30 && tick % 2 === 0, 40, M);
    assert.deepEqual(after.transitions, ['firing', 'resolved']);
    assert.deepEqual(after.told.map((x) => x.need), ['firing', 'resolved']);
  });

  test('flapping every evaluation: `for` keeps it pending, never firing, never told', () => {
    const { told, transitions } = simulate(timing({ forMs: 2 * M }), (tick) => tick % 2 === 0, 30, M);
    assert.equal(told.length, 0);
    assert.ok(transitions.every((x) => x === 'pending' || x === 'cancelled'));
  });

  test('flapping without damping: groupInterval bounds the notifications; a flap back before the resolve was told is not told again', () => {
    const t = timing({ groupIntervalMs: 10 * M });
    // On for one evaluation, off for one, for an hour: 60 status changes.
    const { told, transitions } = simulate(t, (tick) => tick % 2 === 0, 60, M);
    assert.equal(transitions.length, 60);
    assert.ok(told.length <= 7, `at most one notification per 10 minutes, got ${told.length}`);
    // At every tick where a notification goes out the alert is firing (even ticks) and
    // receivers were told firing the first time: later flushes land on odd ticks (resolved)
    // or not at all. Told statuses alternate, never firing twice in a row.
    for (let i = 1; i < told.length; i++) assert.notEqual(told[i]!.need, told[i - 1]!.need, 'never the same status twice in a row');
  });

  test('pending again after a resolve that was not told yet, then cleared: the resolve is still told', () => {
    const t = timing({ forMs: 5 * M });
    const c = clock();
    // Firing and told.
    let state: AlertState = markNotified({ status: 'firing', activeSince: c.now(), firingSince: c.now(), resolvedAt: null, lastActiveAt: c.now(), notifiedStatus: null, lastNotifiedAt: null }, c.now());
    c.advance(M);
    state = step(state, false, c.now(), t).state!; // resolved, not told yet
    assert.equal(notificationNeed(state, c.now(), t), 'resolved');
    c.advance(M);
    const pending = step(state, true, c.now(), t);
    assert.equal(pending.transition, 'pending');
    assert.equal(pending.state?.notifiedStatus, 'firing', 'receivers still believe it fires');
    c.advance(M);
    const cleared = step(pending.state, false, c.now(), t);
    assert.equal(cleared.transition, 'cancelled');
    assert.equal(cleared.state?.status, 'resolved');
    assert.equal(notificationNeed(cleared.state!, c.now(), t), 'resolved');
  });

  test('groupDue: groupWait gathers alerts that become due together; groupInterval spaces notifications', () => {
    const t = timing({ groupWaitMs: 30 * S, groupIntervalMs: 5 * M });
    const at = Date.parse('2030-01-01T00:00:00Z');
    assert.equal(groupDue(null, [], at, t), false, 'nothing due');
    assert.equal(groupDue(null, [at, at + 10 * S], at + 29 * S, t), false, 'within groupWait of the first');
    assert.equal(groupDue(null, [at, at + 10 * S], at + 30 * S, t), true);
    assert.equal(groupDue(at, [at + M], at + 2 * M, t), false, 'within groupInterval of the last notification');
    assert.equal(groupDue(at, [at + M], at + 5 * M, t), true);
    assert.equal(groupDue(null, Array.from({ length: 200_000 }, (_, i) => at + i), at + 30 * S, t), true, 'many needs');
  });
});
