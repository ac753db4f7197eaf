// OpenSSH server: how it listens by default and the change that makes it dual-stack
// (the entry's shape and shared helpers: model.ts; the list: index.ts).
import { BOTH, check, DEBIAN_DEFAULTS, unit, v4, v6, type DaemonKnowledge } from './model.js';

export const sshd: DaemonKnowledge = {
  id: 'sshd',
  displayName: 'OpenSSH server',
  processNames: ['sshd'],
  configFile: '/etc/ssh/sshd_config (Debian and RHEL; Debian 12 also reads /etc/ssh/sshd_config.d/*.conf)',
  defaultListening:
    'AddressFamily any with no ListenAddress: two sockets, 0.0.0.0 and :: (sshd sets IPV6_V6ONLY on the :: socket itself), so it never takes IPv4 as mapped; IPv4-only means AddressFamily inet or only IPv4 ListenAddress lines.',
  addIpv6(ctx) {
    const lines =
      ctx.port === 22
        ? ['ListenAddress 0.0.0.0', 'ListenAddress ::']
        : [`ListenAddress 0.0.0.0:${ctx.port}`, `ListenAddress [::]:${ctx.port}`];
    return {
      summary: `sshd listens on IPv4 only. Set AddressFamily any and listen on :: too (or on this host's IPv6 address: ListenAddress [${v6(ctx)}]:${ctx.port}). sshd re-reads its config on reload.`,
      commands: [
        '# /etc/ssh/sshd_config: replace "AddressFamily inet" and the IPv4-only ListenAddress lines with:',
        'AddressFamily any',
        ...lines,
        `sshd -t && systemctl reload ${unit(ctx, 'ssh')}   # RHEL: systemctl reload sshd`,
        check(ctx, BOTH),
      ],
    };
  },
  addIpv4(ctx) {
    const lines =
      ctx.port === 22
        ? ['ListenAddress 0.0.0.0', 'ListenAddress ::']
        : [`ListenAddress 0.0.0.0:${ctx.port}`, `ListenAddress [::]:${ctx.port}`];
    return {
      summary: `sshd listens on IPv6 only. Set AddressFamily any and add an IPv4 ListenAddress (or this host's address: ListenAddress ${v4(ctx)}:${ctx.port}).`,
      commands: [
        '# /etc/ssh/sshd_config: replace "AddressFamily inet6" and the IPv6-only ListenAddress lines with:',
        'AddressFamily any',
        ...lines,
        `sshd -t && systemctl reload ${unit(ctx, 'ssh')}   # RHEL: systemctl reload sshd`,
        check(ctx, BOTH),
      ],
    };
  },
  aclDirective:
    'sshd converts ::ffff:a.b.c.d peers to plain IPv4 before logging and matching (ipv64_normalise_mapped in canohost.c), so "Match Address", AllowUsers user@host and auth.log see 192.0.2.1. Match Address takes bare CIDR (Match Address 2001:db8::/32); ListenAddress needs brackets only with a port (ListenAddress [2001:db8::1]:22).',
  sources: [
    'sshd_config(5): AddressFamily, ListenAddress — https://man.openbsd.org/sshd_config',
    'OpenSSH canohost.c ipv64_normalise_mapped()',
    DEBIAN_DEFAULTS,
  ],
};
