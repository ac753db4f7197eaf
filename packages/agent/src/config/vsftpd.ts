// vsftpd.conf(5): `option=value`, one per line, no includes. Read as vsftpd 3.0.3 reads it
// (checked on Debian 12): a line starting with `#` is a comment (only in the first column:
// "  # x" is an option named "# x"), blank lines are skipped, leading blanks before an option
// are dropped, there is no space around `=` and the value runs to the end of the line, trailing
// blanks included. Pure parse + a thin reader.
import type { ConfigDirective, DaemonConfig } from '@dualstack/core';
import { vsftpdBool, vsftpdConfigKnowledge } from '@dualstack/core';
import { ConfigParseError } from '../config-syntax.js';
import { EtcRoot, IncludeWalker } from './etc-root.js';

export const VSFTPD_CONF = '/etc/vsftpd.conf';

/** The boolean options the knowledge base reads: vsftpd refuses any other value for them. */
const BOOLEANS = new Set(['listen', 'listen_ipv6', 'tcp_wrappers']);

export function parseVsftpdConfig(text: string, file: string): { items: ConfigDirective[]; includes: Array<{ pattern: string; at: number }> } {
  const items: ConfigDirective[] = [];
  text.split('\n').forEach((rawLine, index) => {
    // vsftpd reads the CR of a CRLF file as part of the value; kept, so `listen=YES\r` is refused below as vsftpd refuses it.
    const raw = rawLine;
    if (raw.startsWith('#') || raw.trim() === '') return;
    const line = raw.replace(/^[ \t]+/, '');
    const eq = line.indexOf('=');
    const quoted = raw.replace(/\r$/, '');
    if (eq < 0) throw new ConfigParseError({ file, line: index + 1, field: line.trim(), raw: quoted, reason: 'no "=value": vsftpd stops with "missing value in config file"' });
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1);
    if (key === '' || /\s/.test(key)) throw new ConfigParseError({ file, line: index + 1, field: key.trim() || 'option', raw: quoted, reason: 'no blank is allowed around "=": vsftpd stops with "unrecognised variable in config file"' });
    if (BOOLEANS.has(key) && vsftpdBool(value) === null) {
      throw new ConfigParseError({ file, line: index + 1, field: key, raw: quoted, reason: `"${value}" is not YES or NO: vsftpd stops with "bad bool value in config file"` });
    }
    items.push({ file, line: index + 1, key, value, raw: quoted });
  });
  return { items, includes: [] };
}

/** vsftpd's configuration, the directives the knowledge base reads; null when vsftpd has none here. */
export function readVsftpd(etc: EtcRoot): DaemonConfig | null {
  if (!etc.exists(VSFTPD_CONF)) return null;
  const walker = new IncludeWalker<ConfigDirective>(etc, parseVsftpdConfig);
  const all = walker.walk(VSFTPD_CONF);
  const keys = new Set(vsftpdConfigKnowledge.directives);
  return { daemon: 'vsftpd', files: walker.files, directives: all.filter((d) => keys.has(d.key)) };
}
