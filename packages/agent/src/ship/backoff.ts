// Exponential backoff with "full jitter": the delay before retry `attempt` is drawn uniformly
// from [0, min(cap, base * 2^attempt)). Spreading retries over the whole window keeps a fleet
// whose collector came back from retrying in lockstep (AWS Architecture Blog, "Exponential
// Backoff And Jitter", 2015). Pure: the caller passes the random source, so tests are exact.

export interface BackoffPolicy {
  /** Window of the first retry (attempt 0), in ms. */
  baseMs: number;
  /** Largest window, in ms. */
  capMs: number;
}

/** A number in [0, 1), like Math.random. */
export type RandomSource = () => number;

/** The window for `attempt` (0-based): min(cap, base * 2^attempt). */
export function backoffWindow(attempt: number, policy: BackoffPolicy): number {
  if (!Number.isInteger(attempt) || attempt < 0) throw new RangeError(`backoff attempt must be an integer >= 0, not ${attempt}`);
  if (!(policy.baseMs > 0) || !(policy.capMs >= policy.baseMs)) throw new RangeError(`backoff needs 0 < base <= cap (base ${policy.baseMs}, cap ${policy.capMs})`);
  // 2^attempt overflows to Infinity for large attempts, and min() still gives the cap.
  return Math.min(policy.capMs, policy.baseMs * 2 ** attempt);
}

/** Full jitter: a whole number of ms in [0, window). */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: RandomSource = Math.random): number {
  const r = random();
  if (!(r >= 0 && r < 1)) throw new RangeError(`random source must return a number in [0, 1), not ${r}`);
  return Math.floor(r * backoffWindow(attempt, policy));
}

/**
 * The wait before the next retry: the jittered backoff, but never less than what the
 * collector asked for with Retry-After (RFC 9110 §10.2.3).
 */
export function retryDelay(attempt: number, policy: BackoffPolicy, retryAfterMs: number | null, random: RandomSource = Math.random): number {
  const delay = backoffDelay(attempt, policy, random);
  return retryAfterMs !== null && retryAfterMs > delay ? retryAfterMs : delay;
}
