// haproxy.cfg, as HAProxy 2.6 reads it (readcfgfile() in src/cfgparse.c, parse_line() in
// src/tools.c): one statement a line, words split on blanks, "double" and 'single' quotes, a
// backslash escaping the next character outside single quotes, `#` starting a comment outside
// quotes; `${VAR}` is expanded inside double quotes only (kept as written here: the agent does
// not know haproxy's environment). A section starts with its keyword (global, defaults,
// frontend NAME, backend NAME, listen NAME, peers, userlist, ...) and runs to the next one;
// `.if`/`.elif`/`.else`/`.endif` are conditional blocks (kept as if true), `.notice` etc.
// messages. HAProxy has no include directive: it reads the files and directories given with -f,
// each on its own (a section never continues into the next file). Pure parse + a thin reader.
import type { ConfigDirective, DaemonConfig } from '@dualstack/core';
import { haproxyConfigKnowledge } from '@dualstack/core';
import { ConfigParseError, readShellVars } from '../config-syntax.js';
import { EtcRoot, IncludeWalker } from './etc-root.js';

export const HAPROXY_CFG = '/etc/haproxy/haproxy.cfg';
/**
 * The EnvironmentFile= lines of Debian 12's haproxy.service, in order (a later file wins):
 * CONFIG= there replaces the unit's /etc/haproxy/haproxy.cfg, EXTRAOPTS= may add -f files.
 */
export const HAPROXY_ENV_FILES = ['/etc/default/haproxy', '/etc/sysconfig/haproxy'];

/** Section keywords of HAProxy 2.6 (REGISTER_CONFIG_SECTION in its sources). */
export const HAPROXY_SECTIONS = ['global', 'defaults', 'frontend', 'backend', 'listen', 'userlist', 'peers', 'mailers', 'namespace_list', 'resolvers', 'cache', 'program', 'http-errors', 'ring', 'fcgi-app', 'log-forward'];

export interface HaproxyParse {
  /** Section lines (key = the section keyword, value = its name) and the statements in them, context `frontend NAME`. */
  items: ConfigDirective[];
  /** Always empty: haproxy.cfg has no include. */
  includes: Array<{ pattern: string; at: number }>;
}

/**
 * The words of one line as parse_line() splits them (quotes and escapes removed), or the reason
 * and 0-based position of what HAProxy refuses in it. `${...}` inside double quotes stays as written.
 */
export function haproxyWords(line: string): { words: string[] } | { error: string; at: number } {
  const words: string[] = [];
  let word: string | null = null;
  let quote: { char: string; at: number } | null = null;
  const emit = (s: string) => (word = (word ?? '') + s);
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === '\n' || c === '\r') break;
    if (quote === null && c === '#') break;
    if (c === '"' && quote?.char !== "'") {
      quote = quote ? null : { char: '"', at: i };
      word ??= '';
      continue;
    }
    if (c === "'" && quote?.char !== '"') {
      quote = quote ? null : { char: "'", at: i };
      word ??= '';
      continue;
    }
    if (c === '\\' && quote?.char !== "'") {
      const n = line[i + 1];
      if (n === 'x') {
        if (!/^[0-9a-fA-F]{2}$/.test(line.slice(i + 2, i + 4))) return { error: 'invalid or incomplete \\x hex sequence', at: i };
        emit(String.fromCharCode(parseInt(line.slice(i + 2, i + 4), 16)));
        i += 3;
        continue;
      }
      const escaped: Record<string, string> = { ' ': ' ', '\\': '\\', t: '\t', n: '\n', r: '\r', '#': '#', "'": "'", '"': '"' };
      if (n !== undefined && (escaped[n] !== undefined || (n === '$' && quote !== null))) {
        emit(escaped[n] ?? '$');
        i++;
      } else emit('\\');
      continue;
    }
    if ((c === ' ' || c === '\t' || c === '\v' || c === '\f') && quote === null) {
      if (word !== null) words.push(word);
      word = null;
      continue;
    }
    if (c === '$' && quote?.char === '"') {
      // Environment variables are read inside double quotes only (PARSE_OPT_DQUOTE).
      const m = /^\$(\{)?([A-Za-z_.][A-Za-z0-9_]*)(\[\*\])?(-[^}]*)?(\})?/.exec(line.slice(i));
      if (!m) return { error: 'unacceptable character in an environment variable name', at: i + 1 };
      if (m[1] !== undefined && m[5] === undefined) return { error: 'unmatched brace in environment variable name', at: i + 1 };
      emit(m[0]);
      i += m[0].length - 1;
      continue;
    }
    emit(c);
  }
  if (quote !== null) return { error: 'unmatched quote', at: quote.at };
  if (word !== null) words.push(word);
  return { words };
}

export function parseHaproxyConfig(text: string, file: string): HaproxyParse {
  const items: ConfigDirective[] = [];
  const lines = text.split('\n');
  // A last line without LF: HAProxy 2.6 stops ("Missing LF on last line, file might have been truncated").
  const complete = text === '' || text.endsWith('\n');
  if (complete) lines.pop();
  let section: string | undefined;
  const conds: number[] = []; // line numbers of the open .if blocks
  lines.forEach((rawLine, index) => {
    const lineNo = index + 1;
    const raw = rawLine.replace(/\r$/, '');
    const fail = (field: string, reason: string): never => {
      throw new ConfigParseError({ file, line: lineNo, field, raw, reason });
    };
    const line = raw.replace(/^\s+/, '');
    if (line.startsWith('[')) return; // a scope for HAProxy's messages (cfg_parse_scope)
    const split = haproxyWords(line);
    if ('error' in split) fail(line.split(/\s+/)[0] || 'line', `${split.error} at position ${split.at + 1 + raw.length - line.length}`);
    const words = (split as { words: string[] }).words;
    if (!complete && index === lines.length - 1) fail(words[0] ?? 'line', 'missing LF on the last line: HAProxy takes the file as truncated and refuses it');
    if (words.length === 0) return;
    const [key, ...args] = words as [string, ...string[]];
    if (key.startsWith('.')) {
      if (key === '.if') conds.push(lineNo);
      else if (key === '.elif' || key === '.else' || key === '.endif') {
        if (conds.length === 0) fail(key, `lone '${key}' with no matching '.if'`);
        if (key === '.endif') conds.pop();
      } else if (!['.alert', '.warning', '.notice', '.diag'].includes(key)) fail(key, `unknown directive '${key}'`);
      return;
    }
    const value = args.join(' ');
    if (HAPROXY_SECTIONS.includes(key)) {
      section = args[0] !== undefined ? `${key} ${args[0]}` : key;
      items.push({ file, line: lineNo, key, value, raw });
      return;
    }
    if (section === undefined) fail(key, `unknown keyword '${key}' out of section`);
    items.push({ file, line: lineNo, key, value, raw, context: section });
  });
  if (conds.length > 0) {
    const at = conds[conds.length - 1]!;
    throw new ConfigParseError({ file, line: at, field: '.if', raw: (lines[at - 1] ?? '').replace(/\r$/, ''), reason: "non-terminated '.if' block" });
  }
  return { items, includes: [] };
}

/** The words of a shell-like option string (EXTRAOPTS="-f /etc/haproxy/conf.d -de"): blanks between, quotes group. */
function optionWords(value: string): string[] {
  return [...value.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]!);
}

/**
 * HAProxy's configuration as Debian 12's haproxy.service starts it: `haproxy -f $CONFIG ...
 * $EXTRAOPTS`, CONFIG and EXTRAOPTS from /etc/default/haproxy (or /etc/sysconfig/haproxy),
 * CONFIG defaulting to /etc/haproxy/haproxy.cfg. A -f naming a directory loads its *.cfg files
 * in name order (haproxy(1), -f). Null when none of the files exists here (not installed).
 */
export function readHaproxy(etc: EtcRoot): DaemonConfig | null {
  const files: DaemonConfig['files'] = [];
  let config = HAPROXY_CFG;
  const extra: string[] = [];
  for (const envFile of HAPROXY_ENV_FILES) {
    if (!etc.exists(envFile)) continue;
    const { text, status } = etc.readText(envFile);
    files.push(status);
    if (text === null) continue;
    const vars = readShellVars(text);
    const configVar = vars.get('CONFIG')?.value;
    if (configVar) config = configVar;
    const opts = vars.get('EXTRAOPTS')?.value;
    if (opts !== undefined) {
      extra.length = 0;
      const words = optionWords(opts);
      words.forEach((w, i) => {
        if (w === '-f' && words[i + 1]) extra.push(words[i + 1]!);
      });
    }
  }
  // A -f that is no file is a directory (its *.cfg files) or missing: an extra one is then
  // listed as missing, a missing main file with nothing else means HAProxy is not installed.
  const expand = (path: string) => (etc.exists(path) ? [path] : etc.expand(`${path.replace(/\/+$/, '')}/*.cfg`, '/'));
  const main = expand(config);
  if (main.length === 0 && extra.every((path) => expand(path).length === 0)) return null;
  const targets = [...main, ...extra.flatMap((path) => (expand(path).length > 0 ? expand(path) : [path]))];
  const walker = new IncludeWalker<ConfigDirective>(etc, parseHaproxyConfig);
  const all = targets.flatMap((target) => walker.walk(target));
  const keys = new Set(haproxyConfigKnowledge.directives);
  return { daemon: 'haproxy', files: [...files, ...walker.files], directives: all.filter((d) => keys.has(d.key)) };
}
