// Redis: how it listens by default and the change that makes it dual-stack
// (the entry's shape and shared helpers: model.ts; the list: index.ts).
import { BOTH, check, DEBIAN_DEFAULTS, unit, v4, v6, type DaemonKnowledge } from './model.js';

export const redis: DaemonKnowledge = {
  id: 'redis',
  displayName: 'Redis',
  processNames: ['redis-server'],
  configFile: '/etc/redis/redis.conf (Debian; RHEL: /etc/redis/redis.conf or /etc/redis.conf)',
  defaultListening:
    'Debian 12 (Redis 7.0): "bind 127.0.0.1 -::1" — loopback, one socket per family (Redis sets IPV6_V6ONLY on IPv6 sockets), never mapped; a "-" prefix means "skip this address if it does not exist", and "bind * -::*" listens on all addresses of both families.',
  addIpv6(ctx) {
    return {
      summary: `Redis is bound to IPv4 only. Bind IPv6 too ("bind * -::*", or "bind ${v4(ctx)} ${v6(ctx)}" for specific addresses). An exposed Redis needs requirepass/ACLs and protected-mode; bind is read at startup.`,
      commands: [
        '# redis.conf:',
        'bind * -::*',
        `port ${ctx.port}`,
        `systemctl restart ${unit(ctx, 'redis-server')}   # RHEL: systemctl restart redis`,
        check(ctx, BOTH),
      ],
    };
  },
  addIpv4(ctx) {
    return {
      summary: `Redis is bound to IPv6 only. Bind IPv4 too ("bind * -::*", or "bind ${v4(ctx)} ${v6(ctx)}" for specific addresses).`,
      commands: [
        '# redis.conf:',
        'bind * -::*',
        `port ${ctx.port}`,
        `systemctl restart ${unit(ctx, 'redis-server')}   # RHEL: systemctl restart redis`,
        check(ctx, BOTH),
      ],
    };
  },
  aclDirective:
    'Redis has no address-based access list (its ACLs are per user); who can connect is decided by bind, protected-mode and the firewall. bind takes bare IPv6 addresses (bind 127.0.0.1 ::1).',
  sources: [
    'redis.conf NETWORK section ("-" prefix, bind * -::*) — https://raw.githubusercontent.com/redis/redis/7.0/redis.conf',
    'Redis src/anet.c anetV6Only() (IPV6_V6ONLY on IPv6 listeners)',
    DEBIAN_DEFAULTS,
  ],
};
