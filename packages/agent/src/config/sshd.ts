// sshd_config(5): `Keyword arguments` (or `Keyword=arguments`), keywords case-insensitive,
// `#` comments, double-quoted arguments, `Match` blocks running to the next Match, and
// `Include` with glob patterns (relative ones from /etc/ssh). Pure parse + a thin reader.
import type { ConfigDirective, DaemonConfig } from '@dualstack/core';
import { sshdConfigKnowledge } from '@dualstack/core';
import { ConfigParseError } from '../config-syntax.js';
import { EtcRoot, IncludeWalker } from './etc-root.js';

export const SSHD_CONFIG = '/etc/ssh/sshd_config';

export interface SshdParse {
  items: ConfigDirective[];
  /** Include lines, each at the index in `items` where the included directives go. */
  includes: Array<{ pattern: string; at: number }>;
}

export function parseSshdConfig(text: string, file: string): SshdParse {
  const items: ConfigDirective[] = [];
  const includes: Array<{ pattern: string; at: number }> = [];
  let context: string | undefined;
  text.split('\n').forEach((rawLine, index) => {
    const raw = rawLine.replace(/\r$/, '');
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const m = /^([A-Za-z][A-Za-z0-9]*)(?:(?:\s*=\s*|\s+)(.*))?$/.exec(line);
    if (!m) throw new ConfigParseError({ file, line: index + 1, field: 'keyword', raw, reason: 'expected "Keyword arguments"' });
    const key = m[1]!;
    const value = (m[2] ?? '').trim();
    if (value === '') throw new ConfigParseError({ file, line: index + 1, field: key, raw, reason: `${key} without an argument` });
    const lower = key.toLowerCase();
    if (lower === 'include') {
      for (const pattern of splitArguments(value)) includes.push({ pattern, at: items.length });
      return;
    }
    if (lower === 'match') context = value.toLowerCase() === 'all' ? undefined : `Match ${value}`;
    items.push({ file, line: index + 1, key, value, raw, ...(context !== undefined && lower !== 'match' ? { context } : {}) });
  });
  return { items, includes };
}

/** sshd's argument splitting: whitespace-separated, double quotes group. */
export function splitArguments(value: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|(\S+)/g;
  for (let m = re.exec(value); m !== null; m = re.exec(value)) out.push(m[1] ?? m[2]!);
  return out;
}

/** sshd's configuration with its includes, the directives the knowledge base reads; null when sshd has none here. */
export function readSshd(etc: EtcRoot): DaemonConfig | null {
  if (!etc.exists(SSHD_CONFIG)) return null;
  // Relative Include paths are taken from /etc/ssh (sshd_config(5), Include).
  const walker = new IncludeWalker<ConfigDirective>(etc, parseSshdConfig, () => '/etc/ssh');
  const all = walker.walk(SSHD_CONFIG);
  const keys = new Set(sshdConfigKnowledge.directives.map((k) => k.toLowerCase()));
  return { daemon: 'sshd', files: walker.files, directives: all.filter((d) => keys.has(d.key.toLowerCase())) };
}
