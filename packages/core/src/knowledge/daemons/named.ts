// BIND named: how it listens by default and the change that makes it dual-stack
// (the entry's shape and shared helpers: model.ts; the list: index.ts).
import { check, DEBIAN_DEFAULTS, unit, type DaemonKnowledge } from './model.js';

export const named: DaemonKnowledge = {
  id: 'named',
  displayName: 'BIND named',
  processNames: ['named'],
  configFile: '/etc/bind/named.conf.options (Debian); /etc/named.conf (RHEL); start options in /etc/default/named (Debian) or /etc/sysconfig/named (RHEL)',
  defaultListening:
    'Debian ships "listen-on-v6 { any; };" and listen-on defaults to all IPv4 addresses: named opens one socket per local address and family, never a mapped one, so separate sockets are its only mode; the start options -4 / -6 restrict it to one family.',
  addIpv6(ctx) {
    return {
      summary: 'named answers on IPv4 only. Enable listen-on-v6 in options { } and make sure named is not started with -4. A change of start options needs a restart.',
      commands: [
        '# named.conf options { }:',
        `listen-on-v6 port ${ctx.port} { any; };`,
        '# and remove "-4" from OPTIONS= in /etc/default/named (RHEL: /etc/sysconfig/named)',
        `named-checkconf && systemctl restart ${unit(ctx, 'named')}`,
        check(ctx, 'one socket per IPv4 and per IPv6 address'),
      ],
    };
  },
  addIpv4(ctx) {
    return {
      summary: 'named answers on IPv6 only. Let it listen on IPv4 and make sure it is not started with -6.',
      commands: [
        '# named.conf options { }:',
        `listen-on port ${ctx.port} { any; };`,
        '# and remove "-6" from OPTIONS= in /etc/default/named (RHEL: /etc/sysconfig/named)',
        `named-checkconf && systemctl restart ${unit(ctx, 'named')}`,
        check(ctx, 'one socket per IPv4 and per IPv6 address'),
      ],
    };
  },
  aclDirective:
    'Address match lists (allow-query, allow-recursion, allow-transfer, acl) take bare IPv6 prefixes: allow-query { 192.0.2.0/24; 2001:db8::/32; }; named does not receive IPv4 as ::ffff: because it binds each address in its own family.',
  sources: [
    'BIND 9 ARM: listen-on, listen-on-v6, address match lists — https://bind9.readthedocs.io/en/v9.18.0/reference.html',
    'named(8): -4, -6',
    DEBIAN_DEFAULTS,
  ],
};
