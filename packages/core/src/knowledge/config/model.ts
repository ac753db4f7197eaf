// What a daemon's configuration directives mean for IPv4/IPv6, one knowledge file per daemon
// (sshd.ts, ...). The agent's parsers only split files into directives; which of them hold
// addresses, in which syntax, which switch IPv6 off and which are access lists lives here.
import type { ConfigDirective, Service } from '../../report.js';

/** How a directive wants an IPv6 address written. */
export interface Ipv6Syntax {
  /**
   * `required`: [2001:db8::1]; `forbidden`: 2001:db8::1; `with-port`: bare alone, bracketed when a
   * port follows; `optional`: bare or bracketed alike, never with a port (Postfix inet_interfaces).
   */
  brackets: 'required' | 'forbidden' | 'with-port' | 'optional';
  /** Whether a `/len` prefix length is meaningful here (networks in access lists). */
  prefix: boolean;
  /** Whether a zone index (`fe80::1%eth0`) is accepted. */
  zone: boolean;
  /**
   * The token stands in a list whose separator is ':' and where a colon inside an item is
   * written doubled (Exim): the token is given as written, `::::1` for ::1. Written with single
   * colons the daemon cuts the address at them.
   */
  colonsDoubled?: boolean;
}

export interface AddressUse {
  directive: ConfigDirective;
  /** The address or network as written, port included when the syntax has one. */
  token: string;
  role: 'listen' | 'acl';
  syntax: Ipv6Syntax;
}

export interface Ipv6Off {
  /** Why this line switches IPv6 off, in the daemon's terms. */
  why: string;
  /** The corrected line. */
  fix: string;
  /** Ports the daemon then serves over IPv4 only (to link the finding to the service). */
  ports: number[];
  /**
   * Other lines the fix changes together with this one, when one line alone cannot be right
   * (vsftpd: listen=YES and listen_ipv6=YES exclude each other, so listen=YES with
   * listen_ipv6=NO needs both lines changed). Printed as further `# FILE, line N:` pairs.
   */
  alsoChange?: Array<{ directive: ConfigDirective; fix: string }>;
  /**
   * The fix's summary and commands when editing the line in place is the wrong fix (a socket
   * unit under /usr/lib belongs to its package: the fix is a drop-in).
   */
  summary?: string;
  commands?: string[];
}

export interface AclUse {
  directive: ConfigDirective;
  /** Networks and addresses the list names (as written, without the daemon's decorations). */
  networks: string[];
  /** A line with the given IPv6 networks added, in this directive's syntax. */
  withIpv6(networks: string[]): string;
  /** What happens to a client the list does not name. */
  otherwise: 'denied' | 'allowed';
  /** Ports the list guards. */
  ports: number[];
}

export interface ConfigKnowledge {
  /** The DaemonKnowledge id (knowledge/daemons/). */
  daemon: string;
  /** Keys the reader keeps: the directives below read nothing else. */
  directives: string[];
  /** The daemon's own syntax checker, run on the file after a fix. */
  checker: string;
  addresses(d: ConfigDirective, all: ConfigDirective[]): AddressUse[];
  ipv6Off(d: ConfigDirective, all: ConfigDirective[]): Ipv6Off | null;
  /**
   * `services`: the host's listening services, for a list whose ports are not in its own
   * configuration (TCP wrappers name daemons, not ports: the ports are those of the services
   * of the daemons it names, by service.process). Other daemons ignore it; the rules always pass it.
   */
  acl(d: ConfigDirective, all: ConfigDirective[], services?: Service[]): AclUse | null;
  /**
   * Whether the daemon compares an IPv4-mapped peer (::ffff:192.0.2.1) with its IPv4 entries:
   * true when it converts mapped peers to IPv4 first; null when it never sees mapped peers
   * (it sets V6ONLY on its own sockets).
   */
  convertsMappedPeers: boolean | null;
  sources: string[];
}
