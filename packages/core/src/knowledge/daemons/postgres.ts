// PostgreSQL: how it listens by default and the change that makes it dual-stack
// (the entry's shape and shared helpers: model.ts; the list: index.ts).
import { BOTH, check, unit, type DaemonKnowledge } from './model.js';

export const postgres: DaemonKnowledge = {
  id: 'postgres',
  displayName: 'PostgreSQL',
  processNames: ['postgres', 'postmaster'],
  configFile: '/etc/postgresql/<version>/main/postgresql.conf and pg_hba.conf (Debian); /var/lib/pgsql/data/ (RHEL)',
  defaultListening:
    "listen_addresses = 'localhost' (the default): 127.0.0.1 and ::1. '*' opens one socket per address family (0.0.0.0 and :: with IPV6_V6ONLY set by the postmaster), so PostgreSQL never takes IPv4 as mapped.",
  addIpv6(ctx) {
    return {
      summary: 'PostgreSQL listens on IPv4 addresses only. Add the IPv6 wildcard (or this host\'s IPv6 address) to listen_addresses, add IPv6 lines to pg_hba.conf, and restart (listen_addresses is read at server start).',
      commands: [
        '# postgresql.conf:',
        "listen_addresses = '0.0.0.0, ::'",
        `port = ${ctx.port}`,
        '# pg_hba.conf: add IPv6 lines next to the IPv4 ones, e.g.',
        'host    all    all    ::1/128    scram-sha-256',
        `systemctl restart ${unit(ctx, 'postgresql')}`,
        check(ctx, BOTH),
      ],
    };
  },
  addIpv4(ctx) {
    return {
      summary: 'PostgreSQL listens on IPv6 addresses only. Add the IPv4 wildcard (or this host\'s IPv4 address) to listen_addresses and IPv4 lines to pg_hba.conf; restart.',
      commands: [
        '# postgresql.conf:',
        "listen_addresses = '0.0.0.0, ::'",
        `port = ${ctx.port}`,
        '# pg_hba.conf: add IPv4 lines next to the IPv6 ones, e.g.',
        'host    all    all    127.0.0.1/32    scram-sha-256',
        `systemctl restart ${unit(ctx, 'postgresql')}`,
        check(ctx, BOTH),
      ],
    };
  },
  aclDirective:
    'pg_hba.conf ADDRESS takes bare CIDR for IPv6 (host all all 2001:db8::/32 scram-sha-256); because each family has its own socket, IPv4 clients match IPv4 lines and IPv6 clients IPv6 lines only.',
  sources: [
    "PostgreSQL listen_addresses ('*', 0.0.0.0 for all IPv4, :: for all IPv6) — https://www.postgresql.org/docs/current/runtime-config-connection.html",
    'PostgreSQL pg_hba.conf — https://www.postgresql.org/docs/current/auth-pg-hba-conf.html',
    'PostgreSQL src/backend/libpq/pqcomm.c: IPV6_V6ONLY on AF_INET6 listen sockets',
  ],
};
