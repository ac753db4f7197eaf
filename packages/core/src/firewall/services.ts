// The firewall's answer per listening service and family, and for the ICMPv6 messages IPv6
// cannot work without: one packet per interface the service can be reached on.
import type { Family, FamilyFirewall, HostAddress, Icmpv6Firewall, Service, ServiceFirewall } from '../report.js';
import { evaluatePacket, type FirewallDecision, type FirewallPacket } from './evaluate.js';
import type { FirewallRuleset } from './model.js';

const isOutside = (reach: Service['ipv4']) => reach === 'any' || reach === 'addresses';

/** Interfaces with an address of the family a client from outside can use (not loopback, not link-local). */
function outsideInterfaces(addresses: HostAddress[], family: Family, only?: ReadonlySet<string>): string[] {
  const names = new Set<string>();
  for (const a of addresses) {
    if (a.family !== family || a.interface === 'lo' || a.scope !== 'global') continue;
    if (only && !only.has(a.address)) continue;
    names.add(a.interface);
  }
  return [...names].sort();
}

/** The interfaces behind a service's bindings in one family: all of them for a wildcard. */
function serviceInterfaces(service: Service, family: Family, addresses: HostAddress[]): string[] {
  const specific = new Set<string>();
  let wildcard = false;
  for (const b of service.bindings) {
    const mapped = b.family === 6 && b.address.startsWith('::ffff:');
    const servesFamily = family === 4 ? b.family === 4 || mapped || (b.address === '::' && b.v6only === false) : b.family === 6 && !mapped;
    if (!servesFamily) continue;
    if (b.address === '0.0.0.0' || b.address === '::') wildcard = true;
    else specific.add(mapped ? b.address.slice('::ffff:'.length) : b.address);
  }
  return wildcard ? outsideInterfaces(addresses, family) : outsideInterfaces(addresses, family, specific);
}

/** One decision from per-interface ones: the same everywhere, or accepted on some interfaces only. */
function combine(perInterface: Array<{ iface: string; decision: FirewallDecision }>): FamilyFirewall {
  const interfaces = perInterface.map((p) => p.iface);
  const unknown = perInterface.find((p) => p.decision.verdict === 'unknown');
  if (unknown) return { ...unknown.decision, interfaces, acceptedOn: [] };
  const verdicts = new Set(perInterface.map((p) => p.decision.verdict));
  const first = perInterface[0]!.decision;
  if (verdicts.size === 1) {
    const allowedSources = [...new Set(perInterface.flatMap((p) => p.decision.allowedSources))];
    return { ...first, allowedSources, interfaces, acceptedOn: [] };
  }
  const accepting = perInterface.filter((p) => p.decision.verdict === 'accepted');
  const refusing = perInterface.find((p) => p.decision.verdict !== 'accepted')!;
  return {
    verdict: accepting.length > 0 ? 'restricted' : refusing.decision.verdict,
    by: refusing.decision.by,
    allowedSources: [...new Set(perInterface.flatMap((p) => p.decision.allowedSources))],
    unmodelled: null,
    interfaces,
    acceptedOn: accepting.map((p) => p.iface),
  };
}

/**
 * Per family the service takes clients from outside: would a new connection (TCP SYN, first
 * UDP datagram) from anywhere, arriving on each interface it listens on, get in?
 */
export function serviceFirewall(rulesets: FirewallRuleset[], service: Service, addresses: HostAddress[]): ServiceFirewall {
  const forFamily = (family: Family): FamilyFirewall | null => {
    if (!isOutside(family === 4 ? service.ipv4 : service.ipv6)) return null;
    const interfaces = serviceInterfaces(service, family, addresses);
    if (interfaces.length === 0) return null;
    return combine(
      interfaces.map((iface) => ({
        iface,
        decision: evaluatePacket(rulesets, { family, proto: service.proto, port: service.port, icmpType: null, ctState: 'new', pktType: 'unicast', iif: iface }),
      })),
    );
  };
  return { ipv4: forFamily(4), ipv6: forFamily(6) };
}

/**
 * ICMPv6 that IPv6 breaks without (RFC 4890 section 4.4.1): neighbour solicitations (to a
 * solicited-node multicast group) and advertisements, which conntrack leaves untracked, and
 * packet-too-big, which arrives related to an existing connection.
 */
export const ESSENTIAL_ICMPV6: ReadonlyArray<Pick<FirewallPacket, 'icmpType' | 'ctState' | 'pktType'> & { name: string; breaks: string }> = [
  { icmpType: 135, name: 'nd-neighbor-solicit', ctState: 'untracked', pktType: 'multicast', breaks: 'neighbours cannot resolve this host\'s addresses: no IPv6 packet reaches it from its link' },
  { icmpType: 136, name: 'nd-neighbor-advert', ctState: 'untracked', pktType: 'unicast', breaks: 'this host cannot resolve its router and neighbours: it sends no IPv6 at all' },
  { icmpType: 2, name: 'packet-too-big', ctState: 'related', pktType: 'unicast', breaks: 'path MTU discovery fails (IPv6 routers never fragment): large responses stall over tunnels and smaller-MTU links' },
];

export function icmpv6Firewall(rulesets: FirewallRuleset[], addresses: HostAddress[]): Icmpv6Firewall[] {
  const out: Icmpv6Firewall[] = [];
  for (const iface of outsideInterfaces(addresses, 6)) {
    for (const m of ESSENTIAL_ICMPV6) {
      const decision = evaluatePacket(rulesets, { family: 6, proto: 'icmpv6', port: null, icmpType: m.icmpType, ctState: m.ctState, pktType: m.pktType, iif: iface });
      out.push({ ...decision, type: m.icmpType!, name: m.name, interface: iface, breaks: m.breaks });
    }
  }
  return out;
}

/** When the rule sets could not be read: every exposed family is `unknown`, saying why. */
export function unreadServiceFirewall(service: Service, why: string): ServiceFirewall {
  const unknown = (reach: Service['ipv4']): FamilyFirewall | null =>
    isOutside(reach) ? { verdict: 'unknown', by: null, allowedSources: [], unmodelled: why, interfaces: [], acceptedOn: [] } : null;
  return { ipv4: unknown(service.ipv4), ipv6: unknown(service.ipv6) };
}
