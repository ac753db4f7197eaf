// Postfix: what postconf(5) and master(5) say about addresses, families and mynetworks, each
// point checked on Debian 12's Postfix 3.7.11 in network namespaces (test/netns/config-postfix
// and the notes below: `postfix check`, the sockets master opens, smtpd's log and its RCPT answers).
// - inet_protocols: `all` (default since Postfix 2.9; Debian's postinst writes it), `ipv4`,
//   `ipv6`, `ipv4, ipv6`, separated by blanks or commas, lower case only (`IPv4` is fatal).
//   `ipv4` alone: master opens 0.0.0.0 sockets only. Postfix 2.8 and earlier defaulted to ipv4,
//   and the upgrade procedure (`postfix upgrade-configuration`, post-install) still writes
//   `inet_protocols = ipv4` into a main.cf that has no inet_protocols: checked on 3.7.11.
//   postconf(5): "you MUST stop and start Postfix after changing this parameter".
// - main.cf: "When the same parameter is defined multiple times, only the last instance is
//   remembered" (postconf(5)): an earlier line is dead (Postfix warns "overriding earlier
//   entry"), so only the last assignment of a parameter is judged.
// - inet_interfaces: `all`, `loopback-only`, or addresses and host names; "address information
//   may be enclosed inside [], but this form is not required here" (postconf(5)): bare and
//   bracketed IPv6 both bind. A prefix length or a `:port` is fatal ("host not found"); a zone
//   index passes `postfix check` but master cannot bind the link-local address ("bind ...:
//   Invalid argument"), so no zone is taken here.
// - master.cf inet services: `[host:]port`. master(5) says brackets are "necessary only with
//   IPv6 addresses", but Postfix splits an unbracketed name at its last colon (host_port() in
//   src/util/host_port.c: "We're still sloppy, allowing bare numerical network addresses"):
//   `2001:db8:1::2:2525` and `[2001:db8:1::2]:2525` both listen on [2001:db8:1::2]:2525 (as in
//   master(5)'s own `::1:smtp`). A zone index or a prefix length is fatal for the whole Postfix.
// - mynetworks (main.cf, or `-o mynetworks=...` of one service): networks "separated by commas
//   and/or whitespace", `!` excludes, `/file/name` and `type:table` entries; "IP version 6
//   address information must be specified inside [] ... and would otherwise be confused with a
//   type:table pattern" (postconf(5), Note 2). A bare `2001:db8:1::/64` passes `postfix check`,
//   then smtpd logs "unsupported dictionary type: 2001" and "mynetworks: 2001:db8:1::/64: table
//   lookup problem" and answers every RCPT of a client not matched before that entry with
//   `451 4.3.0 Temporary lookup failure`, local recipients included: critical.
//   A client not in mynetworks may still mail local recipients; relaying (the default
//   smtpd_relay_restrictions: permit_mynetworks, permit_sasl_authenticated,
//   defer_unauth_destination) is refused: `454 4.7.1 Relay access denied`.
// - Mapped peers: master's IPv6 listeners are IPV6_V6ONLY (inet_listen() in
//   src/util/inet_listen.c; `ss` shows v6only:1 even with net.ipv6.bindv6only=0), so Postfix never
//   sees ::ffff:a.b.c.d peers. smtpd would rewrite one to plain IPv4 before any access check
//   when inet_protocols has ipv4 (smtpd_peer_init() in src/smtpd/smtpd_peer.c), so Debian's
//   `[::ffff:127.0.0.0]/104` entry is harmless, never needed.
// Left out: smtpd_*_restrictions with check_client_access cidr: tables, postscreen_access_list,
// mynetworks_style (the default when mynetworks is not set: this host's own addresses), an
// inet_interfaces that names IPv4 addresses only (a choice, like sshd's ListenAddress), -o
// overrides of inet_protocols (master opens the sockets with main.cf's), and postmulti
// instances (/etc/postfix-*).
import ipaddr from 'ipaddr.js';
import type { ConfigDirective } from '../../report.js';
import type { AclUse, AddressUse, ConfigKnowledge, Ipv6Off, Ipv6Syntax } from './model.js';

const LISTEN: Ipv6Syntax = { brackets: 'optional', prefix: false, zone: false };
const NETWORKS: Ipv6Syntax = { brackets: 'required', prefix: true, zone: false };
const POSTCONF = 'postconf(5): inet_protocols, inet_interfaces, mynetworks — https://www.postfix.org/postconf.5.html';
const MASTER = 'master(5): inet service names, -o overrides — https://www.postfix.org/master.5.html';
const IPV6_README = 'Postfix IPv6 support — https://www.postfix.org/IPV6_README.html';

/** Port numbers of the service names master.cf uses (Debian's /etc/services, netbase). */
const SERVICE_PORTS: Readonly<Record<string, number>> = { smtp: 25, mail: 25, submission: 587, submissions: 465, smtps: 465, ssmtp: 465, urd: 465, qmqp: 628 };

const words = (value: string) => value.split(/[\s,]+/).filter(Boolean);
const isMain = (d: ConfigDirective) => d.file.endsWith('/main.cf');
const isMaster = (d: ConfigDirective) => d.file.endsWith('/master.cf');

/** A master.cf service line (key: the service name) of type inet. */
export function isPostfixInetService(d: ConfigDirective): boolean {
  return isMaster(d) && d.context === undefined && words(d.value)[0] === 'inet';
}

/** A service name split as master does (host_port()): `[host]:port`, else at the last colon. */
export function postfixServiceAddress(name: string): { host: string | null; port: number | null } {
  let host: string | null = null;
  let port = name;
  const end = name.startsWith('[') ? name.indexOf(']') : -1;
  if (end > 0 && name[end + 1] === ':') {
    host = name.slice(0, end + 1);
    port = name.slice(end + 2);
  } else if (name.includes(':')) {
    // Also `[2001:db8::]/64:25`, which master refuses ("garbage after ]"): its host is checked.
    host = name.slice(0, name.lastIndexOf(':'));
    port = name.slice(name.lastIndexOf(':') + 1);
  }
  const number = /^\d+$/.test(port) ? Number(port) : (SERVICE_PORTS[port] ?? null);
  return { host: host === '' ? null : host, port: number !== null && number > 0 && number < 65536 ? number : null };
}

/** The main.cf line a continuation line belongs to (`NAME from line N`), or d itself. */
function parameterLine(d: ConfigDirective, all: ConfigDirective[]): ConfigDirective | undefined {
  if (d.context === undefined) return d;
  const m = /^(\S+) from line (\d+)$/.exec(d.context);
  return m ? all.find((x) => x.file === d.file && x.line === Number(m[2]) && x.context === undefined) : undefined;
}

/** Whether d (a main.cf parameter's first line) is the assignment Postfix uses: the last one. */
function effective(d: ConfigDirective, all: ConfigDirective[]): boolean {
  const same = all.filter((x) => isMain(x) && x.context === undefined && x.key === d.key);
  const last = same[same.length - 1];
  return last !== undefined && last.file === d.file && last.line === d.line;
}

/** A main.cf parameter's words over all its lines (d: its first line). */
function parameterWords(d: ConfigDirective, all: ConfigDirective[]): string[] {
  const rest = all.filter((x) => x.file === d.file && x.context === `${d.key} from line ${d.line}`);
  return [d, ...rest].flatMap((x) => words(x.value));
}

interface Service {
  name: string;
  host: string | null;
  port: number | null;
  command: string;
}

function services(all: ConfigDirective[]): Service[] {
  return all.filter(isPostfixInetService).map((d) => ({ name: d.key, ...postfixServiceAddress(d.key), command: words(d.value)[6] ?? '' }));
}

const uniquePorts = (list: Service[]) => [...new Set(list.flatMap((s) => (s.port === null ? [] : [s.port])))];

/** One mynetworks entry, `!` and brackets removed: its address and prefix, or null (a file, table, host name, $parameter). */
function networkEntry(entry: string): { address: ipaddr.IPv4 | ipaddr.IPv6; text: string; negated: boolean } | null {
  const negated = entry.startsWith('!');
  const bare = entry.replace(/^!/, '');
  const m = /^\[([^\]]+)\](\/\d+)?$/.exec(bare) ?? /^([^[\]/]+)(\/\d+)?$/.exec(bare);
  if (!m || !ipaddr.isValid(m[1]!)) return null;
  return { address: ipaddr.parse(m[1]!), text: `${m[1]}${m[2] ?? ''}`, negated };
}

function isLoopback(address: ipaddr.IPv4 | ipaddr.IPv6): boolean {
  if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress()) return isLoopback((address as ipaddr.IPv6).toIPv4Address());
  return address.range() === 'loopback';
}

/** The service an `-o` override belongs to (context `NAME TYPE service`). */
function overriddenService(d: ConfigDirective, all: ConfigDirective[]): Service | undefined {
  const m = /^(\S+) inet service$/.exec(d.context ?? '');
  return m ? services(all).find((s) => s.name === m[1]) : undefined;
}

const bracketed = (network: string) => {
  const [address, length] = network.split('/');
  return `[${address}]${length ? `/${length}` : ''}`;
};

export const postfixConfigKnowledge: ConfigKnowledge = {
  daemon: 'postfix',
  // And every inet service of master.cf (isPostfixInetService): the reader keeps those too.
  directives: ['inet_protocols', 'inet_interfaces', 'mynetworks'],
  checker: 'postfix -c /etc/postfix check',
  addresses(d, all): AddressUse[] {
    if (isPostfixInetService(d)) {
      const { host } = postfixServiceAddress(d.key);
      return host ? [{ directive: d, token: host, role: 'listen', syntax: LISTEN }] : [];
    }
    const line = isMain(d) ? parameterLine(d, all) : d;
    if (!line || (isMain(d) && !effective(line, all))) return [];
    if (d.key === 'inet_interfaces' && isMain(d)) {
      return words(d.value)
        .filter((w) => !['all', 'loopback-only'].includes(w) && !w.includes('$'))
        .map((token) => ({ directive: d, token, role: 'listen' as const, syntax: LISTEN }));
    }
    if (d.key === 'mynetworks') {
      return words(d.value)
        .map((w) => w.replace(/^!/, ''))
        .filter((w) => w !== '' && !w.includes('$'))
        .map((token) => ({ directive: d, token, role: 'acl' as const, syntax: NETWORKS }));
    }
    return [];
  },
  ipv6Off(d, all): Ipv6Off | null {
    if (d.key !== 'inet_protocols' || !isMain(d) || d.context !== undefined || !effective(d, all)) return null;
    const protocols = parameterWords(d, all);
    if (protocols.length === 0 || !protocols.every((p) => p === 'ipv4')) return null;
    const list = services(all);
    // Services with a host of their own listen there whatever inet_protocols says.
    const ports = list.length === 0 ? [25] : uniquePorts(list.filter((s) => s.host === null));
    return {
      why: 'inet_protocols = ipv4 makes Postfix listen and connect over IPv4 only (the default of Postfix 2.8 and earlier, which "postfix upgrade-configuration" still writes into a main.cf without inet_protocols); "postfix stop" and "postfix start" after the change, a reload does not apply it',
      fix: d.raw.replace(/=.*$/, '= all'),
      ports,
    };
  },
  acl(d, all): AclUse | null {
    if (d.key !== 'mynetworks' || d.context?.includes(' from line ')) return null;
    let entries: string[];
    let ports: number[];
    let withIpv6: (networks: string[]) => string;
    if (isMain(d)) {
      if (!effective(d, all)) return null;
      entries = parameterWords(d, all);
      // main.cf's mynetworks guards every smtpd and postscreen service that does not override it.
      const overridden = new Set(all.filter((x) => x.key === 'mynetworks' && isMaster(x)).map((x) => overriddenService(x, all)?.name));
      const list = services(all);
      ports = list.length === 0 ? [25] : uniquePorts(list.filter((s) => ['smtpd', 'postscreen'].includes(s.command) && !overridden.has(s.name)));
      const separator = d.value.includes(',') ? ', ' : ' ';
      withIpv6 = (networks) => `${d.raw.trimEnd()}${d.value === '' ? '' : separator}${networks.map(bracketed).join(separator)}`;
    } else {
      const service = overriddenService(d, all);
      if (!service || service.port === null) return null;
      entries = words(d.value);
      ports = [service.port];
      // master(5): no blanks in `-o name=value`; `-o { name = value }` keeps them.
      const long = new RegExp(`(\\{\\s*mynetworks\\s*=[^}]*?)(\\s*\\})`);
      withIpv6 = (networks) =>
        long.test(d.raw) ? d.raw.replace(long, `$1 ${networks.map(bracketed).join(' ')}$2`) : d.raw.replace(`mynetworks=${d.value}`, `mynetworks=${[d.value, ...networks.map(bracketed)].join(',')}`);
    }
    const parsed = entries.map(networkEntry);
    // A file, a table, a host name or a $parameter: the list is not all written here.
    if (parsed.some((e) => e === null)) return null;
    const networks = parsed.flatMap((e) => (e && !e.negated && !isLoopback(e.address) ? [e.text] : []));
    return { directive: d, networks, withIpv6, otherwise: 'denied', ports };
  },
  convertsMappedPeers: null,
  sources: [POSTCONF, MASTER, IPV6_README, 'docs/daemon-defaults.md#address-syntax-in-configuration-files', 'docs/daemon-defaults.md#mapped-ipv4-clients-and-access-lists'],
};
