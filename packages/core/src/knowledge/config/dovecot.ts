// Dovecot 2.3: what dovecot.conf says about listening addresses and trusted networks, read in
// Debian 12's packaged files and in the Dovecot 2.3.19.1 sources (file names below), and
// checked with Debian's dovecot-core/dovecot-imapd in a network namespace
// (test/netns/config-dovecot.test.ts repeats the checks).
// - listen (default `*, ::`, src/master/master-settings.c) lists the addresses every
//   inet_listener binds unless the listener has its own `address`: `*` is every IPv4 address,
//   `::` (or `[::]`) every IPv6 address (resolve_ip() in src/master/service.c). Dovecot sets
//   IPV6_V6ONLY on every IPv6 socket it opens (net_listen_full() in src/lib/net.c), so the
//   default gives two sockets, 0.0.0.0 and [::] (ss: `0.0.0.0:143`, `[::]:143`), and
//   `listen = *` gives 0.0.0.0 only: IPv4-only.
// - Addresses are bare or in brackets alike (net_addr2ip() strips them). A value with a token
//   that is not *, ::, an IPv4 or an IPv6 address is the obsolete `address:port` form
//   (listen_has_port() in src/config/old-set-parser.c): the text after the last colon becomes
//   the port of the imap and pop3 listeners, so `listen = 2001:db8:1::2/64` asks for address
//   2001:db8:1:: (Fatal: Can't resolve address 2001:db8:1::) and `fe80::1%eth0` for fe80::;
//   `[2001:db8:1::2]:143` still works, with a warning.
// - login_trusted_networks (bare or bracketed CIDR, space or comma separated;
//   client_is_trusted() in src/login-common/client-common.c; an invalid entry ends the list)
//   grants trust, it does not deny: trusted clients may forward their client's address (ID,
//   XCLIENT) and count as secured, so disable_plaintext_auth (default yes) does not stop their
//   plaintext logins. Checked: with ssl = no and `login_trusted_networks = 192.0.2.0/24`,
//   192.0.2.1 logs in over IPv4 and 2001:db8:1::1, the same network over IPv6, gets
//   "NO [PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure (SSL/TLS)
//   connections". So it is an access list in the acl-ipv4-only sense only where nothing but
//   that trust lets anyone log in: ssl = no, plaintext disabled (the default), and only the
//   plaintext mechanisms (plain, login). With TLS available, IPv6 clients of the network can
//   still log in (over TLS): no finding.
// - Mapped peers: Dovecot never sees them on its own sockets (V6ONLY), and net_is_in_network()
//   converts a mapped address to IPv4 before matching anyway.
// - Includes: `!include` (a pattern without match is an error) and `!include_try`, globs,
//   relative to the including file (src/config/config-parser.c). Debian's dovecot.conf
//   includes conf.d/*.conf and, outside /etc, /usr/share/dovecot/protocols.d/*.protocol.
import ipaddr from 'ipaddr.js';
import type { ConfigDirective } from '../../report.js';
import type { AclUse, AddressUse, ConfigKnowledge, Ipv6Off, Ipv6Syntax } from './model.js';

const LISTEN: Ipv6Syntax = { brackets: 'optional', prefix: false, zone: false };
const NETWORKS: Ipv6Syntax = { brackets: 'optional', prefix: true, zone: false };
const DOCS = 'dovecot.conf (Debian 12): listen, login_trusted_networks; Dovecot 2.3 settings — https://doc.dovecot.org/2.3/settings/core/';
const SOURCES = 'Dovecot 2.3.19.1 sources: src/master/service.c resolve_ip(), src/lib/net.c net_listen_full() and net_is_in_network(), src/config/old-set-parser.c listen_has_port(), src/login-common/client-common.c client_is_trusted()';

/** Built-in inet listeners of the login services and their default ports. */
const DEFAULT_PORTS: Record<string, number> = { imap: 143, imaps: 993, pop3: 110, pop3s: 995, submission: 587, managesieve: 4190, sieve: 4190, lmtp: 24 };
const SSL_LISTENERS = new Set(['imaps', 'pop3s']);

const words = (value: string) => value.split(/[\s,]+/).filter(Boolean);
const top = (all: ConfigDirective[], key: string) => all.filter((d) => d.key === key && d.context === undefined).at(-1);

interface Listener {
  name: string;
  context: string;
  port: number;
  address: ConfigDirective | undefined;
  ssl: boolean;
}

/** Every inet listener: the built-in ones of the login services and those the files declare. */
function listeners(all: ConfigDirective[]): Listener[] {
  const declared = all.filter((d) => d.key === 'inet_listener');
  const byContext = new Map<string, Listener>();
  for (const name of ['imap', 'imaps', 'pop3', 'pop3s', 'submission', 'managesieve']) {
    const service = name === 'managesieve' ? 'managesieve-login' : `${name.replace(/s$/, '')}-login`;
    const context = `service ${service} > inet_listener ${name}`;
    byContext.set(context, { name, context, port: DEFAULT_PORTS[name]!, address: undefined, ssl: SSL_LISTENERS.has(name) });
  }
  for (const d of declared) {
    const context = `${d.context ?? ''}${d.context ? ' > ' : ''}inet_listener ${d.value}`;
    if (!byContext.has(context)) byContext.set(context, { name: d.value, context, port: DEFAULT_PORTS[d.value] ?? 0, address: undefined, ssl: SSL_LISTENERS.has(d.value) });
  }
  for (const listener of byContext.values()) {
    const inside = all.filter((d) => d.context === listener.context);
    const port = inside.filter((d) => d.key === 'port').at(-1);
    if (port && /^\d+$/.test(port.value)) listener.port = Number(port.value);
    listener.address = inside.filter((d) => d.key === 'address').at(-1);
    const ssl = inside.filter((d) => d.key === 'ssl').at(-1);
    if (ssl) listener.ssl = /^(yes|y|1|true)$/i.test(ssl.value);
  }
  return [...byContext.values()].filter((l) => l.port > 0);
}

/** Address tokens of a listen/address value, the obsolete `[addr]:port` form read as its address. */
function listenTokens(d: ConfigDirective): AddressUse[] {
  return words(d.value)
    .filter((t) => t !== '*' && t !== '::' && t !== '[::]')
    .map((t) => t.replace(/^(\[[^\]]+\]):\d+$/, '$1'))
    .map((token) => ({ directive: d, token, role: 'listen' as const, syntax: LISTEN }));
}

const ipv4Any = (value: string) => {
  const w = words(value);
  return w.length > 0 && w.every((t) => t === '*' || t === '0.0.0.0');
};

export const dovecotConfigKnowledge: ConfigKnowledge = {
  daemon: 'dovecot',
  directives: ['listen', 'login_trusted_networks', 'inet_listener', 'port', 'address', 'ssl', 'disable_plaintext_auth', 'auth_mechanisms'],
  checker: 'doveconf -n -c /etc/dovecot/dovecot.conf',
  addresses(d): AddressUse[] {
    if (d.key === 'listen' && d.context === undefined) return listenTokens(d);
    if (d.key === 'address' && d.context?.includes('inet_listener')) return listenTokens(d);
    if (d.key === 'login_trusted_networks') return words(d.value).map((token) => ({ directive: d, token, role: 'acl' as const, syntax: NETWORKS }));
    return [];
  },
  ipv6Off(d, all): Ipv6Off | null {
    const why = '"*" is every IPv4 address and nothing else; "::" adds every IPv6 address (Dovecot opens a separate IPv6-only socket for it)';
    const fix = () => d.raw.replace(d.value, '*, ::');
    if (d.key === 'listen' && d.context === undefined && d === top(all, 'listen') && ipv4Any(d.value)) {
      const ports = [...new Set(listeners(all).filter((l) => !l.address).map((l) => l.port))].sort((a, b) => a - b);
      return { why, fix: fix(), ports };
    }
    if (d.key === 'address' && d.context?.includes('inet_listener') && ipv4Any(d.value)) {
      const listener = listeners(all).find((l) => l.context === d.context);
      if (!listener || listener.address !== d) return null;
      return { why, fix: fix(), ports: [listener.port] };
    }
    return null;
  },
  acl(d, all): AclUse | null {
    if (d.key !== 'login_trusted_networks' || d.context !== undefined || d !== top(all, 'login_trusted_networks')) return null;
    // Only where the trust is the one way to log in (see above): no TLS, no plaintext without trust.
    if (!/^no$/i.test(top(all, 'ssl')?.value ?? 'yes')) return null;
    if (/^no$/i.test(top(all, 'disable_plaintext_auth')?.value ?? 'yes')) return null;
    const mechanisms = words(top(all, 'auth_mechanisms')?.value ?? 'plain').map((m) => m.toLowerCase());
    if (!mechanisms.every((m) => m === 'plain' || m === 'login')) return null;
    const networks = words(d.value).map((t) => t.replace(/^\[([^\]]+)\]/, '$1'));
    if (networks.some((n) => !ipaddr.isValid(n.split('/')[0]!))) return null;
    return {
      directive: d,
      networks,
      withIpv6: (added) => d.raw.replace(d.value, `${d.value} ${added.join(' ')}`),
      otherwise: 'denied',
      ports: [...new Set(listeners(all).filter((l) => !l.ssl).map((l) => l.port))].sort((a, b) => a - b),
    };
  },
  convertsMappedPeers: null,
  sources: [DOCS, SOURCES, 'docs/daemon-defaults.md#listening-defaults', 'docs/daemon-defaults.md#address-syntax-in-configuration-files'],
};
