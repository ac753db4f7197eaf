// BIND 9 named.conf: the syntax of named's own reader (lib/isccfg/parser.c and isc_lex):
// statements are words ended by `;`, blocks are `{ ... }` whose every clause ends with `;`,
// keywords are case-insensitive, "double-quoted" strings may span lines and escape with `\`,
// comments are `#` (where a word could start), `//` and `/* */` (anywhere outside a string).
// `include "PATH";` may stand wherever a clause can (the top level, options, view, zone) and
// takes a glob; a relative one is opened from named's working directory, `/` under systemd.
// Pure parse + a thin reader, which also reads Debian's start options (/etc/default/named).
import type { ConfigDirective, ConfigFileStatus, DaemonConfig } from '@dualstack/core';
import { bindConfigKnowledge } from '@dualstack/core';
import { ConfigParseError, readShellVars } from '../config-syntax.js';
import { EtcRoot, IncludeWalker } from './etc-root.js';

export const NAMED_CONF = '/etc/bind/named.conf';
/** Debian's start options for named.service (`ExecStart=/usr/sbin/named -f $OPTIONS`). */
export const NAMED_DEFAULTS = '/etc/default/named';

export interface BindParse {
  /**
   * Every statement of the top level, options, view and zone blocks except those blocks
   * themselves and include: key, its arguments up to the `;` with comments left out (one line
   * of `value` per line of the file, so a list over several lines keeps its layout), the
   * line of the key. A statement over several lines also gives one item per further line that
   * holds more than braces (value: its part; context: `... > KEY from line N`), so an address
   * on the third line of an acl can be named by its own line.
   */
  items: ConfigDirective[];
  /** Include statements, each at the index in `items` where the included statements go, with the blocks around it. */
  includes: Array<{ pattern: string; at: number; context: string[] }>;
}

interface Token {
  kind: 'word' | 'string' | '{' | '}' | ';';
  /** As written (a string with its quotes). */
  src: string;
  /** A string's content without quotes and escapes; the word itself otherwise. */
  text: string;
  line: number;
  /** Whether blanks or a comment stood between this token and the one before. */
  spaced: boolean;
}

/** named's lexer for named.conf: `{`, `}`, `;`, quoted strings and words; comments dropped. */
function lex(text: string, fail: (line: number, field: string, reason: string) => never): Token[] {
  const out: Token[] = [];
  let i = 0;
  let line = 1;
  let spaced = true;
  const push = (t: Omit<Token, 'spaced'>) => {
    out.push({ ...t, spaced });
    spaced = false;
  };
  while (i < text.length) {
    const c = text[i]!;
    if (c === '\n') {
      line++;
      i++;
      spaced = true;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r' || c === '\f' || c === '\v') {
      i++;
      spaced = true;
      continue;
    }
    if (c === '#' || (c === '/' && text[i + 1] === '/')) {
      while (i < text.length && text[i] !== '\n') i++;
      spaced = true;
      continue;
    }
    if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      if (end < 0) fail(line, 'comment', 'a /* comment is not closed before the end of the file');
      for (let j = i; j < end; j++) if (text[j] === '\n') line++;
      i = end + 2;
      spaced = true;
      continue;
    }
    if (c === '{' || c === '}' || c === ';') {
      push({ kind: c, src: c, text: c, line });
      i++;
      continue;
    }
    if (c === '"') {
      const startLine = line;
      let j = i + 1;
      let value = '';
      for (;;) {
        if (j >= text.length) fail(startLine, 'string', 'a quoted string is not closed before the end of the file');
        const d = text[j]!;
        if (d === '\\' && j + 1 < text.length) {
          value += text[j + 1];
          if (text[j + 1] === '\n') line++;
          j += 2;
          continue;
        }
        if (d === '"') break;
        if (d === '\n') line++;
        value += d;
        j++;
      }
      push({ kind: 'string', src: text.slice(i, j + 1), text: value, line: startLine });
      i = j + 1;
      continue;
    }
    // A word runs to a blank, a special character, a quote or a // or /* comment; '#' inside
    // a word is part of it (isc_lex only starts a comment where a token could start).
    const start = i;
    while (i < text.length) {
      const d = text[i]!;
      if (/[\s{};"]/.test(d)) break;
      if (d === '/' && (text[i + 1] === '/' || text[i + 1] === '*')) break;
      i++;
    }
    if (i === start) i++; // not reached (every other start is handled above), but never loop
    const word = text.slice(start, i);
    push({ kind: 'word', src: word, text: word, line });
  }
  return out;
}

/** Blocks whose clauses are statements the knowledge base reads; every other block is kept whole. */
const CLAUSE_BLOCKS = new Set(['options', 'view', 'zone']);
/** Statements whose argument is an address match list: `KEY [options] { element; ... };` */
const ADDRESS_LIST = /^(acl|listen-on|listen-on-v6|allow-[a-z-]+|blackhole)$/i;

export function parseBindConfig(text: string, file: string, outer: string[] = []): BindParse {
  const lines = text.split('\n').map((l) => l.replace(/\r$/, ''));
  function fail(line: number, field: string, reason: string): never {
    throw new ConfigParseError({ file, line, field, raw: lines[line - 1] ?? '', reason });
  }
  const tokens = lex(text, fail);
  const items: ConfigDirective[] = [];
  const includes: BindParse['includes'] = [];
  let pos = 0;
  const near = (t: Token | undefined) => (t ? `'${t.src}'` : 'end of file');

  /** One statement's tokens from its key to the `;` that ends it (exclusive); nested blocks checked. */
  function statementTokens(key: Token): Token[] {
    const body: Token[] = [];
    let depth = 0;
    for (;;) {
      const t = tokens[pos];
      if (!t) fail(body.length ? body[body.length - 1]!.line : key.line, key.text, "missing ';' before end of file");
      if (t.kind === ';' && depth === 0) {
        pos++;
        return body;
      }
      if (t.kind === '{') depth++;
      if (t.kind === '}') {
        if (depth === 0) fail(t.line, key.text, "missing ';' before '}'");
        const before = body[body.length - 1];
        if (before && before.kind !== ';' && before.kind !== '{') fail(t.line, key.text, "missing ';' before '}'");
        depth--;
      }
      body.push(t);
      pos++;
    }
  }

  /** The address match list statements: a `{ list }` and nothing after it. */
  function checkAddressList(key: Token, body: Token[]): void {
    const open = body.findIndex((t) => t.kind === '{');
    if (open < 0) fail(body[body.length - 1]?.line ?? key.line, key.text, `'{' expected near ${near(tokens[pos - 1])}`);
    let depth = 0;
    for (let i = open; i < body.length; i++) {
      if (body[i]!.kind === '{') depth++;
      if (body[i]!.kind === '}' && --depth === 0) {
        const after = body[i + 1];
        if (after) fail(after.line, key.text, `missing ';' before ${near(after)}`);
        return;
      }
    }
  }

  /** The directive (and its continuation lines) of one statement. */
  function emit(key: Token, body: Token[], context: string[]): void {
    const first = key.line;
    const last = Math.max(first, ...body.map((t) => t.line));
    const parts: string[] = [];
    for (let l = first; l <= last; l++) {
      const onLine = body.filter((t) => t.line === l);
      parts.push(onLine.map((t, i) => `${i > 0 && t.spaced ? ' ' : ''}${t.src}`).join(''));
    }
    while (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
    const ctx = context.length ? context.join(' > ') : undefined;
    items.push({ file, line: first, key: key.text, value: parts.join('\n'), raw: lines[first - 1] ?? '', ...(ctx !== undefined ? { context: ctx } : {}) });
    parts.forEach((part, k) => {
      if (k === 0 || /^[{};\s]*$/.test(part)) return; // a line of braces only holds nothing to name
      items.push({ file, line: first + k, key: key.text, value: part, raw: lines[first + k - 1] ?? '', context: [...context, `${key.text} from line ${first}`].join(' > ') });
    });
  }

  /** Clauses until the `}` closing `block` (or the end of the file at the top). */
  function clauses(context: string[], block: Token | null): void {
    for (;;) {
      const t = tokens[pos];
      if (!t) {
        if (block) fail(block.line, block.text, `'}' expected before end of file (the ${block.text} block opened here is not closed)`);
        return;
      }
      if (t.kind === '}') {
        if (!block) fail(t.line, 'statement', "unexpected '}' (no block is open)");
        pos++;
        return;
      }
      if (t.kind !== 'word') fail(t.line, block?.text ?? 'statement', `a statement must start with a keyword, not ${near(t)}`);
      pos++;
      const lower = t.text.toLowerCase();
      if (lower === 'include') {
        const name = tokens[pos];
        if (!name || name.kind !== 'string') fail(name?.line ?? t.line, 'include', `expected quoted string near ${near(name)}`);
        pos++;
        if (tokens[pos]?.kind !== ';') fail(tokens[pos]?.line ?? name.line, 'include', `missing ';' before ${near(tokens[pos])}`);
        pos++;
        includes.push({ pattern: name.text, at: items.length, context: [...context] });
        continue;
      }
      if (CLAUSE_BLOCKS.has(lower)) {
        const header: Token[] = [];
        while (tokens[pos] && tokens[pos]!.kind !== '{') {
          const h = tokens[pos]!;
          if (h.kind === ';' || h.kind === '}') fail(h.line, t.text, `'{' expected near ${near(h)}`);
          header.push(h);
          pos++;
        }
        if (!tokens[pos]) fail(t.line, t.text, "'{' expected before end of file");
        pos++;
        clauses([...context, [t.text, ...header.map((h) => h.src)].join(' ')], t);
        if (tokens[pos]?.kind !== ';') fail(tokens[pos]?.line ?? tokens[pos - 1]!.line, t.text, `missing ';' before ${near(tokens[pos])}`);
        pos++;
        continue;
      }
      const body = statementTokens(t);
      if (ADDRESS_LIST.test(t.text)) checkAddressList(t, body);
      emit(t, body, context);
    }
  }

  clauses(outer, null);
  return { items, includes };
}

/**
 * named's configuration with its includes, the directives the knowledge base reads, and the
 * OPTIONS line of Debian's /etc/default/named (named -4 there makes it IPv4-only); null when
 * named.conf is absent. Included files named *.key (rndc.key, TSIG keys from tsig-keygen)
 * hold key statements only, which decide nothing here: they are not read, so their secrets
 * are never parsed or captured.
 */
export function readBind(etc: EtcRoot): DaemonConfig | null {
  if (!etc.exists(NAMED_CONF)) return null;
  const blocksOf = new Map<string, string[]>();
  // Relative include paths are opened from named's working directory, / under systemd
  // (named.service sets no WorkingDirectory): a pattern outside /etc names nothing here.
  const baseDir = () => '/';
  const walker = new IncludeWalker<ConfigDirective>(
    etc,
    (text, file) => {
      const parsed = parseBindConfig(text, file, blocksOf.get(file) ?? []);
      const includes = parsed.includes.filter((i) => !i.pattern.endsWith('.key'));
      for (const include of includes) {
        for (const target of etc.expand(include.pattern, baseDir())) if (!blocksOf.has(target)) blocksOf.set(target, include.context);
      }
      return { items: parsed.items, includes };
    },
    baseDir,
  );
  const all = walker.walk(NAMED_CONF);
  const files: ConfigFileStatus[] = [...walker.files];
  const keys = new Set(bindConfigKnowledge.directives.filter((k) => k !== 'OPTIONS').map((k) => k.toLowerCase()));
  const directives = all.filter((d) => keys.has(d.key.toLowerCase()));
  if (etc.exists(NAMED_DEFAULTS)) {
    const { text, status } = etc.readText(NAMED_DEFAULTS);
    files.push(status);
    const options = text === null ? undefined : readShellVars(text).get('OPTIONS');
    if (options) directives.push({ file: NAMED_DEFAULTS, line: options.line, key: 'OPTIONS', value: options.value, raw: options.raw });
  }
  return { daemon: 'named', files, directives };
}
