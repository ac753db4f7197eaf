// One scheduled round of `run --probe`: the collector's targets fetched, every endpoint probed,
// one batch made (delivered by the ship loop like a report). No targets (none declared, the
// collector down, or a collector without probing) means no batch this round. A 404 is logged
// once, until the collector answers again.
import type { ProbeBatch } from '@dualstack/core';
import { fetchProbeTargets } from './fetch-targets.js';
import { probeRound, type RoundOptions } from './round.js';
import { readVantage, type VantageOptions } from './vantage.js';

export interface VantageRoundOptions {
  targetsUrl: URL;
  token: () => string;
  /** Budget of the fetch; the attempts take the collector's timeoutMs. */
  fetchTimeoutMs: number;
  vantage: VantageOptions;
  version: string;
  userAgent: string;
  round: Omit<RoundOptions, 'timeoutMs' | 'resolver'> & { resolver: (timeoutMs: number) => RoundOptions['resolver'] };
  log: (line: string) => void;
}

/** A round function for the loop: a batch, or null when there is nothing to probe now. */
export function vantageRounds(options: VantageRoundOptions): () => Promise<ProbeBatch | null> {
  let missingLogged = false;
  return async () => {
    const answer = await fetchProbeTargets({ url: options.targetsUrl, token: options.token(), timeoutMs: options.fetchTimeoutMs, userAgent: options.userAgent });
    if (answer.kind === 'missing') {
      if (!missingLogged) options.log(`probe targets: ${options.targetsUrl.href} answered 404 (a collector without endpoint probing?); probing paused until a later round finds it`);
      missingLogged = true;
      return null;
    }
    if (answer.kind === 'failed') {
      options.log(`probe targets: could not fetch ${options.targetsUrl.href}: ${answer.message}; no probe round this time`);
      return null;
    }
    missingLogged = false;
    const { targets, timeoutMs, skipped } = answer.list;
    for (const line of skipped) options.log(`probe targets: skipped ${line}`);
    if (targets.length === 0) return null;
    const vantage = readVantage(options.vantage);
    const batch = await probeRound(targets, vantage, options.version, { ...options.round, timeoutMs, resolver: options.round.resolver(timeoutMs) });
    const answered = batch.results.filter((r) => r.attempts.length > 0 && r.attempts.every((a) => a.outcome === 'ok')).length;
    options.log(`probed ${targets.length} endpoint${targets.length === 1 ? '' : 's'} (IPv4 ${vantage.ipv4 ? 'routed' : 'no route'}, IPv6 ${vantage.ipv6 ? 'routed' : 'no route'}): ${answered} answered on every address`);
    return batch;
  };
}
