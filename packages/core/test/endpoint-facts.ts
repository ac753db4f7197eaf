// Small builders of endpoint facts for the endpoint rule tests: a DNS answer, an attempt, a
// vantage point's view, a backend, and the facts of one endpoint. Defaults are the healthy case
// (every attempt ok, HTTP 200, one certificate), so a scenario states only what differs.
import { parseEndpointUrl } from '../src/endpoint-url.js';
import type { DnsAnswer, EndpointSpec, ProbeAttempt, TlsFacts } from '../src/probe.js';
import type { BackendService, EndpointFacts, VantageView } from '../src/rules/endpoint-rule.js';

export const PROBED_AT = '2026-12-05T10:00:00.000Z';
export const RECEIVED_AT = '2026-12-05T10:00:02.000Z';

/** A lookup: 'ok' with addresses, or another status without. */
export function dns(status: DnsAnswer['status'], addresses: string[] = [], extra: Partial<DnsAnswer> = {}): DnsAnswer {
  return { status, addresses: addresses.map((address) => ({ address, ttl: 300 })), cname: [], rejected: [], truncated: false, durationMs: 3, ...extra };
}

/** A certificate; `fingerprint` stands for the whole SHA-256 fingerprint. */
export function cert(fingerprint: string, extra: Partial<TlsFacts> = {}): TlsFacts {
  return {
    protocol: 'TLSv1.3',
    subject: 'www.example.net',
    san: ['DNS:www.example.net'],
    issuer: 'Example CA',
    validTo: '2027-03-01T00:00:00.000Z',
    fingerprint256: fingerprint,
    authorized: true,
    ...extra,
  };
}

export const CERT = cert('AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA');

/** One attempt; the family follows the address. An ok HTTPS attempt by default. */
export function attempt(address: string, outcome: ProbeAttempt['outcome'] = 'ok', extra: Partial<ProbeAttempt> = {}): ProbeAttempt {
  const answered = outcome === 'ok' || outcome === 'unexpected';
  return {
    family: address.includes(':') ? 6 : 4,
    address,
    port: 443,
    outcome,
    connectMs: outcome === 'refused' || outcome === 'timeout' || outcome === 'unreachable' ? null : 1,
    totalMs: 5,
    ...(answered ? { tls: CERT, http: { status: outcome === 'ok' ? 200 : 503, server: 'nginx', location: null } } : {}),
    ...(outcome === 'refused' ? { error: 'ECONNREFUSED' } : outcome === 'timeout' ? { error: 'ETIMEDOUT' } : {}),
    ...extra,
  };
}

/** A vantage point's latest probe of the endpoint. */
export function view(
  hostname: string,
  routes: { ipv4: boolean; ipv6: boolean },
  lookups: { a: DnsAnswer; aaaa: DnsAnswer },
  attempts: ProbeAttempt[],
  probedAt = PROBED_AT,
): VantageView {
  return {
    vantage: { hostId: `id-${hostname}`, hostname, ...routes },
    receivedAt: RECEIVED_AT,
    probe: { name: 'www', url: 'https://www.example.net', probedAt, durationMs: 20, dns: lookups, attempts },
  };
}

export const DUAL = { ipv4: true, ipv6: true };
export const V6_ONLY = { ipv4: false, ipv6: true };
export const V4_ONLY = { ipv4: true, ipv6: false };

export function backend(name: string, serves: { ipv4: boolean; ipv6: boolean } | 'not-found' | 'unknown-host'): BackendService {
  if (serves === 'unknown-host') return { declared: name, hostId: null, hostname: null, found: false, ipv4: null, ipv6: null };
  if (serves === 'not-found') return { declared: name, hostId: `id-${name}`, hostname: name, found: false, ipv4: null, ipv6: null };
  return { declared: name, hostId: `id-${name}`, hostname: name, found: true, ...serves };
}

/** The facts of one endpoint (name and url by default www, https://www.example.net). */
export function endpoint(views: VantageView[], options: { url?: string; name?: string; backends?: BackendService[]; expect?: EndpointSpec['expect'] } = {}): EndpointFacts {
  const url = options.url ?? 'https://www.example.net';
  const name = options.name ?? 'www';
  const spec: EndpointSpec = { name, url, ...(options.expect ? { expect: options.expect } : {}), ...(options.backends ? { backends: options.backends.map((b) => b.declared) } : {}) };
  return { endpoint: spec, address: parseEndpointUrl(url), views: views.map((v) => ({ ...v, probe: { ...v.probe, name, url } })), backends: options.backends ?? [] };
}
