// Durations in a probe: monotonic (performance.now), to a hundredth of a millisecond.
import { performance } from 'node:perf_hooks';

export const now = (): number => performance.now();

/** Milliseconds since `started` (a now() value), rounded to 0.01. */
export function msSince(started: number): number {
  return Math.round((performance.now() - started) * 100) / 100;
}
