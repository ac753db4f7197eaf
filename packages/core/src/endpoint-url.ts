// A published endpoint's URL (`https://www.example.net`, `smtp://mx.example.net:25`,
// `tcp://db.example.net:5432`): its scheme, what a probe speaks after connecting, its host and
// port. Shared by the collector, which refuses a bad `endpoints:` entry at start naming the
// key, and the agent, which probes it. Addresses are parsed with ipaddr.js, never by hand.
import ipaddr from 'ipaddr.js';

/** What a probe does once TCP is up: TLS first or not, then the application's first answer. */
export type EndpointProtocol = 'http' | 'smtp' | 'imap' | 'pop3' | 'ftp' | 'ssh' | 'tcp';

export interface EndpointScheme {
  /** The default port; null when the URL must name one (tcp://, tls://). */
  port: number | null;
  /** A TLS handshake (with SNI) right after connecting. */
  tls: boolean;
  protocol: EndpointProtocol;
}

/**
 * The schemes a probe understands. Implicit-TLS variants (smtps, imaps, pop3s) handshake at
 * once; STARTTLS is not negotiated: the probe records the plain banner.
 */
export const ENDPOINT_SCHEMES: Readonly<Record<string, EndpointScheme>> = {
  http: { port: 80, tls: false, protocol: 'http' },
  https: { port: 443, tls: true, protocol: 'http' },
  smtp: { port: 25, tls: false, protocol: 'smtp' },
  smtps: { port: 465, tls: true, protocol: 'smtp' },
  imap: { port: 143, tls: false, protocol: 'imap' },
  imaps: { port: 993, tls: true, protocol: 'imap' },
  pop3: { port: 110, tls: false, protocol: 'pop3' },
  pop3s: { port: 995, tls: true, protocol: 'pop3' },
  ftp: { port: 21, tls: false, protocol: 'ftp' },
  ssh: { port: 22, tls: false, protocol: 'ssh' },
  tcp: { port: null, tls: false, protocol: 'tcp' },
  tls: { port: null, tls: true, protocol: 'tcp' },
};

export interface EndpointAddress {
  scheme: string;
  tls: boolean;
  protocol: EndpointProtocol;
  /** A DNS name (lower case, no trailing dot) or an IP address literal (no brackets). */
  host: string;
  /** 4 or 6 when `host` is an address literal (no DNS lookup), null for a DNS name. */
  literal: 4 | 6 | null;
  port: number;
  /** The path and query an HTTP probe requests; '/' for the others. */
  path: string;
}

/** Why a URL is refused; `reason` completes "url 'X' …". */
export class EndpointUrlError extends Error {
  override name = 'EndpointUrlError';
  constructor(
    readonly url: string,
    readonly reason: string,
  ) {
    super(`url '${url}' ${reason}`);
  }
}

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** A host name as DNS carries it: letters, digits and hyphens, labels of 1-63, 253 in all. */
export function isDnsName(name: string): boolean {
  const bare = name.endsWith('.') ? name.slice(0, -1) : name;
  if (bare.length === 0 || bare.length > 253) return false;
  const labels = bare.toLowerCase().split('.');
  // An all-numeric last label would be read as an IPv4 address by resolvers and browsers.
  if (/^\d+$/.test(labels[labels.length - 1]!)) return false;
  return labels.every((label) => LABEL.test(label));
}

/** Parses and checks one endpoint URL; throws EndpointUrlError saying what is wrong. */
export function parseEndpointUrl(url: string): EndpointAddress {
  const match = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)([^#]*)(#.*)?$/i.exec(url.trim());
  if (!match) throw new EndpointUrlError(url, 'is not a URL of the form scheme://host[:port]');
  const schemeName = match[1]!.toLowerCase();
  const scheme = ENDPOINT_SCHEMES[schemeName];
  if (!scheme) throw new EndpointUrlError(url, `has the unknown scheme '${schemeName}' (known: ${Object.keys(ENDPOINT_SCHEMES).join(', ')})`);
  const authority = match[2]!;
  if (authority.includes('@')) throw new EndpointUrlError(url, 'must not carry credentials');
  if (!authority.startsWith('[') && (authority.match(/:/g) ?? []).length > 1) {
    throw new EndpointUrlError(url, 'has an IPv6 address without brackets (write tcp://[2001:db8::1]:5432)');
  }
  const hostPort = /^(?:\[([^\]]*)\]|([^:]*))(?::([^:]*))?$/.exec(authority);
  if (!hostPort) throw new EndpointUrlError(url, 'has a malformed host:port (an IPv6 address is written in brackets: tcp://[2001:db8::1]:5432)');
  const rest = match[3] ?? '';
  if (match[4] !== undefined) throw new EndpointUrlError(url, 'must not have a fragment');
  if (scheme.protocol !== 'http' && rest !== '' && rest !== '/') throw new EndpointUrlError(url, `must not have a path or query: ${schemeName}:// names a host and port only`);

  let port = scheme.port;
  if (hostPort[3] !== undefined) {
    if (!/^\d{1,5}$/.test(hostPort[3]) || Number(hostPort[3]) < 1 || Number(hostPort[3]) > 65535) {
      throw new EndpointUrlError(url, `has the port '${hostPort[3]}', which is not 1-65535`);
    }
    port = Number(hostPort[3]);
  }
  if (port === null) throw new EndpointUrlError(url, `needs a port: ${schemeName}:// has no default`);

  const bracketed = hostPort[1];
  let host: string;
  let literal: 4 | 6 | null = null;
  if (bracketed !== undefined) {
    if (bracketed.includes('%')) throw new EndpointUrlError(url, 'has a zone index: a published endpoint needs a global address');
    if (!ipaddr.IPv6.isValid(bracketed)) throw new EndpointUrlError(url, `has '[${bracketed}]', which is not an IPv6 address`);
    host = ipaddr.IPv6.parse(bracketed).toString();
    literal = 6;
  } else {
    const name = hostPort[2]!;
    if (name === '') throw new EndpointUrlError(url, 'has no host');
    if (ipaddr.IPv4.isValidFourPartDecimal(name)) {
      host = name;
      literal = 4;
    } else if (!isDnsName(name)) {
      throw new EndpointUrlError(url, `has the host '${name}', which is not a DNS name`);
    } else {
      host = name.toLowerCase().replace(/\.$/, '');
    }
  }
  return { scheme: schemeName, tls: scheme.tls, protocol: scheme.protocol, host, literal, port, path: scheme.protocol === 'http' ? rest || '/' : '/' };
}
