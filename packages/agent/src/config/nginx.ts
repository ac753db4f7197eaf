// nginx.conf: the syntax of nginx's own reader (ngx_conf_read_token() in
// src/core/ngx_conf_file.c): directives are words ended by `;`, blocks are `name args { ... }`,
// words are separated by blanks and may be "double" or 'single' quoted with backslash escapes,
// `#` starts a comment where a word could start, `${var}` keeps its braces inside a word.
// `include` takes a glob; a relative one is taken from the prefix of the configuration, the
// directory of nginx.conf (/etc/nginx), whatever file holds the include. Pure parse + a thin
// reader. Lua blocks (`*_by_lua_block`) are not nginx syntax and make their file unparsable.
import type { DaemonConfig } from '@dualstack/core';
import { nginxConfigKnowledge } from '@dualstack/core';
import { ConfigParseError } from '../config-syntax.js';
import { type Block, type BlockDirective, plainDirective, withIncludedBlocks } from './blocks.js';
import { EtcRoot, IncludeWalker } from './etc-root.js';

export const NGINX_CONF = '/etc/nginx/nginx.conf';
/** nginx's configuration prefix on Debian: where relative include patterns start. */
export const NGINX_PREFIX = '/etc/nginx';

export interface NginxParse {
  /** Every directive and every block's opening line (key = the block's name), in file order. */
  items: BlockDirective[];
  /** Include lines, each at the index in `items` right after the include line itself. */
  includes: Array<{ pattern: string; at: number }>;
}

interface Word {
  text: string;
  line: number;
  start: number;
  end: number;
}

/** Splits nginx.conf text into words and the punctuation `;`, `{`, `}` (ngx_conf_read_token). */
function* tokens(text: string, file: string, lines: string[], directive: () => string | undefined): Generator<Word | { punct: ';' | '{' | '}'; line: number; start: number }> {
  let i = 0;
  let line = 1;
  const fail = (at: number, field: string, reason: string): never => {
    throw new ConfigParseError({ file, line: at, field: directive() ?? field, raw: lines[at - 1] ?? '', reason });
  };
  while (i < text.length) {
    const c = text[i]!;
    if (c === '\n') {
      line++;
      i++;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r') {
      i++;
      continue;
    }
    if (c === '#') {
      while (i < text.length && text[i] !== '\n') i++;
      continue;
    }
    if (c === ';' || c === '{' || c === '}') {
      yield { punct: c, line, start: i };
      i++;
      continue;
    }
    const start = i;
    const startLine = line;
    if (c === '"' || c === "'") {
      let value = '';
      i++;
      for (;;) {
        if (i >= text.length) fail(startLine, 'quote', `unclosed ${c}`);
        const ch = text[i]!;
        if (ch === '\\' && i + 1 < text.length) {
          const next = text[i + 1]!;
          value += next === c || next === '\\' ? next : next === 't' ? '\t' : next === 'n' ? '\n' : next === 'r' ? '\r' : `\\${next}`;
          if (next === '\n') line++;
          i += 2;
          continue;
        }
        if (ch === c) break;
        if (ch === '\n') line++;
        value += ch;
        i++;
      }
      i++;
      const after = text[i];
      if (after !== undefined && !/[\s;{)]/.test(after)) fail(line, 'quote', `unexpected ${JSON.stringify(after)} after a quoted word`);
      yield { text: value, line: startLine, start, end: i };
      continue;
    }
    let value = '';
    let variable = false;
    while (i < text.length) {
      const ch = text[i]!;
      if (variable) {
        // `${name}`: the braces belong to the word.
        if (ch === '\n') fail(line, 'variable', 'a ${variable} must close on its line');
        if (ch === '}') variable = false;
        value += ch;
        i++;
        continue;
      }
      if (/[\s;{}]/.test(ch)) break;
      if (ch === '$' && text[i + 1] === '{') {
        variable = true;
        value += '${';
        i += 2;
        continue;
      }
      if (ch === '\\' && i + 1 < text.length && text[i + 1] !== '\n') {
        value += ch + text[i + 1]!;
        i += 2;
        continue;
      }
      value += ch;
      i++;
    }
    yield { text: value, line: startLine, start, end: i };
  }
}

export function parseNginxConfig(text: string, file: string): NginxParse {
  const lines = text.split('\n').map((l) => l.replace(/\r$/, ''));
  const items: BlockDirective[] = [];
  const includes: Array<{ pattern: string; at: number }> = [];
  const open: Block[] = [];
  let words: Word[] = [];
  function fail(line: number, field: string, reason: string): never {
    throw new ConfigParseError({ file, line, field, raw: lines[line - 1] ?? '', reason });
  }
  /** The arguments as written: from the first argument to the end of the last, on one line. */
  const valueOf = (ws: Word[]) => (ws.length < 2 ? '' : text.slice(ws[1]!.start, ws[ws.length - 1]!.end).replace(/\s*\n\s*/g, ' '));
  for (const t of tokens(text, file, lines, () => words[0]?.text)) {
    if ('text' in t) {
      words.push(t);
      continue;
    }
    if (t.punct === '}') {
      if (words.length > 0) fail(words[0]!.line, words[0]!.text, 'unexpected "}": the directive before it has no ";"');
      if (open.length === 0) fail(t.line, '}', 'unexpected "}": no block is open');
      open.pop();
      continue;
    }
    const [key, ...args] = words;
    if (!key) fail(t.line, t.punct, `unexpected "${t.punct}" without a directive`);
    const item: BlockDirective = { file, line: key.line, key: key.text, value: valueOf(words), raw: lines[key.line - 1] ?? '', blocks: [...open] };
    if (t.punct === '{') {
      items.push(item);
      open.push({ name: key.text, args: args.map((a) => a.text).join(' '), file, line: key.line });
    } else if (key.text === 'include') {
      if (args.length !== 1) fail(key.line, 'include', 'include takes one file or pattern');
      items.push({ ...item, include: args[0]!.text });
      includes.push({ pattern: args[0]!.text, at: items.length });
    } else {
      items.push(item);
    }
    words = [];
  }
  if (words.length > 0) fail(words[0]!.line, words[0]!.text, 'unexpected end of file: the directive has no ";"');
  if (open.length > 0) {
    const block = open[open.length - 1]!;
    fail(block.line, block.name, 'unexpected end of file: the block is not closed with "}"');
  }
  return { items: withContexts(items), includes };
}

/** `server a.example (listen 80, [::]:80; /etc/nginx/sites-enabled/x:3)`: the server's names and listen addresses. */
function serverSegment(block: Block, members: BlockDirective[]): string {
  const names = members.filter((d) => d.key === 'server_name').flatMap((d) => [...d.value.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]!));
  const listens = members.filter((d) => d.key === 'listen').map((d) => d.value.split(/\s+/)[0]!);
  return `server${names.length ? ` ${names.join(' ')}` : ''} (${listens.length ? `listen ${listens.join(', ')}` : 'no listen'}; ${block.file}:${block.line})`;
}

const sameBlock = (a: Block, b: Block) => a.file === b.file && a.line === b.line;

/**
 * Each directive's context: its blocks outermost first, joined by " > ", a server block
 * summarised by its server names and listen addresses and named by file and line (server
 * blocks are what nginx picks by address and name).
 */
export function withContexts(items: BlockDirective[]): BlockDirective[] {
  const segment = (block: Block): string => {
    if (block.name !== 'server') return block.args ? `${block.name} ${block.args}` : block.name;
    const members = items.filter((d) => d.blocks.length > 0 && sameBlock(d.blocks[d.blocks.length - 1]!, block));
    return serverSegment(block, members);
  };
  const cache = new Map<string, string>();
  return items.map((d) => {
    if (d.blocks.length === 0) {
      const { context: _drop, ...rest } = d;
      return rest;
    }
    const context = d.blocks
      .map((b) => {
        const id = `${b.file}:${b.line}`;
        if (!cache.has(id)) cache.set(id, segment(b));
        return cache.get(id)!;
      })
      .join(' > ');
    return { ...d, context };
  });
}

/** nginx's configuration with its includes, the directives the knowledge base reads; null when nginx has none here. */
export function readNginx(etc: EtcRoot): DaemonConfig | null {
  if (!etc.exists(NGINX_CONF)) return null;
  const walker = new IncludeWalker<BlockDirective>(etc, parseNginxConfig, () => NGINX_PREFIX);
  const all = withContexts(withIncludedBlocks(walker.walk(NGINX_CONF), etc, NGINX_PREFIX));
  const keys = new Set(nginxConfigKnowledge.directives);
  return { daemon: 'nginx', files: walker.files, directives: all.filter((d) => keys.has(d.key)).map((d) => plainDirective(d, d.context)) };
}
