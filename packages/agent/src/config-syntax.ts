// Readers for the syntaxes network configuration files are written in: INI-like keyfiles
// (NetworkManager, systemd-networkd), shell variable files (RHEL ifcfg), and the subset of
// YAML that netplan files use. Each keeps line numbers so that errors name file, line and
// field; netconfig.ts gives the values their meaning.
import { ProcParseError } from './proc/errors.js';

/** A configuration file that does not read as its format says (same fields as ProcParseError). */
export class ConfigParseError extends ProcParseError {
  constructor(opts: { file: string; line: number; field: string; raw: string; reason?: string }) {
    super(opts);
    this.name = 'ConfigParseError';
  }
}

// ------------------------------------------------------------------ INI (keyfile, .network)

export interface IniEntry {
  key: string;
  value: string;
  line: number;
  raw: string;
}

export interface IniSection {
  name: string;
  line: number;
  entries: IniEntry[];
}

/**
 * Sections in file order (a name may repeat: systemd.network has one [Route] per route), each
 * with its `key=value` entries in order (keys may repeat too). Lines starting with '#' or ';'
 * are comments (systemd.syntax(7), and GKeyFile for NetworkManager); a trailing backslash
 * continues a line (systemd.syntax(7)). Entries before the first section are an error.
 */
export function readIni(text: string, file: string, opts: { continuation?: boolean } = {}): IniSection[] {
  const sections: IniSection[] = [];
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const lineNo = index + 1;
    let raw = lines[index]!.replace(/\r$/, '');
    while (opts.continuation && raw.endsWith('\\') && index + 1 < lines.length) {
      raw = `${raw.slice(0, -1)} ${lines[++index]!.replace(/\r$/, '').trim()}`;
    }
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    if (line.startsWith('[')) {
      if (!line.endsWith(']')) throw new ConfigParseError({ file, line: lineNo, field: 'section', raw, reason: 'a section header must end with ]' });
      sections.push({ name: line.slice(1, -1).trim(), line: lineNo, entries: [] });
      continue;
    }
    const eq = line.indexOf('=');
    if (eq <= 0) throw new ConfigParseError({ file, line: lineNo, field: 'entry', raw, reason: 'expected key=value' });
    const section = sections[sections.length - 1];
    if (!section) throw new ConfigParseError({ file, line: lineNo, field: 'entry', raw, reason: 'an entry before the first [section]' });
    section.entries.push({ key: line.slice(0, eq).trim(), value: line.slice(eq + 1).trim(), line: lineNo, raw });
  }
  return sections;
}

// ------------------------------------------------------------------ shell variables (ifcfg)

/**
 * `KEY=value` lines of a shell-sourced file such as ifcfg-eth0 or /etc/sysconfig/network:
 * one variable per line, the value unquoted ('...' or "..."), comments and anything else
 * (commands, blank lines) skipped, as initscripts' own readers do. The last assignment wins.
 */
export function readShellVars(text: string): Map<string, { value: string; line: number; raw: string }> {
  const vars = new Map<string, { value: string; line: number; raw: string }>();
  text.split('\n').forEach((rawLine, index) => {
    const raw = rawLine.replace(/\r$/, '');
    const match = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(raw);
    if (!match) return;
    let value = match[2]!.trim();
    const quote = value[0];
    if ((quote === '"' || quote === "'") && value.length >= 2 && value.endsWith(quote)) value = value.slice(1, -1);
    else value = value.replace(/\s+#.*$/, '');
    vars.set(match[1]!, { value, line: index + 1, raw });
  });
  return vars;
}

// ------------------------------------------------------------------ YAML subset (netplan)

export interface YamlScalar {
  kind: 'scalar';
  /** The scalar's text; '' for an empty value (YAML null). */
  value: string;
  line: number;
}
export interface YamlMap {
  kind: 'map';
  entries: Map<string, YamlNode>;
  line: number;
}
export interface YamlSeq {
  kind: 'seq';
  items: YamlNode[];
  line: number;
}
export type YamlNode = YamlScalar | YamlMap | YamlSeq;

interface YamlLine {
  indent: number;
  text: string;
  line: number;
  raw: string;
}

/**
 * Reads the YAML that netplan files are written in (netplan(5)): block mappings and sequences
 * by indentation, flow sequences and mappings (`[a, b]`, `{to: default, via: 192.0.2.1}`,
 * also over several lines), single- and double-quoted scalars, comments, one document.
 * Scalars stay strings (`true`, `100` included): the caller knows what each key holds.
 * Anchors, aliases, tags and block scalars (`|`, `>`) are refused with a ConfigParseError
 * naming the line, never misread. Returns null for an empty file.
 */
export function readYamlSubset(text: string, file: string): YamlNode | null {
  const lines: YamlLine[] = [];
  let documents = 0;
  text.split('\n').forEach((rawLine, index) => {
    const raw = rawLine.replace(/\r$/, '');
    const lineNo = index + 1;
    const content = stripComment(raw).replace(/\s+$/, '');
    if (content.trim() === '') return;
    const indent = content.length - content.trimStart().length;
    if (/^ *\t/.test(content)) throw new ConfigParseError({ file, line: lineNo, field: 'indentation', raw, reason: 'YAML does not allow tabs for indentation' });
    const trimmed = content.trimStart();
    if (indent === 0 && (trimmed === '---' || trimmed.startsWith('--- '))) {
      if (++documents > 1 || lines.length > 0) throw new ConfigParseError({ file, line: lineNo, field: 'document', raw, reason: 'only one YAML document is supported' });
      if (trimmed !== '---') throw new ConfigParseError({ file, line: lineNo, field: 'document', raw, reason: 'content on the --- line is not supported' });
      return;
    }
    if (indent === 0 && (trimmed === '...' || trimmed.startsWith('%'))) {
      throw new ConfigParseError({ file, line: lineNo, field: 'document', raw, reason: 'YAML directives and document end markers are not supported' });
    }
    lines.push({ indent, text: trimmed, line: lineNo, raw });
  });
  if (lines.length === 0) return null;
  const reader = new YamlBlockReader(lines, file);
  const node = reader.block(0);
  reader.expectEnd();
  return node;
}

/** Drops a comment: '#' at the start or after a blank, outside quoted scalars. */
function stripComment(line: string): string {
  let quote: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote !== null) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) {
        if (quote === "'" && line[i + 1] === "'") i++;
        else quote = null;
      }
      continue;
    }
    if (c === '#' && (i === 0 || line[i - 1] === ' ' || line[i - 1] === '\t')) return line.slice(0, i);
    if ((c === '"' || c === "'") && opensQuote(line, i)) quote = c;
  }
  return line;
}

/**
 * Whether the quote at `i` starts a quoted scalar: only where a scalar can start (the line's
 * start, after `key:`, `- `, `[`, `{` or `,`), so the apostrophe of a plain `it's` is text.
 */
function opensQuote(text: string, i: number): boolean {
  const before = text.slice(0, i).trimEnd();
  return before === '' || /(^|\s)-$/.test(before) || /[:[{,]$/.test(before);
}

/** Index of the ':' that separates a mapping key from its value (followed by a blank or the end), or -1. */
function mappingColon(text: string, flow = false): number {
  let quote: string | null = null;
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote !== null) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = null;
      continue;
    }
    if ((c === '"' || c === "'") && opensQuote(text, i)) quote = c;
    else if (c === '[' || c === '{') depth++;
    else if (c === ']' || c === '}') depth--;
    else if (c === ':' && depth === 0) {
      const next = text[i + 1];
      if (next === undefined || next === ' ' || next === '\t' || (flow && (next === ',' || next === '}' || next === ']'))) return i;
    }
  }
  return -1;
}

class YamlBlockReader {
  #pos = 0;

  constructor(
    private readonly lines: YamlLine[],
    private readonly file: string,
  ) {}

  fail(line: YamlLine, field: string, reason: string): never {
    throw new ConfigParseError({ file: this.file, line: line.line, field, raw: line.raw, reason });
  }

  expectEnd(): void {
    const left = this.lines[this.#pos];
    if (left) this.fail(left, 'indentation', 'unexpected indentation');
  }

  /** The block node starting at the current line, if it is indented at least `minIndent`. */
  block(minIndent: number): YamlNode | null {
    const first = this.lines[this.#pos];
    if (!first || first.indent < minIndent) return null;
    return isSeqItem(first.text) ? this.sequence(first.indent) : this.mapping(first.indent);
  }

  sequence(indent: number): YamlSeq {
    const first = this.lines[this.#pos]!;
    const items: YamlNode[] = [];
    for (let line = this.lines[this.#pos]; line && line.indent === indent && isSeqItem(line.text); line = this.lines[this.#pos]) {
      const rest = line.text.slice(1).trimStart();
      if (rest === '') {
        this.#pos++;
        items.push(this.block(indent + 1) ?? { kind: 'scalar', value: '', line: line.line });
      } else if (isSeqItem(rest) || (!/^[[{]/.test(rest) && mappingColon(rest) > 0)) {
        // `- key: value` (or `- - x`): the item is a block node starting on this line, indented
        // by the dash and its blanks; rewrite the line and read it at that indent.
        const itemIndent = indent + (line.text.length - rest.length);
        this.lines[this.#pos] = { ...line, indent: itemIndent, text: rest };
        items.push(this.block(itemIndent)!);
      } else {
        items.push(this.inline(rest, line));
      }
      const next = this.lines[this.#pos];
      if (next && next.indent > indent) this.fail(next, 'indentation', 'unexpected indentation');
    }
    return { kind: 'seq', items, line: first.line };
  }

  mapping(indent: number): YamlMap {
    const first = this.lines[this.#pos]!;
    const entries = new Map<string, YamlNode>();
    for (let line = this.lines[this.#pos]; line && line.indent === indent; line = this.lines[this.#pos]) {
      if (isSeqItem(line.text)) this.fail(line, 'sequence', 'a sequence item where a mapping key was expected');
      const colon = mappingColon(line.text);
      if (colon <= 0) this.fail(line, 'mapping', 'expected key: value');
      const key = unquote(line.text.slice(0, colon).trim(), () => this.fail(line, 'key', 'bad quoting'));
      if (entries.has(key)) this.fail(line, key, 'duplicate key');
      const rest = line.text.slice(colon + 1).trim();
      let value: YamlNode;
      if (rest === '') {
        this.#pos++;
        const next = this.lines[this.#pos];
        // A block sequence may sit at the key's own indent (`routes:` then `- to: default`).
        if (next && next.indent === indent && isSeqItem(next.text)) value = this.sequence(indent);
        else value = this.block(indent + 1) ?? { kind: 'scalar', value: '', line: line.line };
      } else {
        value = this.inline(rest, line);
      }
      entries.set(key, value);
      const next = this.lines[this.#pos];
      if (next && next.indent > indent) this.fail(next, 'indentation', 'unexpected indentation');
    }
    return { kind: 'map', entries, line: first.line };
  }

  /** A value on the current line: a scalar or a flow collection (which may span lines). Advances past it. */
  inline(text: string, line: YamlLine): YamlNode {
    if (/^[&*!]/.test(text)) this.fail(line, 'value', 'anchors, aliases and tags are not supported');
    if (/^[|>]/.test(text)) this.fail(line, 'value', 'block scalars (| and >) are not supported');
    this.#pos++;
    if (!/^[[{]/.test(text)) return { kind: 'scalar', value: unquote(text, () => this.fail(line, 'value', 'bad quoting')), line: line.line };
    let flow = text;
    while (bracketDepth(flow) > 0) {
      const more = this.lines[this.#pos];
      if (!more) this.fail(line, 'value', 'unclosed [ or {');
      flow += ` ${more.text}`;
      this.#pos++;
    }
    const parser = new FlowParser(flow, (reason) => this.fail(line, 'value', reason), line.line);
    return parser.document();
  }
}

function isSeqItem(text: string): boolean {
  return text === '-' || text.startsWith('- ');
}

function bracketDepth(text: string): number {
  let depth = 0;
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote !== null) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = null;
    } else if ((c === '"' || c === "'") && opensQuote(text, i)) quote = c;
    else if (c === '[' || c === '{') depth++;
    else if (c === ']' || c === '}') depth--;
  }
  return depth;
}

/** The text of a plain, 'single' or "double" quoted scalar. */
function unquote(text: string, bad: () => never): string {
  const q = text[0];
  if (q === "'") {
    if (text.length < 2 || !text.endsWith("'")) bad();
    return text.slice(1, -1).replace(/''/g, "'");
  }
  if (q === '"') {
    if (text.length < 2 || !text.endsWith('"')) bad();
    return text.slice(1, -1).replace(/\\(.)/g, (_, c: string) => ({ n: '\n', t: '\t', '\\': '\\', '"': '"' })[c] ?? c);
  }
  return text;
}

/** Flow collections: `[a, "b", {k: v}]`, `{k: v, k2: [x]}`. */
class FlowParser {
  #i = 0;

  constructor(
    private readonly text: string,
    private readonly bad: (reason: string) => never,
    private readonly line: number,
  ) {}

  document(): YamlNode {
    const node = this.value();
    this.blanks();
    if (this.#i < this.text.length) this.bad(`unexpected ${JSON.stringify(this.text.slice(this.#i))} after a flow collection`);
    return node;
  }

  blanks(): void {
    while (this.text[this.#i] === ' ' || this.text[this.#i] === '\t') this.#i++;
  }

  value(): YamlNode {
    this.blanks();
    const c = this.text[this.#i];
    if (c === '[') return this.sequence();
    if (c === '{') return this.mapping();
    return { kind: 'scalar', value: this.scalar(), line: this.line };
  }

  sequence(): YamlSeq {
    this.#i++;
    const items: YamlNode[] = [];
    for (;;) {
      this.blanks();
      if (this.text[this.#i] === ']') break;
      items.push(this.value());
      this.blanks();
      if (this.text[this.#i] === ',') this.#i++;
      else if (this.text[this.#i] !== ']') this.bad('expected , or ] in a flow sequence');
    }
    this.#i++;
    return { kind: 'seq', items, line: this.line };
  }

  mapping(): YamlMap {
    this.#i++;
    const entries = new Map<string, YamlNode>();
    for (;;) {
      this.blanks();
      if (this.text[this.#i] === '}') break;
      const key = this.scalar();
      this.blanks();
      let value: YamlNode = { kind: 'scalar', value: '', line: this.line };
      if (this.text[this.#i] === ':') {
        this.#i++;
        this.blanks();
        if (this.text[this.#i] !== ',' && this.text[this.#i] !== '}') value = this.value();
      }
      if (entries.has(key)) this.bad(`duplicate key ${JSON.stringify(key)}`);
      entries.set(key, value);
      this.blanks();
      if (this.text[this.#i] === ',') this.#i++;
      else if (this.text[this.#i] !== '}') this.bad('expected , or } in a flow mapping');
    }
    this.#i++;
    return { kind: 'map', entries, line: this.line };
  }

  /** A quoted or plain scalar; a plain one ends at , [ ] { } or at a ':' followed by a blank. */
  scalar(): string {
    const start = this.#i;
    const q = this.text[start];
    if (q === '"' || q === "'") {
      let i = start + 1;
      for (; i < this.text.length; i++) {
        if (this.text[i] === '\\' && q === '"') i++;
        else if (this.text[i] === q) {
          if (q === "'" && this.text[i + 1] === "'") i++;
          else break;
        }
      }
      if (i >= this.text.length) this.bad('unclosed quote');
      this.#i = i + 1;
      return unquote(this.text.slice(start, i + 1), () => this.bad('bad quoting'));
    }
    let i = start;
    for (; i < this.text.length; i++) {
      const c = this.text[i]!;
      if (c === ',' || c === ']' || c === '}' || c === '[' || c === '{') break;
      // ':' ends a plain scalar only when a blank or a flow indicator follows (`::/0` stays whole).
      if (c === ':') {
        const next = this.text[i + 1];
        if (next === undefined || next === ' ' || next === ',' || next === ']' || next === '}') break;
      }
    }
    this.#i = i;
    const value = this.text.slice(start, i).trim();
    if (/^[&*!|>]/.test(value)) this.bad('anchors, aliases, tags and block scalars are not supported');
    return value;
  }
}
