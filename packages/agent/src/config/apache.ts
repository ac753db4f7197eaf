// Apache httpd's configuration (httpd 2.4, "Configuration Files" in the manual): one
// directive per line, `Directive arguments`, names case-insensitive; a line ending in `\`
// continues on the next; `#` starts a comment only as the first character of a line;
// sections `<Name arguments>` ... `</Name>` nest. `Include` and `IncludeOptional` take a file,
// directory or glob, a relative one taken from ServerRoot (/etc/apache2 on Debian: apache2.conf
// leaves ServerRoot at the compiled-in default). Pure parse + a thin reader.
import type { DaemonConfig } from '@dualstack/core';
import { apacheConfigKnowledge } from '@dualstack/core';
import { ConfigParseError } from '../config-syntax.js';
import { type Block, type BlockDirective, plainDirective, withIncludedBlocks } from './blocks.js';
import { EtcRoot, IncludeWalker } from './etc-root.js';

export const APACHE_CONF = '/etc/apache2/apache2.conf';
/** Debian's ServerRoot: where relative Include patterns start. */
export const APACHE_SERVER_ROOT = '/etc/apache2';

export interface ApacheParse {
  /** Every directive and every section's opening line (key = the section's name), in file order. */
  items: BlockDirective[];
  /** Include lines, each at the index in `items` right after the include line itself. */
  includes: Array<{ pattern: string; at: number }>;
}

/** httpd's argument words: blank-separated, "double" or 'single' quotes group (ap_getword_conf). */
export function apacheWords(value: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'|(\S+)/g;
  for (let m = re.exec(value); m !== null; m = re.exec(value)) out.push((m[1] ?? m[2])?.replace(/\\(.)/g, '$1') ?? m[3]!);
  return out;
}

export function parseApacheConfig(text: string, file: string): ApacheParse {
  const lines = text.split('\n').map((l) => l.replace(/\r$/, ''));
  const items: BlockDirective[] = [];
  const includes: Array<{ pattern: string; at: number }> = [];
  const open: Block[] = [];
  function fail(line: number, field: string, reason: string): never {
    throw new ConfigParseError({ file, line, field, raw: lines[line - 1] ?? '', reason });
  }
  for (let index = 0; index < lines.length; index++) {
    const lineNo = index + 1;
    let logical = lines[index]!;
    // A backslash at the very end continues the line (ap_cfg_getline).
    while (logical.endsWith('\\') && index + 1 < lines.length) logical = `${logical.slice(0, -1)}${lines[++index]!}`;
    const line = logical.trim();
    if (line === '' || line.startsWith('#')) continue;
    const raw = lines[lineNo - 1]!;
    if (line.startsWith('</')) {
      const m = /^<\/([^\s>]+)\s*>$/.exec(line);
      if (!m) fail(lineNo, 'section', 'a closing </Section> must end with >');
      const top = open[open.length - 1];
      if (!top) fail(lineNo, m[1]!, `</${m[1]}> without an open <${m[1]}>`);
      if (top.name.toLowerCase() !== m[1]!.toLowerCase()) fail(lineNo, m[1]!, `expected </${top.name}> (opened at line ${top.line}) but saw </${m[1]}>`);
      open.pop();
      continue;
    }
    if (line.startsWith('<')) {
      const m = /^<([^\s>]+)(?:\s+(.*?))?\s*>$/.exec(line);
      if (!m) fail(lineNo, line.slice(1).split(/\s/)[0] || 'section', "a <Section> line must end with '>'");
      const args = m[2] ?? '';
      items.push({ file, line: lineNo, key: m[1]!, value: args, raw, blocks: [...open] });
      open.push({ name: m[1]!, args, file, line: lineNo });
      continue;
    }
    const m = /^(\S+)(?:\s+(.*))?$/.exec(line)!;
    const key = m[1]!;
    const value = (m[2] ?? '').trim();
    const item: BlockDirective = { file, line: lineNo, key, value, raw, blocks: [...open] };
    const lower = key.toLowerCase();
    if (lower === 'include' || lower === 'includeoptional') {
      const words = apacheWords(value);
      if (words.length !== 1) fail(lineNo, key, `${key} takes one file, directory or pattern`);
      items.push({ ...item, include: words[0]! });
      includes.push({ pattern: words[0]!, at: items.length });
      continue;
    }
    items.push(item);
  }
  const unclosed = open[open.length - 1];
  if (unclosed) fail(unclosed.line, unclosed.name, `<${unclosed.name}> is not closed before the end of the file`);
  return { items: withContexts(items), includes };
}

/** Each directive's context: its sections outermost first, `Name arguments (file:line)`, joined by " > ". */
export function withContexts(items: BlockDirective[]): BlockDirective[] {
  return items.map((d) => {
    const { context: _drop, ...rest } = d;
    if (d.blocks.length === 0) return rest;
    return { ...rest, context: d.blocks.map((b) => `${b.name}${b.args ? ` ${b.args}` : ''} (${b.file}:${b.line})`).join(' > ') };
  });
}

/** Apache's configuration with its includes, the directives the knowledge base reads; null when Apache has none here. */
export function readApache(etc: EtcRoot): DaemonConfig | null {
  if (!etc.exists(APACHE_CONF)) return null;
  const walker = new IncludeWalker<BlockDirective>(etc, parseApacheConfig, () => APACHE_SERVER_ROOT);
  const all = withContexts(withIncludedBlocks(walker.walk(APACHE_CONF), etc, APACHE_SERVER_ROOT));
  const keys = new Set(apacheConfigKnowledge.directives.map((k) => k.toLowerCase()));
  return { daemon: 'apache', files: walker.files, directives: all.filter((d) => keys.has(d.key.toLowerCase())).map((d) => plainDirective(d, d.context)) };
}
