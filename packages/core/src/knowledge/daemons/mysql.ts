// MySQL / MariaDB: how it listens by default and the change that makes it dual-stack
// (the entry's shape and shared helpers: model.ts; the list: index.ts).
import { addressNote, check, MAPPED, unit, v4, v6, type DaemonKnowledge } from './model.js';

export const mysql: DaemonKnowledge = {
  id: 'mysql',
  displayName: 'MySQL / MariaDB',
  processNames: ['mysqld', 'mariadbd'],
  configFile:
    '/etc/mysql/mariadb.conf.d/50-server.cnf (Debian 12 MariaDB, [mysqld] bind-address); /etc/my.cnf.d/mariadb-server.cnf or mysql-server.cnf (RHEL)',
  defaultListening:
    'Debian 12 MariaDB: bind-address = 127.0.0.1 (IPv4 loopback only). bind-address = * (the MySQL default) or :: is one :: socket taking IPv4 as mapped; 0.0.0.0 is IPv4-only. Two sockets need a comma-separated list of specific addresses (MySQL 8.0.13+; recent MariaDB releases), wildcards cannot be listed.',
  addIpv6(ctx) {
    return {
      summary: `The server is bound to IPv4 (bind-address = 0.0.0.0 or an IPv4 address). "::" accepts both families on one socket; bind-address is read at startup only.`,
      commands: [
        '# [mysqld] section:',
        'bind-address = ::',
        `port = ${ctx.port}`,
        `systemctl restart ${unit(ctx, 'mariadb')}   # MySQL: systemctl restart mysql (Debian) / mysqld (RHEL)`,
        check(ctx, MAPPED),
      ],
    };
  },
  addIpv4(ctx) {
    return {
      summary: 'The server is bound to an IPv6 address. "::" accepts both families on one socket (net.ipv6.bindv6only must be 0).',
      commands: [
        '# [mysqld] section:',
        'bind-address = ::',
        `port = ${ctx.port}`,
        'sysctl net.ipv6.bindv6only   # must print 0',
        `systemctl restart ${unit(ctx, 'mariadb')}   # MySQL: systemctl restart mysql (Debian) / mysqld (RHEL)`,
        check(ctx, MAPPED),
      ],
    };
  },
  separateSockets(ctx) {
    return {
      summary: `The server takes IPv4 on its :: socket. A list of specific addresses gives one socket each (IPv6 ones V6ONLY); lists need MySQL 8.0.13+ or a MariaDB release with multi-address bind-address, and cannot contain wildcards.${addressNote(ctx)}`,
      commands: [
        '# [mysqld] section:',
        `bind-address = 127.0.0.1,::1,${v4(ctx)},${v6(ctx)}`,
        `port = ${ctx.port}`,
        `systemctl restart ${unit(ctx, 'mariadb')}   # MySQL: systemctl restart mysql (Debian) / mysqld (RHEL)`,
        check(ctx, 'one socket per address, IPv6 ones v6only:1'),
      ],
    };
  },
  aclDirective:
    "Account host parts take IPv6 bare ('app'@'2001:db8::10', 'app'@'::1'). With bind-address = :: IPv4 clients arrive on a mapped socket; whether their ::ffff: form matches IPv4 account hosts was not verified here — check SELECT host FROM information_schema.processlist before switching.",
  sources: [
    'MySQL: Configuring the MySQL Server to Permit IPv6 Connections (bind_address *, ::, lists since 8.0.13) — https://dev.mysql.com/doc/refman/8.4/en/ipv6-server-config.html',
    'MySQL: Connecting Using the IPv6 Local Host Address (account names with ::1) — https://dev.mysql.com/doc/refman/8.4/en/ipv6-local-connections.html',
    'MariaDB bind_address ("Several addresses may be specified, separated by a comma") — https://mariadb.com/docs/server/ref/mdb/system-variables/bind_address',
    'CIS MariaDB 10.6 benchmark: Debian/Ubuntu set bind_address to 127.0.0.1',
  ],
};
