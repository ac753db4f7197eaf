// Every rule, in one explicit list (no registration by import side effect); docs/rules.md is
// generated from it.
import type { Finding } from '../report.js';
import { severityRank, unevaluated, type RuleFacts, type Profile, type Rule } from './rule.js';
import { endpointRules } from './endpoint-rules.js';
import { bindv6onlySet, ipv4Unroutable, ipv6AddressDadfailed, ipv6AddressDeprecated, ipv6Disabled, ipv6NoGlobalAddress, ipv6RaIgnored, ipv6Unroutable } from './host-rules.js';
import { hardeningAcceptRa, hardeningAcceptRedirects, hardeningAcceptSourceRoute, hardeningForwarding } from './hardening-rules.js';
import { kernelIpv6Advisory } from './kernel-rules.js';
import { aclIpv4Only, configAddressSyntax, configIpv6Off } from './config-rules.js';
import { firewallIcmpv6Blocked, firewallIpv4Blocked, firewallIpv4Open, firewallIpv6Blocked, firewallIpv6Open, firewallUnknown } from './firewall-rules.js';
import {
  serviceDualMapped,
  serviceIpv4Only,
  serviceIpv6Only,
  serviceLoopbackV4Only,
  serviceMappedClients,
  serviceV6onlyUnknown,
} from './service-rules.js';

export const rules: Rule[] = [
  ipv6Unroutable,
  ipv6RaIgnored,
  ipv6Disabled,
  ipv6NoGlobalAddress,
  ipv6AddressDadfailed,
  ipv6AddressDeprecated,
  ipv4Unroutable,
  bindv6onlySet,
  kernelIpv6Advisory,
  serviceIpv4Only,
  serviceIpv6Only,
  serviceLoopbackV4Only,
  serviceDualMapped,
  serviceMappedClients,
  serviceV6onlyUnknown,
  firewallIpv6Open,
  firewallIpv4Open,
  firewallIcmpv6Blocked,
  firewallIpv6Blocked,
  firewallIpv4Blocked,
  firewallUnknown,
  configAddressSyntax,
  configIpv6Off,
  aclIpv4Only,
  // profile 'hardening': only with `scan --profile hardening`
  hardeningAcceptRa,
  hardeningAcceptRedirects,
  hardeningAcceptSourceRoute,
  hardeningForwarding,
];

export const profiles: Profile[] = ['default', 'hardening'];

/**
 * Runs the rules of the chosen profiles ('default' always) and returns their findings, most
 * severe first. A rule that throws yields one finding saying so instead of stopping the rest.
 */
export function runRules(facts: RuleFacts, options: { profiles?: Profile[]; only?: Rule[] } = {}): Finding[] {
  const enabled = new Set<Profile>(['default', ...(options.profiles ?? [])]);
  const findings: Finding[] = [];
  for (const rule of options.only ?? rules) {
    if (!enabled.has(rule.profile)) continue;
    try {
      findings.push(...rule.check(facts));
    } catch (error) {
      findings.push(unevaluated(rule, 'dualstack', error, 'Report this with a capture of the host (dualstack-agent capture DIR).'));
    }
  }
  return findings.sort(compareFindings);
}

// Numeric so that tcp/80 comes before tcp/443 and eth2 before eth10.
const subjectCollator = new Intl.Collator('en', { numeric: true });
// Endpoint findings (evaluated in the collector) are listed beside host findings, after them.
const ruleOrder = new Map([...rules, ...endpointRules].map((rule, index) => [rule.id, index]));

/**
 * The one order of findings everywhere they are listed (scan output, report, dashboard):
 * most severe first, then the order of the rule list, then subject. Rules not in the list
 * (from a newer agent) go after the known ones, by id.
 */
export function compareFindings(a: Pick<Finding, 'rule' | 'severity' | 'subject'>, b: Pick<Finding, 'rule' | 'severity' | 'subject'>): number {
  const bySeverity = severityRank[a.severity] - severityRank[b.severity];
  if (bySeverity !== 0) return bySeverity;
  const byRule = (ruleOrder.get(a.rule) ?? ruleOrder.size) - (ruleOrder.get(b.rule) ?? ruleOrder.size);
  if (byRule !== 0) return byRule;
  if (a.rule !== b.rule) return a.rule < b.rule ? -1 : 1;
  return subjectCollator.compare(a.subject, b.subject);
}

export * from './rule.js';
export * from './facts.js';
