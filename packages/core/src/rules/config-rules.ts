// Daemon configuration rules: addresses written in a syntax the directive does not take, IPv6
// switched off in a config file, access lists that name IPv4 networks only. The meaning of each
// directive comes from the knowledge base (knowledge/config/, one file per daemon); every
// finding names the file and line and quotes it.
import ipaddr from 'ipaddr.js';
import { checkAddressSyntax, configKnowledgeFor, type ConfigKnowledge } from '../knowledge/config/index.js';
import type { ConfigDirective, DaemonConfig, Finding, HostAddress, Service } from '../report.js';
import { defineRule, finding, type RuleFacts } from './rule.js';
import { usableGlobalAddresses } from './facts.js';

const where = (d: ConfigDirective) => `${d.file}:${d.line}`;
const quote = (d: ConfigDirective) => `${where(d)}: ${d.raw.trim()}${d.context ? `   (in ${d.context})` : ''}`;

function eachConfig(facts: RuleFacts): Array<{ config: DaemonConfig; knowledge: ConfigKnowledge }> {
  return (facts.configs ?? []).flatMap((config) => {
    const knowledge = configKnowledgeFor(config.daemon);
    return knowledge ? [{ config, knowledge }] : [];
  });
}

function servicesOn(facts: RuleFacts, ports: number[]): Service[] {
  return facts.services.filter((s) => ports.includes(s.port));
}

function checkLine(k: ConfigKnowledge, d: ConfigDirective): string {
  return `${k.checker}   # the daemon's own syntax check, after editing ${d.file}`;
}

export const configAddressSyntax = defineRule({
  id: 'config-address-syntax',
  title: 'An IPv6 address in a configuration file is written in a syntax its directive does not take.',
  severity: 'critical',
  profile: 'default',
  docs: 'Daemons disagree on how an IPv6 address is written: Postfix mynetworks and TCP wrappers want [2001:db8::]/64, BIND, nginx allow and Apache Require ip want 2001:db8::/64 bare, sshd and Apache Listen want brackets only when a port follows. Written the other way the entry is refused at start or ignored (critical), or silently means something else (warning): a bare address followed by :port is one longer address, a network without a prefix length matches one address, a ::ffff: entry never matches a daemon that converts mapped peers. The fix is the corrected line; the daemon\'s own checker runs after it.',
  sources: ['docs/daemon-defaults.md#address-syntax-in-configuration-files', 'sshd_config(5)'],
  check(facts) {
    const out: Finding[] = [];
    for (const { config, knowledge } of eachConfig(facts)) {
      for (const d of config.directives) {
        for (const use of knowledge.addresses(d, config.directives)) {
          const problem = checkAddressSyntax(use, facts.addresses, knowledge.convertsMappedPeers);
          if (!problem) continue;
          const fixed = problem.corrected ? d.raw.replace(use.token, problem.corrected) : null;
          out.push(
            finding(this, {
              severity: problem.severity,
              subject: where(d),
              message: `${where(d)} (${config.daemon}): "${use.token}": ${problem.problem}.`,
              evidence: [quote(d)],
              fix: {
                summary: fixed ? `Write it as ${problem.corrected}.` : 'Write the address the way this directive takes it (see the message).',
                commands: fixed ? [`# ${d.file}, line ${d.line}:`, `#   ${fixed.trim()}`, checkLine(knowledge, d)] : [checkLine(knowledge, d)],
              },
            }),
          );
        }
      }
    }
    return out;
  },
});

export const configIpv6Off = defineRule({
  id: 'config-ipv6-off',
  title: "A daemon's configuration turns IPv6 off on a host that has IPv6.",
  severity: 'warning',
  profile: 'default',
  docs: 'inet_protocols = ipv4, AddressFamily inet, listen_ipv6=NO, listen-on-v6 { none; }, bind-address = 0.0.0.0: the line that makes a service IPv4-only, on a host with a usable IPv6 address. The finding names the file and line, and the service it makes IPv4-only (service-ipv4-only on the same port), so the report says why, not only what.',
  sources: ['docs/daemon-defaults.md#listening-defaults', 'sshd_config(5): AddressFamily'],
  check(facts) {
    if (usableGlobalAddresses(facts, 6).length === 0) return [];
    const out: Finding[] = [];
    for (const { config, knowledge } of eachConfig(facts)) {
      for (const d of config.directives) {
        const off = knowledge.ipv6Off(d, config.directives);
        if (!off) continue;
        const services = servicesOn(facts, off.ports).filter((s) => s.mode === 'ipv4-only');
        const linked = services.map((s) => `${s.proto}/${s.port}`);
        out.push(
          finding(this, {
            subject: where(d),
            message: `${linked.length ? `${linked.join(', ')} ${linked.length === 1 ? 'is' : 'are'} IPv4-only because ` : ''}${where(d)} says ${d.raw.trim()}: ${off.why}.`,
            evidence: [quote(d), ...services.map((s) => `${s.proto}/${s.port} (${s.process ?? 'unknown process'}) listens on IPv4 only: see service-ipv4-only`)],
            fix: {
              summary: off.summary ?? `Change the line to: ${off.fix.trim()}${(off.alsoChange ?? []).map((o) => ` and ${where(o.directive)} to: ${o.fix.trim()}`).join('')}, then restart ${config.daemon}.`,
              commands: off.commands ?? [`# ${d.file}, line ${d.line}:`, `#   ${off.fix.trim()}`, ...(off.alsoChange ?? []).flatMap((o) => [`# ${o.directive.file}, line ${o.directive.line}:`, `#   ${o.fix.trim()}`]), checkLine(knowledge, d)],
            },
          }),
        );
      }
    }
    return out;
  },
});

/** The host's IPv6 networks on the interfaces that carry one of the given IPv4 networks. */
function ipv6NetworksBeside(addresses: HostAddress[], ipv4Networks: string[], globals6: HostAddress[]): { iface: string; networks: string[] } | null {
  for (const a of addresses) {
    if (a.family !== 4 || a.interface === 'lo') continue;
    const inside = ipv4Networks.some((n) => {
      try {
        const [net, len] = ipaddr.parseCIDR(n.includes('/') ? n : `${n}/32`);
        return net.kind() === 'ipv4' && ipaddr.IPv4.parse(a.address).match(net as ipaddr.IPv4, len);
      } catch {
        return false;
      }
    });
    if (!inside) continue;
    const v6 = globals6.filter((g) => g.interface === a.interface);
    if (v6.length === 0) continue;
    const networks = [...new Set(v6.map((g) => `${ipaddr.IPv6.networkAddressFromCIDR(`${g.address}/${g.prefixLength}`).toString()}/${g.prefixLength}`))];
    return { iface: a.interface, networks };
  }
  return null;
}

const familyOfEntry = (entry: string): 4 | 6 | null => {
  const bare = entry.replace(/^\[/, '').replace(/\](\/\d+)?$/, '$1').split('/')[0]!.split('%')[0]!;
  if (ipaddr.IPv4.isValid(bare)) return 4;
  if (ipaddr.IPv6.isValid(bare)) return ipaddr.IPv6.parse(bare).isIPv4MappedAddress() ? 4 : 6;
  return null;
};

export const aclIpv4Only = defineRule({
  id: 'acl-ipv4-only',
  title: 'An access list names IPv4 networks only, on a service IPv6 clients of the same network can reach.',
  severity: 'warning',
  profile: 'default',
  docs: "An access list written when the network was IPv4-only (AllowUsers admin@192.0.2.0/24, mynetworks, allow-query) keeps naming IPv4 networks after the same network gets IPv6. IPv6 clients of that network fall through to the list's default: locked out where it denies, let in where it allows. Raised when the service takes IPv6 clients and the host has IPv6 on the interface of one of the listed IPv4 networks; the fix adds that interface's IPv6 prefix in the daemon's syntax.",
  sources: ['docs/daemon-defaults.md#address-syntax-in-configuration-files', 'sshd_config(5): AllowUsers'],
  check(facts) {
    const globals6 = usableGlobalAddresses(facts, 6);
    if (globals6.length === 0) return [];
    const out: Finding[] = [];
    for (const { config, knowledge } of eachConfig(facts)) {
      for (const d of config.directives) {
        const acl = knowledge.acl(d, config.directives, facts.services);
        if (!acl) continue;
        const families = acl.networks.map(familyOfEntry);
        if (families.includes(6) || !families.includes(4)) continue;
        const exposed = servicesOn(facts, acl.ports).filter((s) => s.ipv6 === 'any' || s.ipv6 === 'addresses');
        if (exposed.length === 0) continue;
        const beside = ipv6NetworksBeside(facts.addresses, acl.networks.filter((_, i) => families[i] === 4), globals6);
        if (!beside) continue;
        const fixed = acl.withIpv6(beside.networks);
        out.push(
          finding(this, {
            subject: where(d),
            message: `${where(d)} (${config.daemon}) names IPv4 networks only (${acl.networks.join(', ')}); ${beside.iface} also has ${beside.networks.join(', ')}, so IPv6 clients of that network are ${acl.otherwise === 'denied' ? 'locked out' : 'let in where IPv4 ones are not'} on ${exposed.map((s) => `${s.proto}/${s.port}`).join(', ')}.`,
            evidence: [quote(d), `${beside.iface}: IPv6 ${beside.networks.join(', ')} beside the listed IPv4 network`, ...exposed.map((s) => `${s.proto}/${s.port} takes IPv6 clients (${s.mode})`)],
            fix: { summary: `Add ${beside.networks.join(', ')} to the list.`, commands: [`# ${d.file}, line ${d.line}:`, `#   ${fixed.trim()}`, checkLine(knowledge, d)] },
          }),
        );
      }
    }
    return out;
  },
});
