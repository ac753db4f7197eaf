// Route lookup over the routes the agent read. /proc/net/ipv6_route mixes every routing
// table without a table id, so this is an explanation of the kernel's answer, never a
// replacement for it (the reachability source asks the kernel itself).
import type { Route } from '../report.js';
import { inPrefix, parseAddress } from '../ip.js';

export function isDefaultRoute(route: Route): boolean {
  return route.prefixLength === 0 && route.origin !== 'reject';
}

/** Longest-prefix match, lowest metric first among equals; reject routes count (they win too). */
export function lookupRoute(routes: Route[], destination: string): Route | null {
  const target = parseAddress(destination);
  const family = target.kind() === 'ipv4' ? 4 : 6;
  let best: Route | null = null;
  for (const route of routes) {
    if (route.family !== family || route.origin === 'local') continue;
    if (!inPrefix(target, parseAddress(route.destination), route.prefixLength)) continue;
    if (!best || route.prefixLength > best.prefixLength || (route.prefixLength === best.prefixLength && route.metric < best.metric)) {
      best = route;
    }
  }
  return best;
}

/** True when a route more specific than a default covers `destination`. */
export function coveredBySpecificRoute(routes: Route[], destination: string): boolean {
  const route = lookupRoute(routes, destination);
  return route !== null && route.prefixLength > 0;
}
