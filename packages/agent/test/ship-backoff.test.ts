// Exponential backoff with full jitter: pure, so every delay is checked exactly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffDelay, backoffWindow, retryDelay, type BackoffPolicy } from '../src/ship/backoff.js';

const policy: BackoffPolicy = { baseMs: 100, capMs: 1000 };

/** A seeded generator (mulberry32), so a "random" run is the same run every time. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('backoffWindow: base * 2^attempt, capped, also for attempts where 2^attempt overflows', () => {
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6].map((a) => backoffWindow(a, policy)), [100, 200, 400, 800, 1000, 1000, 1000]);
  assert.equal(backoffWindow(5000, policy), 1000);
});

test('backoffDelay: full jitter draws from [0, window) with the random source given', () => {
  assert.equal(backoffDelay(3, policy, () => 0), 0);
  assert.equal(backoffDelay(3, policy, () => 0.5), 400);
  assert.equal(backoffDelay(3, policy, () => 0.999999), 799);
  assert.equal(backoffDelay(10, policy, () => 0.25), 250);
});

test('backoffDelay: the same seed gives the same delays, each inside its window', () => {
  const run = () => {
    const random = seeded(42);
    return Array.from({ length: 12 }, (_, attempt) => backoffDelay(attempt, policy, random));
  };
  const delays = run();
  assert.deepEqual(run(), delays);
  delays.forEach((delay, attempt) => {
    assert.ok(Number.isInteger(delay) && delay >= 0 && delay < backoffWindow(attempt, policy), `attempt ${attempt}: ${delay}`);
  });
  assert.ok(new Set(delays).size > 6, 'jittered, not a constant');
});

test("retryDelay: never sooner than the collector's Retry-After, else the backoff", () => {
  assert.equal(retryDelay(0, policy, 5000, () => 0.5), 5000);
  assert.equal(retryDelay(4, policy, 10, () => 0.5), 500);
  assert.equal(retryDelay(4, policy, null, () => 0.5), 500);
});

test('backoff refuses nonsense instead of returning NaN', () => {
  assert.throws(() => backoffWindow(-1, policy), RangeError);
  assert.throws(() => backoffWindow(1.5, policy), RangeError);
  assert.throws(() => backoffWindow(0, { baseMs: 0, capMs: 10 }), RangeError);
  assert.throws(() => backoffWindow(0, { baseMs: 100, capMs: 10 }), RangeError);
  assert.throws(() => backoffDelay(0, policy, () => 1), RangeError);
  assert.throws(() => backoffDelay(0, policy, () => Number.NaN), RangeError);
});
