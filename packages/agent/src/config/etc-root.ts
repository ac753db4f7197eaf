// Reading daemon configuration under an /etc root (the live /etc, or a capture's etc/): every
// path stays inside the root (a symlink out of it is refused, not followed), files over a
// size limit or with NUL bytes are not parsed, includes are expanded with a depth limit and a
// loop check. Each file read or refused is listed with its status, so one bad file is a
// per-file problem, never the end of the scan.
import { readFileSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, isAbsolute, sep } from 'node:path';
import type { ConfigFileStatus } from '@dualstack/core';

export const MAX_CONFIG_BYTES = 10 * 1024 * 1024;
export const MAX_INCLUDE_DEPTH = 8;

/**
 * Where a link in the live /etc may lead and still be read: package data, as Debian's
 * nginx and Apache `*-enabled` links do (modules-enabled/*.conf -> /usr/share/nginx/...).
 * A captured etc/ tree gets none: a replay never reads the machine it runs on.
 */
export const LIVE_LINK_TARGETS = ['/usr/share/', '/usr/lib/'];

/** Paths are written as the daemon sees them (`/etc/ssh/sshd_config`) and read under `root`. */
export class EtcRoot {
  private readonly realRoot: string;
  /** Every file this root handed out, as /etc paths: what a capture copies. */
  readonly read = new Set<string>();

  constructor(
    readonly root: string,
    /** Directories outside the root a link may lead into (see LIVE_LINK_TARGETS). */
    private readonly linkTargets: readonly string[] = [],
  ) {
    this.realRoot = realpathSync(root);
  }

  /** `/etc/ssh/sshd_config` -> the path under the root. */
  private local(etcPath: string): string {
    const rel = etcPath.replace(/^\/etc\/?/, '');
    return join(this.root, rel);
  }

  /** Whether the file exists under the root (without following it anywhere). */
  exists(etcPath: string): boolean {
    try {
      return statSync(this.local(etcPath)).isFile();
    } catch {
      return false;
    }
  }

  /**
   * The text of one file, or its status when it cannot be used. Never throws for a file's own
   * problems: missing, unreadable, too large, binary, or a link that leaves the root.
   */
  readText(etcPath: string): { text: string; status: ConfigFileStatus } | { text: null; status: ConfigFileStatus } {
    const local = this.local(etcPath);
    const refuse = (status: ConfigFileStatus['status'], detail?: string) => ({ text: null, status: { path: etcPath, status, ...(detail ? { detail } : {}) } });
    let real: string;
    try {
      real = realpathSync(local);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      return code === 'ENOENT' ? refuse('missing') : refuse('unreadable', code ?? (error as Error).message);
    }
    const inside = relative(this.realRoot, real);
    const outside = inside.startsWith('..') || isAbsolute(inside);
    if (outside && !this.linkTargets.some((dir) => real.startsWith(dir))) return refuse('outside-root', `resolves to ${real}, outside ${this.realRoot}`);
    try {
      const stat = statSync(real);
      if (!stat.isFile()) return refuse('unreadable', 'not a regular file');
      if (stat.size > MAX_CONFIG_BYTES) return refuse('too-large', `${stat.size} bytes, more than ${MAX_CONFIG_BYTES}`);
      const buffer = readFileSync(real);
      if (buffer.includes(0)) return refuse('binary', 'holds NUL bytes');
      this.read.add(etcPath);
      return { text: buffer.toString('utf8'), status: { path: etcPath, status: 'read' } };
    } catch (error) {
      return refuse('unreadable', (error as NodeJS.ErrnoException).code ?? (error as Error).message);
    }
  }

  /**
   * The files an include pattern names, sorted (as glob(3) returns them, which sshd, nginx
   * and Apache use): `*` and `?` in the last path component only; a relative pattern is taken
   * from `baseDir`. A pattern outside /etc matches nothing here (the root is /etc).
   */
  expand(pattern: string, baseDir: string): string[] {
    const absolute = pattern.startsWith('/') ? pattern : resolve(baseDir, pattern);
    if (!absolute.startsWith('/etc/') && absolute !== '/etc') return [];
    if (!/[*?[]/.test(absolute)) return [absolute];
    const dir = dirname(absolute);
    if (/[*?[]/.test(dir)) return []; // wildcards in directories: not followed
    const base = absolute.slice(dir.length + 1);
    const re = new RegExp(`^${base.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')}$`);
    let names: string[];
    try {
      names = readdirSync(this.local(dir));
    } catch {
      return [];
    }
    return names
      .filter((n) => !n.startsWith('.') && re.test(n))
      .sort()
      .map((n) => `${dir}/${n}`.split(sep).join('/'));
  }
}

/** Follows includes from one top file: each file once (a loop is reported), at most MAX_INCLUDE_DEPTH deep. */
export class IncludeWalker<T> {
  readonly files: ConfigFileStatus[] = [];
  private readonly seen = new Set<string>();

  constructor(
    private readonly etc: EtcRoot,
    /** Parses one file's text; returns its items and the include patterns it names, in order. */
    private readonly parse: (text: string, file: string) => { items: T[]; includes: Array<{ pattern: string; at: number }> },
    /** Where relative include patterns start (sshd: /etc/ssh; nginx: the prefix /etc/nginx). */
    private readonly baseDir: (file: string) => string = (file) => dirname(file),
  ) {}

  /** Items of `file` with those of its includes spliced in where each include stands. */
  walk(file: string, depth = 0): T[] {
    if (this.seen.has(file)) {
      this.files.push({ path: file, status: 'include-loop', detail: 'already read: an include loop' });
      return [];
    }
    if (depth > MAX_INCLUDE_DEPTH) {
      this.files.push({ path: file, status: 'include-loop', detail: `includes nested deeper than ${MAX_INCLUDE_DEPTH}` });
      return [];
    }
    const { text, status } = this.etc.readText(file);
    this.files.push(status);
    if (text === null) return [];
    this.seen.add(file);
    let parsed: { items: T[]; includes: Array<{ pattern: string; at: number }> };
    try {
      parsed = this.parse(text, file);
    } catch (error) {
      this.files[this.files.length - 1] = { path: file, status: 'unparsable', detail: (error as Error).message };
      return [];
    }
    const out: T[] = [];
    let next = 0;
    for (const include of parsed.includes) {
      out.push(...parsed.items.slice(next, include.at));
      next = include.at;
      for (const target of this.etc.expand(include.pattern, this.baseDir(file))) out.push(...this.walk(target, depth + 1));
    }
    out.push(...parsed.items.slice(next));
    return out;
  }
}
