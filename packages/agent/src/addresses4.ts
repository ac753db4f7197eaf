// IPv4 addresses from the OS (getifaddrs through Node), in this process's network namespace.
import { networkInterfaces } from 'node:os';
import { parseAddress, type HostAddress } from '@dualstack/core';

export function readIpv4Addresses(): HostAddress[] {
  const out: HostAddress[] = [];
  for (const [name, entries] of Object.entries(networkInterfaces())) {
    for (const entry of entries ?? []) {
      if (entry.family !== 'IPv4') continue;
      const range = parseAddress(entry.address).range();
      out.push({
        family: 4,
        address: entry.address,
        prefixLength: Number(entry.cidr?.split('/')[1] ?? 32),
        interface: name,
        scope: range === 'loopback' ? 'host' : range === 'linkLocal' ? 'link' : 'global',
        flags: [],
      });
    }
  }
  return out;
}
