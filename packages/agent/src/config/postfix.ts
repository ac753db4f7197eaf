// Postfix: main.cf (postconf(5)) and master.cf (master(5)). Both files are read in logical
// lines: blank lines and lines whose first non-blank character is `#` are skipped, a line that
// starts with whitespace continues the logical line before it (also across blank and comment
// lines), and `#` anywhere else is text, not a comment (Postfix 3.7 refuses
// `inet_protocols = ipv4 # old`, since the value then holds the comment). Values are kept as
// written, `$name` expansions included. Pure parsers + a thin reader; Postfix has no include
// directive (a `/file/name` in a value is not followed).
import type { ConfigDirective, DaemonConfig } from '@dualstack/core';
import { isPostfixInetService, postfixConfigKnowledge } from '@dualstack/core';
import { ConfigParseError } from '../config-syntax.js';
import { EtcRoot, IncludeWalker } from './etc-root.js';

export const POSTFIX_MAIN_CF = '/etc/postfix/main.cf';
export const POSTFIX_MASTER_CF = '/etc/postfix/master.cf';

export interface PostfixParse {
  items: ConfigDirective[];
  /** Always empty: Postfix files include nothing (the shape every config parser returns). */
  includes: Array<{ pattern: string; at: number }>;
}

interface PhysicalLine {
  line: number;
  raw: string;
}

/**
 * Logical lines: the line that starts each, then the lines that continue it. A continuation
 * line before any logical line is dropped, as Postfix does ("logical line must not start with
 * whitespace", a warning).
 */
function logicalLines(text: string): PhysicalLine[][] {
  const out: PhysicalLine[][] = [];
  text.split('\n').forEach((rawLine, index) => {
    const raw = rawLine.replace(/\r$/, '');
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const line = { line: index + 1, raw };
    if (/^\s/.test(raw)) out[out.length - 1]?.push(line);
    else out.push([line]);
  });
  return out;
}

/**
 * main.cf: `parameter = value`, one directive per physical line so that a fix can name the
 * line that holds the token it corrects. The first line of a parameter has its name and the
 * value written there; each line continuing it has the same key, its own text as value, and
 * the context `NAME from line N` (N the parameter's first line).
 */
export function parsePostfixMainCf(text: string, file: string): PostfixParse {
  const items: ConfigDirective[] = [];
  for (const [first, ...rest] of logicalLines(text)) {
    const { line, raw } = first!;
    const m = /^([^\s=]*)\s*(=?)\s*(.*?)\s*$/.exec(raw)!;
    const key = m[1]!;
    // postconf(5) refuses both with a fatal error naming the line.
    if (key === '') throw new ConfigParseError({ file, line, field: 'parameter', raw, reason: 'missing parameter name before "="' });
    if (m[2] !== '=') throw new ConfigParseError({ file, line, field: key, raw, reason: `missing "=" after parameter name ${key}` });
    items.push({ file, line, key, value: m[3]!, raw });
    for (const more of rest) items.push({ file, line: more.line, key, value: more.raw.trim(), raw: more.raw, context: `${key} from line ${line}` });
  }
  return { items, includes: [] };
}

/** master(5) service types (Postfix 3.7). */
const SERVICE_TYPES = new Set(['inet', 'unix', 'unix-dgram', 'fifo', 'pass']);
const FIELDS = ['service', 'type', 'private', 'unpriv', 'chroot', 'wakeup', 'maxproc', 'command'];

interface Token {
  text: string;
  line: PhysicalLine;
}

/**
 * The fields of one logical line, split at whitespace; `{ ... }` is one token (Postfix 3.0
 * and later), also over several lines. A `{` without its `}` runs to the end of the logical
 * line, as postconf reads it (with a warning).
 */
function tokens(lines: PhysicalLine[]): Token[] {
  const text = lines.map((l) => l.raw).join('\n');
  const lineAt = (offset: number) => lines[text.slice(0, offset).split('\n').length - 1]!;
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    if (/\s/.test(text[i]!)) {
      i++;
      continue;
    }
    const start = i;
    if (text[i] === '{') {
      let depth = 0;
      for (; i < text.length; i++) {
        if (text[i] === '{') depth++;
        else if (text[i] === '}' && --depth === 0) {
          i++;
          break;
        }
      }
    } else {
      while (i < text.length && !/\s/.test(text[i]!)) i++;
    }
    out.push({ text: text.slice(start, i), line: lineAt(start) });
  }
  return out;
}

/** `name=value` or `{ name = value }` (whitespace inside the value kept), or null without "=". */
function override(text: string): { key: string; value: string } | null {
  const inner = text.startsWith('{') ? text.replace(/^\{/, '').replace(/\}$/, '') : text;
  const eq = inner.indexOf('=');
  if (eq < 0) return null;
  const key = inner.slice(0, eq).trim();
  return key === '' ? null : { key, value: inner.slice(eq + 1).trim() };
}

/**
 * master.cf: one directive per service (key: the service name as written, e.g. `smtp` or
 * `[2001:db8::1]:2525`; value: the other fields and the arguments, single-spaced; raw: the
 * service's first line), and one per `-o name=value` override in its arguments (key: the
 * parameter, value: its value, raw: the line the override is on, context `SERVICE TYPE service`).
 */
export function parsePostfixMasterCf(text: string, file: string): PostfixParse {
  const items: ConfigDirective[] = [];
  for (const lines of logicalLines(text)) {
    const first = lines[0]!;
    const fields = tokens(lines);
    if (fields.length < FIELDS.length) {
      const missing = FIELDS[fields.length]!;
      throw new ConfigParseError({ file, line: first.line, field: missing, raw: first.raw, reason: `bad field count: no ${missing} field (a service line has ${FIELDS.join(', ')})` });
    }
    const [name, type] = [fields[0]!.text, fields[1]!.text];
    if (!SERVICE_TYPES.has(type)) throw new ConfigParseError({ file, line: first.line, field: 'type', raw: first.raw, reason: `invalid type field "${type}" (one of ${[...SERVICE_TYPES].join(', ')})` });
    items.push({ file, line: first.line, key: name, value: fields.slice(1).map((t) => t.text).join(' '), raw: first.raw });
    const args = fields.slice(FIELDS.length);
    for (let i = 0; i < args.length; i++) {
      const arg = args[i]!;
      // getopt(3): `-o value` or `-ovalue`.
      let value: Token | undefined;
      if (arg.text === '-o') value = args[++i];
      else if (arg.text.startsWith('-o')) value = { text: arg.text.slice(2), line: arg.line };
      const o = value ? override(value.text) : null;
      if (value && o) items.push({ file, line: value.line.line, key: o.key, value: o.value, raw: value.line.raw, context: `${name} ${type} service` });
    }
  }
  return { items, includes: [] };
}

/**
 * Postfix's configuration in /etc/postfix, the directives the knowledge base reads: from
 * main.cf its parameters, from master.cf every inet service and the overrides of those
 * parameters. Null when there is no main.cf (Debian's "No configuration": Postfix does not run).
 */
export function readPostfix(etc: EtcRoot): DaemonConfig | null {
  if (!etc.exists(POSTFIX_MAIN_CF)) return null;
  const walker = new IncludeWalker<ConfigDirective>(etc, (text, file) => (file === POSTFIX_MASTER_CF ? parsePostfixMasterCf(text, file) : parsePostfixMainCf(text, file)));
  const all = [...walker.walk(POSTFIX_MAIN_CF), ...walker.walk(POSTFIX_MASTER_CF)];
  const keys = new Set(postfixConfigKnowledge.directives);
  const keep = (d: ConfigDirective) => (d.file === POSTFIX_MASTER_CF && d.context === undefined ? isPostfixInetService(d) : keys.has(d.key));
  return { daemon: 'postfix', files: walker.files, directives: all.filter(keep) };
}
