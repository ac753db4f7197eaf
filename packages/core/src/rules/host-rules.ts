// Host and routing rules: is IPv6 on, addressed, and routed; are RAs honoured.
import { advisoriesFor, defaultRouteWorkaround } from '../knowledge/kernels.js';
import type { Family, Finding } from '../report.js';
import { defineRule, finding, type RuleFacts } from './rule.js';
import {
  defaultRoutes,
  gatewayCandidates,
  type GatewayCandidate,
  interfaceSysctlKey,
  interfaceSysctls,
  kernelHasIpv6,
  persistentDefaultRoute,
  placeholder,
  reachability,
  realInterfaces,
  sysctlCommands,
  usableGlobalAddresses,
  viaClause,
} from './facts.js';

const IP_SYSCTL = 'https://docs.kernel.org/networking/ip-sysctl.html';

export const ipv6Disabled = defineRule({
  id: 'ipv6-disabled',
  title: 'IPv6 is switched off in the kernel or on the interfaces that carry IPv4.',
  severity: 'warning',
  profile: 'default',
  docs: 'A host with IPv6 off cannot serve IPv6 clients whatever its daemons do. The kernel may be booted with ipv6.disable=1 (no /proc/net/tcp6 at all), or net.ipv6.conf.*.disable_ipv6=1 removes every IPv6 address and route of an interface.',
  sources: [IP_SYSCTL, 'https://docs.kernel.org/networking/ipv6.html'],
  check(facts) {
    if (!kernelHasIpv6(facts)) {
      return [
        finding(this, {
          subject: 'host',
          message: 'The kernel has IPv6 disabled: /proc/net/tcp6 and /proc/sys/net/ipv6 do not exist.',
          evidence: facts.sources.filter((s) => s.status === 'absent').map((s) => `${s.name}: ${s.detail ?? 'absent'}`),
          fix: {
            summary: 'Remove ipv6.disable=1 from the kernel command line and reboot.',
            commands: [
              "grep -o 'ipv6.disable=[0-9]' /proc/cmdline",
              "sed -i 's/ *ipv6.disable=1//' /etc/default/grub && update-grub   # RHEL: grubby --update-kernel=ALL --remove-args=ipv6.disable",
              'systemctl reboot',
            ],
          },
        }),
      ];
    }
    const ipv4Interfaces = new Set(usableGlobalAddresses(facts, 4).map((a) => a.interface));
    const off = realInterfaces(facts).filter((i) => i.effective.disableIpv6 && ipv4Interfaces.has(i.name));
    return off.map((iface) =>
      finding(this, {
        subject: iface.name,
        message: `IPv6 is disabled on ${iface.name}, which carries IPv4 (disable_ipv6=1): it has no IPv6 address or route.`,
        evidence: [`net.ipv6.conf.${iface.name}.disable_ipv6 = ${iface.raw.disable_ipv6}`, `net.ipv6.conf.all.disable_ipv6 = ${interfaceSysctls(facts, 'all')?.raw.disable_ipv6 ?? 'unknown'}`],
        fix: {
          summary: `Enable IPv6 on ${iface.name} and remove the disable_ipv6 line from /etc/sysctl.conf and /etc/sysctl.d/.`,
          commands: [`grep -rn disable_ipv6 /etc/sysctl.conf /etc/sysctl.d/`, ...sysctlCommands(interfaceSysctlKey(6, iface.name, 'disable_ipv6'), 0)],
        },
      }),
    );
  },
});

export const ipv6NoGlobalAddress = defineRule({
  id: 'ipv6-no-global-address',
  title: 'IPv6 is on but no interface has a usable global IPv6 address.',
  severity: 'warning',
  profile: 'default',
  docs: 'Without a global address (one that is not tentative, DAD-failed or deprecated) the host can only use link-local IPv6: remote IPv6 clients cannot reach it. Addresses come from static configuration or from router advertisements (SLAAC), which need accept_ra and autoconf.',
  sources: [IP_SYSCTL, 'RFC 4862'],
  check(facts) {
    if (!kernelHasIpv6(facts) || usableGlobalAddresses(facts, 6).length > 0) return [];
    const withIpv4 = usableGlobalAddresses(facts, 4);
    const iface = withIpv4[0]?.interface ?? placeholder('interface');
    const sysctl = realInterfaces(facts).find((i) => i.name === iface);
    const evidence = [
      `IPv6 addresses: ${facts.addresses.filter((a) => a.family === 6 && a.interface !== 'lo').map((a) => `${a.address}/${a.prefixLength} ${a.interface} (${a.scope}${a.flags.length ? `, ${a.flags.join(',')}` : ''})`).join('; ') || 'none'}`,
    ];
    if (sysctl) evidence.push(`${iface}: accept_ra=${sysctl.raw.accept_ra} autoconf=${sysctl.raw.autoconf} forwarding=${sysctl.raw.forwarding} (RAs ${sysctl.effective.acceptRa ? 'processed' : 'ignored'})`);
    return [
      finding(this, {
        subject: 'host',
        message: 'No interface has a usable global IPv6 address, so no IPv6 client outside this link can reach the host.',
        evidence,
        fix: {
          summary: sysctl?.effective.autoconf
            ? `RAs are processed on ${iface} but none announced a prefix: check the router, or configure an address statically.`
            : `Configure a global address on ${iface} (from your IPv6 prefix), or let it autoconfigure from RAs.`,
          commands: [
            `ip -6 addr add ${placeholder('your-prefix')}::${placeholder('host-id')}/64 dev ${iface}   # placeholder: fill in your prefix`,
            ...(sysctl && !sysctl.effective.autoconf ? sysctlCommands(interfaceSysctlKey(6, iface, 'autoconf'), 1) : []),
          ],
        },
      }),
    ];
  },
});

export const ipv6AddressDadfailed = defineRule({
  id: 'ipv6-address-dadfailed',
  title: 'An IPv6 address failed duplicate address detection and is not used.',
  severity: 'critical',
  profile: 'default',
  docs: 'Another node on the link answered for the address during DAD, so the kernel never brings it up (flag dadfailed). Services bound to it fail to start and clients reaching for it find the other node.',
  sources: ['RFC 4862 section 5.4', IP_SYSCTL],
  check(facts) {
    return facts.addresses
      .filter((a) => a.family === 6 && a.flags.includes('dadfailed'))
      .map((a) =>
        finding(this, {
          subject: `${a.address} on ${a.interface}`,
          message: `${a.address}/${a.prefixLength} on ${a.interface} failed duplicate address detection: another node on the link uses it.`,
          evidence: [`if_inet6 flags: ${a.flags.join(',')}`],
          fix: {
            summary: 'Find the node that holds the address (its MAC is in the neighbour table), give one of them another address, then re-add this one.',
            commands: [`ip -6 neigh show ${a.address}`, `ip -6 addr del ${a.address}/${a.prefixLength} dev ${a.interface}`, `ip -6 addr add ${a.address}/${a.prefixLength} dev ${a.interface}   # once the duplicate is gone`],
          },
        }),
      );
  },
});

export const ipv6AddressDeprecated = defineRule({
  id: 'ipv6-address-deprecated',
  title: 'An IPv6 address is deprecated: it still works but new connections avoid it.',
  severity: 'info',
  profile: 'default',
  docs: 'A deprecated address (preferred lifetime 0) keeps existing connections but is not chosen as source for new ones; a service bound to it alone looks reachable but is about to lose its address when the valid lifetime ends.',
  sources: ['RFC 4862 section 5.5.4', 'RFC 6724'],
  check(facts) {
    return facts.addresses
      .filter((a) => a.family === 6 && a.flags.includes('deprecated') && !a.flags.includes('dadfailed'))
      .map((a) =>
        finding(this, {
          subject: `${a.address} on ${a.interface}`,
          message: `${a.address}/${a.prefixLength} on ${a.interface} is deprecated (preferred lifetime 0).`,
          evidence: [`if_inet6 flags: ${a.flags.join(',')}`],
          fix: {
            summary: 'Expected during renumbering; if this address is still meant to serve, renew its lifetime (static: re-add with preferred_lft forever).',
            commands: [`ip -6 addr change ${a.address}/${a.prefixLength} dev ${a.interface} preferred_lft forever valid_lft forever   # static addresses only`],
          },
        }),
      );
  },
});

/**
 * Why the kernel has no working default route, from the tables and sysctls: the most
 * explanatory reason first (a default in an unreached table, RAs ignored), the bare symptom
 * ("no default anywhere") last, so that a message built from the first reason names a cause.
 */
function explainMissingDefault(facts: RuleFacts, family: Family, iface: string): string[] {
  const causes: string[] = [];
  const symptoms: string[] = [];
  const ip = family === 6 ? 'ip -6' : 'ip';
  const defaults = defaultRoutes(facts, family);
  const elsewhere = facts.tableDefaults.filter((d) => d.family === family && d.table !== 'main' && d.table !== 'local' && d.type === 'unicast');
  for (const d of elsewhere) {
    const reached = facts.routingRules.filter((r) => r.family === family && r.table === d.table && r.action === 'lookup');
    causes.push(
      reached.length === 0
        ? `a default route exists in table ${d.table} (${viaClause(d.gateway ?? '?', d.interface)}), but no ${ip} rule looks that table up`
        : `a default route exists in table ${d.table}, looked up only for ${reached.map((r) => r.selector).join(', ')}`,
    );
  }
  if (defaults.length > 0 && elsewhere.length === 0) {
    symptoms.push(`the routing table lists a default (${defaults.map((d) => viaClause(d.gateway ?? 'on-link', d.interface)).join('; ')}) that the lookup does not reach`);
  }
  if (defaults.length === 0 && elsewhere.length === 0) symptoms.push(`there is no IPv${family} default route in any table`);
  const sysctl = family === 6 ? realInterfaces(facts).find((i) => i.name === iface) : undefined;
  if (sysctl) {
    if (sysctl.raw.forwarding === 1 && sysctl.raw.accept_ra === 1) causes.push(`${iface} forwards (forwarding=1) with accept_ra=1, so router advertisements are ignored and no default is learned`);
    else if (sysctl.raw.accept_ra === 0) causes.push(`${iface} ignores router advertisements (accept_ra=0), so no default is learned from a router`);
    else if (sysctl.raw.accept_ra_defrtr === 0) causes.push(`${iface} does not learn a default router from RAs (accept_ra_defrtr=0)`);
    else if (!facts.routes.some((r) => r.family === 6 && r.origin === 'ra')) symptoms.push(`${iface} accepts RAs but no router advertised itself (or its default expired)`);
  }
  return [...causes, ...symptoms];
}

export const ipv6Unroutable = defineRule({
  id: 'ipv6-unroutable',
  title: 'The host has a global IPv6 address but the kernel cannot route to global IPv6.',
  severity: 'critical',
  profile: 'default',
  docs: "With a global address published (often in DNS) but no working default route, every connect to a remote IPv6 host fails at once with 'Network is unreachable', and clients that prefer IPv6 stall. Causes: no default route, a default in a table no rule reaches, or an RA-learned default that never came or expired (accept_ra=0, accept_ra_defrtr=0, or forwarding=1 with accept_ra=1). The fix follows the cause: where RAs are switched off or ignored (and the host's own configuration names no static gateway) it turns them back on (accept_ra=2 on a forwarding interface, accept_ra=1 otherwise, accept_ra_defrtr=1) and offers a static default only as a commented alternative, because a static default beside the RA-learned one shadows it and the router's lifetime no longer applies; otherwise it adds the static default via the best gateway found (another table, the network configuration, a router neighbour). On Linux 2.6 before the June 2007 fix (RHEL 5 before 5.3) a configured default could be ignored; two half routes, ::/1 and 8000::/1, work around it.",
  sources: [IP_SYSCTL, 'docs/linux-facts.md#the-old-default-route-bug (bug records not found)', 'ip-route(8), ip-rule(8)'],
  check(facts) {
    const answer = reachability(facts, 6);
    const globals = usableGlobalAddresses(facts, 6);
    if (!answer || answer.reachable !== false || globals.length === 0) return [];
    const iface = globals[0]!.interface;
    const candidates = gatewayCandidates(facts, 6, iface);
    const best = candidates[0];
    const gateway = best?.gateway ?? placeholder('IPv6-gateway');
    const dev = best?.interface ?? iface;
    const staticCommands = best
      ? [`ip -6 route add default ${viaClause(gateway, dev)}`]
      : [`# ip -6 route add default via ${gateway} dev ${dev}   (no gateway found on this host: replace ${gateway} with your router's address)`];
    const advisories = facts.host.os.kernel ? advisoriesFor(facts.host.os.kernel).filter((a) => a.id === 'linux-2.6-ipv6-default-route') : [];
    if (advisories.length > 0) {
      staticCommands.push(`# kernel ${facts.host.os.kernel} has the old default-route bug: add both halves instead of (or beside) the default`);
      staticCommands.push(...(best ? defaultRouteWorkaround(gateway, dev) : defaultRouteWorkaround(gateway, dev).map((c) => `# ${c}`)));
    }
    staticCommands.push(...persistentDefaultRoute(facts, 6, gateway, dev));
    const reasons = explainMissingDefault(facts, 6, iface);
    const ra = raSettingsToFix(facts, iface, best);
    const fix: Finding['fix'] = ra
      ? {
          summary: `${ra.why}: let ${iface} learn its default route from router advertisements again (${ra.settings.map((x) => `${x.setting}=${x.value}`).join(', ')}, kept across reboots). A static default is the alternative only where no router advertises.`,
          commands: [
            ...ra.settings.flatMap((x) => sysctlCommands(interfaceSysctlKey(6, iface, x.setting), x.value)),
            `# The default route arrives with the router's next advertisement (at most MaxRtrAdvInterval apart, 600 s by default; rdisc6 ${iface} from ndisc6 asks at once).`,
            '# Alternative, only if no router advertises on this link: a static default. Not both: a static default keeps the RA-learned one out of the table, and the router\'s lifetime and preference then no longer apply.',
            ...staticCommands.map((c) => (c.startsWith('#') ? c : `#   ${c}`)),
          ],
        }
      : {
          summary: best ? `Add the default route via ${gateway} on ${dev}, and make it persistent.` : 'Add a default route via your IPv6 router; none could be found on this host.',
          commands: staticCommands,
        };
    return [
      finding(this, {
        subject: 'host',
        message: `The host has ${globals.map((a) => a.address).join(', ')} but the kernel answers ${answer.error ?? 'unreachable'} for ${answer.target}: ${reasons[0] ?? 'the default route does not work'}.`,
        evidence: [
          `UDP connect to ${answer.target}: ${answer.error}`,
          ...reasons,
          best ? `gateway from ${best.from}` : 'no gateway candidate: no default in other tables, no RA route, no configured gateway, no router neighbour',
          ...advisories.map((a) => `${a.title} (${a.sources[0] ?? ''})`),
        ],
        fix,
      }),
    ];
  },
});

/**
 * When the default is missing because the interface does not take it from router
 * advertisements, the fix is the RA setting, not a static route: a static default added
 * beside RAs would shadow the router's own (and its lifetime). Not when the host's own
 * configuration or another table names a static gateway: then static routing is the intent.
 */
function raSettingsToFix(
  facts: RuleFacts,
  iface: string,
  best: GatewayCandidate | undefined,
): { why: string; settings: Array<{ setting: 'accept_ra' | 'accept_ra_defrtr'; value: number }> } | null {
  if (best && (best.kind === 'configuration' || best.kind === 'other-table')) return null;
  const sysctl = realInterfaces(facts).find((i) => i.name === iface);
  if (!sysctl) return null;
  const settings: Array<{ setting: 'accept_ra' | 'accept_ra_defrtr'; value: number }> = [];
  const why: string[] = [];
  const forwarding = sysctl.raw.forwarding === 1;
  if (sysctl.raw.accept_ra === 0) {
    settings.push({ setting: 'accept_ra', value: forwarding ? 2 : 1 });
    why.push(`${iface} ignores router advertisements (accept_ra=0)`);
  } else if (sysctl.raw.accept_ra === 1 && forwarding) {
    settings.push({ setting: 'accept_ra', value: 2 });
    why.push(`${iface} forwards, so accept_ra=1 ignores router advertisements`);
  }
  if (sysctl.raw.accept_ra_defrtr === 0) {
    settings.push({ setting: 'accept_ra_defrtr', value: 1 });
    why.push(`${iface} learns no default router from them (accept_ra_defrtr=0)`);
  }
  return settings.length > 0 ? { why: why.join(' and '), settings } : null;
}

export const ipv6RaIgnored = defineRule({
  id: 'ipv6-ra-ignored',
  title: 'A forwarding interface ignores router advertisements (forwarding=1 with accept_ra=1).',
  severity: 'warning',
  profile: 'default',
  docs: 'accept_ra=1 means "only while forwarding is off". Hosts that turn forwarding on (container and VM hosts, VPN gateways) stop processing RAs: an RA-learned default route is deleted or expires and IPv6 is lost. accept_ra=2 accepts RAs even with forwarding on.',
  sources: [IP_SYSCTL],
  check(facts) {
    const out: Finding[] = [];
    for (const iface of realInterfaces(facts)) {
      if (iface.raw.forwarding !== 1 || iface.raw.accept_ra !== 1) continue;
      const raRoutes = facts.routes.filter((r) => r.family === 6 && r.interface === iface.name && r.origin === 'ra');
      const hasDefault = defaultRoutes(facts, 6).some((r) => r.interface === iface.name);
      if (raRoutes.length === 0 && hasDefault) continue; // a static default: RAs are not needed here
      const key = interfaceSysctlKey(6, iface.name, 'accept_ra');
      out.push(
        finding(this, {
          subject: iface.name,
          message: `${iface.name} forwards and has accept_ra=1, so router advertisements are ignored${raRoutes.length ? ': its RA-learned routes will expire' : ' and it has no IPv6 default route of its own'}.`,
          evidence: [`${interfaceSysctlKey(6, iface.name, 'forwarding')} = 1`, `${key} = 1`, ...raRoutes.map((r) => `RA route ${r.destination}/${r.prefixLength} ${r.gateway ? `via ${r.gateway}` : ''} (${r.flags.join(',')})`)],
          fix: { summary: `Accept RAs on ${iface.name} although it forwards.`, commands: sysctlCommands(key, 2) },
        }),
      );
    }
    return out;
  },
});

export const ipv4Unroutable = defineRule({
  id: 'ipv4-unroutable',
  title: 'The host has a global IPv4 address but the kernel cannot route to the IPv4 internet.',
  severity: 'critical',
  profile: 'default',
  docs: 'Without an IPv4 default route, connects to remote IPv4 hosts fail with Network is unreachable; on a dual-stack host this is easy to miss while IPv6 works.',
  sources: ['ip-route(8)'],
  check(facts) {
    const answer = reachability(facts, 4);
    const globals = usableGlobalAddresses(facts, 4);
    if (!answer || answer.reachable !== false || globals.length === 0) return [];
    const iface = globals[0]!.interface;
    const best = gatewayCandidates(facts, 4, iface)[0];
    const reasons = explainMissingDefault(facts, 4, iface);
    const gateway = best?.gateway ?? placeholder('IPv4-gateway');
    const dev = best?.interface ?? iface;
    return [
      finding(this, {
        subject: 'host',
        message: `The host has ${globals.map((a) => a.address).join(', ')} but the kernel answers ${answer.error ?? 'unreachable'} for ${answer.target}: ${reasons[0] ?? 'the default route does not work'}.`,
        evidence: [`UDP connect to ${answer.target}: ${answer.error}`, ...reasons, best ? `gateway from ${best.from}` : 'no gateway candidate found on this host'],
        fix: {
          summary: best ? `Add the default route via ${gateway} on ${dev}, and make it persistent.` : 'Add a default route via your IPv4 router; none could be found on this host.',
          commands: [
            best ? `ip route add default ${viaClause(gateway, dev)}` : `# ip route add default via ${gateway} dev ${dev}   (replace ${gateway} with your router's address)`,
            ...persistentDefaultRoute(facts, 4, gateway, dev),
          ],
        },
      }),
    ];
  },
});

export const bindv6onlySet = defineRule({
  id: 'bindv6only-set',
  title: 'net.ipv6.bindv6only=1 makes every program that binds :: without asking IPv6-only.',
  severity: 'warning',
  profile: 'default',
  docs: "bindv6only is the default of IPV6_V6ONLY for new sockets. Set to 1, a daemon that listens on :: expecting IPv4 as mapped addresses (Apache, vsftpd, Java) silently stops serving IPv4. Programs that set the option themselves are unaffected (Node.js always does, sshd and nginx set V6ONLY=1 and open an IPv4 socket too).",
  sources: [IP_SYSCTL, 'RFC 3493 section 5.3'],
  check(facts) {
    if (facts.sysctl.bindv6only !== 1) return [];
    const affected = facts.services.filter((s) => s.bindings.some((b) => b.family === 6 && b.address === '::' && b.v6only === true) && !s.bindings.some((b) => b.family === 4));
    return [
      finding(this, {
        subject: 'host',
        message: `net.ipv6.bindv6only=1: programs binding :: without setting IPV6_V6ONLY get IPv6-only sockets${affected.length ? `; ${affected.length} service(s) take no IPv4 now` : ''}.`,
        evidence: ['net.ipv6.bindv6only = 1', ...affected.map((s) => `${s.proto}/${s.port} ${s.process ?? '?'}: [::] v6only=1 and no IPv4 socket`)],
        fix: { summary: 'Set bindv6only back to 0 (the default), then restart the affected daemons so their sockets are made anew.', commands: sysctlCommands('net.ipv6.bindv6only', 0) },
      }),
    ];
  },
});
