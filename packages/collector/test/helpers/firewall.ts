// What the service matrix's firewall counters must say, computed from the reports themselves
// (not from the store's rows): per (proto, port, process), the hosts with a service of that key
// whose firewall drops or restricts a family that its sockets take from outside.
import type { FamilyFirewall, Report, Service } from '@dualstack/core';

export interface FilteredCounts {
  ipv4: number;
  ipv6: number;
}

export const matrixKey = (s: { proto: string; port: number; process: string | null }): string => `${s.proto}/${s.port}/${s.process ?? ''}`;

function filters(reach: Service['ipv4'], firewall: FamilyFirewall | null | undefined): boolean {
  if (reach !== 'any' && reach !== 'addresses') return false;
  return firewall?.verdict === 'dropped' || firewall?.verdict === 'restricted';
}

/** Every key of the reports' services, with its counts (0 included). */
export function expectedFirewallFiltered(reports: readonly Report[]): Map<string, FilteredCounts> {
  const out = new Map<string, FilteredCounts>();
  for (const report of reports) {
    const host = new Map<string, FilteredCounts>();
    for (const s of report.services) {
      const entry = host.get(matrixKey(s)) ?? { ipv4: 0, ipv6: 0 };
      if (filters(s.ipv4, s.firewall?.ipv4)) entry.ipv4 = 1;
      if (filters(s.ipv6, s.firewall?.ipv6)) entry.ipv6 = 1;
      host.set(matrixKey(s), entry);
    }
    for (const [key, flags] of host) {
      const total = out.get(key) ?? { ipv4: 0, ipv6: 0 };
      out.set(key, { ipv4: total.ipv4 + flags.ipv4, ipv6: total.ipv6 + flags.ipv6 });
    }
  }
  return out;
}
