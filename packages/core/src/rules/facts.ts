// Questions rules ask of a host's facts, answered in one place so every rule means the same
// thing by "a usable global address" or "IPv6 is on".
import type { Family, HostAddress, InterfaceSysctls, Reachability, Route } from '../report.js';
import { isDefaultRoute } from '../analyze/routes.js';
import { parseAddress } from '../ip.js';
import type { RuleFacts } from './rule.js';

/** Addresses that cannot carry new connections: not yet through DAD, failed it, or past their preferred life. */
const UNUSABLE_FLAGS = ['tentative', 'dadfailed', 'deprecated'];

/** Global-scope unicast addresses on real interfaces that can be used for new connections. */
export function usableGlobalAddresses(facts: RuleFacts, family: Family): HostAddress[] {
  return facts.addresses.filter((a) => {
    if (a.family !== family || a.scope !== 'global' || a.interface === 'lo') return false;
    if (a.flags.some((f) => UNUSABLE_FLAGS.includes(f))) return false;
    const range = parseAddress(a.address).range();
    return range !== 'loopback' && range !== 'ipv4Mapped' && range !== 'multicast';
  });
}

export function sourceStatus(facts: RuleFacts, name: string): string | null {
  return facts.sources.find((s) => s.name === name)?.status ?? null;
}

/** The kernel has IPv6: the tcp6 table or the ipv6 sysctl tree exists. */
export function kernelHasIpv6(facts: RuleFacts): boolean {
  return sourceStatus(facts, 'tcp6') !== 'absent' || sourceStatus(facts, 'sysctl') !== 'absent';
}

export function interfaceSysctls(facts: RuleFacts, name: string): InterfaceSysctls | undefined {
  return facts.sysctl.interfaces.find((i) => i.name === name);
}

/** Real interfaces (not all/default/lo) with their sysctls and effective values. */
export function realInterfaces(facts: RuleFacts): Array<InterfaceSysctls & { effective: NonNullable<InterfaceSysctls['effective']> }> {
  return facts.sysctl.interfaces.filter(
    (i): i is InterfaceSysctls & { effective: NonNullable<InterfaceSysctls['effective']> } => i.effective !== null && i.name !== 'lo',
  );
}

export function reachability(facts: RuleFacts, family: Family): Reachability | undefined {
  return facts.reachability.find((r) => r.family === family);
}

export function defaultRoutes(facts: RuleFacts, family: Family): Route[] {
  return facts.routes.filter((r) => r.family === family && isDefaultRoute(r));
}

export interface GatewayCandidate {
  gateway: string;
  interface: string | null;
  /**
   * Where it comes from: a default in another table or the host's network configuration
   * mean the operator chose a static gateway; an RA route or a router neighbour mean a
   * router announces itself on the link.
   */
  kind: 'other-table' | 'ra-route' | 'configuration' | 'router-neighbour';
  /** Where the candidate comes from, in words for the evidence. */
  from: string;
}

/**
 * Gateways that could serve as this host's default, best first: a default route sitting in
 * another table; a route learned from router advertisements; the host's own network
 * configuration; a neighbour flagged as router. Never invented.
 */
export function gatewayCandidates(facts: RuleFacts, family: Family, preferInterface?: string): GatewayCandidate[] {
  const out: GatewayCandidate[] = [];
  const add = (c: GatewayCandidate) => {
    if (!out.some((o) => o.gateway === c.gateway && o.interface === c.interface)) out.push(c);
  };
  for (const d of facts.tableDefaults) {
    if (d.family === family && d.table !== 'main' && d.gateway && d.type === 'unicast') add({ gateway: d.gateway, interface: d.interface, kind: 'other-table', from: `the default route in table ${d.table}` });
  }
  for (const r of facts.routes) {
    if (r.family === family && r.origin === 'ra' && r.gateway) add({ gateway: r.gateway, interface: r.interface, kind: 'ra-route', from: 'a route learned from router advertisements' });
  }
  for (const g of facts.networkConfig.gateways) {
    if (g.family === family) add({ gateway: g.gateway, interface: g.interface, kind: 'configuration', from: `${g.system} configuration (${g.file})` });
  }
  if (family === 6) for (const r of facts.routers) add({ gateway: r.address, interface: r.interface, kind: 'router-neighbour', from: `a neighbour flagged as router (${r.state})` });
  if (preferInterface) out.sort((a, b) => Number(b.interface === preferInterface) - Number(a.interface === preferInterface));
  return out;
}

/** A link-local gateway needs its interface; every other one reads better with it too. */
export function viaClause(gateway: string, iface: string | null): string {
  return `via ${gateway}${iface ? ` dev ${iface}` : ''}`;
}

/** What to write where a value could not be found: clearly a placeholder, never runnable. */
export const placeholder = (what: string) => `<${what}>`;

export const SYSCTL_FILE = '/etc/sysctl.d/60-dualstack.conf';

/**
 * `sysctl -w` now and the sysctl.d line that keeps it after a reboot. The line is appended
 * only when the file lacks it, so two findings printing the same setting (ipv6-unroutable
 * and ipv6-ra-ignored both want accept_ra=2) can be run one after the other.
 */
export function sysctlCommands(key: string, value: number | string): string[] {
  const line = `${key} = ${value}`;
  return [`sysctl -w ${key}=${value}`, `grep -qsxF '${line}' ${SYSCTL_FILE} || echo '${line}' >> ${SYSCTL_FILE}`];
}

/** Sysctl key of an interface setting; interface names with dots need the slash form. */
export function interfaceSysctlKey(family: Family, iface: string, setting: string): string {
  const base = family === 6 ? 'net.ipv6.conf' : 'net.ipv4.conf';
  return iface.includes('.') ? `${base.replace(/\./g, '/')}/${iface}/${setting}` : `${base}.${iface}.${setting}`;
}

/**
 * Lines that keep a default route across reboots, for the network configuration system in
 * charge of this host (the first of networkConfig.systems). Comment lines say where a line
 * goes; they start with '#' so that nothing here runs by accident.
 */
export function persistentDefaultRoute(facts: RuleFacts, family: Family, gateway: string, iface: string | null): string[] {
  const dev = iface ?? placeholder('interface');
  const system = facts.networkConfig.systems[0];
  const fileOf = (sys: string) => facts.networkConfig.gateways.find((g) => g.system === sys && (iface === null || g.interface === iface))?.file;
  switch (system) {
    case 'ifupdown':
      return [
        `# ${fileOf('ifupdown') ?? '/etc/network/interfaces'}, in the 'iface ${dev} ${family === 6 ? 'inet6' : 'inet'} static' stanza:`,
        `#     gateway ${gateway}`,
        `ifdown ${dev} && ifup ${dev}`,
      ];
    case 'ifcfg':
      return [
        `# /etc/sysconfig/network-scripts/ifcfg-${dev}:`,
        family === 6 ? `#     IPV6_DEFAULTGW=${gateway}%${dev}` : `#     GATEWAY=${gateway}`,
        `ifdown ${dev}; ifup ${dev}`,
      ];
    case 'netplan':
      return [
        `# ${fileOf('netplan') ?? '/etc/netplan/<file>.yaml'}, under 'ethernets: ${dev}:':`,
        `#     routes: [{ to: default, via: ${gateway} }]`,
        'netplan apply',
      ];
    case 'networkmanager':
      return [
        `nmcli connection modify "$(nmcli -g GENERAL.CONNECTION device show ${dev})" ipv${family}.gateway ${gateway}`,
        `nmcli connection up "$(nmcli -g GENERAL.CONNECTION device show ${dev})"`,
      ];
    case 'systemd-networkd':
      return [`# ${fileOf('systemd-networkd') ?? `/etc/systemd/network/<${dev}>.network`}, in [Network]:`, `#     Gateway=${gateway}`, 'networkctl reload'];
    default:
      return [`# No network configuration system was recognised: add the route where this host configures ${dev}, or it is lost at reboot.`];
  }
}
