// Published endpoints' rows as both stores read them (sqlite-endpoint-store.ts,
// postgres/endpoint-store.ts: the same tables, columns and named CHECK constraints), and
// what a declared backend's TCP service rows mean.
import { parseEndpointUrl, type BackendService, type EndpointProbe, type EndpointSpec } from '@dualstack/core';
import type { DeclaredEndpoint, EndpointSource, StoredView } from '../endpoints/records.js';

export interface EndpointRow {
  name: string;
  source: EndpointSource;
  spec: string;
  created_at: string;
}

export interface ViewRow {
  endpoint: string;
  batch_id: string;
  host_id: string;
  hostname: string;
  ipv4: number;
  ipv6: number;
  received_at: string;
  body: string;
}

export interface BatchRow {
  batch_id: string;
  received_at: string;
  unknown: string;
}

export interface ServiceReachRow {
  ipv4: string;
  ipv6: string;
  firewall_ipv4: string | null;
  firewall_ipv6: string | null;
}

// The named CHECK constraints of the endpoint tables and the batch field each one guards.
export const CONSTRAINT_FIELDS: Record<string, string> = {
  probe_host_id_length: '/vantage/hostId',
  probe_hostname_length: '/vantage/hostname',
  probe_url_length: '/url',
};

export const declaredOf = (row: EndpointRow): DeclaredEndpoint => ({ spec: JSON.parse(row.spec) as EndpointSpec, source: row.source, createdAt: row.created_at });

export function viewOf(row: ViewRow, staleBefore: string): StoredView {
  return {
    batchId: row.batch_id,
    vantage: { hostId: row.host_id, hostname: row.hostname, ipv4: row.ipv4 === 1, ipv6: row.ipv6 === 1 },
    receivedAt: row.received_at,
    probe: JSON.parse(row.body) as EndpointProbe,
    stale: row.received_at < staleBefore,
  };
}

/** The port a spec's url names; null for a stored spec that no longer parses (specs are checked when declared). */
export function endpointPort(spec: EndpointSpec): number | null {
  try {
    return parseEndpointUrl(spec.url).port;
  } catch {
    return null;
  }
}

/**
 * Whether clients of one family reach a backend's service from outside: the socket table lets
 * them in (any, or specific non-loopback addresses) and the host firewall does not drop them.
 */
const reaches = (reach: string, firewall: string | null): boolean => (reach === 'any' || reach === 'addresses') && firewall !== 'dropped';

/**
 * One declared backend: its host (found by id, else by hostname; undefined: not found) and the
 * host's TCP service rows on the endpoint's port (null port: the spec has none to look at).
 */
export function backendService(declared: string, port: number | null, host: { host_id: string; hostname: string } | undefined, rows: readonly ServiceReachRow[]): BackendService {
  if (port === null || !host) return { declared, hostId: null, hostname: null, found: false, ipv4: null, ipv6: null };
  if (rows.length === 0) return { declared, hostId: host.host_id, hostname: host.hostname, found: false, ipv4: null, ipv6: null };
  // Several services on one port (separate sockets per family): the family reaches it when one of them lets it in.
  return {
    declared,
    hostId: host.host_id,
    hostname: host.hostname,
    found: true,
    ipv4: rows.some((r) => reaches(r.ipv4, r.firewall_ipv4)),
    ipv6: rows.some((r) => reaches(r.ipv6, r.firewall_ipv6)),
  };
}
