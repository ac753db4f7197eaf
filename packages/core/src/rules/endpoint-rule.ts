// An endpoint rule judges one published endpoint from the outside: the latest probe of every
// vantage point, and what the declared backends' own reports say they serve. Evaluated in the
// collector (the only place that sees every vantage point); pure, like the host rules.
import type { EndpointAddress } from '../endpoint-url.js';
import type { EndpointProbe, EndpointSpec, ProbeBatch } from '../probe.js';
import type { Finding, Severity } from '../report.js';

/** The latest probe of one endpoint by one vantage point. */
export interface VantageView {
  vantage: ProbeBatch['vantage'];
  /** When the collector received the batch (ISO 8601). */
  receivedAt: string;
  probe: EndpointProbe;
}

/** A declared backend, looked up among the hosts' latest reports. */
export interface BackendService {
  /** The backends: entry as declared (a host id or hostname). */
  declared: string;
  hostId: string | null;
  hostname: string | null;
  /** A TCP service on the endpoint's port in the backend's latest report. */
  found: boolean;
  /** IPv4 / IPv6 clients can reach that service (the report's verdict); null when not found. */
  ipv4: boolean | null;
  ipv6: boolean | null;
}

export interface EndpointFacts {
  endpoint: EndpointSpec;
  address: EndpointAddress;
  views: VantageView[];
  backends: BackendService[];
}

export interface EndpointRule {
  id: string;
  title: string;
  severity: Severity;
  docs: string;
  sources: string[];
  check(facts: EndpointFacts): Finding[];
}

export function defineEndpointRule(rule: EndpointRule): EndpointRule {
  return rule;
}
