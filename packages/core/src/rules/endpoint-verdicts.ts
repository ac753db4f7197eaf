// What each vantage point saw of a published endpoint, per family: one verdict with the
// answering/total counts and every address with its outcome. The API and the dashboard show it;
// the endpoint rules judge from it. Pure: no I/O.
import type { AttemptOutcome, DnsAnswer, ProbeAttempt } from '../probe.js';
import type { EndpointFacts, VantageView } from './endpoint-rule.js';

/**
 * - works: every address of the family answers (outcome 'ok');
 * - partial: some answer, some do not (an address the DNS answer points at loopback or
 *   link-local counts as not answering);
 * - broken: none answers;
 * - unpublished: no record of the family (NODATA, or the URL is a literal of the other family);
 * - unresolved: the lookup failed (NXDOMAIN, SERVFAIL, REFUSED, timeout, error);
 * - untested: the vantage point has no route for the family (or probed none of its addresses).
 * DNS decides first (a lookup does not need a route of its family), then the route, then the attempts.
 */
export type EndpointFamilyVerdict = 'works' | 'partial' | 'broken' | 'unpublished' | 'unresolved' | 'untested';

export interface EndpointAddressResult {
  address: string;
  /** The outcome of its answering attempt, else of its last; 'rejected': in the DNS answer but never probed; 'not-probed': no attempt. */
  outcome: AttemptOutcome | 'rejected' | 'not-probed';
  /** The HTTP status, error or rejection reason; null when there is nothing to add. */
  detail: string | null;
}

export interface EndpointFamilyView {
  family: 4 | 6;
  verdict: EndpointFamilyVerdict;
  /** Addresses that answered. */
  answering: number;
  /** Addresses that count for the verdict: probed ones and rejected ones (not-probed ones do not count). */
  total: number;
  /** The A or AAAA lookup as the vantage point recorded it (status 'literal' for an address literal). */
  dns: DnsAnswer;
  /** DNS order, then addresses attempted without being in the answer, then rejected ones. */
  addresses: EndpointAddressResult[];
}

export interface EndpointVantageVerdict {
  hostId: string;
  hostname: string;
  receivedAt: string;
  probedAt: string;
  ipv4: EndpointFamilyView;
  ipv6: EndpointFamilyView;
}

const LOOKUP_FAILED = new Set<DnsAnswer['status']>(['nxdomain', 'servfail', 'refused', 'timeout', 'error']);

/** The attempt that speaks for an address: the first answering one, else the last. */
export function decidingAttempt(attempts: readonly ProbeAttempt[]): ProbeAttempt | null {
  return attempts.find((a) => a.outcome === 'ok') ?? attempts[attempts.length - 1] ?? null;
}

/** What to say after an attempt's outcome: the HTTP status and/or the error. */
export function attemptDetail(attempt: ProbeAttempt): string | null {
  const parts: string[] = [];
  if (attempt.http) parts.push(`HTTP ${attempt.http.status}`);
  const error = attempt.error ?? attempt.tls?.authorizationError;
  if (error) parts.push(error);
  return parts.length ? parts.join(', ') : null;
}

/** One vantage point's view of one family of the endpoint. */
export function familyView(facts: Pick<EndpointFacts, 'address'>, view: VantageView, family: 4 | 6): EndpointFamilyView {
  const dns = family === 4 ? view.probe.dns.a : view.probe.dns.aaaa;
  const literal = facts.address.literal;
  const attempts = view.probe.attempts.filter((a) => a.family === family);
  const result = (verdict: EndpointFamilyVerdict, addresses: EndpointAddressResult[], answering = 0, total = 0): EndpointFamilyView => ({ family, verdict, answering, total, dns, addresses });

  // A literal has addresses in its own family only, whatever the DNS answers hold.
  const listed = literal === null ? dns.addresses.map((a) => a.address) : literal === family ? [facts.address.host] : [];
  const addresses = [...new Set([...listed, ...(literal === null || literal === family ? attempts.map((a) => a.address) : [])])];
  const rejected = literal === null ? dns.rejected : [];
  if (addresses.length === 0 && rejected.length === 0) return result(literal === null && LOOKUP_FAILED.has(dns.status) ? 'unresolved' : 'unpublished', []);

  const results: EndpointAddressResult[] = addresses.map((address) => {
    const attempt = decidingAttempt(attempts.filter((a) => a.address === address));
    return attempt ? { address, outcome: attempt.outcome, detail: attemptDetail(attempt) } : { address, outcome: 'not-probed', detail: null };
  });
  for (const r of rejected) results.push({ address: r.address, outcome: 'rejected', detail: r.reason });

  const routed = family === 4 ? view.vantage.ipv4 : view.vantage.ipv6;
  const counted = results.filter((r) => r.outcome !== 'not-probed');
  const answering = counted.filter((r) => r.outcome === 'ok').length;
  if (!routed || counted.length === 0) return result('untested', results);
  return result(answering === counted.length ? 'works' : answering === 0 ? 'broken' : 'partial', results, answering, counted.length);
}

/** Per vantage point (in the order of facts.views) and family: the verdict with its counts. */
export function familyVerdicts(facts: Pick<EndpointFacts, 'address' | 'views'>): EndpointVantageVerdict[] {
  return facts.views.map((view) => ({
    hostId: view.vantage.hostId,
    hostname: view.vantage.hostname,
    receivedAt: view.receivedAt,
    probedAt: view.probe.probedAt,
    ipv4: familyView(facts, view, 4),
    ipv6: familyView(facts, view, 6),
  }));
}
