// Dovecot: how it listens by default and the change that makes it dual-stack
// (the entry's shape and shared helpers: model.ts; the list: index.ts).
import { BOTH, check, DEBIAN_DEFAULTS, unit, type DaemonKnowledge } from './model.js';

export const dovecot: DaemonKnowledge = {
  id: 'dovecot',
  displayName: 'Dovecot',
  processNames: ['dovecot', 'imap-login', 'pop3-login'],
  configFile: '/etc/dovecot/dovecot.conf (listen); ports in /etc/dovecot/conf.d/10-master.conf (inet_listener)',
  defaultListening:
    'listen = *, :: (the default): two sockets, 0.0.0.0 and :: with V6ONLY (Dovecot sets it itself, net_listen_full(); Debian does not enable dovecot.socket), never mapped; listen = * is IPv4-only, listen = :: IPv6-only.',
  addIpv6(ctx) {
    return {
      summary: 'Dovecot listens on IPv4 only ("*" means all IPv4 addresses). Add "::" to listen.',
      commands: [
        '# /etc/dovecot/dovecot.conf:',
        'listen = *, ::',
        'doveconf listen',
        `systemctl restart ${unit(ctx, 'dovecot')}`,
        check(ctx, BOTH),
      ],
    };
  },
  addIpv4(ctx) {
    return {
      summary: 'Dovecot listens on IPv6 only ("::"). Add "*" (all IPv4 addresses) to listen.',
      commands: [
        '# /etc/dovecot/dovecot.conf:',
        'listen = *, ::',
        'doveconf listen',
        `systemctl restart ${unit(ctx, 'dovecot')}`,
        check(ctx, BOTH),
      ],
    };
  },
  aclDirective:
    'login_trusted_networks, remote { } blocks and passdb allow_nets take bare CIDR (login_trusted_networks = 192.0.2.0/24 2001:db8::/32); allow_nets converts ::ffff:1.2.3.4 to 1.2.3.4 before matching.',
  sources: [
    'dovecot.conf: "*" listens in all IPv4 interfaces, "::" listens in all IPv6 interfaces',
    'Dovecot allow_nets (IPv6 mapped IPv4 addresses are converted) — https://doc.dovecot.org/2.3/configuration_manual/authentication/allow_nets/',
    DEBIAN_DEFAULTS,
  ],
};
