// Probe batches as a vantage point sends them (POST /api/v1/probe-results), built from a few
// facts: which addresses DNS gave, and how each connection ended.
import { randomUUID } from 'node:crypto';
import { PROBE_SCHEMA, type AttemptOutcome, type DnsAnswer, type EndpointProbe, type ProbeAttempt, type ProbeBatch } from '@dualstack/core';

/** A DNS answer with these addresses (status ok), or none (nodata). */
export function dns(addresses: string[], status: DnsAnswer['status'] = addresses.length > 0 ? 'ok' : 'nodata'): DnsAnswer {
  return { status, addresses: addresses.map((address) => ({ address, ttl: 300 })), cname: [], rejected: [], truncated: false, durationMs: 1.5 };
}

/** One connection attempt; `ok` ones carry an HTTP 200 answer. */
export function attempt(address: string, port: number, outcome: AttemptOutcome, extra: Partial<ProbeAttempt> = {}): ProbeAttempt {
  const family = address.includes(':') ? 6 : 4;
  return {
    family,
    address,
    port,
    outcome,
    ...(outcome === 'ok' ? {} : { error: outcome === 'timeout' ? 'ETIMEDOUT' : outcome === 'refused' ? 'ECONNREFUSED' : outcome }),
    connectMs: outcome === 'ok' ? 2.5 : null,
    totalMs: outcome === 'timeout' ? 5000 : 3,
    ...(outcome === 'ok' ? { http: { status: 200, server: 'nginx', location: null } } : {}),
    ...extra,
  };
}

export interface ProbeInput {
  name: string;
  url: string;
  a: string[];
  aaaa: string[];
  attempts: ProbeAttempt[];
  probedAt?: Date;
}

export function endpointProbe(input: ProbeInput): EndpointProbe {
  return {
    name: input.name,
    url: input.url,
    probedAt: (input.probedAt ?? new Date()).toISOString(),
    durationMs: 12,
    dns: { a: dns(input.a), aaaa: dns(input.aaaa) },
    attempts: input.attempts,
  };
}

export interface VantageInput {
  hostId: string;
  hostname?: string;
  ipv4: boolean;
  ipv6: boolean;
}

export function probeBatch(vantage: VantageInput, results: EndpointProbe[], batchId: string = randomUUID()): ProbeBatch {
  const now = new Date().toISOString();
  return {
    schema: PROBE_SCHEMA,
    batchId,
    vantage: { hostId: vantage.hostId, hostname: vantage.hostname ?? `${vantage.hostId}.example`, ipv4: vantage.ipv4, ipv6: vantage.ipv6 },
    startedAt: now,
    finishedAt: now,
    agent: { version: '0.0.0-test' },
    results,
  };
}
