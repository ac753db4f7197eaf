// PostgreSQL: every cluster's postgresql.conf under /etc/postgresql/<version>/<cluster>/ (the
// Debian layout, where the postmaster runs with -D on that folder) with its include,
// include_if_exists and include_dir lines, and the pg_hba.conf it names (hba_file, else the
// one beside postgresql.conf). Pure parsers for both syntaxes + a thin reader.
import type { ConfigDirective, ConfigFileStatus, DaemonConfig } from '@dualstack/core';
import { PG_HBA_HOST_TYPES, pgConfValue, pgHbaFields, postgresConfigKnowledge } from '@dualstack/core';
import { ConfigParseError } from '../config-syntax.js';
import { EtcRoot, IncludeWalker } from './etc-root.js';

export const PG_ETC = '/etc/postgresql';

export interface PgParse {
  items: ConfigDirective[];
  includes: Array<{ pattern: string; at: number }>;
}

// guc-file.l: a name (letters, digits, _; one `.` for a qualified name), an optional `=`, one
// value (a 'quoted string', a word of letters, digits and -._:/, a number with a unit), an
// optional comment. Anything else is postgres' "syntax error in file ... line N".
const LETTER = 'A-Za-z_\\u0080-\\uffff';
const ID = `[${LETTER}][${LETTER}0-9]*`;
const STRING = "'(?:[^'\\\\\\n]|\\\\.|'')*'";
const UNQUOTED = `[${LETTER}][${LETTER}0-9\\-._:/]*`;
const INTEGER = '[-+]?(?:0x[0-9a-fA-F]+|[0-9]+)[a-zA-Z]*';
const REAL = '[-+]?[0-9]*\\.[0-9]*(?:[Ee][-+]?[0-9]+)?[a-zA-Z]*';
const CONF_LINE = new RegExp(`^[ \\t\\r]*(${ID}(?:\\.${ID})?)[ \\t\\r]*(?:=[ \\t\\r]*)?(${STRING}|${UNQUOTED}|${INTEGER}|${REAL})[ \\t\\r]*(?:#.*)?$`);

export function parsePostgresqlConf(text: string, file: string): PgParse {
  const items: ConfigDirective[] = [];
  const includes: Array<{ pattern: string; at: number }> = [];
  text.split('\n').forEach((rawLine, index) => {
    const raw = rawLine.replace(/\r$/, '');
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const m = CONF_LINE.exec(raw);
    if (!m) {
      const name = new RegExp(`^\\s*(${ID}(?:\\.${ID})?)`).exec(raw)?.[1];
      throw new ConfigParseError({ file, line: index + 1, field: name ?? 'name', raw, reason: name ? `syntax error: expected ${name} = value, a 'quoted' value where it holds blanks or : , *` : 'syntax error: expected name = value' });
    }
    const key = m[1]!;
    const value = m[2]!;
    const lower = key.toLowerCase();
    if (lower === 'include' || lower === 'include_if_exists') {
      includes.push({ pattern: pgConfValue(value), at: items.length });
      return;
    }
    if (lower === 'include_dir') {
      // Files ending in .conf, not starting with a dot, in name order (ParseConfigDirectory()).
      includes.push({ pattern: `${pgConfValue(value).replace(/\/+$/, '')}/*.conf`, at: items.length });
      return;
    }
    items.push({ file, line: index + 1, key, value, raw });
  });
  return { items, includes };
}

/**
 * pg_hba.conf: one record per line (a trailing backslash continues it onto the next line, the
 * record keeping its first line's number), `#` comments. The record's first field is its
 * connection type, the rest stays as written in `value`; the knowledge base splits it. A record
 * postgres refuses as a whole (unknown type, fields missing) is a ConfigParseError; what an
 * address means is the knowledge base's business. `include`, `include_if_exists` and
 * `include_dir` records (PostgreSQL 16 and later) are followed like postgresql.conf's.
 */
export function parsePgHba(text: string, file: string): PgParse {
  const items: ConfigDirective[] = [];
  const includes: Array<{ pattern: string; at: number }> = [];
  const lines = text.split('\n').map((l) => l.replace(/\r$/, ''));
  for (let index = 0; index < lines.length; index++) {
    const first = index;
    const raw = lines[index]!;
    let record = raw;
    while (record.endsWith('\\') && index + 1 < lines.length) record = record.slice(0, -1) + lines[++index]!;
    const fields = pgHbaFields(record);
    if (fields.length === 0) continue;
    const fail = (field: string, reason: string): never => {
      throw new ConfigParseError({ file, line: first + 1, field, raw, reason });
    };
    const type = fields[0]!;
    if (type.length !== 1) fail('connection type', 'multiple values in the connection type');
    const key = type[0]!.text;
    const value = record.slice(record.indexOf(key) + key.length).trim();
    if (['include', 'include_if_exists', 'include_dir'].includes(key)) {
      const target = fields[1]?.[0]?.text;
      if (!target || fields.length !== 2) fail(key, `${key} takes one file name`);
      includes.push({ pattern: key === 'include_dir' ? `${target!.replace(/\/+$/, '')}/*.conf` : target!, at: items.length });
      continue;
    }
    if (key !== 'local' && !PG_HBA_HOST_TYPES.includes(key)) fail('connection type', `invalid connection type "${key}"`);
    // local DATABASE USER METHOD; host DATABASE USER ADDRESS [MASK] METHOD
    const needed = key === 'local' ? 4 : 5;
    const names = ['connection type', 'database', 'user', key === 'local' ? 'authentication method' : 'address', 'authentication method'];
    if (fields.length < needed) fail(names[fields.length]!, `end-of-line before ${names[fields.length]}`);
    items.push({ file, line: first + 1, key, value, raw });
  }
  return { items, includes };
}

const CONF_KEYS = new Set(['listen_addresses', 'port', 'hba_file']);
const HBA_KEYS = new Set(postgresConfigKnowledge.directives.filter((k) => PG_HBA_HOST_TYPES.includes(k)));

/** Every cluster's configuration, each directive in the context `cluster VERSION/NAME`; null when there is no cluster here. */
export function readPostgres(etc: EtcRoot): DaemonConfig | null {
  const clusters = etc
    .expand(`${PG_ETC}/*`, PG_ETC)
    .flatMap((version) => etc.expand(`${version}/*`, version))
    .filter((dir) => etc.exists(`${dir}/postgresql.conf`));
  if (clusters.length === 0) return null;
  const files: ConfigFileStatus[] = [];
  const directives: ConfigDirective[] = [];
  for (const dir of clusters) {
    const context = `cluster ${dir.slice(PG_ETC.length + 1)}`;
    const conf = new IncludeWalker<ConfigDirective>(etc, parsePostgresqlConf);
    const settings = conf.walk(`${dir}/postgresql.conf`).filter((d) => CONF_KEYS.has(d.key.toLowerCase()));
    files.push(...conf.files);
    directives.push(...settings.map((d) => ({ ...d, context })));
    // hba_file: the last one wins; without it postgres reads pg_hba.conf in its -D folder, which
    // is this one on Debian. A relative path is taken from where postgres starts: not followed.
    const hbaSetting = settings.filter((d) => d.key.toLowerCase() === 'hba_file').pop();
    const hba = hbaSetting ? pgConfValue(hbaSetting.value) : `${dir}/pg_hba.conf`;
    if (!hba.startsWith('/etc/')) {
      files.push({ path: hba, status: 'outside-root', detail: `hba_file (${hbaSetting!.file}:${hbaSetting!.line}) is not under /etc: not read` });
      continue;
    }
    const walker = new IncludeWalker<ConfigDirective>(etc, parsePgHba);
    const records = walker.walk(hba);
    files.push(...walker.files);
    directives.push(...records.filter((d) => HBA_KEYS.has(d.key)).map((d) => ({ ...d, context })));
  }
  return { daemon: 'postgres', files, directives };
}
