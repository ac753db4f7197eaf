// Endpoint rules: a published endpoint judged from outside, over the latest probe of every
// vantage point and the declared backends' own reports. Each rule gives at most one finding per
// endpoint (subject: the endpoint's name), so an alert keyed on rule and endpoint is stable.
// Pure: evaluated in the collector, the only place that sees every vantage point.
import ipaddr from 'ipaddr.js';
import type { Finding } from '../report.js';
import type { DnsAnswer, ProbeAttempt, TlsFacts } from '../probe.js';
import { finding, severityRank, unevaluated } from './rule.js';
import { defineEndpointRule, type BackendService, type EndpointFacts, type EndpointRule } from './endpoint-rule.js';
import { familyVerdicts, type EndpointAddressResult, type EndpointFamilyView, type EndpointVantageVerdict } from './endpoint-verdicts.js';

const RFC8305 = 'RFC 8305 (Happy Eyeballs version 2: clients try IPv6 first and fall back to IPv4 only after a delay)';
const RFC6555 = 'RFC 6555 (Happy Eyeballs: what a published but broken IPv6 path costs dual-stack clients)';
const RFC3596 = 'RFC 3596 (DNS extensions to support IPv6: the AAAA record)';
const RFC6724 = 'RFC 6724 (default address selection: which address of a name a client tries first)';
const RFC9110 = 'RFC 9110 section 15 (status codes) and section 10.2.2 (Location)';
const DNS_RCODES = 'RFC 1035 section 4.1.1 (RCODE: server failure, name error, refused) and RFC 2308 section 2.2 (NODATA)';
const SMTP_GREETING = 'RFC 5321 section 4.2 (the 220 greeting: the server name, then free text)';
const POP3_APOP = 'RFC 1939 section 7 (APOP: a timestamp unique to each connection in the POP3 greeting)';
const NGINX_LISTEN = 'nginx documentation, ngx_http_core_module: listen (a server block listens only on the addresses it names)';

type Family = 4 | 6;

const FAMILY: Record<Family, string> = { 4: 'IPv4', 6: 'IPv6' };
const RECORD: Record<Family, string> = { 4: 'A', 6: 'AAAA' };
const other = (family: Family): Family => (family === 4 ? 6 : 4);
const of = (v: EndpointVantageVerdict, family: Family): EndpointFamilyView => (family === 4 ? v.ipv4 : v.ipv6);
/** The family answers at this vantage point: every address or some. */
const answers = (f: EndpointFamilyView): boolean => f.verdict === 'works' || f.verdict === 'partial';
const unique = <T>(items: Iterable<T>): T[] => [...new Set(items)];
const portOf = (facts: EndpointFacts): string => `tcp/${facts.address.port}`;
/** "a", "a and b", "a, b and c". */
const andList = (items: readonly string[]): string => (items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`);
const bracket = (address: string, family: Family = address.includes(':') ? 6 : 4): string => (family === 6 ? `[${address}]` : address);

// ------------------------------------------------------------------ shared wording

const DNS_STATUS: Record<DnsAnswer['status'], string> = {
  ok: 'answered',
  nodata: 'no record (NODATA)',
  nxdomain: 'NXDOMAIN (the name does not exist)',
  servfail: 'SERVFAIL',
  refused: 'REFUSED',
  timeout: 'timeout',
  error: 'error',
  literal: 'address literal',
};

function dnsText(dns: DnsAnswer): string {
  if (dns.status === 'ok' && dns.addresses.length === 0 && dns.rejected.length > 0) return `only ${dns.rejected.map((r) => `${r.address} (${r.reason})`).join(', ')}`;
  return `${DNS_STATUS[dns.status]}${dns.status === 'error' && dns.error ? `: ${dns.error}` : ''}`;
}

/** "A and AAAA NXDOMAIN (…)" or "A timeout, AAAA SERVFAIL". */
function lookupsText(a: DnsAnswer, aaaa: DnsAnswer): string {
  const [ta, taaaa] = [dnsText(a), dnsText(aaaa)];
  return ta === taaaa ? `A and AAAA ${ta}` : `A ${ta}, AAAA ${taaaa}`;
}

/**
 * How an address fared: "refused", "HTTP 503", "loopback (not probed)"; `full` adds the error
 * code where the outcome already says it (evidence), messages stay short.
 */
function outcomeText(r: EndpointAddressResult, full = false): string {
  switch (r.outcome) {
    case 'rejected':
      return `${r.detail ?? 'rejected'} (not probed)`;
    case 'unexpected':
      return r.detail ?? 'unexpected answer';
    case 'tls-error':
      return r.detail ? `TLS error: ${r.detail}` : 'TLS error';
    case 'not-probed':
      return 'not probed';
    case 'error':
    case 'protocol-error':
      return r.detail ? `${r.outcome} (${r.detail})` : r.outcome;
    default:
      return full && r.detail ? `${r.outcome} (${r.detail})` : r.outcome;
  }
}

function familyText(f: EndpointFamilyView, literal: Family | null): string {
  const name = FAMILY[f.family];
  const chain = f.dns.cname.length ? ` via CNAME ${f.dns.cname.join(' -> ')}` : '';
  const truncated = f.dns.truncated ? ' (answer truncated: more addresses than probed)' : '';
  const list = f.addresses.map((r) => `${r.address} ${outcomeText(r, true)}`).join(', ');
  switch (f.verdict) {
    case 'unpublished':
      return literal !== null ? `${name} none (the URL names an ${FAMILY[literal]} address)` : `${name} ${RECORD[f.family]} ${dnsText(f.dns)}`;
    case 'unresolved':
      return `${name} ${RECORD[f.family]} lookup failed: ${dnsText(f.dns)}`;
    case 'untested':
      return `${name} not tested (no ${name} route here; ${RECORD[f.family]} ${f.addresses.map((r) => r.address).join(', ')}${chain})`;
    default:
      return `${name} ${list}${chain}${truncated} [${f.answering}/${f.total} answer]`;
  }
}

/** The evidence line of one vantage point: hostname, when, then both families. */
function vantageLine(v: EndpointVantageVerdict, facts: EndpointFacts): string {
  return `${v.hostname}, probed ${v.probedAt}: ${familyText(v.ipv4, facts.address.literal)}; ${familyText(v.ipv6, facts.address.literal)}`;
}

/** Evidence lines: the vantage points that saw the problem first, then the others. */
function vantageEvidence(facts: EndpointFacts, verdicts: EndpointVantageVerdict[], saw: (v: EndpointVantageVerdict) => boolean): string[] {
  return [...verdicts.filter(saw), ...verdicts.filter((v) => !saw(v))].map((v) => vantageLine(v, facts));
}

function backendLine(b: BackendService, port: string): string {
  const who = backendName(b);
  if (b.hostId === null && b.hostname === null) return `backend ${b.declared}: no host with this id or hostname has reported`;
  if (!b.found) return `backend ${who}: its latest report has no TCP service on ${port}`;
  const families = [b.ipv4 ? 'IPv4' : null, b.ipv6 ? 'IPv6' : null].filter(Boolean);
  return `backend ${who}: serves ${port} to ${families.length ? andList(families as string[]) : 'no outside'} clients (its latest report)`;
}

/** "refused from a, timeout/refused from b and c": the outcomes each vantage point saw, grouped. */
function outcomesByVantage(items: Array<{ hostname: string; results: EndpointAddressResult[] }>): string {
  const groups = new Map<string, string[]>();
  for (const { hostname, results } of items) {
    const key = unique(results.map((r) => outcomeText(r))).join('/');
    groups.set(key, [...(groups.get(key) ?? []), hostname]);
  }
  return [...groups].map(([outcome, hosts]) => `${outcome} from ${andList(hosts)}`).join(', ');
}

/**
 * A command that tries one address the way the probe did, from a machine with a route for its
 * family (given for a placeholder such as IPV6-ADDRESS).
 */
export function checkCommand(facts: EndpointFacts, address: string, family: Family = address.includes(':') ? 6 : 4): string {
  const { host, port, protocol, tls, literal } = facts.address;
  const target = `${bracket(address, family)}:${port}`;
  if (protocol === 'http') {
    const resolve = literal === null ? ` --resolve ${host}:${port}:${bracket(address, family)}` : '';
    return `curl -gsv -o /dev/null${resolve} '${facts.endpoint.url}'`;
  }
  if (tls) return `openssl s_client -connect ${target}${literal === null ? ` -servername ${host}` : ''} -brief </dev/null`;
  if (protocol === 'tcp') return `nc -vz -w 5 ${address} ${port}`;
  return `nc -v -w 5 ${address} ${port} </dev/null`;
}

/** Check commands for at most `limit` addresses, the rest counted. */
function checkCommands(facts: EndpointFacts, addresses: string[], limit = 3): string[] {
  const lines = addresses.slice(0, limit).map((a) => checkCommand(facts, a));
  if (addresses.length > limit) lines.push(`# and the same for the ${addresses.length - limit} other address(es)`);
  return lines;
}

/** The name that owns the A/AAAA records: the end of the CNAME chain, else the URL's host. */
function recordName(facts: EndpointFacts, dns: DnsAnswer[]): string {
  const chained = dns.find((d) => d.cname.length > 0);
  return chained ? chained.cname[chained.cname.length - 1]! : facts.address.host;
}

function recordOwner(facts: EndpointFacts, dns: DnsAnswer[]): string {
  const name = recordName(facts, dns);
  return name === facts.address.host ? name : `${name} (${facts.address.host} is a CNAME of it)`;
}

function listenerExample(facts: EndpointFacts, family: Family): string {
  const { port, tls, protocol } = facts.address;
  const nginx = family === 6 ? `listen [::]:${port}${tls ? ' ssl' : ''};` : `listen ${port}${tls ? ' ssl' : ''};`;
  const haproxy = family === 6 ? `bind [::]:${port}` : `bind 0.0.0.0:${port}`;
  return protocol === 'http'
    ? `# add the ${FAMILY[family]} listener: nginx "${nginx}" in the server block, haproxy "${haproxy}" in the frontend, or the ${FAMILY[family]} VIP on the load balancer`
    : `# add the ${FAMILY[family]} listener: the daemon's listen/bind setting, haproxy "${haproxy}" in the frontend, or the ${FAMILY[family]} VIP on the load balancer`;
}

const backendName = (b: BackendService): string => b.hostname ?? b.hostId ?? b.declared;
const servesFamily = (b: BackendService, family: Family): boolean => b.found && (family === 6 ? b.ipv6 : b.ipv4) === true;

/** The declared backends that serve the port over the family: the fault is in front of them. */
function servingHint(facts: EndpointFacts, family: Family): string[] {
  const serving = facts.backends.filter((b) => servesFamily(b, family));
  if (serving.length === 0) return [];
  const one = serving.length === 1;
  return [`# ${andList(serving.map(backendName))} serve${one ? 's' : ''} ${portOf(facts)} over ${FAMILY[family]} (latest report): the fault is in front of ${one ? 'it' : 'them'} (DNS, load balancer, firewall)`];
}

/** The declared backends without the family on the port: the ones to check. */
function lackingHint(facts: EndpointFacts, family: Family): string[] {
  const lacking = facts.backends.filter((b) => !servesFamily(b, family));
  if (lacking.length === 0) return [];
  return [
    `# check the backend${lacking.length === 1 ? '' : 's'} ${andList(lacking.map(backendName))}: no ${FAMILY[family]} service on ${portOf(facts)} in the latest report (a load balancer may forward to another port, which the collector cannot see)`,
  ];
}

// ------------------------------------------------------------------ endpoint-ipv6-broken / -ipv4-broken

function brokenFindings(rule: EndpointRule, facts: EndpointFacts, family: Family): Finding[] {
  const verdicts = familyVerdicts(facts);
  const broken = verdicts.filter((v) => of(v, family).verdict === 'broken');
  const otherWorks = verdicts.filter((v) => answers(of(v, other(family))));
  if (broken.length === 0 || otherWorks.length === 0) return [];
  const name = FAMILY[family];
  const port = portOf(facts);
  const results = broken.flatMap((v) => of(v, family).addresses.filter((r) => r.outcome !== 'not-probed'));
  const addresses = unique(results.map((r) => r.address));
  const probed = unique(results.filter((r) => r.outcome !== 'rejected').map((r) => r.address));
  const rejected = unique(results.filter((r) => r.outcome === 'rejected').map((r) => `${r.address} (${r.detail ?? 'rejected'})`));
  const outcomes = new Set(results.map((r) => r.outcome));
  const worksHere = verdicts.filter((v) => answers(of(v, family)));
  const published = facts.address.literal === null ? `${RECORD[family]} ${addresses.join(', ')} published` : `${addresses.join(', ')} named in the URL`;

  const seen = broken.map((v) => ({ hostname: v.hostname, results: of(v, family).addresses.filter((r) => r.outcome !== 'not-probed') }));
  let message = `${facts.endpoint.name}: ${published}, but no ${name} address answers on ${port} (${outcomesByVantage(seen)}) while ${FAMILY[other(family)]} answers from ${andList(otherWorks.map((v) => v.hostname))}`;
  if (worksHere.length) message += `; ${name} does answer from ${andList(worksHere.map((v) => v.hostname))}, so the failure depends on the network path`;

  const commands: string[] = [];
  if (probed.length) commands.push(`# from a machine with ${name} (e.g. ${broken[0]!.hostname}):`, ...checkCommands(facts, probed));
  if (outcomes.has('refused')) {
    commands.push(`# refused: nothing listens on ${andList(probed.map((a) => `${bracket(a)}:${facts.address.port}`))}; on the machine holding the address: ss -ltn 'sport = :${facts.address.port}'`, listenerExample(facts, family));
  }
  if (outcomes.has('timeout') || outcomes.has('unreachable')) {
    commands.push(
      `# timeout/unreachable: packets to ${port} over ${name} are dropped or not routed: open ${port} for ${name} in every firewall on the way (host: nft list ruleset; cloud security groups; the load balancer's ACL) and check the address is configured and routed`,
      ...probed.slice(0, 1).map((a) => `traceroute -${family} -T -p ${facts.address.port} ${a}`),
    );
  }
  if (outcomes.has('tls-error')) commands.push(`# TLS error: the ${name} listener has no or another TLS configuration: give it the certificate the ${FAMILY[other(family)]} listener uses`);
  if (outcomes.has('unexpected')) commands.push(`# unexpected answer: ${name} reaches another site, an error page or a certificate not valid for ${facts.endpoint.expect?.tlsName ?? facts.address.host}: point the ${name} listener at the same server block or backend pool as ${FAMILY[other(family)]}`);
  if (outcomes.has('reset') || outcomes.has('protocol-error') || outcomes.has('error')) commands.push(`# reset/protocol error: something other than the service answers over ${name} (another daemon on the port, a middlebox)`);
  if (rejected.length) commands.push(`# the ${RECORD[family]} record of ${recordOwner(facts, broken.map((v) => of(v, family).dns))} holds ${andList(rejected)}, which no client outside can use: replace it with the service's public ${name} address`);
  if (worksHere.length) commands.push(`# ${name} answers from ${andList(worksHere.map((v) => v.hostname))} but not from ${andList(broken.map((v) => v.hostname))}: compare the paths (a firewall or ACL admitting ${name} from some source networks only, a missing return route)`);
  commands.push(...servingHint(facts, family), ...lackingHint(facts, family));
  if (facts.address.literal === null) {
    commands.push(`# or withdraw the ${RECORD[family]} record${addresses.length > 1 ? 's' : ''} ${addresses.join(', ')} of ${recordOwner(facts, broken.map((v) => of(v, family).dns))} at its DNS provider until ${name} answers (the collector does not manage DNS)`);
  }

  const why =
    family === 6
      ? 'clients try IPv6 first and reach the service only after Happy Eyeballs falls back to IPv4, or not at all without it'
      : 'IPv4-only clients cannot reach the service at all';
  return [
    finding(rule, {
      subject: facts.endpoint.name,
      message,
      evidence: [...vantageEvidence(facts, verdicts, (v) => broken.includes(v)), ...facts.backends.map((b) => backendLine(b, port))],
      fix: {
        summary: `Make ${addresses.join(', ')} answer on ${port}${facts.address.literal === null ? `, or withdraw the ${RECORD[family]} record until ${addresses.length > 1 ? 'they do' : 'it does'}` : ''}: while it is published, ${why}.`,
        commands,
      },
    }),
  ];
}

const brokenDocs = (family: Family): string => {
  const [name, otherName, record] = [FAMILY[family], FAMILY[other(family)], RECORD[family]];
  return (
    `Raised when at least one vantage point with an ${name} route got ${name} addresses for the endpoint (${record} records) and none of them answered (outcome other than ok: refused, timeout, unreachable, reset, TLS error, an unexpected answer such as a certificate not valid for the name or an HTTP 5xx), while ${otherName} answered from at least one vantage point (the same or another). ` +
    `An ${record} answer pointing at loopback, link-local or another address the probe refuses to follow counts as not answering and is named. A vantage point without an ${name} route does not test ${name} and is never counted as broken; an endpoint down in both families raises neither broken rule (that is an outage, shown by the per-family verdicts). ` +
    `The evidence has one line per vantage point, those that saw the failure first, each with both families' addresses and outcomes and the time of the probe, plus the declared backends; when ${name} answers from another vantage point the message says the failure depends on the path. ` +
    (family === 6
      ? 'This is the worst dual-stack failure: clients prefer IPv6 (RFC 6724), so with AAAA published but IPv6 broken every IPv6-capable client waits for Happy Eyeballs to fall back, or fails.'
      : 'IPv4-only clients cannot reach the service at all; dual-stack clients, which try IPv6 first (RFC 6724), mostly do not notice.')
  );
};

export const endpointIpv6Broken = defineEndpointRule({
  id: 'endpoint-ipv6-broken',
  title: 'AAAA is published but no IPv6 address of the endpoint answers, while IPv4 does.',
  severity: 'critical',
  docs: brokenDocs(6),
  sources: [RFC8305, RFC6555, RFC6724, RFC3596],
  check(facts) {
    return brokenFindings(this, facts, 6);
  },
});

export const endpointIpv4Broken = defineEndpointRule({
  id: 'endpoint-ipv4-broken',
  title: 'An A record is published but no IPv4 address of the endpoint answers, while IPv6 does.',
  severity: 'critical',
  docs: brokenDocs(4),
  sources: [RFC8305, RFC6724],
  check(facts) {
    return brokenFindings(this, facts, 4);
  },
});

// ------------------------------------------------------------------ endpoint-down

export const endpointDown = defineEndpointRule({
  id: 'endpoint-down',
  title: 'The endpoint has addresses, but none answers over either family at any vantage point.',
  severity: 'critical',
  docs:
    'Raised when at least one vantage point probed addresses of the endpoint and no address of either family answered anywhere (every tested family broken): an outage rather than a dual-stack fault, which the two broken rules leave out on purpose (each needs the other family to answer). Families a vantage point has no route for, or that are unpublished, do not count; nor do answers holding only loopback or link-local addresses (endpoint-unresolvable). The evidence has one line per vantage point with both families\' addresses and outcomes; the fix gives a check command per family.',
  sources: [RFC8305],
  check(facts) {
    const verdicts = familyVerdicts(facts);
    const tested = verdicts.flatMap((v) => [v.ipv4, v.ipv6]).filter((f) => f.verdict === 'works' || f.verdict === 'partial' || f.verdict === 'broken');
    if (tested.length === 0 || tested.some(answers)) return [];
    const port = portOf(facts);
    const seen = verdicts
      .map((v) => ({ hostname: v.hostname, results: [v.ipv4, v.ipv6].filter((f) => f.verdict === 'broken').flatMap((f) => f.addresses.filter((r) => r.outcome !== 'not-probed')) }))
      .filter((x) => x.results.length > 0);
    const probed = unique(seen.flatMap((x) => x.results.filter((r) => r.outcome !== 'rejected').map((r) => r.address)));
    // Answers pointing only at loopback or link-local are endpoint-unresolvable's case.
    if (probed.length === 0) return [];
    const byFamily = ([4, 6] as const).map((family) => probed.filter((a) => (a.includes(':') ? 6 : 4) === family)).filter((list) => list.length > 0);
    return [
      finding(this, {
        subject: facts.endpoint.name,
        message: `${facts.endpoint.name}: no address answers on ${port} over either family: ${andList(probed)} (${outcomesByVantage(seen)})`,
        evidence: [...vantageEvidence(facts, verdicts, (v) => v.ipv4.verdict === 'broken' || v.ipv6.verdict === 'broken'), ...facts.backends.map((b) => backendLine(b, port))],
        fix: {
          summary: `Bring the service on ${port} back: nothing behind ${andList(probed)} answers from any vantage point.`,
          commands: byFamily.flatMap((list) => checkCommands(facts, list, 1)),
        },
      }),
    ];
  },
});

// ------------------------------------------------------------------ endpoint-unresolvable

export const endpointUnresolvable = defineEndpointRule({
  id: 'endpoint-unresolvable',
  title: 'The endpoint name gives no usable address, neither A nor AAAA, at any vantage point.',
  severity: 'critical',
  docs:
    'Raised when every vantage point that probed the endpoint got no address to connect to from either its A or its AAAA lookup: the name does not exist (NXDOMAIN), has neither record (NODATA), or the lookups failed (SERVFAIL, REFUSED, timeout), told apart per vantage point and record type in the message. Addresses the probe refuses to follow (loopback, link-local) do not count as an address and are named. One vantage point that got an address is enough for no finding (the others then show `unresolved`). Never raised for an endpoint whose URL is an address literal.',
  sources: [DNS_RCODES, RFC3596],
  check(facts) {
    if (facts.address.literal !== null || facts.views.length === 0) return [];
    const views = facts.views;
    const usable = views.some((v) => v.probe.dns.a.addresses.length > 0 || v.probe.dns.aaaa.addresses.length > 0);
    if (usable) return [];
    const statuses = new Set(views.flatMap((v) => [v.probe.dns.a.status, v.probe.dns.aaaa.status]));
    const rejected = unique(views.flatMap((v) => [...v.probe.dns.a.rejected, ...v.probe.dns.aaaa.rejected].map((r) => `${r.address} (${r.reason})`)));
    const perVantage = views.map((v) => `${v.vantage.hostname}: ${lookupsText(v.probe.dns.a, v.probe.dns.aaaa)}`);
    const host = facts.address.host;
    let message = `${facts.endpoint.name}: ${host} gives no address at any vantage point (${perVantage.join('; ')})`;
    if (rejected.length) message += `; it resolves only to ${andList(rejected)}, which the probe does not follow`;

    const commands = [`dig ${host} A`, `dig ${host} AAAA`];
    if (statuses.has('nxdomain')) commands.push(`# NXDOMAIN: ${host} does not exist in DNS: create its A and AAAA records, or correct the endpoint's url`);
    if (statuses.has('nodata')) commands.push(`# NODATA: ${host} exists but has neither an A nor an AAAA record: add them`);
    if (statuses.has('servfail')) commands.push(`# SERVFAIL: the authoritative servers of ${host} fail or DNSSEC validation fails: delv ${host} A shows why`);
    if (statuses.has('refused')) commands.push('# REFUSED: the resolver refuses the vantage point: allow its address in the resolver\'s access list (BIND allow-query/allow-recursion)');
    if (statuses.has('timeout') || statuses.has('error')) commands.push('# timeout/error: the vantage point\'s resolver does not answer: check /etc/resolv.conf there and that the resolver is reachable');
    if (rejected.length) commands.push(`# the records hold ${andList(rejected)}: publish the service's public addresses instead`);
    return [
      finding(this, {
        subject: facts.endpoint.name,
        message,
        evidence: facts.views.map((v) => {
          const { a, aaaa } = v.probe.dns;
          const chain = unique([...a.cname, ...aaaa.cname]);
          return `${v.vantage.hostname}, probed ${v.probe.probedAt}: A ${dnsText(a)} in ${a.durationMs} ms, AAAA ${dnsText(aaaa)} in ${aaaa.durationMs} ms${chain.length ? `, via CNAME ${chain.join(' -> ')}` : ''}`;
        }),
        fix: { summary: `Make ${host} resolve to the service's addresses (A and AAAA) from every vantage point: run the lookups there and fix what they show.`, commands },
      }),
    ];
  },
});

// ------------------------------------------------------------------ endpoint-no-aaaa

export const endpointNoAaaa = defineEndpointRule({
  id: 'endpoint-no-aaaa',
  title: 'The endpoint has no AAAA record although a declared backend serves its port over IPv6.',
  severity: 'warning',
  docs:
    'Raised when IPv4 answers from at least one vantage point, every vantage point\'s AAAA lookup says NODATA (a failed lookup is not taken as an answer: one SERVFAIL or timeout anywhere and the rule waits), and at least one declared backend serves the endpoint\'s port to IPv6 clients according to its own latest report. Without declared backends, or without one that serves IPv6, there is no finding: nothing then says the service could be dual-stack. The evidence names the backends and what their reports say. The fix cannot name the IPv6 address to publish (the collector does not see the load balancer or VIP in front): it says to give the front an IPv6 address and listener, check it, then publish the AAAA record at the end of the CNAME chain. Never raised for an endpoint whose URL is an address literal.',
  sources: [RFC3596, RFC8305],
  check(facts) {
    if (facts.address.literal !== null || facts.views.length === 0) return [];
    if (!facts.views.every((v) => v.probe.dns.aaaa.status === 'nodata')) return [];
    const verdicts = familyVerdicts(facts);
    const v4 = verdicts.filter((v) => answers(v.ipv4));
    const serving = facts.backends.filter((b) => b.found && b.ipv6 === true);
    if (v4.length === 0 || serving.length === 0) return [];
    const port = portOf(facts);
    const host = facts.address.host;
    const owner = recordOwner(facts, facts.views.map((v) => v.probe.dns.a));
    const ipv4 = unique(v4.flatMap((v) => v.ipv4.addresses.filter((r) => r.outcome === 'ok').map((r) => r.address)));
    const names = serving.map((b) => b.hostname ?? b.hostId ?? b.declared);
    return [
      finding(this, {
        subject: facts.endpoint.name,
        message: `${facts.endpoint.name}: ${host} has no AAAA record (NODATA from ${andList(facts.views.map((v) => v.vantage.hostname))}), so IPv6 clients cannot reach it, although ${andList(names)} serve${names.length === 1 ? 's' : ''} ${port} over IPv6 (latest report); IPv4 answers on ${andList(ipv4)}`,
        evidence: [...verdicts.map((v) => vantageLine(v, facts)), ...facts.backends.map((b) => backendLine(b, port))],
        fix: {
          summary: `Publish ${host} over IPv6: give whatever answers ${andList(ipv4)} (load balancer, VIP or server) an IPv6 address and a listener on ${port}, check it from an IPv6 vantage point, then add the AAAA record.`,
          commands: [
            `# 1. on the machine holding ${andList(ipv4)}: an IPv6 address, and a listener on [::]:${facts.address.port} (${andList(names)} already serve${names.length === 1 ? 's' : ''} IPv6 behind it)`,
            `# 2. check it before publishing (IPV6-ADDRESS: the address you gave it), from a machine with IPv6:`,
            `# ${checkCommand(facts, 'IPV6-ADDRESS', 6)}`,
            `# 3. publish it in the zone of ${owner}:`,
            `# ${recordName(facts, facts.views.map((v) => v.probe.dns.a))}. 300 IN AAAA IPV6-ADDRESS`,
          ],
        },
      }),
    ];
  },
});

// ------------------------------------------------------------------ endpoint-partial

export const endpointPartial = defineEndpointRule({
  id: 'endpoint-partial',
  title: 'Some addresses of a family answer and others do not, at the same vantage point.',
  severity: 'warning',
  docs:
    'Raised when, at a vantage point with a route for the family, at least one address of the family answers and at least one does not (one dead VIP or backend in a DNS round robin); an address the DNS answer points at loopback or link-local counts as not answering and is named. Both families go into the one finding. The client that picks the dead address waits for its connect timeout before trying the next (RFC 8305 staggers attempts, older clients wait the full timeout), and which one it picks follows address selection (RFC 6724), so a share of clients is hit. The collector does not know which backend is behind which address; the fix names the failing addresses and the declared backends whose reports lack the family.',
  sources: [RFC8305, RFC6724, RFC3596],
  check(facts) {
    const verdicts = familyVerdicts(facts);
    const parts: string[] = [];
    const failing: Array<[Family, string[]]> = [];
    for (const family of [6, 4] as const) {
      const seen = verdicts.filter((v) => of(v, family).verdict === 'partial');
      if (seen.length === 0) continue;
      const dead = new Map<string, Array<{ hostname: string; results: EndpointAddressResult[] }>>();
      const alive = new Set<string>();
      for (const v of seen) {
        for (const r of of(v, family).addresses) {
          if (r.outcome === 'ok') alive.add(r.address);
          else if (r.outcome !== 'not-probed') dead.set(r.address, [...(dead.get(r.address) ?? []), { hostname: v.hostname, results: [r] }]);
        }
      }
      parts.push(
        `${FAMILY[family]} ${[...dead].map(([address, items]) => `${address} (${outcomesByVantage(items)})`).join(', ')} do${dead.size === 1 ? 'es' : ''} not answer while ${andList([...alive])} do${alive.size === 1 ? 'es' : ''}`,
      );
      failing.push([family, [...dead.keys()]]);
    }
    if (parts.length === 0) return [];
    const port = portOf(facts);
    const commands: string[] = [];
    for (const [family, addresses] of failing) {
      const probed = addresses.filter((a) => verdicts.some((v) => of(v, family).addresses.some((r) => r.address === a && r.outcome !== 'rejected')));
      commands.push(...checkCommands(facts, probed));
      if (facts.address.literal === null) commands.push(`# or take ${andList(addresses)} out of the ${RECORD[family]} records of ${recordOwner(facts, verdicts.map((v) => of(v, family).dns))} until ${addresses.length === 1 ? 'it answers' : 'they answer'}`);
      commands.push(...lackingHint(facts, family));
    }
    return [
      finding(this, {
        subject: facts.endpoint.name,
        message: `${facts.endpoint.name}: not every address answers on ${port}: ${parts.join('; ')}`,
        evidence: [
          ...vantageEvidence(facts, verdicts, (v) => v.ipv4.verdict === 'partial' || v.ipv6.verdict === 'partial'),
          ...facts.backends.map((b) => backendLine(b, port)),
        ],
        fix: {
          summary: `Repair the machine behind each address that does not answer on ${port}, or withdraw that address from DNS: clients that pick it wait for a timeout or fail.`,
          commands,
        },
      }),
    ];
  },
});

// ------------------------------------------------------------------ endpoint-family-differs

/**
 * A banner with what legitimately varies per connection masked: dates and times (Sendmail,
 * Exim and Exchange put the time in the SMTP greeting), the APOP timestamp of a POP3 greeting,
 * and IP addresses (ProFTPD names the address it was reached on); white space collapsed.
 */
export function normaliseBanner(banner: string): string {
  return banner
    .replace(/<[^<>\s@]+@[^<>\s]+>/g, '<challenge>')
    .replace(/\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|\s?[+-]\d{2}:?\d{2})?/g, '<date>')
    .replace(/\b(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun),?\s+)?\d{1,2}\s+(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\s+\d{2,4}\s+\d{1,2}:\d{2}(?::\d{2})?(?:\s+(?:[+-]\d{4}|[A-Z]{1,5}))?(?:\s+\([A-Z]{1,5}\))?/g, '<date>')
    .replace(/\b\d{1,2}:\d{2}:\d{2}\b/g, '<time>')
    .replace(/[0-9a-f:.]*[:.][0-9a-f:.]*/gi, (token) => {
      const bare = token.replace(/\.+$/, '');
      const address = bare.includes(':') ? ipaddr.IPv6.isValid(bare) : ipaddr.IPv4.isValidFourPartDecimal(bare);
      return address ? `<address>${token.slice(bare.length)}` : token;
    })
    .replace(/\s+/g, ' ')
    .trim();
}

/** A Location resolved against the endpoint's URL, query and fragment dropped (per-request tokens). */
export function normaliseLocation(location: string | null, base: string): string {
  if (location === null) return 'none';
  try {
    const url = new URL(location, base);
    return `${url.origin}${url.pathname}`;
  } catch {
    return location;
  }
}

const certText = (tls: TlsFacts): string =>
  `${tls.subject ? `CN=${tls.subject}` : 'no CN'} issued by ${tls.issuer ?? 'unknown'}${tls.fingerprint256 ? ` sha256 ${tls.fingerprint256.slice(0, 23)}…` : ''}`;

interface Aspect {
  label: string;
  /** What is compared at one vantage point; null when the attempt has nothing of it. */
  same: (a: ProbeAttempt) => string | null;
  /** What is compared across vantage points, whose probes ran at other times. */
  across: (a: ProbeAttempt) => string | null;
  show: (a: ProbeAttempt) => string;
}

function aspects(facts: EndpointFacts): Aspect[] {
  const base = facts.endpoint.url;
  // A certificate renewed between two vantage points' probes has a new fingerprint but the same subject, names and issuer.
  const certId = (a: ProbeAttempt) => (a.tls ? [a.tls.subject, [...a.tls.san].sort().join(','), a.tls.issuer].join('|') : null);
  const status = (a: ProbeAttempt) => (a.http ? String(a.http.status) : null);
  const location = (a: ProbeAttempt) => (a.http ? normaliseLocation(a.http.location, base) : null);
  const banner = (a: ProbeAttempt) => (a.banner !== undefined ? normaliseBanner(a.banner) : null);
  return [
    { label: 'certificate', same: (a) => a.tls?.fingerprint256 ?? null, across: certId, show: (a) => (a.tls ? certText(a.tls) : 'none') },
    { label: 'HTTP status', same: status, across: status, show: (a) => String(a.http?.status ?? 'none') },
    { label: 'redirect', same: location, across: location, show: (a) => a.http?.location ?? 'none' },
    { label: 'banner', same: banner, across: banner, show: (a) => JSON.stringify(a.banner ?? '') },
  ];
}

/** One vantage point's answering attempts (outcome ok) of each family; none for a family it has no route for. */
interface Answered {
  verdict: EndpointVantageVerdict;
  4: ProbeAttempt[];
  6: ProbeAttempt[];
}

function answered(facts: EndpointFacts, verdicts: EndpointVantageVerdict[]): Answered[] {
  const pick = (i: number, family: Family) =>
    of(verdicts[i]!, family).verdict === 'untested' ? [] : facts.views[i]!.probe.attempts.filter((a) => a.family === family && a.outcome === 'ok');
  return verdicts.map((verdict, i) => ({ verdict, 4: pick(i, 4), 6: pick(i, 6) }));
}

/** A family differs in an aspect when none of its values is seen on the other family. */
function disjoint(a4: ProbeAttempt[], a6: ProbeAttempt[], key: (a: ProbeAttempt) => string | null): boolean {
  const v4 = new Set(a4.map(key).filter((k): k is string => k !== null));
  const v6 = new Set(a6.map(key).filter((k): k is string => k !== null));
  return v4.size > 0 && v6.size > 0 && ![...v4].some((k) => v6.has(k));
}

const showValues = (attempts: ProbeAttempt[], aspect: Aspect): string => unique(attempts.map(aspect.show)).join(' / ');

/** The evidence line of a vantage point that answered: per family and address, what each aspect showed. */
function answeredLine(x: Answered, list: Aspect[]): string {
  const family = (f: Family) =>
    x[f].length ? `${FAMILY[f]} ${x[f].map((a) => `${a.address} ${list.filter((aspect) => aspect.same(a) !== null).map((aspect) => `${aspect.label} ${aspect.show(a)}`).join(', ')}`).join('; ')}` : `${FAMILY[f]} no answer`;
  return `${x.verdict.hostname}, probed ${x.verdict.probedAt}: ${family(4)} | ${family(6)}`;
}

export const endpointFamilyDiffers = defineEndpointRule({
  id: 'endpoint-family-differs',
  title: 'IPv4 and IPv6 answer differently: another certificate, HTTP status, redirect or banner.',
  severity: 'warning',
  docs:
    "Compares the answering attempts (outcome ok) of the two families: the certificate, the HTTP status, the redirect target (Location) and the protocol banner. First at each vantage point that reached both families (certificates by SHA-256 fingerprint), then over all vantage points together (certificates by subject, names and issuer, because the probes ran at other times and a renewal in between changes the fingerprint). A family differs in an aspect when none of its values is seen on the other family: servers of a round robin may each have their own certificate, and one of them reachable over one family only is no per-family configuration. What legitimately varies is normalised first: a Location is resolved against the endpoint's URL and its query and fragment dropped (per-request tokens); in a banner, dates and times (Sendmail, Exim and Exchange greet with the time), the POP3 APOP timestamp and IP addresses (ProFTPD greets with the address it was reached on; a four-part version such as Sendmail's 8.17.1.9 reads as one and is masked too) are masked and white space collapsed. The usual cause is a middlebox or virtual host configured per family: in nginx a server block with `listen 443 ssl;` but no `listen [::]:443 ssl;` leaves IPv6 requests to another server block (its certificate, its site). The collector cannot tell which answer is the intended one; `expect` (status, tlsName) on the endpoint makes a wrong answer fail, and then the broken or partial rules apply. The evidence has one line per vantage point involved, with each answering address's certificate, status, redirect and banner.",
  sources: [RFC9110, SMTP_GREETING, POP3_APOP, NGINX_LISTEN],
  check(facts) {
    const all = answered(facts, familyVerdicts(facts));
    const list = aspects(facts);
    const differences: string[] = [];
    const involved = new Set<Answered>();
    for (const aspect of list) {
      const here = all.filter((x) => disjoint(x[4], x[6], aspect.same));
      for (const x of here) {
        differences.push(`${aspect.label} ${showValues(x[4], aspect)} over IPv4, ${showValues(x[6], aspect)} over IPv6 (at ${x.verdict.hostname})`);
        involved.add(x);
      }
      if (here.length) continue;
      const by4 = all.filter((x) => x[4].length);
      const by6 = all.filter((x) => x[6].length);
      const [a4, a6] = [by4.flatMap((x) => x[4]), by6.flatMap((x) => x[6])];
      if (!disjoint(a4, a6, aspect.across)) continue;
      differences.push(`${aspect.label} ${showValues(a4, aspect)} over IPv4 (from ${andList(by4.map((x) => x.verdict.hostname))}), ${showValues(a6, aspect)} over IPv6 (from ${andList(by6.map((x) => x.verdict.hostname))})`);
      for (const x of [...by4, ...by6]) involved.add(x);
    }
    if (differences.length === 0) return [];
    const port = portOf(facts);
    const { host, port: portNumber, tls, protocol } = facts.address;
    const shown = all.filter((x) => involved.has(x));
    const commands = [
      '# compare the two answers, each from a machine with that family:',
      checkCommand(facts, shown.find((x) => x[4].length)![4][0]!.address),
      checkCommand(facts, shown.find((x) => x[6].length)![6][0]!.address),
    ];
    if (protocol === 'http') {
      commands.push(`# nginx: the server block of ${host} needs both "listen ${portNumber}${tls ? ' ssl' : ''};" and "listen [::]:${portNumber}${tls ? ' ssl' : ''};", or one family lands in another server block`);
    }
    commands.push(
      `# load balancer, CDN or proxy: give the IPv4 and IPv6 listeners (VIPs) of ${port} the same certificate, backend pool, redirects and daemon`,
      "# then declare the intended answer in the endpoint's expect (status, tlsName), so that a wrong one fails",
    );
    return [
      finding(this, {
        subject: facts.endpoint.name,
        message: `${facts.endpoint.name}: IPv4 and IPv6 answer differently on ${port}: ${differences.join('; ')}`,
        evidence: shown.map((x) => answeredLine(x, list)),
        fix: {
          summary: `Serve both families the same on ${port}: something in front (a load balancer, CDN, proxy or virtual host) is configured per family. The collector cannot tell which answer is the intended one.`,
          commands,
        },
      }),
    ];
  },
});

// ------------------------------------------------------------------ the list

/** Every endpoint rule, in the order findings of the same severity are listed (docs/rules.md follows it). */
export const endpointRules: EndpointRule[] = [endpointDown, endpointIpv6Broken, endpointIpv4Broken, endpointNoAaaa, endpointFamilyDiffers, endpointPartial, endpointUnresolvable];

const endpointOrder = new Map(endpointRules.map((rule, index) => [rule.id, index]));

/**
 * Every endpoint rule over one endpoint's facts, most severe first, then in list order (as
 * compareFindings orders host findings). A rule that throws yields one finding saying so.
 */
export function evaluateEndpoint(facts: EndpointFacts): Finding[] {
  const findings: Finding[] = [];
  for (const rule of endpointRules) {
    try {
      findings.push(...rule.check(facts));
    } catch (error) {
      findings.push(unevaluated(rule, facts.endpoint.name, error, `Report this with the endpoint's latest probe results (GET /api/v1/endpoints/${facts.endpoint.name}).`));
    }
  }
  return findings.sort((a, b) => severityRank[a.severity] - severityRank[b.severity] || (endpointOrder.get(a.rule) ?? 0) - (endpointOrder.get(b.rule) ?? 0));
}
