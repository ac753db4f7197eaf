// Firewall rules: a service the socket table calls reachable in both families, whose host
// firewall treats the two families differently; ICMPv6 that IPv6 needs, dropped; rules the
// evaluator cannot model. The verdicts come from core/src/firewall (evaluated by the agent).
import type { FamilyFirewall, Family, Finding, FirewallRuleRef, Service } from '../report.js';
import { defineRule, finding, type Rule, type RuleFacts } from './rule.js';

const NFT_MAN = 'nft(8): CHAINS, RULES, VERDICT STATEMENT';
const IPTABLES_MAN = 'iptables(8), ip6tables(8), iptables-save(8)';
const RFC4890 = 'RFC 4890 section 4.4 (ICMPv6 messages a host firewall must not drop)';

const familyName = (family: Family): string => (family === 4 ? 'IPv4' : 'IPv6');
const subjectOf = (service: Service): string => `${service.proto}/${service.port}`;
const filtered = (f: FamilyFirewall | null | undefined): f is FamilyFirewall => f?.verdict === 'dropped' || f?.verdict === 'restricted';

export function refText(ref: FirewallRuleRef | null): string {
  if (!ref) return 'no firewall rule (no base chain on the input path)';
  const where = `${ref.backend === 'nftables' ? `${ref.family} ${ref.table}` : `${ref.backend} ${ref.family === 'ip6' ? 'ip6tables' : 'iptables'} -t ${ref.table}`} chain ${ref.chain}`;
  const id = ref.handle !== null ? ` handle ${ref.handle}` : ref.line !== null ? ` line ${ref.line}` : '';
  return `${where}${id}: ${ref.text}`;
}

function verdictText(f: FamilyFirewall): string {
  switch (f.verdict) {
    case 'accepted':
      return `accepted from anywhere (${refText(f.by)})`;
    case 'dropped':
      return `dropped by ${refText(f.by)}`;
    case 'restricted':
      return `accepted only ${f.allowedSources.length ? `from ${f.allowedSources.join(', ')}` : ''}${f.acceptedOn.length ? ` on ${f.acceptedOn.join(', ')}` : ''}, otherwise ${refText(f.by)}`;
    case 'unknown':
      return `unknown: ${f.unmodelled ?? 'not modelled'}${f.by ? ` (${refText(f.by)})` : ''}`;
  }
}

/** The command-line tool that writes rules where `ref` lives, for the family to change. */
function ipTablesTool(ref: Pick<FirewallRuleRef, 'backend'>, family: Family): string {
  const base = family === 6 ? 'ip6tables' : 'iptables';
  return ref.backend === 'iptables-legacy' ? `${base}-legacy` : base;
}

function nftMatch(tableFamily: string, family: Family, service: Service): string {
  return `${tableFamily === 'inet' ? `meta nfproto ${family === 6 ? 'ipv6' : 'ipv4'} ` : ''}${service.proto} dport ${service.port}`;
}

function iptMatch(service: Service): string {
  return `-p ${service.proto} --dport ${service.port}`;
}

/**
 * Commands that put `verdict` for this service's port in front of the rule or policy that
 * decided `ref`'s family, in the tool and table that hold it.
 */
function placeRule(ref: FirewallRuleRef, family: Family, service: Service, verdict: 'accept' | 'drop'): string[] {
  if (ref.backend === 'nftables') {
    const where = `${ref.family} ${ref.table} ${ref.chain}`;
    const rule = `${nftMatch(ref.family, family, service)} ${verdict}`;
    return ref.handle !== null ? [`nft insert rule ${where} position ${ref.handle} ${rule}`] : [`nft add rule ${where} ${rule}`];
  }
  const tool = ipTablesTool(ref, family);
  const table = ref.table === 'filter' ? '' : `-t ${ref.table} `;
  const target = verdict === 'accept' ? 'ACCEPT' : 'DROP';
  return ref.position !== null
    ? [`${tool} ${table}-I ${ref.chain} ${ref.position} ${iptMatch(service)} -j ${target}`]
    : [`${tool} ${table}-A ${ref.chain} ${iptMatch(service)} -j ${target}`];
}

/** A family with no rule set at all: its first table, in the tool the other family's rules use. */
function createRule(other: FirewallRuleRef, family: Family, service: Service, verdict: 'accept' | 'drop'): string[] {
  if (other.backend === 'nftables') {
    const fam = family === 6 ? 'ip6' : 'ip';
    return [
      `nft add table ${fam} ${other.table}`,
      `nft add chain ${fam} ${other.table} input '{ type filter hook input priority 0; policy accept; }'`,
      `nft add rule ${fam} ${other.table} input ${service.proto} dport ${service.port} ${verdict}`,
    ];
  }
  return [`${ipTablesTool(other, family)} -A INPUT ${iptMatch(service)} -j ${verdict === 'accept' ? 'ACCEPT' : 'DROP'}`];
}

function persistHint(ref: Pick<FirewallRuleRef, 'backend'>, family: Family): string {
  return ref.backend === 'nftables'
    ? '# keep it across reboots: add the rule to /etc/nftables.conf (Debian, RHEL) or to your firewall manager (firewalld, ufw), which may rewrite the rule set'
    : `# keep it across reboots: ${ipTablesTool(ref, family)}-save > /etc/iptables/rules.v${family} (iptables-persistent), or the rules file of your firewall manager`;
}

/** Decided by a rule that names the port's packets, not by a chain policy or by no chain at all. */
const explicit = (f: FamilyFirewall): boolean => f.by !== null && f.by.position !== null;

type AsymmetryKind = 'ipv6-open' | 'ipv4-open' | 'ipv6-blocked' | 'ipv4-blocked';

/**
 * One family accepted from anywhere, the other filtered: which of the two readings holds.
 * - the other is restricted to some sources: the operator meant to restrict, and the accepted
 *   family is the hole (*-open);
 * - the accepted family is let in by a rule of its own: the port was opened on purpose in one
 *   family and forgotten in the other (*-blocked);
 * - accepted by default, the other dropped by a rule: a filter written for one family only (*-open);
 * - both by default (one family has no rules, the other a default-drop policy): nothing says
 *   which was meant, and the usual story is IPv6's (ip6tables never written, or a default-drop
 *   ip6tables nobody opened), so it is told as IPv6's.
 */
export function asymmetryKind(ipv4: FamilyFirewall | null | undefined, ipv6: FamilyFirewall | null | undefined): { kind: AsymmetryKind; open: FamilyFirewall; closed: FamilyFirewall } | null {
  if (!ipv4 || !ipv6) return null;
  for (const [accepted, closed, a, b] of [[ipv4, ipv6, 4, 6], [ipv6, ipv4, 6, 4]] as const) {
    if (accepted.verdict !== 'accepted' || !filtered(closed)) continue;
    let opened: boolean;
    if (closed.verdict === 'restricted') opened = true;
    else if (explicit(accepted)) opened = false;
    else if (explicit(closed)) opened = true;
    else opened = a === 6;
    const kind: AsymmetryKind = opened ? `ipv${a}-open` : `ipv${b}-blocked`;
    return { kind, open: accepted, closed };
  }
  return null;
}

interface Asymmetry {
  service: Service;
  open: FamilyFirewall;
  closed: FamilyFirewall;
}

function asymmetries(facts: RuleFacts, kind: AsymmetryKind): Asymmetry[] {
  const out: Asymmetry[] = [];
  for (const service of facts.services) {
    const found = asymmetryKind(service.firewall?.ipv4, service.firewall?.ipv6);
    if (found?.kind === kind) out.push({ service, open: found.open, closed: found.closed });
  }
  return out;
}

function openRule(family: Family): Rule {
  const other: Family = family === 4 ? 6 : 4;
  return defineRule({
    id: `firewall-ipv${family}-open`,
    title: `A service the firewall filters for ${familyName(other)} is open to ${familyName(family)} clients from anywhere.`,
    severity: 'critical',
    profile: 'default',
    docs: `The ${familyName(other)} rules were never written for ${familyName(family)}: rules made with ${other === 4 ? 'iptables and never with ip6tables' : 'ip6tables and never with iptables'}, an nftables table of one family (ip or ip6) instead of inet, or an inet rule with \`${other === 4 ? 'ip' : 'ip6'} saddr\`. The operator believes the port closed while ${familyName(family)} clients reach it. The fix drops the port for ${familyName(family)} in front of the rule that accepts it, in the same tool; where only some ${familyName(other)} sources were let in, add their ${familyName(family)} prefixes before it.`,
    sources: [NFT_MAN, IPTABLES_MAN, 'docs/firewall.md'],
    check(facts) {
      return asymmetries(facts, `ipv${family}-open`).map(({ service, open, closed }) => {
        const closer = closed.by;
        const commands = open.by ? placeRule(open.by, family, service, 'drop') : closer ? createRule(closer, family, service, 'drop') : [];
        if (closed.verdict === 'restricted' && closed.allowedSources.length > 0 && commands.length > 0) {
          commands.unshift(`# ${familyName(other)} lets in only ${closed.allowedSources.join(', ')}: to let the same clients in over ${familyName(family)}, put an accept for their ${familyName(family)} prefix in front of the drop below`);
        }
        commands.push(persistHint(open.by ?? closer ?? { backend: 'nftables' }, family));
        return finding(this, {
          subject: subjectOf(service),
          message: `${subjectOf(service)} (${service.process ?? 'unknown process'}) is ${closed.verdict} for ${familyName(other)} but accepted for ${familyName(family)} from anywhere: the ${familyName(other)} policy was never written for ${familyName(family)}.`,
          evidence: [`${familyName(other)}: ${verdictText(closed)}`, `${familyName(family)}: ${verdictText(open)}`, `interfaces: ${open.interfaces.join(', ')}`],
          fix: { summary: `Filter ${familyName(family)} on ${subjectOf(service)} as ${familyName(other)} is: drop it in front of the rule that accepts it.`, commands },
        });
      });
    },
  });
}

function blockedRule(family: Family): Rule {
  const other: Family = family === 4 ? 6 : 4;
  return defineRule({
    id: `firewall-ipv${family}-blocked`,
    title: `A service accepted for ${familyName(other)} is dropped for ${familyName(family)} by the firewall although it listens for ${familyName(family)} clients.`,
    severity: 'warning',
    profile: 'default',
    docs: `The service listens for ${familyName(family)}, the socket table says ${familyName(family)} clients reach it, and the host firewall drops them (a default-drop ${family === 6 ? 'ip6tables or ip6 table' : 'iptables or ip table'} nobody opened, a rule written for one family only): every ${familyName(family)} client times out${family === 6 ? ', and clients that try IPv6 first (RFC 8305) wait before falling back' : ''}. The fix accepts the port for ${familyName(family)} in front of the rule or policy that drops it, in the same tool.`,
    sources: [NFT_MAN, IPTABLES_MAN, 'RFC 8305 (Happy Eyeballs)', 'docs/firewall.md'],
    check(facts) {
      return asymmetries(facts, `ipv${family}-blocked`).map(({ service, open, closed }) => {
        const commands = closed.by ? placeRule(closed.by, family, service, 'accept') : [];
        commands.push(persistHint(closed.by ?? { backend: 'nftables' }, family));
        return finding(this, {
          subject: subjectOf(service),
          message: `${subjectOf(service)} (${service.process ?? 'unknown process'}) is accepted for ${familyName(other)} but dropped for ${familyName(family)} (${refText(closed.by)}): ${familyName(family)} clients time out.`,
          evidence: [`${familyName(other)}: ${verdictText(open)}`, `${familyName(family)}: ${verdictText(closed)}`, `interfaces: ${closed.interfaces.join(', ')}`],
          fix: { summary: `Accept ${familyName(family)} on ${subjectOf(service)} in front of the rule that drops it.`, commands },
        });
      });
    },
  });
}

export const firewallIpv6Open = openRule(6);
export const firewallIpv4Open = openRule(4);
export const firewallIpv6Blocked = blockedRule(6);
export const firewallIpv4Blocked = blockedRule(4);

export const firewallIcmpv6Blocked = defineRule({
  id: 'firewall-icmpv6-blocked',
  title: 'The firewall drops ICMPv6 messages IPv6 cannot work without (neighbour discovery, packet too big).',
  severity: 'critical',
  profile: 'default',
  docs: 'IPv4 firewalls often drop ICMP; done to ICMPv6 it breaks IPv6 itself. Neighbour solicitations and advertisements are how IPv6 finds the link-layer address of a neighbour (ARP is IPv4 only): drop them and nothing on the link can talk to the host over IPv6. IPv6 routers never fragment, so a dropped packet-too-big makes path MTU discovery fail and large transfers stall. Conntrack leaves neighbour discovery untracked, so `ct state established,related accept` does not let it in. RFC 4890 lists the messages that must pass.',
  sources: [RFC4890, 'RFC 4861 (Neighbor Discovery)', 'RFC 8201 (Path MTU Discovery for IPv6)', NFT_MAN],
  check(facts) {
    const dropped = (facts.firewall?.icmpv6 ?? []).filter((d) => d.verdict === 'dropped');
    const byInterface = new Map<string, typeof dropped>();
    for (const d of dropped) byInterface.set(d.interface, [...(byInterface.get(d.interface) ?? []), d]);
    const out: Finding[] = [];
    for (const [iface, list] of byInterface) {
      const by = list[0]!.by;
      const types = list.map((d) => d.name);
      const commands: string[] = [];
      if (by?.backend === 'nftables') {
        const where = `${by.family} ${by.table} ${by.chain}`;
        const rule = `icmpv6 type { ${types.join(', ')} } accept`;
        commands.push(by.handle !== null ? `nft insert rule ${where} position ${by.handle} ${rule}` : `nft add rule ${where} ${rule}`);
      } else if (by) {
        const tool = ipTablesTool(by, 6);
        for (const d of list) commands.push(by.position !== null ? `${tool} -I ${by.chain} ${by.position} -p ipv6-icmp --icmpv6-type ${d.type} -j ACCEPT` : `${tool} -A ${by.chain} -p ipv6-icmp --icmpv6-type ${d.type} -j ACCEPT`);
      }
      if (by) commands.push(persistHint(by, 6));
      out.push(
        finding(this, {
          subject: iface,
          message: `The firewall drops ${types.join(', ')} arriving on ${iface}: ${list.map((d) => d.breaks).join('; ')}.`,
          evidence: list.map((d) => `ICMPv6 ${d.name} (type ${d.type}) on ${iface}: dropped by ${refText(d.by)}`),
          fix: { summary: `Accept the ICMPv6 messages IPv6 needs on ${iface} (RFC 4890), in front of the rule that drops them.`, commands },
        }),
      );
    }
    return out;
  },
});

export const firewallUnknown = defineRule({
  id: 'firewall-unknown',
  title: 'A firewall rule the evaluator cannot model decides whether a service is reachable.',
  severity: 'info',
  profile: 'default',
  docs: 'The evaluator models the matches and statements that decide most input chains (protocols, ports, addresses, interfaces, conntrack state, sets, verdict maps, jumps). A rule with anything else (marks, ipsets, iptables extensions such as recent or hashlimit, ...) in front of a service makes its verdict unknown: it is named here, never guessed.',
  sources: [NFT_MAN, IPTABLES_MAN, 'docs/firewall.md'],
  check(facts) {
    const out: Finding[] = [];
    for (const service of facts.services) {
      const unknown = (['ipv4', 'ipv6'] as const).filter((k) => service.firewall?.[k]?.verdict === 'unknown' && service.firewall[k]!.by !== null);
      if (unknown.length === 0) continue;
      const first = service.firewall![unknown[0]!]!;
      out.push(
        finding(this, {
          subject: subjectOf(service),
          message: `Whether ${subjectOf(service)} is reachable over ${unknown.map((k) => (k === 'ipv4' ? 'IPv4' : 'IPv6')).join(' and ')} depends on a rule the evaluator does not model: ${first.unmodelled}.`,
          evidence: unknown.map((k) => `${k === 'ipv4' ? 'IPv4' : 'IPv6'}: ${verdictText(service.firewall![k]!)}`),
          fix: {
            summary: 'Check this rule by hand, or test the port from a client of each family.',
            commands: [
              // nftables: by handle, since the text printed from the JSON is not always nft's
              // own (`counter packets N bytes M`, marks in hex), and it is the unmodelled rules
              // that print least alike.
              first.by!.backend === 'nftables'
                ? first.by!.handle !== null
                  ? `nft -a list chain ${first.by!.family} ${first.by!.table} ${first.by!.chain} | grep -E '# handle ${first.by!.handle}$'`
                  : `nft -a list ruleset | grep -n -F ${JSON.stringify(first.by!.text.slice(0, 40))}`
                : `${ipTablesTool(first.by!, first.by!.family === 'ip6' ? 6 : 4)}-save | grep -n -F -- ${JSON.stringify(first.by!.text.slice(0, 40))}`,
            ],
          },
        }),
      );
    }
    return out;
  },
});
