// memcached: /etc/memcached.conf and the /etc/memcached_NAME.conf files of the memcached@NAME
// instances (Debian). A pure parser following Debian's systemd-memcached-wrapper, which turns
// the file into memcached's command line, + a thin reader.
import type { ConfigDirective, DaemonConfig } from '@dualstack/core';
import { memcachedConfigKnowledge } from '@dualstack/core';
import { ConfigParseError } from '../config-syntax.js';
import { EtcRoot, IncludeWalker } from './etc-root.js';

export const MEMCACHED_CONF = '/etc/memcached.conf';

/** Options that take a value, of those the knowledge base reads (short and long forms). */
const WITH_VALUE = new Set(['-l', '--listen', '-p', '--port', '-U', '--udp-port']);

/**
 * The wrapper's reading: `#` (not after a backslash) to the next `#` or the end is a comment,
 * blanks at both ends go, empty lines, -d and -h lines, and lines not starting with `-` (such as
 * Debian's `logfile ...`) are dropped. Each option of a line is an item (`-l 127.0.0.1`,
 * `-l127.0.0.1`, `--listen=127.0.0.1`, `--listen 127.0.0.1`), the line as written its raw text.
 * -l, -p or -U without a value is a ConfigParseError: memcached refuses it.
 */
export function parseMemcachedConf(text: string, file: string): { items: ConfigDirective[]; includes: Array<{ pattern: string; at: number }> } {
  const items: ConfigDirective[] = [];
  text.split('\n').forEach((rawLine, index) => {
    const raw = rawLine.replace(/\r$/, '');
    const line = raw.replace(/(?<!\\)#[^#]*/g, '').trim();
    if (line === '' || /^-[dh]/.test(line) || !line.startsWith('-')) return;
    const tokens = line.split(/\s+/);
    for (let i = 0; i < tokens.length; i++) {
      const token = tokens[i]!;
      if (!token.startsWith('-')) continue; // an argument of an option this reader does not know
      let key = token;
      let value = '';
      const long = /^(--[^=]+)=(.*)$/.exec(token);
      const short = /^(-[A-Za-z])(.+)$/.exec(token);
      if (long) [key, value] = [long[1]!, long[2]!];
      else if (short && WITH_VALUE.has(short[1]!)) [key, value] = [short[1]!, short[2]!];
      else if (i + 1 < tokens.length && !tokens[i + 1]!.startsWith('-')) value = tokens[++i]!;
      if (WITH_VALUE.has(key) && value === '') throw new ConfigParseError({ file, line: index + 1, field: key, raw, reason: `option requires an argument -- '${key.replace(/^-+/, '')}'` });
      items.push({ file, line: index + 1, key, value, raw });
    }
  });
  return { items, includes: [] };
}

const KEYS = new Set(memcachedConfigKnowledge.directives);

/** The options the knowledge base reads, of every memcached configuration here; null when there is none. */
export function readMemcached(etc: EtcRoot): DaemonConfig | null {
  const instances = etc.expand('/etc/memcached_*.conf', '/etc').filter((f) => etc.exists(f));
  const files = [...(etc.exists(MEMCACHED_CONF) ? [MEMCACHED_CONF] : []), ...instances];
  if (files.length === 0) return null;
  const walker = new IncludeWalker<ConfigDirective>(etc, parseMemcachedConf);
  const directives = files.flatMap((file) => {
    const instance = /^\/etc\/memcached_(.+)\.conf$/.exec(file)?.[1];
    return walker.walk(file).filter((d) => KEYS.has(d.key)).map((d) => (instance ? { ...d, context: `instance ${instance}` } : d));
  });
  return { daemon: 'memcached', files: walker.files, directives };
}
