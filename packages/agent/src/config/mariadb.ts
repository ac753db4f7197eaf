// MariaDB / MySQL option files: /etc/my.cnf then /etc/mysql/my.cnf (the files mariadbd reads,
// in that order; on Debian /etc/mysql/my.cnf is the alternatives link to mariadb.cnf), with
// their !include and !includedir lines. A pure parser of the option file syntax
// (mysys/my_default.c) + a thin reader keeping the server's groups and the options the
// knowledge base reads.
import type { ConfigDirective, DaemonConfig } from '@dualstack/core';
import { isServerGroup, mysqlConfigKnowledge, mysqlOptionName } from '@dualstack/core';
import { ConfigParseError } from '../config-syntax.js';
import { EtcRoot, IncludeWalker } from './etc-root.js';

export const MY_CNF = ['/etc/my.cnf', '/etc/mysql/my.cnf'];

export interface MyCnfParse {
  items: ConfigDirective[];
  includes: Array<{ pattern: string; at: number }>;
}

/** The value without an end comment: a `#` outside quotes (remove_end_comment() in my_default.c). */
function withoutEndComment(text: string): string {
  let quote = '';
  let escape = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if ((c === "'" || c === '"') && !escape) {
      if (!quote) quote = c;
      else if (quote === c) quote = '';
    }
    if (!quote && c === '#') return text.slice(0, i);
    escape = !escape && c === '\\';
  }
  return text;
}

/**
 * One option file: `[group]` (trailing blanks in the name dropped), `name` or `name = value`
 * (value as written, its end comment and surrounding blanks removed) with the group as context,
 * `#`/`;` comment lines, `!include FILE` and `!includedir DIR` (DIR/*.cnf). mariadbd refuses a
 * group line without `]` and an option before any group: a ConfigParseError.
 */
export function parseMyCnf(text: string, file: string): MyCnfParse {
  const items: ConfigDirective[] = [];
  const includes: Array<{ pattern: string; at: number }> = [];
  let group: string | null = null;
  text.split('\n').forEach((rawLine, index) => {
    const raw = rawLine.replace(/\r$/, '');
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) return;
    const fail = (field: string, reason: string): never => {
      throw new ConfigParseError({ file, line: index + 1, field, raw, reason });
    };
    const directive = /^!(includedir|include)\s+(.+)$/.exec(line);
    if (directive) {
      const path = directive[2]!.trim();
      includes.push({ pattern: directive[1] === 'includedir' ? `${path.replace(/\/+$/, '')}/*.cnf` : path, at: items.length });
      return;
    }
    if (line.startsWith('[')) {
      const end = line.indexOf(']');
      if (end < 0) fail('group', 'Wrong group definition: no ]');
      group = line.slice(1, end).trimEnd();
      return;
    }
    if (group === null) fail('group', 'Found option without preceding group');
    const eq = line.indexOf('=');
    const key = withoutEndComment(eq < 0 ? line : line.slice(0, eq)).trim();
    const value = eq < 0 ? '' : withoutEndComment(line.slice(eq + 1)).trim();
    items.push({ file, line: index + 1, key, value, raw, context: `[${group}]` });
  });
  return { items, includes };
}

const KEYS = new Set(mysqlConfigKnowledge.directives);

/** The server's options from the option files, or null when neither /etc/my.cnf nor /etc/mysql/my.cnf is here. */
export function readMariadb(etc: EtcRoot): DaemonConfig | null {
  const tops = MY_CNF.filter((f) => etc.exists(f));
  if (tops.length === 0) return null;
  // A relative !include is opened from mariadbd's working folder (/ under systemd), not the file's.
  const walker = new IncludeWalker<ConfigDirective>(etc, parseMyCnf, () => '/');
  const all = tops.flatMap((f) => walker.walk(f));
  const kept = all.filter((d) => KEYS.has(mysqlOptionName(d.key)) && isServerGroup(/^\[(.*)\]$/.exec(d.context ?? '')?.[1] ?? ''));
  return { daemon: 'mysql', files: walker.files, directives: kept };
}
