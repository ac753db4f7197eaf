// Squid: /etc/squid/squid.conf (Debian and RHEL) with its include lines. A pure parser of the
// line syntax as Squid 5 reads it (src/cache_cf.cc parseOneConfigFile()) + a thin reader keeping
// the directives the knowledge base reads. No npm package parses squid.conf.
import type { ConfigDirective, DaemonConfig } from '@dualstack/core';
import { squidConfigKnowledge } from '@dualstack/core';
import { ConfigParseError } from '../config-syntax.js';
import { EtcRoot, IncludeWalker } from './etc-root.js';

export const SQUID_CONF = '/etc/squid/squid.conf';

export interface SquidParse {
  items: ConfigDirective[];
  includes: Array<{ pattern: string; at: number }>;
}

/** Directives refused without an argument (squid -k parse: "Bungled" / "unrecognized"). */
const NEEDS_ARGUMENT = new Set(['http_port', 'acl', 'http_access', 'tcp_outgoing_address', 'include']);

/**
 * One directive per line; leading blanks are skipped, `#` lines and blank lines too, a trailing
 * `\` joins the next line (the directive keeps the line it starts on and its first line as raw;
 * `value` is the whole). `include PATTERN...` lines are returned as includes. if/else/endif
 * give the directives between them the context `if EXPR` (`else` of it); an endif without if
 * and an if without endif are errors, as Squid reports them. What Squid refuses on the
 * directives read here (no argument, `acl NAME` without a type) is a ConfigParseError naming
 * file, line and directive.
 */
export function parseSquidConf(text: string, file: string): SquidParse {
  const items: ConfigDirective[] = [];
  const includes: Array<{ pattern: string; at: number }> = [];
  const conditions: Array<{ text: string; line: number; raw: string }> = [];
  const lines = text.split('\n').map((l) => l.replace(/\r$/, ''));
  for (let index = 0; index < lines.length; index++) {
    const start = index;
    const raw = lines[index]!;
    let line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    while (line.endsWith('\\') && index + 1 < lines.length) line = `${line.slice(0, -1)}${lines[++index]!.trim()}`;
    if (line.endsWith('\\')) line = line.slice(0, -1);
    const fail = (field: string, reason: string): never => {
      throw new ConfigParseError({ file, line: start + 1, field, raw, reason });
    };
    const m = /^(\S+)(?:\s+(.*))?$/.exec(line)!;
    const key = m[1]!;
    const value = (m[2] ?? '').trim();
    if (key === 'if') {
      if (value === '') fail('if', 'an if without an expression');
      conditions.push({ text: `if ${value}`, line: start + 1, raw });
      continue;
    }
    if (key === 'else' || key === 'endif') {
      const top = conditions[conditions.length - 1];
      if (!top) fail(key, `'${key}' without 'if'`);
      if (key === 'endif') conditions.pop();
      else top!.text = `else of ${top!.text}`;
      continue;
    }
    const words = value.split(/\s+/).filter((w) => w !== '' );
    const cut = words.findIndex((w) => w.startsWith('#'));
    const args = cut < 0 ? words : words.slice(0, cut);
    if (NEEDS_ARGUMENT.has(key) && args.length === 0) fail(key, `${key} without an argument`);
    if (key === 'acl' && args.length < 2) fail(key, 'missing ACL type');
    if (key === 'include') {
      for (const pattern of args) includes.push({ pattern, at: items.length });
      continue;
    }
    const context = conditions.length ? conditions.map((c) => c.text).join(' > ') : undefined;
    items.push({ file, line: start + 1, key, value, raw, ...(context !== undefined ? { context } : {}) });
  }
  const open = conditions[conditions.length - 1];
  if (open) throw new ConfigParseError({ file, line: open.line, field: 'if', raw: open.raw, reason: 'if-statement without endif' });
  return { items, includes };
}

const KEYS = new Set(squidConfigKnowledge.directives);

/** squid.conf with its includes, the directives the knowledge base reads; null when Squid has no configuration here. */
export function readSquid(etc: EtcRoot): DaemonConfig | null {
  if (!etc.exists(SQUID_CONF)) return null;
  // A relative include is opened from squid's working directory (/ as the service runs it).
  const walker = new IncludeWalker<ConfigDirective>(etc, parseSquidConf, () => '/');
  const all = walker.walk(SQUID_CONF);
  return { daemon: 'squid', files: walker.files, directives: all.filter((d) => KEYS.has(d.key)) };
}
