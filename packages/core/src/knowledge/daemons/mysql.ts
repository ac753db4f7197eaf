// MySQL / MariaDB: how it listens by default and the change that makes it dual-stack
// (the entry's shape and shared helpers: model.ts; the list: index.ts).
import { addressNote, check, unit, v4, v6, type DaemonKnowledge } from './model.js';

/** What `ss` shows for bind-address = *: two sockets on MariaDB 10.11, one mapped socket on MySQL. */
const BOTH = '0.0.0.0 and [::] v6only:1 (MariaDB) or [::] v6only:0 (MySQL)';

export const mysql: DaemonKnowledge = {
  id: 'mysql',
  displayName: 'MySQL / MariaDB',
  processNames: ['mysqld', 'mariadbd'],
  configFile:
    '/etc/mysql/mariadb.conf.d/50-server.cnf (Debian 12 MariaDB, [mysqld] bind-address); /etc/my.cnf.d/mariadb-server.cnf or mysql-server.cnf (RHEL)',
  defaultListening:
    'Debian 12 MariaDB: bind-address = 127.0.0.1 (IPv4 loopback only). bind-address = * serves both families: MariaDB 10.11 opens 0.0.0.0 and :: (V6ONLY), MySQL one :: socket taking IPv4 as mapped. bind-address = :: is IPv6-only on MariaDB 10.11 (mariadbd sets V6ONLY itself; checked in a namespace) but dual on MySQL; 0.0.0.0 is IPv4-only. A comma-separated list of specific addresses gives one socket each (MySQL 8.0.13+; recent MariaDB releases); wildcards cannot be listed.',
  addIpv6(ctx) {
    return {
      summary: `The server is bound to IPv4 (bind-address = 0.0.0.0 or an IPv4 address). "*" serves both families (not "::", which MariaDB 10.11 makes IPv6-only); bind-address is read at startup only.`,
      commands: [
        '# [mysqld] section:',
        'bind-address = *',
        `port = ${ctx.port}`,
        `systemctl restart ${unit(ctx, 'mariadb')}   # MySQL: systemctl restart mysql (Debian) / mysqld (RHEL)`,
        check(ctx, BOTH),
      ],
    };
  },
  addIpv4(ctx) {
    return {
      summary: 'The server is bound to an IPv6 address, or to "::", which MariaDB 10.11 makes IPv6-only. "*" serves both families.',
      commands: [
        '# [mysqld] section:',
        'bind-address = *',
        `port = ${ctx.port}`,
        `systemctl restart ${unit(ctx, 'mariadb')}   # MySQL: systemctl restart mysql (Debian) / mysqld (RHEL)`,
        check(ctx, BOTH),
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
    "Account host parts take IPv6 bare ('app'@'2001:db8::10', 'app'@'::1'). On MySQL's single :: socket IPv4 clients arrive mapped; whether their ::ffff: form matches IPv4 account hosts was not verified here — check SELECT host FROM information_schema.processlist before switching. MariaDB 10.11 with bind-address = * uses one socket per family (no mapped peers).",
  sources: [
    'MySQL: Configuring the MySQL Server to Permit IPv6 Connections (bind_address *, ::, lists since 8.0.13) — https://dev.mysql.com/doc/refman/8.4/en/ipv6-server-config.html',
    'MySQL: Connecting Using the IPv6 Local Host Address (account names with ::1) — https://dev.mysql.com/doc/refman/8.4/en/ipv6-local-connections.html',
    'MariaDB bind_address ("Several addresses may be specified, separated by a comma") — https://mariadb.com/docs/server/ref/mdb/system-variables/bind_address',
    'docs/daemon-defaults.md (MariaDB 10.11 on Debian 12: * gives two sockets, :: is IPv6-only; test/netns/config-mariadb.test.ts)',
    'CIS MariaDB 10.6 benchmark: Debian/Ubuntu set bind_address to 127.0.0.1',
  ],
};
