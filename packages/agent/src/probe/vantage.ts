// Who probes: the vantage point's host id (the one its reports carry, so the collector ties the
// two together) and the families it has a route for. A family without a default route is
// untested from here, never broken: an IPv4-only office cannot judge an endpoint's IPv6.
import { readFileSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { isDefaultRoute } from '@dualstack/core';
import { readIpv4Route } from '../proc/route.js';
import { readIpv6Route } from '../proc/ipv6-route.js';
import type { ProcRoot } from '../proc/root.js';
import type { Vantage } from './round.js';

export interface VantageOptions {
  procRoot: ProcRoot;
  hostId?: string | undefined;
  hostname?: string | undefined;
}

/**
 * The vantage facts, read now (routes change: a laptop on another network, an RA withdrawn).
 * Routes from /proc/net/route and /proc/net/ipv6_route, as the scan reads them; the host id as
 * the report's: --host-id, else /etc/machine-id, else the hostname.
 */
export function readVantage(options: VantageOptions): Vantage {
  const hostname = options.hostname ?? osHostname();
  let hostId = options.hostId ?? '';
  if (hostId === '') {
    try {
      hostId = readFileSync('/etc/machine-id', 'utf8').trim();
    } catch {
      /* the hostname stands in, as in the report */
    }
  }
  const routes4 = readIpv4Route(options.procRoot) ?? [];
  const routes6 = readIpv6Route(options.procRoot) ?? [];
  return { hostId: hostId || hostname, hostname, ipv4: routes4.some(isDefaultRoute), ipv6: routes6.some(isDefaultRoute) };
}
