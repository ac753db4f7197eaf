// Readers for the syntaxes network configuration files are written in: INI-like keyfiles
// (NetworkManager, systemd-networkd), shell variable files (RHEL ifcfg), and YAML (netplan,
// read with the `yaml` package). Each keeps line numbers so that errors name file, line and
// field; netconfig.ts gives the values their meaning.
import { isAlias, isMap, isNode, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';
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

// ------------------------------------------------------------------ YAML (netplan)

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

/**
 * A YAML file (one document) as the `yaml` package parses it, as a tree of maps, sequences
 * and scalars, each with the line it starts on. The failsafe schema keeps every scalar a
 * string (`true`, `100`, `~` included), as netplan's own parser (libyaml) hands them over:
 * the caller knows what each key holds. An alias stands for its anchored node, as in libyaml's
 * loader (the same object, so cycles and repeated aliases cost nothing). A syntax error, a
 * duplicate key or an alias with no anchor before it is a ConfigParseError naming the line and
 * the key path there (`network.ethernets.eth0`). Returns null for an empty file.
 */
export function readYaml(text: string, file: string): YamlNode | null {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { schema: 'failsafe', lineCounter, prettyErrors: false });
  const rawLines = text.split('\n').map((line) => line.replace(/\r$/, ''));
  const lineOf = (offset: number) => lineCounter.linePos(offset).line;
  function fail(line: number, field: string, reason: string): never {
    throw new ConfigParseError({ file, line, field, raw: rawLines[line - 1] ?? '', reason });
  }
  const error = doc.errors[0];
  if (error) {
    // An error found on a blank line (the end of the text, after an unclosed [) belongs to the
    // last line written before it.
    let line = lineOf(error.pos[0]);
    while (line > 1 && (rawLines[line - 1] ?? '').trim() === '') line--;
    // yaml's own words, but for a second document, where it addresses the programmer.
    const reason = error.code === 'MULTIPLE_DOCS' ? 'only one YAML document is supported' : error.message;
    fail(line, fieldAt(doc.contents, error.pos[0], line, lineOf), reason);
  }
  const converted = new Map<unknown, YamlNode>(); // yaml node -> its conversion, for aliases
  const convert = (node: unknown, path: string, line: number): YamlNode => {
    if (node === null || node === undefined) return { kind: 'scalar', value: '', line };
    if (isAlias(node)) {
      const target = node.resolve(doc);
      if (target === undefined) fail(lineOf(node.range![0]), path || 'document', `*${node.source} names no anchor before it`);
      return convert(target, path, line);
    }
    const known = converted.get(node);
    if (known) return known;
    const range = isNode(node) ? node.range : undefined;
    const at = range ? lineOf(range[0]) : line;
    if (isScalar(node)) return { kind: 'scalar', value: String(node.value ?? ''), line: at };
    if (isSeq(node)) {
      const seq: YamlSeq = { kind: 'seq', items: [], line: at };
      converted.set(node, seq);
      node.items.forEach((item, index) => seq.items.push(convert(item, `${path}[${index}]`, at)));
      return seq;
    }
    if (!isMap(node)) return fail(at, path || 'document', 'not a YAML mapping, sequence or scalar');
    const map: YamlMap = { kind: 'map', entries: new Map(), line: at };
    converted.set(node, map);
    for (const pair of node.items) {
      const keyLine = isNode(pair.key) && pair.key.range ? lineOf(pair.key.range[0]) : at;
      const key = convert(pair.key, path, keyLine);
      if (key.kind !== 'scalar') fail(keyLine, path || 'document', 'a key must be a single value');
      if (map.entries.has(key.value)) fail(keyLine, path ? `${path}.${key.value}` : key.value, 'duplicate key');
      map.entries.set(key.value, convert(pair.value, path ? `${path}.${key.value}` : key.value, keyLine));
    }
    return map;
  };
  return doc.contents === null ? null : convert(doc.contents, '', 1);
}

/**
 * The key path of a parse error at `offset` on `line`: the innermost key whose entry holds the
 * offset or starts on that line (`network.ethernets.eth0.routes[1].via`), else 'document'. A
 * key over several lines is left out: it is the parser's reading of the error, not a key.
 */
function fieldAt(root: unknown, offset: number, line: number, lineOf: (offset: number) => number): string {
  const best = { path: 'document', size: Infinity };
  const visit = (node: unknown, path: string) => {
    if (isSeq(node)) node.items.forEach((item, index) => visit(item, `${path}[${index}]`));
    if (!isMap(node)) return;
    for (const pair of node.items) {
      const name = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      const keyPath = path ? `${path}.${name}` : name;
      const key = isNode(pair.key) ? pair.key.range : undefined;
      const end = (isNode(pair.value) ? pair.value.range?.[1] : undefined) ?? key?.[1];
      if (key && end !== undefined && lineOf(key[0]) === lineOf(key[1]) && ((key[0] <= offset && offset < end) || lineOf(key[0]) === line)) {
        if (end - key[0] < best.size) Object.assign(best, { path: keyPath, size: end - key[0] });
      }
      visit(pair.value, keyPath);
    }
  };
  visit(root, '');
  return best.path;
}
