// TCP wrappers: /etc/hosts.allow and /etc/hosts.deny as libwrap reads them (hosts_access(5);
// Debian 12's libwrap0 7.6.q-32, checked with a real vsftpd): one rule per line,
// `daemon_list : client_list [ : options ]`, a `\` at the end of a line continuing it, lines
// starting with `#` and blank lines skipped. The first `:` outside brackets ends the daemon list
// (libwrap's split_at(), so [2001:db8::]/64 keeps its colons). No includes (a `/file` client
// pattern is a list of hosts, not configuration). Pure parse + a thin reader.
import type { ConfigDirective, DaemonConfig } from '@dualstack/core';
import { splitOutsideBrackets } from '@dualstack/core';
import { ConfigParseError } from '../config-syntax.js';
import { EtcRoot, IncludeWalker } from './etc-root.js';
import { parseVsftpdConfig, VSFTPD_CONF } from './vsftpd.js';

export const HOSTS_ALLOW = '/etc/hosts.allow';
export const HOSTS_DENY = '/etc/hosts.deny';

/**
 * Each rule as a directive: key = the daemon list as written, value = the rest after its `:`
 * (client list and options), line = its first line, raw = its lines as written (joined by
 * newlines when continued).
 */
export function parseHostsAccess(text: string, file: string): { items: ConfigDirective[]; includes: Array<{ pattern: string; at: number }> } {
  const items: ConfigDirective[] = [];
  const lines = text.split('\n');
  // The text after the last newline ('' when the file ends with one) is a line libwrap never
  // uses ("missing newline or line too long").
  const complete = lines.length - 1;
  for (let index = 0; index < complete; index++) {
    const start = index;
    const physical = [lines[index]!.replace(/\r$/, '')];
    let logical = physical[0]!;
    while (logical.endsWith('\\') && index + 1 < complete) {
      physical.push(lines[++index]!.replace(/\r$/, ''));
      logical = `${logical.slice(0, -1)}${physical.at(-1)}`;
    }
    const raw = physical.join('\n');
    if (logical.startsWith('#') || logical.trim() === '') continue;
    const split = splitOutsideBrackets(logical);
    if (!split) {
      // libwrap skips such a line with 'missing ":" separator'; an indented comment is one.
      if (logical.trim().startsWith('#')) continue;
      throw new ConfigParseError({ file, line: start + 1, field: 'daemon_list', raw, reason: 'no ":" after the daemon list: libwrap skips the line ("missing \\":\\" separator")' });
    }
    const [daemons, rest] = split;
    if (daemons.trim() === '') throw new ConfigParseError({ file, line: start + 1, field: 'daemon_list', raw, reason: 'an empty daemon list' });
    items.push({ file, line: start + 1, key: daemons.trim(), value: rest.trim(), raw });
  }
  if (lines[complete]!.trim() !== '' && !lines[complete]!.startsWith('#')) {
    throw new ConfigParseError({ file, line: complete + 1, field: 'newline', raw: lines[complete]!, reason: 'the last line has no newline: libwrap ignores it ("missing newline or line too long")' });
  }
  return { items, includes: [] };
}

/**
 * The rules of hosts.allow then hosts.deny, and vsftpd's tcp_wrappers switch (whether vsftpd
 * consults these files at all); null when neither file exists.
 */
export function readTcpWrappers(etc: EtcRoot): DaemonConfig | null {
  if (!etc.exists(HOSTS_ALLOW) && !etc.exists(HOSTS_DENY)) return null;
  const walker = new IncludeWalker<ConfigDirective>(etc, parseHostsAccess);
  const rules = [...walker.walk(HOSTS_ALLOW), ...walker.walk(HOSTS_DENY)];
  const files = walker.files.filter((f) => f.status !== 'missing'); // a missing file is an empty one to libwrap
  const switches: ConfigDirective[] = [];
  if (etc.exists(VSFTPD_CONF)) {
    const vsftpd = new IncludeWalker<ConfigDirective>(etc, parseVsftpdConfig);
    switches.push(...vsftpd.walk(VSFTPD_CONF).filter((d) => d.key === 'tcp_wrappers'));
    files.push(...vsftpd.files);
  }
  return { daemon: 'tcpwrappers', files, directives: [...rules, ...switches] };
}
