// One endpoint probed once: A and AAAA resolved, then every followed address of both families
// attempted concurrently (each within the attempt budget, all through the round's limit).
import type { EndpointProbe, ProbeAttempt, ProbeTarget } from '@dualstack/core';
import { literalDns, resolveEndpoint, type EndpointDns, type ProbeResolver } from './resolve.js';
import { probeAddress, type AttemptOptions } from './attempt.js';
import { Limit } from './limit.js';
import { msSince, now } from './elapsed.js';

export interface EndpointProbeOptions extends AttemptOptions {
  resolver: ProbeResolver;
  /** Shared by a round; one endpoint alone needs none. */
  limit?: Limit;
  /** Addresses followed per family (default 16). */
  maxAddresses?: number;
}

export async function probeEndpoint(target: ProbeTarget, options: EndpointProbeOptions): Promise<EndpointProbe> {
  const probedAt = new Date().toISOString();
  const started = now();
  const dns: EndpointDns = target.literal !== null ? literalDns(target.host, target.literal) : await resolveEndpoint(options.resolver, target.host, options.maxAddresses);
  const limit = options.limit ?? new Limit(64);
  const planned: Array<[4 | 6, string]> = [...dns.a.addresses.map((a) => [4, a.address] as [4, string]), ...dns.aaaa.addresses.map((a) => [6, a.address] as [6, string])];
  const attempts: ProbeAttempt[] = await Promise.all(planned.map(([family, address]) => limit.run(() => probeAddress(target, family, address, options))));
  return { name: target.name, url: target.url, probedAt, durationMs: msSince(started), dns, attempts };
}
