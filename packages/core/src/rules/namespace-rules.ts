// The host's rules run again on each other network namespace (a container or pod): the same
// rule code over a facts object built from that namespace's sockets, addresses, routes and
// sysctls, each finding's subject naming the owner (`pod default/web-7d9 tcp/8080`).
// Only the rules whose facts a namespace has of its own run there:
//   - the service rules (its own sockets and addresses);
//   - ipv6-disabled, bindv6only-set (its own net.ipv6 sysctls, when they were read);
//   - ipv6-address-dadfailed, ipv6-address-deprecated (its own if_inet6).
// Not run per namespace: ipv6-unroutable / ipv4-unroutable / ipv6-ra-ignored / ipv6-no-global-address
// (reachability is probed from the agent's namespace only; pods get addresses and routes from
// their CNI, not from router advertisements, and an IPv4-only cluster would repeat the same
// finding for every pod); kernel-ipv6-advisory (one kernel); the firewall rules (the host's
// rule set is what is read); the config rules (daemon configuration is read from the host's
// /etc, not the container's file system); the hardening profile (host policy).
import type { Finding, NamespaceOwner, NetworkNamespace } from '../report.js';
import type { Profile, Rule, RuleFacts } from './rule.js';
import { runRules } from './index.js';
import { bindv6onlySet, ipv6AddressDadfailed, ipv6AddressDeprecated, ipv6Disabled } from './host-rules.js';
import { serviceDualMapped, serviceIpv4Only, serviceIpv6Only, serviceLoopbackV4Only, serviceMappedClients, serviceV6onlyUnknown } from './service-rules.js';

export const namespaceRules: Rule[] = [
  ipv6Disabled,
  ipv6AddressDadfailed,
  ipv6AddressDeprecated,
  bindv6onlySet,
  serviceIpv4Only,
  serviceIpv6Only,
  serviceLoopbackV4Only,
  serviceDualMapped,
  serviceMappedClients,
  serviceV6onlyUnknown,
];

const RUNTIME_WORD: Record<NamespaceOwner['runtime'], string> = {
  kubernetes: 'pod',
  docker: 'docker',
  containerd: 'containerd',
  podman: 'podman',
  lxc: 'lxc',
  nspawn: 'machine',
  unknown: 'netns',
};

/** How findings and the scan table name a namespace: `pod default/web-7d9`, `docker web`, `netns sleep[4242]`. */
export function namespaceLabel(owner: NamespaceOwner): string {
  return `${RUNTIME_WORD[owner.runtime]} ${owner.name}`;
}

export type NamespaceFacts = Omit<NetworkNamespace, 'findings'>;

/** The facts the rules read, for one namespace: its own where it has them, nothing of the host's network. */
export function namespaceRuleFacts(host: RuleFacts, ns: NamespaceFacts): RuleFacts {
  return {
    schema: host.schema,
    reportId: host.reportId,
    collectedAt: host.collectedAt,
    agent: host.agent,
    host: host.host,
    // One walk of /proc/[pid]/fd serves every namespace: the host's owners status says why a
    // socket has no process, here as there.
    sources: [...ns.sources, ...host.sources.filter((s) => s.name === 'owners')],
    sysctl: ns.sysctl ?? { bindv6only: null, interfaces: [] },
    addresses: ns.addresses,
    routes: ns.routes,
    tableDefaults: [],
    routingRules: [],
    routers: [],
    networkConfig: { systems: [], gateways: [] },
    reachability: [],
    services: ns.services,
    connections: ns.connections,
  };
}

/** Runs the per-namespace rules; each finding names the owner and says where its commands run. */
export function runNamespaceRules(host: RuleFacts, ns: NamespaceFacts, options: { profiles?: Profile[] } = {}): Finding[] {
  const label = namespaceLabel(ns.owner);
  const enter = `nsenter --net=/proc/${ns.pid}/ns/net`;
  return runRules(namespaceRuleFacts(host, ns), { ...options, only: namespaceRules }).map((f) => ({
    ...f,
    subject: f.subject === 'host' ? label : `${label} ${f.subject}`,
    evidence: [...f.evidence, `network namespace net:[${ns.inode}] of ${label}, read through pid ${ns.pid}`],
    fix: {
      summary: f.fix.summary,
      commands: [`# inside ${label}: run checks with ${enter} <command>; make lasting changes in the container's image, its runtime's or the pod's configuration, not on the host`, ...f.fix.commands],
    },
  }));
}
