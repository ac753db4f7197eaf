// Postfix: how it listens by default and the change that makes it dual-stack
// (the entry's shape and shared helpers: model.ts; the list: index.ts).
import { BOTH, check, DEBIAN_DEFAULTS, unit, type DaemonKnowledge } from './model.js';

export const postfix: DaemonKnowledge = {
  id: 'postfix',
  displayName: 'Postfix',
  processNames: ['master', 'smtpd'],
  configFile: '/etc/postfix/main.cf (inet_protocols, inet_interfaces); ports in /etc/postfix/master.cf',
  defaultListening:
    'inet_protocols = all (Debian 12, Postfix 3.7; 2.8 and earlier defaulted to ipv4) with inet_interfaces = all: two sockets, 0.0.0.0 and ::, never mapped; inet_protocols = ipv4 makes every Postfix service IPv4-only.',
  addIpv6(ctx) {
    return {
      summary: 'Postfix runs with inet_protocols = ipv4. Set it to all; Postfix only applies inet_protocols on a full stop/start, not on reload. inet_interfaces must be "all" or list an IPv6 address too.',
      commands: [
        "postconf -e 'inet_protocols = all'",
        'postconf inet_interfaces   # must be "all" or include an IPv6 address',
        `postfix check && systemctl restart ${unit(ctx, 'postfix')}`,
        check(ctx, BOTH),
      ],
    };
  },
  addIpv4(ctx) {
    return {
      summary: 'Postfix runs with inet_protocols = ipv6. Set it to all (full restart needed).',
      commands: [
        "postconf -e 'inet_protocols = all'",
        'postconf inet_interfaces   # must be "all" or include an IPv4 address',
        `postfix check && systemctl restart ${unit(ctx, 'postfix')}`,
        check(ctx, BOTH),
      ],
    };
  },
  aclDirective:
    'mynetworks and CIDR/access tables need brackets for IPv6: mynetworks = 127.0.0.0/8 [::1]/128 [2001:db8::]/64. The default mynetworks already carries [::ffff:127.0.0.0]/104 for mapped loopback clients; with its two sockets Postfix otherwise sees IPv4 clients as plain IPv4 (client=host[192.0.2.1]).',
  sources: [
    'postconf(5) inet_protocols ("postfix stop" and "postfix start" after changing) — https://www.postfix.org/postconf.5.html#inet_protocols',
    'Postfix IPv6 support — https://www.postfix.org/IPV6_README.html',
    DEBIAN_DEFAULTS,
  ],
};
