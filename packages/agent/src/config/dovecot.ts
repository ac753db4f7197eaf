// dovecot.conf as Dovecot 2.3's config_parse_line() reads it (src/config/config-parser.c):
// `key = value`, `type [name] {` ... `}` sections, `!include` / `!include_try` with globs
// relative to the including file, `#` comments (also after a value, outside quotes), a `\` at
// the end of a line continuing it, quoted values. Each directive keeps the sections around it
// as its context ("service imap-login > inet_listener imap"); a section's own line is a
// directive too (key: its type, value: its name). Pure parse + a thin reader.
import type { ConfigDirective, DaemonConfig } from '@dualstack/core';
import { dovecotConfigKnowledge } from '@dualstack/core';
import { ConfigParseError } from '../config-syntax.js';
import { EtcRoot, IncludeWalker } from './etc-root.js';

export const DOVECOT_CONF = '/etc/dovecot/dovecot.conf';

/** The line without its comment: from the first `#` outside quotes (Dovecot's "kludgy" rule). */
function stripComment(line: string): string {
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '"' || c === "'") {
      for (i++; i < line.length && line[i] !== c; i++) if (line[i] === '\\') i++;
    } else if (c === '#') return line.slice(0, i);
  }
  return line;
}

function unquote(value: string): string {
  if (value.length >= 2 && ((value.startsWith('"') && value.endsWith('"')) || (value.startsWith("'") && value.endsWith("'")))) {
    return value.slice(1, -1).replace(/\\(.)/g, '$1');
  }
  return value;
}

export function parseDovecotConfig(text: string, file: string): { items: ConfigDirective[]; includes: Array<{ pattern: string; at: number }> } {
  const items: ConfigDirective[] = [];
  const includes: Array<{ pattern: string; at: number }> = [];
  const sections: Array<{ label: string; line: number; raw: string }> = [];
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const start = index;
    const physical = [lines[index]!.replace(/\r$/, '')];
    let logical = '';
    let line = stripComment(physical[0]!.trimStart()).trimEnd();
    while (line.endsWith('\\') && index + 1 < lines.length) {
      const head = line.slice(0, -1).trimEnd();
      if (head !== '') logical += `${head} `;
      physical.push(lines[++index]!.replace(/\r$/, ''));
      line = stripComment(physical.at(-1)!.trimStart()).trimEnd();
    }
    logical += line;
    const raw = physical.join('\n');
    if (logical === '') continue;
    const fail = (field: string, reason: string, at = start + 1, rawLine = raw): never => {
      throw new ConfigParseError({ file, line: at, field, raw: rawLine, reason });
    };
    const keyMatch = /^[^\s=]*/.exec(logical)!;
    const key = keyMatch[0];
    const rest = logical.slice(key.length).trimStart();
    const context = sections.length ? sections.map((s) => s.label).join(' > ') : undefined;
    if (key === '!include' || key === '!include_try') {
      if (rest === '') fail(key, 'an include without a file');
      includes.push({ pattern: unquote(rest), at: items.length });
      continue;
    }
    if (rest.startsWith('=')) {
      if (key === '') fail('setting', 'a value without a setting name');
      const value = unquote(rest.slice(1).trim());
      items.push({ file, line: start + 1, key, value, raw, ...(context !== undefined ? { context } : {}) });
      continue;
    }
    if (key === '}' && rest === '') {
      if (!sections.pop()) fail('}', "Unexpected '}': no section is open");
      continue;
    }
    // A section: `type {` or `type name {` (the name may be quoted).
    let name = '';
    let after = rest;
    if (!after.startsWith('{')) {
      const m = /^("(?:[^"\\]|\\.)*"|\S+)\s*(.*)$/.exec(after);
      if (!m) fail(key, "Expecting '{'");
      name = unquote(m![1]!);
      after = m![2]!;
    }
    if (!after.startsWith('{')) fail(key || 'section', `Expecting '{' (not a "${key} = value" setting either)`);
    if (after !== '{') fail(key, "Garbage after '{'");
    items.push({ file, line: start + 1, key, value: name, raw, ...(context !== undefined ? { context } : {}) });
    sections.push({ label: name ? `${key} ${name}` : key, line: start + 1, raw });
  }
  const open = sections.at(-1);
  if (open) throw new ConfigParseError({ file, line: open.line, field: open.label, raw: open.raw, reason: "Missing '}': the section is never closed" });
  return { items, includes };
}

/** Dovecot's configuration with its includes, the directives the knowledge base reads; null when Dovecot has none here. */
export function readDovecot(etc: EtcRoot): DaemonConfig | null {
  if (!etc.exists(DOVECOT_CONF)) return null;
  const walker = new IncludeWalker<ConfigDirective>(etc, parseDovecotConfig);
  const all = walker.walk(DOVECOT_CONF);
  const keys = new Set(dovecotConfigKnowledge.directives);
  return { daemon: 'dovecot', files: walker.files, directives: all.filter((d) => keys.has(d.key)) };
}
