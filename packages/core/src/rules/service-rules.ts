// Service rules: which family's clients can reach each listening service, and the traps of
// serving IPv4 on an IPv6 socket (the socket table in docs/linux-facts.md#which-clients-reach-which-socket,
// from the JANOG 23 report).
import { socketUnitKnowledge } from '../knowledge/socket-units/drop-in.js';
import { daemonForProcess, genericFix, type DaemonFix, type DaemonKnowledge, type FixContext } from '../knowledge/daemons/index.js';
import type { Binding, Family, Finding, HostAddress, Reach, Service } from '../report.js';
import { defineRule, finding, type Rule, type RuleFacts } from './rule.js';
import { interfaceSysctls, kernelHasIpv6, reachability, sourceStatus, usableGlobalAddresses, viaClause } from './facts.js';

const IP_SYSCTL = 'https://docs.kernel.org/networking/ip-sysctl.html';
const IPV6_MAN = 'ipv6(7): IPV6_V6ONLY';
const RFC3493 = 'RFC 3493 section 5.3 (IPV6_V6ONLY, off by default)';
const MAPPED_HARMFUL = 'draft-cmetz-v6ops-v4mapped-api-harmful (ACLs written for IPv4 do not match ::ffff: peers)';
const KNOWLEDGE = 'dualstack knowledge base (packages/core/src/knowledge/daemons/) and the sources of each daemon entry';

// --- shared wording and facts ---------------------------------------------------------------

const familyName = (family: Family): string => (family === 4 ? 'IPv4' : 'IPv6');
const otherFamily = (family: Family): Family => (family === 4 ? 6 : 4);
const isOutside = (reach: Reach): boolean => reach === 'any' || reach === 'addresses';
const reachOf = (service: Service, family: Family): Reach => (family === 4 ? service.ipv4 : service.ipv6);

const subjectOf = (service: Service): string => `${service.proto}/${service.port}`;

function processLabel(service: Service): string {
  const name = service.process ?? 'an unidentified process';
  return `${name}${service.pid !== null ? `[${service.pid}]` : ''}${service.unit ? `, ${service.unit}` : ''}`;
}

/** `0.0.0.0`, `[::] v6only=1`, `[::] v6only=0 (inferred)`: how the socket table prints a binding. */
export function bindingText(binding: Binding): string {
  if (binding.family === 4) return binding.address;
  const flag = binding.v6only === null ? 'v6only=?' : `v6only=${binding.v6only ? 1 : 0}`;
  const how = binding.v6onlySource === 'sock_diag' ? '' : ` (${binding.v6onlySource})`;
  return `[${binding.address}] ${flag}${how}`;
}

const bindingsText = (service: Service): string => service.bindings.map(bindingText).join(', ');

/** What a client of a family sees when nothing listens on the port for it. */
function refusal(service: Service): string {
  return service.proto === 'tcp' ? '"connection refused"' : 'ICMP port unreachable (no answer)';
}

/**
 * The socket table of that protocol and family failed to read: a service that looks
 * single-family may have sockets we never saw, so no rule claims the family is missing.
 */
function socketTableFailed(facts: RuleFacts, proto: Service['proto'], family: Family): boolean {
  return sourceStatus(facts, `${proto}${family === 6 ? '6' : ''}`) === 'failed';
}

/**
 * Another process serves the same port for that family (services are grouped by owning
 * process: two programs, or a proxy beside a daemon, can split one port between families).
 */
function portServedElsewhere(facts: RuleFacts, service: Service, family: Family, reaches: (reach: Reach) => boolean): Service | undefined {
  return facts.services.find((s) => s !== service && s.proto === service.proto && s.port === service.port && reaches(reachOf(s, family)));
}

/** Stable addresses first: a privacy (temporary) address is a poor thing to bind or publish. */
function preferStable(addresses: HostAddress[]): string[] {
  return [...addresses].sort((a, b) => Number(a.flags.includes('temporary')) - Number(b.flags.includes('temporary'))).map((a) => a.address);
}

/**
 * The knowledge that fixes a service: its socket unit's when PID 1 holds its sockets (the unit
 * decides them, whatever the daemon's own configuration says), else the daemon's by process name.
 */
export function daemonForService(service: Service): DaemonKnowledge | null {
  return service.socketUnit ? socketUnitKnowledge(service.socketUnit) : daemonForProcess(service.process);
}

export function fixContext(facts: RuleFacts, service: Service): FixContext {
  return {
    proto: service.proto,
    port: service.port,
    ipv4Addresses: preferStable(usableGlobalAddresses(facts, 4)),
    ipv6Addresses: preferStable(usableGlobalAddresses(facts, 6)),
    unit: service.unit,
  };
}

const PLACEHOLDER = /\{[^\s{}]+\}/g;

/**
 * Knowledge-base fixes write `{unit}` or `{ipv6-address}` where the host did not tell: such a
 * line must not look runnable, so it becomes a comment saying what to fill in.
 */
export function guardPlaceholders(commands: string[]): string[] {
  return commands.map((command) => {
    const trimmed = command.trimStart();
    if (trimmed.startsWith('#') || trimmed.startsWith('//')) return command;
    const found = command.match(PLACEHOLDER);
    if (!found) return command;
    return `# ${command}   (replace ${[...new Set(found)].join(', ')}: not known on this host)`;
  });
}

function ssCheck(service: Service, expect: string): string {
  return `ss -Hl${service.proto === 'tcp' ? 't' : 'u'}ne 'sport = :${service.port}'   # expect: ${expect}`;
}

function uncertainV6only(service: Service): Binding[] {
  return service.bindings.filter((b) => b.v6onlySource === 'inferred' || b.v6onlySource === 'unknown');
}

function knowledgeEvidence(facts: RuleFacts, daemon: DaemonKnowledge | null, service: Service): string {
  return daemon
    ? `${daemon.displayName} (${daemon.configFile}): ${daemon.defaultListening}`
    : `process ${service.process === null ? `unknown (${unknownProcessReason(facts)})` : `"${service.process}"`} is not in the knowledge base: generic fix`;
}

/**
 * Why a listening socket has no process, in the owners source's own words: the agent lacks
 * privileges only when that source says so; as root the cause is a security module refusing
 * ptrace, or a holder outside the agent's PID namespace (or a kernel socket).
 */
export function unknownProcessReason(facts: RuleFacts): string {
  const owners = facts.sources.find((s) => s.name === 'owners');
  if (!owners) return 'the owners source did not run';
  if (owners.status === 'failed') return `the owners source failed: ${owners.error ?? 'no reason given'}`;
  if (owners.detail) return owners.detail;
  return 'no process visible to the agent holds the socket: a process in another PID namespace, or a socket of the kernel itself';
}

// --- service-ipv4-only / service-ipv6-only ----------------------------------------------------

/** The host finding that says why the host itself cannot route a family, if it fires. */
const UNROUTABLE_RULE: Record<Family, string> = { 4: 'ipv4-unroutable', 6: 'ipv6-unroutable' };

/**
 * Services reachable from outside over `served` only, on a host that has a usable address
 * (global or unique-local) of the other family. Raised even when the host cannot route that
 * family yet: clients on its own link and on routed internal networks are refused today, and
 * one scan should give the whole to-do list (the evidence points at the host finding).
 */
function singleFamilyFindings(rule: Pick<Rule, 'id' | 'severity'>, facts: RuleFacts, served: Family): Finding[] {
  const missing = otherFamily(served);
  const addresses = usableGlobalAddresses(facts, missing);
  // Without a usable address of the other family, adding that family to one service would
  // not help: ipv6-no-global-address / ipv6-disabled report that cause instead.
  if (addresses.length === 0) return [];
  const answer = reachability(facts, missing);
  const routing =
    answer?.reachable === true
      ? `${familyName(missing)} is routed: the kernel reached ${answer.target}${answer.route ? ` ${viaClause(answer.route.gateway ?? 'on-link', answer.route.interface)}` : ''}`
      : answer?.reachable === false
        ? `the host itself cannot route ${familyName(missing)} beyond its networks yet (${answer.error ?? 'unreachable'} for ${answer.target}: see ${UNROUTABLE_RULE[missing]}); clients on its link and routed internal networks are refused now`
        : `whether the host routes ${familyName(missing)} is unknown (the reachability probe gave no answer)`;
  const mode = served === 4 ? 'ipv4-only' : 'ipv6-only';
  const out: Finding[] = [];
  for (const service of facts.services) {
    if (service.mode !== mode) continue;
    if (socketTableFailed(facts, service.proto, missing)) continue;
    if (portServedElsewhere(facts, service, missing, isOutside)) continue;
    const ctx = fixContext(facts, service);
    const daemon = daemonForService(service);
    const fix: DaemonFix = daemon
      ? served === 4
        ? daemon.addIpv6(ctx)
        : daemon.addIpv4(ctx)
      : genericFix(served === 4 ? 'add-ipv6' : 'add-ipv4', ctx);
    const shown = addresses.slice(0, 3).map((a) => a.address);
    const where = reachOf(service, served) === 'any' ? `all ${familyName(served)} addresses` : `${familyName(served)} address(es) only`;
    const evidence = [
      `listening: ${bindingsText(service)} (${where})`,
      `${familyName(missing)} addresses of this host: ${addresses.map((a) => `${a.address}/${a.prefixLength} ${a.interface}`).join(', ')}`,
      routing,
      knowledgeEvidence(facts, daemon, service),
    ];
    const uncertain = uncertainV6only(service);
    if (uncertain.length > 0) evidence.push(`V6ONLY of ${uncertain.map(bindingText).join(', ')} was not read from the kernel (see service-v6only-unknown): the IPv4 verdict may be wrong`);
    if (service.connections.ipv4 + service.connections.ipv6 + service.connections.mapped > 0) {
      evidence.push(`connected now: ${service.connections.ipv4} IPv4, ${service.connections.ipv6} IPv6, ${service.connections.mapped} IPv4-mapped`);
    }
    out.push(
      finding(rule, {
        subject: subjectOf(service),
        message: `${subjectOf(service)} (${processLabel(service)}) is reachable over ${familyName(served)} only (${bindingsText(service)}): ${familyName(missing)} clients of ${shown.join(', ')} get ${refusal(service)}.`,
        evidence,
        fix: { summary: daemon ? `${daemon.displayName}: ${fix.summary}` : fix.summary, commands: guardPlaceholders(fix.commands) },
      }),
    );
  }
  return out;
}

const SINGLE_FAMILY_DOCS =
  ' Raised when the host has a usable address of the missing family (global or unique-local; not tentative, deprecated or DAD-failed), also when the host cannot route that family beyond its own networks yet: clients on its link and on routed internal networks are refused now, and the evidence then points at ipv4-unroutable / ipv6-unroutable. Without such an address, the host, not the service, is what to fix. Not raised when another process serves the same port for the missing family, or when the socket table of the missing family failed to read. The fix comes from the knowledge base by process name; unknown programs get a plain explanation of the socket table.';

export const serviceIpv4Only = defineRule({
  id: 'service-ipv4-only',
  title: 'A service is reachable from outside over IPv4 only although the host has working IPv6.',
  severity: 'warning',
  profile: 'default',
  docs:
    'Daemons differ in whether they listen on IPv6 by default (Postfix up to 2.8, sendmail, BIND with -4, Java with preferIPv4Stack, anything bound to 0.0.0.0). A host with a global IPv6 address, often published in DNS as AAAA, then refuses IPv6 clients on that port, and clients that try IPv6 first must fall back or fail.' +
    SINGLE_FAMILY_DOCS,
  sources: [KNOWLEDGE, 'RFC 6555 / RFC 8305 (Happy Eyeballs: clients try IPv6 first)', IPV6_MAN],
  check(facts) {
    return singleFamilyFindings(this, facts, 4);
  },
});

export const serviceIpv6Only = defineRule({
  id: 'service-ipv6-only',
  title: 'A service is reachable from outside over IPv6 only although the host has working IPv4.',
  severity: 'warning',
  profile: 'default',
  docs:
    'A service bound to a specific IPv6 address, or to :: with IPV6_V6ONLY=1 and no 0.0.0.0 socket beside it (set by the program, or by net.ipv6.bindv6only=1 for programs that do not choose), takes no IPv4 clients although the host has IPv4.' +
    SINGLE_FAMILY_DOCS,
  sources: [KNOWLEDGE, IPV6_MAN, IP_SYSCTL],
  check(facts) {
    return singleFamilyFindings(this, facts, 6);
  },
});

// --- service-loopback-v4-only -------------------------------------------------------------------

const isIpv4Loopback1 = (b: Binding): boolean => b.address === '127.0.0.1' || b.address === '::ffff:127.0.0.1';
const isIpv6Loopback1 = (b: Binding): boolean => b.family === 6 && b.address === '::1';

/**
 * The lines that make a known daemon listen on both 127.0.0.1 and ::1. Kept here rather than
 * in the knowledge base because only this rule needs them; they follow the same sources
 * (docs/daemon-defaults.md#loopback-on-both-families, Debian 12 defaults: Redis "bind 127.0.0.1 -::1",
 * exim "127.0.0.1 ; ::1").
 */
function loopbackFix(daemon: DaemonKnowledge, missing: Family, ctx: FixContext): DaemonFix | null {
  const port = ctx.port;
  const addr = missing === 6 ? '::1' : '127.0.0.1';
  const restart = (fallback: string, verb = 'restart') => `systemctl ${verb} ${ctx.unit ? ctx.unit.replace(/\.service$/, '') : fallback}`;
  const check = `ss -Hl${ctx.proto === 'tcp' ? 't' : 'u'}ne 'sport = :${port}'   # expect: 127.0.0.1 and [::1]`;
  const make = (summary: string, lines: string[], restartLine: string): DaemonFix => ({ summary, commands: [...lines, restartLine, check] });
  switch (daemon.id) {
    case 'sshd':
      return make(
        `Add ListenAddress ${addr} beside the existing one; sshd rebinds on reload.`,
        ['# /etc/ssh/sshd_config (AddressFamily must be any), beside the existing ListenAddress:', port === 22 ? `ListenAddress ${addr}` : `ListenAddress ${missing === 6 ? `[::1]:${port}` : `127.0.0.1:${port}`}`],
        `sshd -t && ${restart('ssh', 'reload')}   # RHEL: systemctl reload sshd`,
      );
    case 'nginx':
      return make(
        `Add a listen line for ${addr} next to the existing loopback one in the same server blocks.`,
        [`# in each server block that listens on ${missing === 6 ? '127.0.0.1' : '[::1]'}:${port}:`, `listen ${missing === 6 ? '[::1]' : '127.0.0.1'}:${port}${ctx.proto === 'udp' ? ' udp' : ''};`],
        `nginx -t && ${restart('nginx', 'reload')}`,
      );
    case 'apache':
      return make(`Add a Listen line for ${addr}; Listen changes need a restart.`, ['# ports.conf / httpd.conf:', `Listen ${missing === 6 ? '[::1]' : '127.0.0.1'}:${port}`], `apachectl configtest && ${restart('apache2')}   # RHEL: systemctl restart httpd`);
    case 'named':
      return make(
        `Let named listen on ${addr} as well.`,
        ['# named.conf options { }:', missing === 6 ? `listen-on-v6 port ${port} { ::1; };` : `listen-on port ${port} { 127.0.0.1; };`],
        `named-checkconf && ${restart('named')}`,
      );
    case 'postfix':
      return make(
        'inet_interfaces = loopback-only means 127.0.0.1 and ::1 when inet_protocols includes IPv6; Postfix applies both only on a full restart.',
        ["postconf -e 'inet_interfaces = loopback-only' 'inet_protocols = all'"],
        `postfix check && ${restart('postfix')}`,
      );
    case 'sendmail':
      return make(
        `Add a DAEMON_OPTIONS line for ${addr} (Debian ships the inet6 one commented out).`,
        [
          '# /etc/mail/sendmail.mc, beside the existing DAEMON_OPTIONS line:',
          missing === 6 ? "DAEMON_OPTIONS(`Family=inet6, Name=MTA-v6, Port=" + port + ", Addr=::1')dnl" : "DAEMON_OPTIONS(`Family=inet, Name=MTA-v4, Port=" + port + ", Addr=127.0.0.1')dnl",
        ],
        `make -C /etc/mail && ${restart('sendmail')}   # Debian: sendmailconfig also rebuilds sendmail.cf`,
      );
    case 'dovecot':
      return make('List both loopback addresses in listen.', ['# /etc/dovecot/dovecot.conf:', 'listen = 127.0.0.1, ::1'], restart('dovecot'));
    case 'exim':
      return make(
        "List both loopback addresses (Debian's default).",
        ['# Debian, /etc/exim4/update-exim4.conf.conf:', "dc_local_interfaces='127.0.0.1 ; ::1'", '# other systems, exim.conf main section: local_interfaces = <; 127.0.0.1 ; ::1'],
        `update-exim4.conf && ${restart('exim4')}`,
      );
    case 'mysql':
      return make(
        'List both loopback addresses; address lists need MySQL 8.0.13+ or a MariaDB release with multi-address bind-address. bind-address is read at startup.',
        ['# [mysqld] section:', 'bind-address = 127.0.0.1,::1'],
        `${restart('mariadb')}   # MySQL: systemctl restart mysql (Debian) / mysqld (RHEL)`,
      );
    case 'postgres':
      return make(
        "List both loopback addresses (what the default 'localhost' gives when /etc/hosts maps it to both); pg_hba.conf needs a ::1/128 line too. listen_addresses is read at server start.",
        ['# postgresql.conf:', "listen_addresses = '127.0.0.1, ::1'", '# pg_hba.conf, beside the 127.0.0.1/32 lines:', 'host    all    all    ::1/128    scram-sha-256'],
        restart('postgresql'),
      );
    case 'redis':
      return make('Bind both loopback addresses (the Debian default; "-" skips ::1 where IPv6 is off).', ['# redis.conf:', 'bind 127.0.0.1 -::1'], `${restart('redis-server')}   # RHEL: systemctl restart redis`);
    case 'memcached':
      return make('Listen on both loopback addresses.', ['# /etc/memcached.conf (RHEL: OPTIONS= in /etc/sysconfig/memcached):', '-l 127.0.0.1,[::1]'], restart('memcached'));
    default:
      return null;
  }
}

function genericLoopbackFix(service: Service, missing: Family): DaemonFix {
  const addr = missing === 6 ? '::1' : '127.0.0.1';
  return {
    summary: `Make the program also listen on ${addr} (a second socket; a socket bound to ::1 is always IPv6-only, so both can exist), or point its local clients at ${missing === 6 ? '127.0.0.1' : '::1'} instead of the name localhost.`,
    commands: [ssCheck(service, '127.0.0.1 and [::1]'), 'getent ahosts localhost   # the order in which clients try the loopback addresses'],
  };
}

export const serviceLoopbackV4Only = defineRule({
  id: 'service-loopback-v4-only',
  title: 'A local-only service listens on 127.0.0.1 but not ::1 (or on ::1 but not 127.0.0.1).',
  severity: 'warning',
  profile: 'default',
  docs:
    'getaddrinfo("localhost") returns ::1 before 127.0.0.1 on hosts whose /etc/hosts maps localhost to both (RFC 6724 prefers ::1), and clients that try only the first answer (Node.js 17 and later keep the order of the resolver instead of putting IPv4 first) get "connection refused" from a service bound to 127.0.0.1 alone. The mirror case, ::1 without 127.0.0.1, refuses clients configured with 127.0.0.1 and hosts whose /etc/hosts has no ::1 line (common in containers). Raised only for services reachable on loopback alone, only for exactly 127.0.0.1 or ::1 (systemd-resolved on 127.0.0.53 is not about localhost), not when the kernel has no ::1 (IPv6 off, or disable_ipv6 on lo), and not when another process serves the missing loopback address on the same port.',
  sources: ['RFC 6724 (default address selection: ::1 before 127.0.0.1)', 'getaddrinfo(3), hosts(5)', 'nodejs/node#40702 (connect ECONNREFUSED ::1 since Node.js 17) and nodejs/node#39987 (dns results in resolver order)', KNOWLEDGE],
  check(facts) {
    const out: Finding[] = [];
    const hasIpv6Loopback = kernelHasIpv6(facts) && interfaceSysctls(facts, 'lo')?.raw.disable_ipv6 !== 1;
    for (const service of facts.services) {
      let missing: Family;
      if (service.ipv4 === 'loopback' && service.ipv6 === 'none' && service.bindings.some(isIpv4Loopback1)) missing = 6;
      else if (service.ipv4 === 'none' && service.ipv6 === 'loopback' && service.bindings.some(isIpv6Loopback1)) missing = 4;
      else continue;
      if (missing === 6 && !hasIpv6Loopback) continue;
      if (socketTableFailed(facts, service.proto, missing)) continue;
      if (portServedElsewhere(facts, service, missing, (reach) => reach !== 'none')) continue;
      const daemon = daemonForService(service);
      const fix = (daemon && loopbackFix(daemon, missing, fixContext(facts, service))) ?? genericLoopbackFix(service, missing);
      const absent = missing === 6 ? '::1' : '127.0.0.1';
      const message =
        missing === 6
          ? `${subjectOf(service)} (${processLabel(service)}) listens on 127.0.0.1 but not ::1: clients that resolve localhost to ::1 first get ${refusal(service)}.`
          : `${subjectOf(service)} (${processLabel(service)}) listens on ::1 but not 127.0.0.1: clients configured with 127.0.0.1, or whose localhost resolves to IPv4 only, get ${refusal(service)}.`;
      out.push(
        finding(this, {
          subject: subjectOf(service),
          message,
          evidence: [`listening: ${bindingsText(service)}`, `nothing on ${absent}:${service.port} (${service.proto})`, knowledgeEvidence(facts, daemon, service)],
          fix: { summary: daemon ? `${daemon.displayName}: ${fix.summary}` : fix.summary, commands: guardPlaceholders(fix.commands) },
        }),
      );
    }
    return out;
  },
});

// --- service-dual-mapped ------------------------------------------------------------------------

export const serviceDualMapped = defineRule({
  id: 'service-dual-mapped',
  title: 'A service takes IPv4 on its IPv6 socket, so IPv4 clients appear as ::ffff:a.b.c.d.',
  severity: 'info',
  profile: 'default',
  docs:
    'One :: socket with IPV6_V6ONLY=0 serves both families (RFC 3493 makes this the default): IPv4 clients arrive as IPv4-mapped addresses (::ffff:192.0.2.1). It works, but the same client now looks different to different programs: access lists, rate limits and log parsers written for 192.0.2.1 may not match, and real ACL bypasses have been reported. The finding names how the daemon matches and logs mapped peers, and how to give it two sockets where the daemon can.',
  sources: [RFC3493, MAPPED_HARMFUL, IPV6_MAN, KNOWLEDGE],
  check(facts) {
    const out: Finding[] = [];
    for (const service of facts.services) {
      if (service.mode !== 'dual-mapped') continue;
      const ctx = fixContext(facts, service);
      const daemon = daemonForService(service);
      const separate = daemon?.separateSockets?.(ctx) ?? null;
      const generic = genericFix('separate', ctx);
      let summary: string;
      let commands: string[];
      if (daemon && separate) {
        summary = `${daemon.displayName}: ${daemon.aclDirective} To take IPv4 on its own socket instead: ${separate.summary}`;
        commands = separate.commands;
      } else if (daemon) {
        summary = `${daemon.displayName}: ${daemon.aclDirective} It has no way to open separate sockets here (${daemon.defaultListening}), so write access rules that match the mapped form too.`;
        commands = generic.commands;
      } else {
        summary = generic.summary;
        commands = generic.commands;
      }
      const evidence = [`listening: ${bindingsText(service)}`, `net.ipv6.bindv6only = ${facts.sysctl.bindv6only ?? 'unknown'}`];
      if (service.connections.mapped > 0) evidence.push(`connected now: ${service.connections.mapped} IPv4-mapped, ${service.connections.ipv6} IPv6 (see service-mapped-clients)`);
      const uncertain = uncertainV6only(service);
      if (uncertain.length > 0) evidence.push(`V6ONLY=0 was inferred, not read from the kernel: ${uncertain.map(bindingText).join(', ')}`);
      evidence.push(knowledgeEvidence(facts, daemon, service));
      out.push(
        finding(this, {
          subject: subjectOf(service),
          message: `${subjectOf(service)} (${processLabel(service)}) serves IPv4 and IPv6 on one [::] socket with V6ONLY=0: IPv4 clients appear as ::ffff:a.b.c.d, which access lists and logs written for IPv4 may not match.`,
          evidence,
          fix: { summary, commands: guardPlaceholders(commands) },
        }),
      );
    }
    return out;
  },
});

// --- service-mapped-clients ---------------------------------------------------------------------

export const serviceMappedClients = defineRule({
  id: 'service-mapped-clients',
  title: 'IPv4 clients are connected to a service right now as IPv4-mapped addresses.',
  severity: 'info',
  profile: 'default',
  docs:
    'Counted from the established connections at scan time: peers ::ffff:a.b.c.d on an IPv6 socket are IPv4 clients. They show that the mapped path is in real use, so any access list or log pipeline that expects plain IPv4 is being exercised now; the count also separates real IPv6 use from IPv4 arriving over an IPv6 socket.',
  sources: [RFC3493, MAPPED_HARMFUL, 'ss(8): state filters'],
  check(facts) {
    return facts.services
      .filter((service) => service.connections.mapped > 0)
      .map((service) => {
        const c = service.connections;
        const daemon = daemonForService(service);
        const state = `ss -H${service.proto === 'tcp' ? 't' : 'u'}n state established '( sport = :${service.port} )' | grep -F '::ffff:'   # the mapped peers now`;
        return finding(this, {
          subject: subjectOf(service),
          message: `${c.mapped} IPv4 client connection(s) to ${subjectOf(service)} (${processLabel(service)}) arrive as ::ffff:a.b.c.d right now (besides ${c.ipv4} on IPv4 sockets and ${c.ipv6} over IPv6).`,
          evidence: [`connected now: ${c.ipv4} IPv4, ${c.ipv6} IPv6, ${c.mapped} IPv4-mapped`, `listening: ${bindingsText(service)}`],
          fix: {
            summary: daemon
              ? `${daemon.displayName}: ${daemon.aclDirective}`
              : 'Check that the access lists, rate limits and log parsers of this program match ::ffff:a.b.c.d as well as a.b.c.d, or give it separate IPv4 and IPv6 sockets (see service-dual-mapped).',
            commands: [state],
          },
        });
      });
  },
});

// --- service-v6only-unknown ---------------------------------------------------------------------

export const serviceV6onlyUnknown = defineRule({
  id: 'service-v6only-unknown',
  title: "The IPV6_V6ONLY flag of a service's :: socket could not be read, so its IPv4 verdict is a guess.",
  severity: 'info',
  profile: 'default',
  docs:
    "/proc does not show IPV6_V6ONLY; only sock_diag does (ss -e prints v6only:0|1). Without it the agent infers the flag from net.ipv6.bindv6only, the default for programs that do not choose. Programs that set the option themselves differ: Node.js always sets it (to 0 unless ipv6Only is true), sshd, nginx, PostgreSQL, Redis and memcached set it to 1. So a :: socket's IPv4 verdict may be wrong until ss can read it.",
  sources: [IPV6_MAN, IP_SYSCTL, 'ss(8): -e prints v6only', 'Node.js net: server.listen() ipv6Only (libuv sets IPV6_V6ONLY on every AF_INET6 bind)'],
  check(facts) {
    const sockdiag = facts.sources.find((s) => s.name === 'sockdiag');
    const bindv6only = facts.sysctl.bindv6only;
    const out: Finding[] = [];
    for (const service of facts.services) {
      const uncertain = uncertainV6only(service);
      if (uncertain.length === 0) continue;
      const daemon = daemonForService(service);
      const inferred = uncertain.every((b) => b.v6onlySource === 'inferred');
      const sockets = uncertain.map((b) => `[${b.address}]:${service.port}`).join(', ');
      const guess = inferred
        ? `it was inferred from net.ipv6.bindv6only=${bindv6only} as v6only=${bindv6only === 1 ? 1 : 0}, so the IPv4 verdict (${service.ipv4}) may be wrong: programs that set IPV6_V6ONLY themselves (Node.js always does) ignore bindv6only`
        : 'net.ipv6.bindv6only could not be read either, so the report claims no IPv4 for it';
      const evidence = [
        `sockdiag source: ${sockdiag ? `${sockdiag.status}${sockdiag.detail ? ` — ${sockdiag.detail}` : ''}${sockdiag.error ? ` — ${sockdiag.error}` : ''}` : 'not in the report'}`,
        `listening: ${bindingsText(service)}`,
        `net.ipv6.bindv6only = ${bindv6only ?? 'unknown'}`,
      ];
      if (daemon?.id === 'node') evidence.push('this is a Node.js process: libuv sets IPV6_V6ONLY on every IPv6 bind (0 unless ipv6Only: true), whatever bindv6only says');
      else if (daemon) evidence.push(`${daemon.displayName}: ${daemon.defaultListening}`);
      const read = ssCheck(service, 'v6only:0 (takes IPv4 as mapped) or v6only:1 (IPv6 only)');
      let fix: Finding['fix'];
      switch (sockdiag?.status) {
        case 'absent':
          fix = { summary: 'Install iproute2 so the agent can read V6ONLY from sock_diag with ss, then scan again.', commands: ['apt-get install iproute2   # RHEL: dnf install iproute', read] };
          break;
        case 'skipped':
          fix = {
            summary: 'This report was replayed from a capture without ss output: capture again on the host with iproute2 installed (the capture stores ss output as sockdiag.txt).',
            commands: ['# on the host: apt-get install iproute2 (RHEL: dnf install iproute), then dualstack-agent capture <dir>', read],
          };
          break;
        default:
          fix = {
            summary: 'ss could not read sock_diag: run the agent where NETLINK_SOCK_DIAG is allowed (not inside a sandbox or seccomp profile that blocks netlink sockets), with iproute2 (ss) installed.',
            commands: ['ss -Hlne -A inet   # must list the :: sockets with v6only:0|1', read],
          };
      }
      out.push(
        finding(this, {
          subject: subjectOf(service),
          message: `The V6ONLY flag of ${sockets} (${processLabel(service)}) could not be read from the kernel: ${guess}.`,
          evidence,
          fix,
        }),
      );
    }
    return out;
  },
});

