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
import { readSystemdSockets } from './systemd-socket.js';

export interface DaemonConfigReader {
  daemon: string;
  /**
   * The daemon's configuration, or null when it has none under this root (not installed).
   * `system`: the root of the files outside /etc (systemd units under /run and /usr/lib), or
   * null when nothing needs them; only the socket-unit reader takes it.
   */
  read(etc: EtcRoot, system: EtcRoot | null): DaemonConfig | null;
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
  { daemon: 'systemd-socket', read: readSystemdSockets },
];

export { EtcRoot } from './etc-root.js';
