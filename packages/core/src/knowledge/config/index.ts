// Every daemon whose configuration the agent reads, in one explicit list.
import type { ConfigKnowledge } from './model.js';
import { sshdConfigKnowledge } from './sshd.js';
import { vsftpdConfigKnowledge } from './vsftpd.js';
import { tcpwrappersConfigKnowledge } from './tcpwrappers.js';
import { dovecotConfigKnowledge } from './dovecot.js';
import { bindConfigKnowledge } from './bind.js';
import { postfixConfigKnowledge } from './postfix.js';
import { nginxConfigKnowledge } from './nginx.js';
import { apacheConfigKnowledge } from './apache.js';
import { postgresConfigKnowledge } from './postgres.js';
import { mysqlConfigKnowledge } from './mysql.js';
import { redisConfigKnowledge } from './redis.js';
import { memcachedConfigKnowledge } from './memcached.js';
import { systemdSocketConfigKnowledge } from './systemd-socket.js';
import { eximConfigKnowledge } from './exim.js';
import { haproxyConfigKnowledge } from './haproxy.js';
import { squidConfigKnowledge } from './squid.js';

export const configKnowledge: ConfigKnowledge[] = [
  sshdConfigKnowledge,
  vsftpdConfigKnowledge,
  tcpwrappersConfigKnowledge,
  dovecotConfigKnowledge,
  bindConfigKnowledge,
  postfixConfigKnowledge,
  nginxConfigKnowledge,
  apacheConfigKnowledge,
  postgresConfigKnowledge,
  mysqlConfigKnowledge,
  redisConfigKnowledge,
  memcachedConfigKnowledge,
  eximConfigKnowledge,
  haproxyConfigKnowledge,
  squidConfigKnowledge,
  systemdSocketConfigKnowledge,
];

export function configKnowledgeFor(daemon: string): ConfigKnowledge | undefined {
  return configKnowledge.find((k) => k.daemon === daemon);
}

export * from './model.js';
export * from './address-syntax.js';
export { sshdConfigKnowledge } from './sshd.js';
export { vsftpdConfigKnowledge, vsftpdBool } from './vsftpd.js';
export { tcpwrappersConfigKnowledge, splitOutsideBrackets } from './tcpwrappers.js';
export { dovecotConfigKnowledge } from './dovecot.js';
export { bindConfigKnowledge } from './bind.js';
export { postfixConfigKnowledge, isPostfixInetService, postfixServiceAddress } from './postfix.js';
export { nginxConfigKnowledge } from './nginx.js';
export { apacheConfigKnowledge } from './apache.js';
export { postgresConfigKnowledge, pgConfValue, pgHbaFields, PG_HBA_HOST_TYPES, PG_CHECKER } from './postgres.js';
export { mysqlConfigKnowledge, mysqlOptionName, mysqlOptionValue, isServerGroup } from './mysql.js';
export { redisConfigKnowledge, redisArgs } from './redis.js';
export { memcachedConfigKnowledge, memcachedOption } from './memcached.js';
export { systemdSocketConfigKnowledge } from './systemd-socket.js';
export { haproxyConfigKnowledge, parseBindAddress, HAPROXY_DOCS } from './haproxy.js';
export { squidConfigKnowledge, squidWords, parseHttpPort, SQUID_DOCS } from './squid.js';
export { eximConfigKnowledge, eximList, eximItem, EXIM_DC_MACROS } from './exim.js';
