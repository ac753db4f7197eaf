// Hardening profile: CIS-style IPv6 sysctls. Off by default (run with `scan --profile
// hardening`): a host that takes its address or default route from router advertisements
// (SLAAC) needs accept_ra, and container hosts and routers need forwarding.
import type { Finding, InterfaceSysctlsRaw } from '../report.js';
import { defineRule, finding, type Rule, type RuleFacts } from './rule.js';
import { interfaceSysctlKey, interfaceSysctls, realInterfaces, sysctlCommands } from './facts.js';

const IP_SYSCTL = 'https://docs.kernel.org/networking/ip-sysctl.html';
const CIS = 'CIS Debian Family Linux Benchmark v1.0.0, section 3 Network Configuration (3.2.2 IP forwarding, 3.3.1 source routed packets, 3.3.2 ICMP redirects, 3.3.9 IPv6 router advertisements)';
const WAZUH = 'Wazuh SCA policy ruleset/sca/debian/cis_debian12.yml lists these CIS checks (marked "Not Implemented" there) — https://github.com/wazuh/wazuh';
const STIG = 'DISA RHEL 8 STIG V-230540 (net.ipv6.conf.all.forwarding = 0), V-230541 / V-230542 (all/default accept_ra = 0)';
const OFF_BY_DEFAULT =
  ' Part of the hardening profile, off by default (scan --profile hardening): hosts that rely on SLAAC need accept_ra, and routers, VPN gateways and container hosts need forwarding.';

type Setting = keyof InterfaceSysctlsRaw;
type Scope = 'all' | 'default';

interface HardeningCheck {
  setting: Setting;
  scopes: Scope[];
  /** The CIS value. */
  want: number;
  compliant(value: number): boolean;
  /** `all` does not reach interfaces that already exist for this setting (ip-sysctl.rst). */
  allSkipsExisting: boolean;
  message(key: string, value: number): string;
  summary(facts: RuleFacts): string;
  /** Extra evidence or commands (e.g. how the host depends on RAs). */
  extra?(facts: RuleFacts): { evidence: string[]; before: string[]; after: string[] };
}

function hardeningFindings(rule: Pick<Rule, 'id' | 'severity'>, facts: RuleFacts, check: HardeningCheck): Finding[] {
  const out: Finding[] = [];
  for (const scope of check.scopes) {
    const value = interfaceSysctls(facts, scope)?.raw[check.setting];
    if (value === null || value === undefined || check.compliant(value)) continue;
    const key = interfaceSysctlKey(6, scope, check.setting);
    const evidence = [`${key} = ${value} (CIS: ${check.want})`];
    const commands: string[] = [];
    const extra = check.extra?.(facts);
    if (extra) {
      evidence.push(...extra.evidence);
      commands.push(...extra.before);
    }
    commands.push(...sysctlCommands(key, check.want));
    if (scope === 'all' && check.allSkipsExisting) {
      // Writing `all` leaves existing interfaces as they are for this setting; each needs its
      // own key (sysctl.d keys named after an interface are applied when it appears).
      const stale = realInterfaces(facts).filter((i) => {
        const v = i.raw[check.setting];
        return v !== null && !check.compliant(v);
      });
      for (const iface of stale) {
        const ifaceKey = interfaceSysctlKey(6, iface.name, check.setting);
        evidence.push(`${ifaceKey} = ${iface.raw[check.setting]} (not changed by writing ${key})`);
        commands.push(...sysctlCommands(ifaceKey, check.want));
      }
    }
    if (extra) commands.push(...extra.after);
    out.push(finding(rule, { subject: key, message: check.message(key, value), evidence, fix: { summary: check.summary(facts), commands } }));
  }
  // `all` compliant but an interface that existed before it was written still is not: the
  // CIS key passes while the interface keeps the old behaviour.
  const allValue = interfaceSysctls(facts, 'all')?.raw[check.setting];
  if (check.allSkipsExisting && check.scopes.includes('all') && allValue !== null && allValue !== undefined && check.compliant(allValue)) {
    for (const iface of realInterfaces(facts)) {
      const value = iface.raw[check.setting];
      if (value === null || check.compliant(value)) continue;
      const key = interfaceSysctlKey(6, iface.name, check.setting);
      const extra = check.extra?.(facts);
      out.push(
        finding(rule, {
          subject: key,
          message: `${check.message(key, value)} ${interfaceSysctlKey(6, 'all', check.setting)} = ${allValue} does not change ${iface.name}, which existed before it was written.`,
          evidence: [`${key} = ${value} (CIS: ${check.want})`, `${interfaceSysctlKey(6, 'all', check.setting)} = ${allValue}`, ...(extra?.evidence ?? [])],
          fix: { summary: check.summary(facts), commands: [...(extra?.before ?? []), ...sysctlCommands(key, check.want), ...(extra?.after ?? [])] },
        }),
      );
    }
  }
  return out;
}

/** How this host depends on router advertisements right now. */
function raDependence(facts: RuleFacts): string[] {
  const reasons: string[] = [];
  for (const r of facts.routes) {
    if (r.family === 6 && r.origin === 'ra') reasons.push(`route ${r.destination}/${r.prefixLength}${r.gateway ? ` via ${r.gateway}` : ''} dev ${r.interface} was learned from a router advertisement`);
  }
  for (const a of facts.addresses) {
    // SLAAC addresses carry no PERMANENT flag (docs/linux-facts.md#ipv6-addresses-and-their-flags:
    // SLAAC `00`, temporary `01`).
    if (a.family === 6 && a.scope === 'global' && !a.flags.includes('permanent')) reasons.push(`${a.address}/${a.prefixLength} on ${a.interface} was made from a router advertisement (SLAAC${a.flags.includes('temporary') ? ', temporary' : ''})`);
  }
  return reasons;
}

export const hardeningAcceptRa = defineRule({
  id: 'hardening-accept-ra',
  title: 'IPv6 router advertisements are accepted (CIS: all/default accept_ra = 0).',
  severity: 'warning',
  profile: 'hardening',
  docs:
    'A router advertisement can install a default route and addresses; a rogue one on the link can redirect IPv6 traffic (man in the middle). CIS asks for net.ipv6.conf.all.accept_ra = 0 and default.accept_ra = 0 on hosts with static IPv6. Writing all does not change interfaces that already exist, so the fix sets each interface too, and an interface that still has accept_ra=1 after all was set to 0 is raised on its own key. When the host takes its default route or addresses from RAs now, the finding says so: set them statically first, or it loses IPv6.' +
    OFF_BY_DEFAULT,
  sources: [CIS, WAZUH, STIG, IP_SYSCTL],
  check(facts) {
    return hardeningFindings(this, facts, {
      setting: 'accept_ra',
      scopes: ['all', 'default'],
      want: 0,
      compliant: (v) => v === 0,
      allSkipsExisting: true,
      message: (key, value) => `Router advertisements are accepted: ${key} = ${value}.`,
      summary: (f) =>
        raDependence(f).length > 0
          ? 'This host takes IPv6 routes or addresses from router advertisements now: configure a static address and default route first, or setting accept_ra=0 removes its IPv6 connectivity when they expire.'
          : 'Stop accepting router advertisements (the host has no RA-learned route or SLAAC address now).',
      extra: (f) => {
        const reasons = raDependence(f);
        return reasons.length > 0
          ? { evidence: reasons, before: ['# this host uses RAs now: configure a static IPv6 address and default route before running the lines below'], after: [] }
          : { evidence: [], before: [], after: [] };
      },
    });
  },
});

const IPV4_NOT_READ = (setting: string) =>
  `sysctl net.ipv4.conf.all.${setting} net.ipv4.conf.default.${setting}   # IPv4 is not read by the agent: CIS wants 0 here too`;

export const hardeningAcceptRedirects = defineRule({
  id: 'hardening-accept-redirects',
  title: 'ICMPv6 redirects are accepted (CIS: all/default accept_redirects = 0; IPv6 only, IPv4 is not read).',
  severity: 'warning',
  profile: 'hardening',
  docs:
    'An ICMP redirect tells the host to send traffic for a destination through another router; forged redirects divert traffic. CIS asks for accept_redirects = 0 for all and default. The agent reads only the IPv6 values (net.ipv6.conf.*); the IPv4 ones (net.ipv4.conf.*.accept_redirects, secure_redirects) are not read, so the fix includes a command that shows them. Writing all does not change existing interfaces for accept_redirects, so the fix sets each interface too, and an interface still at 1 after all was set to 0 is raised on its own key.' +
    OFF_BY_DEFAULT,
  sources: [CIS, WAZUH, IP_SYSCTL],
  check(facts) {
    return hardeningFindings(this, facts, {
      setting: 'accept_redirects',
      scopes: ['all', 'default'],
      want: 0,
      compliant: (v) => v === 0,
      allSkipsExisting: true,
      message: (key, value) => `ICMPv6 redirects are accepted: ${key} = ${value} (IPv6 only: the IPv4 values are not read by the agent).`,
      summary: () => 'Ignore ICMPv6 redirects, on every existing interface and for new ones; check the IPv4 values yourself.',
      extra: () => ({ evidence: [], before: [], after: [IPV4_NOT_READ('accept_redirects')] }),
    });
  },
});

export const hardeningAcceptSourceRoute = defineRule({
  id: 'hardening-accept-source-route',
  title: 'IPv6 source-routed packets are accepted (CIS: all/default accept_source_route = 0).',
  severity: 'warning',
  profile: 'hardening',
  docs:
    'accept_source_route >= 0 accepts type 2 routing headers only, < 0 none; type 0 headers (CVE-2007-2242, deprecated by RFC 5095) are never accepted by kernels after 2.6.20.9 / 2.6.21. CIS asks for 0 for all and default; values below 0 are stricter and pass here, values above 0 are flagged. The kernel uses min(all, interface), so all alone is enough at run time. The IPv4 values are not read by the agent.' +
    OFF_BY_DEFAULT,
  sources: [CIS, WAZUH, IP_SYSCTL, 'RFC 5095'],
  check(facts) {
    return hardeningFindings(this, facts, {
      setting: 'accept_source_route',
      scopes: ['all', 'default'],
      want: 0,
      compliant: (v) => v <= 0,
      allSkipsExisting: false,
      message: (key, value) => `Source-routed IPv6 packets are accepted beyond the CIS value: ${key} = ${value}.`,
      summary: () => 'Set accept_source_route to 0 (type 2 routing headers only); check the IPv4 values yourself.',
      extra: () => ({ evidence: [], before: [], after: [IPV4_NOT_READ('accept_source_route')] }),
    });
  },
});

export const hardeningForwarding = defineRule({
  id: 'hardening-forwarding',
  title: 'The host forwards IPv6 packets between interfaces (CIS: all.forwarding = 0).',
  severity: 'warning',
  profile: 'hardening',
  docs:
    'A host that is not a router should not forward packets. CIS asks for net.ipv6.conf.all.forwarding = 0 (writing all sets every interface). Routers, VPN gateways and container or VM hosts (Docker, Kubernetes, libvirt) need forwarding: there the finding is expected and the fix would break their IPv6. Turning forwarding off also makes interfaces with accept_ra=1 process router advertisements again.' +
    OFF_BY_DEFAULT,
  sources: [CIS, WAZUH, STIG, IP_SYSCTL],
  check(facts) {
    return hardeningFindings(this, facts, {
      setting: 'forwarding',
      scopes: ['all'],
      want: 0,
      compliant: (v) => v === 0,
      allSkipsExisting: false,
      message: (key, value) => `The host forwards IPv6 packets: ${key} = ${value}.`,
      summary: () => 'Turn IPv6 forwarding off, unless this host is a router, VPN gateway or container/VM host (then keep it and record the exception).',
      extra: (f) => {
        const forwarding = realInterfaces(f).filter((i) => i.raw.forwarding === 1).map((i) => `${interfaceSysctlKey(6, i.name, 'forwarding')} = 1`);
        return { evidence: forwarding, before: ['# not on routers, VPN gateways or container/VM hosts: their IPv6 needs forwarding'], after: [] };
      },
    });
  },
});

