// memcached: how it listens by default and the change that makes it dual-stack
// (the entry's shape and shared helpers: model.ts; the list: index.ts).
import { BOTH, check, unit, v4, v6, type DaemonKnowledge } from './model.js';

export const memcached: DaemonKnowledge = {
  id: 'memcached',
  displayName: 'memcached',
  processNames: ['memcached'],
  configFile: '/etc/memcached.conf (Debian, one option per line: -l, -p, -U); /etc/sysconfig/memcached OPTIONS= (RHEL)',
  defaultListening:
    'Debian 12: "-l 127.0.0.1" (IPv4 loopback only). -l takes a comma-separated list, IPv6 addresses in brackets ([::1]); every IPv6 listener gets IPV6_V6ONLY, so IPv4 and IPv6 are always separate sockets.',
  addIpv6(ctx) {
    const portFlag = ctx.proto === 'tcp' ? `-p ${ctx.port}` : `-U ${ctx.port}`;
    return {
      summary: `memcached listens on IPv4 only. Add an IPv6 address to -l: [::] for all, or [${v6(ctx)}] / [::1] to stay narrow. memcached has no authentication by default: never expose it beyond a trusted network.`,
      commands: [
        '# /etc/memcached.conf (RHEL: OPTIONS="-l 0.0.0.0,[::]" in /etc/sysconfig/memcached):',
        '-l 0.0.0.0,[::]',
        portFlag,
        `systemctl restart ${unit(ctx, 'memcached')}`,
        check(ctx, BOTH),
      ],
    };
  },
  addIpv4(ctx) {
    const portFlag = ctx.proto === 'tcp' ? `-p ${ctx.port}` : `-U ${ctx.port}`;
    return {
      summary: `memcached listens on IPv6 only. Add an IPv4 address to -l: 0.0.0.0 for all, or ${v4(ctx)} / 127.0.0.1 to stay narrow.`,
      commands: [
        '# /etc/memcached.conf (RHEL: OPTIONS="-l 0.0.0.0,[::]" in /etc/sysconfig/memcached):',
        '-l 0.0.0.0,[::]',
        portFlag,
        `systemctl restart ${unit(ctx, 'memcached')}`,
        check(ctx, BOTH),
      ],
    };
  },
  aclDirective:
    'memcached has no address access list; restrict it with -l and the firewall (ip6tables/nft rules for IPv6 are separate from IPv4 ones).',
  sources: [
    'memcached(1): -l <addr>, comma-separated list, host:port — https://manpages.ubuntu.com/manpages/lunar/man1/memcached.1.html',
    'memcached commit "Fix for 310: memcached unable to bind to an ipv6 address" (IPv6 in []); memcached.c server_socket() sets IPV6_V6ONLY',
  ],
};
