// IPv6 neighbours that said they are routers: the R flag of a Neighbor Advertisement, or the
// source of a Router Advertisement (RFC 4861 7.2.5, 6.3.4). They are the gateways a host
// without a working default route could use, even when no route names them.
import { formatAddress, isValidAddress, parseAddress, type Router } from '@dualstack/core';
import { EntryReader, parseIpJsonArray } from './ip-command.js';
import { commandLine } from './iproute.js';

export const NEIGHBOUR_ARGS: readonly string[] = ['-6', '-j', 'neigh', 'show'];

/**
 * Parses `ip -6 -j neigh show` and keeps the neighbours flagged as routers. Pure.
 *
 * iproute2 6.1 prints the flag as `"router": null` and leaves the key out otherwise; "state"
 * is an array of NUD states (["REACHABLE"], ["STALE"], ["FAILED"], ...); "lladdr" is missing
 * while resolution is incomplete or failed. Seen on kernel 6.18:
 *   {"dst":"fe80::84fc:b2ff:fe75:7815","dev":"veth0","lladdr":"86:fc:b2:75:78:15","router":null,"state":["STALE"]}
 */
export function parseRouterNeighbours(text: string, command = commandLine(NEIGHBOUR_ARGS)): Router[] {
  const routers: Router[] = [];
  parseIpJsonArray(text, command).forEach((entry, index) => {
    const reader = new EntryReader(command, index, entry);
    // Every entry is checked, router or not: a broken output must not pass for "no routers".
    const dst = reader.string('dst');
    if (!isValidAddress(dst)) reader.fail('dst', `not an IP address: ${JSON.stringify(dst)}`);
    const dev = reader.string('dev');
    const state = reader.optionalStringArray('state') ?? [];
    if (!reader.flag('router')) return;
    routers.push({ address: formatAddress(parseAddress(dst)), interface: dev, state: state.join(' ') || 'NONE' });
  });
  return routers;
}
