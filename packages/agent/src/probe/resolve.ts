// A and AAAA of an endpoint's name with the host's resolver (node:dns over c-ares, servers from
// /etc/resolv.conf), each answer kept apart: NXDOMAIN, NODATA, SERVFAIL, REFUSED and a timeout
// mean different breakages. Addresses a client must never be sent to by a public name
// (loopback, link-local, unspecified, multicast, broadcast, IPv4-mapped) are recorded as
// rejected, never connected to; classes come from ipaddr.js (through @dualstack/core).
import { promises as dns } from 'node:dns';
import { formatAddress, isValidAddress, parseAddress, type DnsAnswer, type DnsStatus } from '@dualstack/core';
import { msSince, now } from './elapsed.js';

/** What a probe asks of a resolver: node:dns's promise Resolver, or one pointed elsewhere in tests. */
export type ProbeResolver = Pick<dns.Resolver, 'resolve4' | 'resolve6' | 'resolveCname'>;

/** At most this many addresses of one family are connected to; the rest are dropped (truncated). */
export const MAX_ADDRESSES_PER_FAMILY = 16;
/** CNAME steps followed before giving up (a loop or an absurd chain). */
export const MAX_CNAME_STEPS = 8;

/**
 * The host's resolver. c-ares's timeout is per try and doubles on each retry; two tries of
 * at most `timeoutMs` (capped at 5 s) bound one lookup.
 */
export function systemResolver(timeoutMs: number): ProbeResolver {
  return new dns.Resolver({ timeout: Math.max(100, Math.min(timeoutMs, 5000)), tries: 2 });
}

/** The DNS status of a node:dns error code (ENOTFOUND is NXDOMAIN, ENODATA the name without this type). */
export function dnsStatusOf(code: string | undefined): DnsStatus {
  switch (code) {
    case 'ENOTFOUND':
      return 'nxdomain';
    case 'ENODATA':
      return 'nodata';
    case 'ESERVFAIL':
      return 'servfail';
    case 'EREFUSED':
      return 'refused';
    case 'ETIMEOUT':
      return 'timeout';
    default:
      return 'error';
  }
}

/** ipaddr.js ranges a published name must not send clients to, with the reason recorded. */
const REJECTED_RANGES: Record<string, string> = {
  unspecified: 'unspecified address',
  loopback: 'loopback address',
  linkLocal: 'link-local address',
  multicast: 'multicast address',
  broadcast: 'broadcast address',
  ipv4Mapped: 'IPv4-mapped address in an AAAA record',
};

export interface SortedAddresses {
  addresses: DnsAnswer['addresses'];
  rejected: DnsAnswer['rejected'];
  truncated: boolean;
}

/**
 * Splits an answer into the addresses a probe follows and the rejected ones; duplicates are
 * dropped, and beyond `max` followed addresses the answer is truncated. Pure.
 */
export function sortAddresses(records: ReadonlyArray<{ address: string; ttl: number | null }>, family: 4 | 6, max = MAX_ADDRESSES_PER_FAMILY): SortedAddresses {
  const out: SortedAddresses = { addresses: [], rejected: [], truncated: false };
  const seen = new Set<string>();
  for (const record of records) {
    if (!isValidAddress(record.address)) {
      out.rejected.push({ address: record.address.slice(0, 64), reason: 'not an IP address' });
      continue;
    }
    const parsed = parseAddress(record.address);
    const address = formatAddress(parsed);
    if (seen.has(address)) continue;
    seen.add(address);
    const kind = parsed.kind() === 'ipv4' ? 4 : 6;
    const range = parsed.range();
    const reason = kind !== family ? `an IPv${kind} address in an ${family === 4 ? 'A' : 'AAAA'} answer` : REJECTED_RANGES[range];
    if (reason !== undefined) {
      out.rejected.push({ address, reason });
      continue;
    }
    if (out.addresses.length >= max) {
      out.truncated = true;
      continue;
    }
    out.addresses.push({ address, ttl: record.ttl });
  }
  return out;
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** One record type's lookup. `cname` is filled in by resolveEndpoint (one chain for both). */
export async function resolveFamily(resolver: ProbeResolver, host: string, family: 4 | 6, max = MAX_ADDRESSES_PER_FAMILY): Promise<DnsAnswer> {
  const started = now();
  try {
    const records = family === 4 ? await resolver.resolve4(host, { ttl: true }) : await resolver.resolve6(host, { ttl: true });
    const sorted = sortAddresses(records, family, max);
    return { status: 'ok', ...sorted, cname: [], durationMs: msSince(started) };
  } catch (error) {
    const code = codeOf(error);
    const status = dnsStatusOf(code);
    const answer: DnsAnswer = { status, addresses: [], cname: [], rejected: [], truncated: false, durationMs: msSince(started) };
    // NODATA and NXDOMAIN are answers, not errors; the others keep the resolver's words.
    if (status !== 'nodata' && status !== 'nxdomain') answer.error = code ?? (error as Error).message;
    return answer;
  }
}

/**
 * The CNAME chain from `host`: each name it points to, in order, until a name with no CNAME.
 * Bounded by MAX_CNAME_STEPS and stopped at a loop; a failed step ends the chain.
 */
export async function resolveCnameChain(resolver: ProbeResolver, host: string): Promise<string[]> {
  const chain: string[] = [];
  const seen = new Set([host]);
  let name = host;
  for (let step = 0; step < MAX_CNAME_STEPS; step += 1) {
    let targets: string[];
    try {
      targets = await resolver.resolveCname(name);
    } catch {
      break; // ENODATA: the end of the chain; anything else: the A/AAAA answers say more
    }
    const next = targets[0]?.toLowerCase().replace(/\.$/, '');
    if (next === undefined) break;
    chain.push(next);
    if (seen.has(next)) break;
    seen.add(next);
    name = next;
  }
  return chain;
}

export interface EndpointDns {
  a: DnsAnswer;
  aaaa: DnsAnswer;
}

/** A and AAAA (and the CNAME chain, shared by both) of a DNS name, concurrently. */
export async function resolveEndpoint(resolver: ProbeResolver, host: string, max = MAX_ADDRESSES_PER_FAMILY): Promise<EndpointDns> {
  const [a, aaaa, cname] = await Promise.all([resolveFamily(resolver, host, 4, max), resolveFamily(resolver, host, 6, max), resolveCnameChain(resolver, host)]);
  if (a.status === 'ok' || a.status === 'nodata') a.cname = cname;
  if (aaaa.status === 'ok' || aaaa.status === 'nodata') aaaa.cname = [...cname];
  return { a, aaaa };
}

/** A URL naming an address: no lookup, the address is the one family's only address. */
export function literalDns(host: string, literal: 4 | 6): EndpointDns {
  const answer = (family: 4 | 6): DnsAnswer => ({
    status: 'literal',
    addresses: family === literal ? [{ address: host, ttl: null }] : [],
    cname: [],
    rejected: [],
    truncated: false,
    durationMs: 0,
  });
  return { a: answer(4), aaaa: answer(6) };
}
