// How common daemons listen on IPv4/IPv6 and the exact change that makes them dual-stack:
// one file per daemon (its entry, with sources), model.ts for the entry's shape and the
// helpers the entries share, generic.ts for processes no entry knows. The list below is the
// whole knowledge base: an entry not listed here is not used.
import type { DaemonKnowledge } from './model.js';
import { sshd } from './sshd.js';
import { nginx } from './nginx.js';
import { apache } from './apache.js';
import { named } from './named.js';
import { postfix } from './postfix.js';
import { sendmail } from './sendmail.js';
import { vsftpd } from './vsftpd.js';
import { dovecot } from './dovecot.js';
import { exim } from './exim.js';
import { mysql } from './mysql.js';
import { postgres } from './postgres.js';
import { redis } from './redis.js';
import { memcached } from './memcached.js';
import { haproxy } from './haproxy.js';
import { squid } from './squid.js';
import { node } from './node.js';
import { java } from './java.js';

export type { DaemonFix, DaemonKnowledge, FixContext } from './model.js';
export { genericFix } from './generic.js';

export const daemons: DaemonKnowledge[] = [
  sshd,
  nginx,
  apache,
  named,
  postfix,
  sendmail,
  vsftpd,
  dovecot,
  exim,
  mysql,
  postgres,
  redis,
  memcached,
  haproxy,
  squid,
  node,
  java,
];

const byProcess = new Map<string, DaemonKnowledge>();
for (const daemon of daemons) for (const name of daemon.processNames) byProcess.set(name, daemon);

/** The knowledge for a process name exactly as /proc/[pid]/comm shows it. */
export function daemonForProcess(comm: string | null): DaemonKnowledge | null {
  if (comm === null) return null;
  return byProcess.get(comm.trim()) ?? null;
}
