// A probe round: every target probed once, a bounded number of attempts (sockets) in flight
// and a bounded number of endpoints between resolving and their last attempt, so 1,000
// endpoints hold at most `concurrency` of each at a time. The results make one ProbeBatch with
// a fresh batchId: what the collector stores once, however often it is delivered.
import { randomUUID } from 'node:crypto';
import { PROBE_SCHEMA, type EndpointProbe, type ProbeBatch, type ProbeTarget } from '@dualstack/core';
import { probeEndpoint, type EndpointProbeOptions } from './probe-endpoint.js';
import { Limit } from './limit.js';
import { probeSecureContext } from './tls.js';

export const DEFAULT_PROBE_CONCURRENCY = 64;

export interface RoundOptions extends Omit<EndpointProbeOptions, 'limit'> {
  /** Attempts in flight at once, and endpoints in progress at once (default 64). */
  concurrency?: number;
}

/** Probes every target; results in the targets' order. */
export async function probeTargets(targets: readonly ProbeTarget[], options: RoundOptions): Promise<EndpointProbe[]> {
  const concurrency = options.concurrency ?? DEFAULT_PROBE_CONCURRENCY;
  const attempts = new Limit(concurrency);
  // One TLS context for the round's handshakes, not one per connection (see probeSecureContext).
  const secureContext = options.secureContext ?? probeSecureContext(options.ca);
  const results: EndpointProbe[] = new Array(targets.length);
  let next = 0;
  // A pool of workers, not a promise per target: the pending work stays `concurrency` deep.
  const worker = async () => {
    while (next < targets.length) {
      const index = next;
      next += 1;
      results[index] = await probeEndpoint(targets[index]!, { ...options, secureContext, limit: attempts });
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, targets.length) }, worker));
  return results;
}

export interface Vantage {
  hostId: string;
  hostname: string;
  ipv4: boolean;
  ipv6: boolean;
}

/** One round as a batch for POST /api/v1/probe-results, made by agent `version`. */
export async function probeRound(targets: readonly ProbeTarget[], vantage: Vantage, version: string, options: RoundOptions): Promise<ProbeBatch> {
  const startedAt = new Date().toISOString();
  const results = await probeTargets(targets, options);
  return { schema: PROBE_SCHEMA, batchId: randomUUID(), vantage: { ...vantage }, startedAt, finishedAt: new Date().toISOString(), agent: { version }, results };
}
