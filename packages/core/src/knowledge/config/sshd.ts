// OpenSSH sshd: what sshd_config(5) says about addresses, families and access lists.
// - ListenAddress: `host|IPv4_addr|IPv6_addr`, or with a port `host|IPv4_addr:port` and
//   `[host|IPv6_addr]:port`: an IPv6 address followed by `:port` without brackets is read as
//   one longer IPv6 address (it is valid syntax), so sshd listens on an address the host
//   may not have, or fails to bind.
// - AddressFamily: any (default), inet (IPv4 only), inet6.
// - AllowUsers/DenyUsers `USER@HOST` where HOST may be an address or a CIDR network (bare:
//   2001:db8::/32); Match Address takes comma-separated CIDR patterns, bare as well.
// - sshd converts an IPv4-mapped peer to plain IPv4 before matching and logging
//   (ipv64_normalise_mapped() in canohost.c), and uses one socket per family by default.
import type { ConfigDirective } from '../../report.js';
import type { AclUse, AddressUse, ConfigKnowledge, Ipv6Off, Ipv6Syntax } from './model.js';

const LISTEN: Ipv6Syntax = { brackets: 'with-port', prefix: false, zone: true };
const PATTERN: Ipv6Syntax = { brackets: 'forbidden', prefix: true, zone: false };
const MAN = 'sshd_config(5): ListenAddress, AddressFamily, AllowUsers, DenyUsers, Match';

const is = (d: ConfigDirective, key: string) => d.key.toLowerCase() === key.toLowerCase();
const words = (value: string) => value.split(/\s+/).filter(Boolean);

/** The ports sshd listens on: every Port line (default 22). */
function ports(all: ConfigDirective[]): number[] {
  const found = all.filter((d) => is(d, 'Port') && d.context === undefined).map((d) => Number(d.value));
  return found.length > 0 ? found.filter((p) => Number.isInteger(p)) : [22];
}

/** Host parts of USER@HOST patterns (no @: a user name only). */
function hostPatterns(d: ConfigDirective): string[] {
  return words(d.value)
    .map((w) => (w.includes('@') ? w.slice(w.lastIndexOf('@') + 1) : null))
    .filter((h): h is string => h !== null && h !== '' && !h.startsWith('!'));
}

export const sshdConfigKnowledge: ConfigKnowledge = {
  daemon: 'sshd',
  directives: ['ListenAddress', 'AddressFamily', 'Port', 'AllowUsers', 'DenyUsers', 'Match'],
  checker: 'sshd -t -f /etc/ssh/sshd_config',
  addresses(d): AddressUse[] {
    if (is(d, 'ListenAddress')) return [{ directive: d, token: words(d.value)[0] ?? '', role: 'listen', syntax: LISTEN }];
    if (is(d, 'AllowUsers') || is(d, 'DenyUsers')) return hostPatterns(d).map((token) => ({ directive: d, token, role: 'acl', syntax: PATTERN }));
    if (is(d, 'Match')) {
      const w = words(d.value);
      const i = w.findIndex((x) => x.toLowerCase() === 'address');
      const list = i >= 0 ? w[i + 1] : undefined;
      return list ? list.split(',').filter((t) => t && !t.startsWith('!')).map((token) => ({ directive: d, token, role: 'acl' as const, syntax: PATTERN })) : [];
    }
    return [];
  },
  ipv6Off(d, all): Ipv6Off | null {
    if (!is(d, 'AddressFamily') || d.context !== undefined) return null;
    if (d.value.trim().toLowerCase() !== 'inet') return null;
    return { why: 'AddressFamily inet makes sshd listen on IPv4 only', fix: d.raw.replace(/inet\b/i, 'any'), ports: ports(all) };
  },
  acl(d, all): AclUse | null {
    if (!is(d, 'AllowUsers')) return null;
    const hosts = hostPatterns(d);
    if (hosts.length === 0) return null;
    const users = [...new Set(words(d.value).filter((w) => w.includes('@')).map((w) => w.slice(0, w.lastIndexOf('@'))))];
    return {
      directive: d,
      networks: hosts,
      withIpv6: (networks) => `${d.raw.trimEnd()} ${users.flatMap((u) => networks.map((n) => `${u}@${n}`)).join(' ')}`,
      otherwise: 'denied',
      ports: ports(all),
    };
  },
  convertsMappedPeers: true,
  sources: [MAN, 'docs/daemon-defaults.md#address-syntax-in-configuration-files', 'docs/daemon-defaults.md#mapped-ipv4-clients-and-access-lists'],
};
