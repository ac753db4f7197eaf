// Every daemon configuration reader, in one explicit list (the daemon-config source runs them).
import type { DaemonConfig } from '@dualstack/core';
import type { EtcRoot } from './etc-root.js';
import { readSshd } from './sshd.js';
import { readVsftpd } from './vsftpd.js';
import { readTcpWrappers } from './tcpwrappers.js';
import { readDovecot } from './dovecot.js';
import { readBind } from './bind.js';
import { readPostfix } from './postfix.js';
import { readNginx } from './nginx.js';
import { readApache } from './apache.js';
import { readPostgres } from './postgres.js';
import { readMariadb } from './mariadb.js';
import { readRedis } from './redis.js';
import { readMemcached } from './memcached.js';
import { readExim } from './exim.js';
import { readHaproxy } from './haproxy.js';
import { readSquid } from './squid.js';

export interface DaemonConfigReader {
  daemon: string;
  /** The daemon's configuration, or null when it has none under this root (not installed). */
  read(etc: EtcRoot): DaemonConfig | null;
}

export const daemonConfigReaders: DaemonConfigReader[] = [
  { daemon: 'sshd', read: readSshd },
  { daemon: 'vsftpd', read: readVsftpd },
  { daemon: 'tcpwrappers', read: readTcpWrappers },
  { daemon: 'dovecot', read: readDovecot },
  { daemon: 'named', read: readBind },
  { daemon: 'postfix', read: readPostfix },
  { daemon: 'nginx', read: readNginx },
  { daemon: 'apache', read: readApache },
  { daemon: 'postgres', read: readPostgres },
  { daemon: 'mysql', read: readMariadb },
  { daemon: 'redis', read: readRedis },
  { daemon: 'memcached', read: readMemcached },
  { daemon: 'exim', read: readExim },
  { daemon: 'haproxy', read: readHaproxy },
  { daemon: 'squid', read: readSquid },
];

export { EtcRoot } from './etc-root.js';
