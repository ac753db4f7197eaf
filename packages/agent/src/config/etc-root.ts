// Reading daemon configuration under an /etc root (the live /etc, or a capture's etc/): every
// path stays inside the root (a symlink out of it is refused, not followed), files over a
// size limit or with NUL bytes are not parsed, includes are expanded with a depth limit and a
// loop check. Each file read or refused is listed with its status, so one bad file is a
// per-file problem, never the end of the scan.
import { lstatSync, readFileSync, readdirSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
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
  /** Every file this root handed out, as /etc paths: what a capture copies. */
  readonly read = new Set<string>();

  constructor(
    readonly root: string,
    /** Directories outside the root a link may lead into (see LIVE_LINK_TARGETS). */
    private readonly linkTargets: readonly string[] = [],
    /**
     * The directory of the host that `root` stands for: /etc, or / for a root holding the
     * whole tree (systemd units under /run and /usr/lib, read through --root).
     */
    readonly mount: '/etc' | '/' = '/etc',
  ) {
    realpathSync(root); // the root must exist: fail here, not at every file
  }

  /** `/etc/ssh/sshd_config` -> `ssh/sshd_config`: the path below the mount. */
  private below(path: string): string {
    return this.mount === '/' ? path.replace(/^\/+/, '') : path.replace(/^\/etc\/?/, '');
  }

  private inside(path: string): boolean {
    return this.mount === '/' ? path.startsWith('/') : path === '/etc' || path.startsWith('/etc/');
  }

  /** `/etc/ssh/sshd_config` -> the path under the root. */
  private local(etcPath: string): string {
    return join(this.root, this.below(etcPath));
  }

  /**
   * Follows links the way the daemon would on the host whose /etc this root is: a link to
   * `/etc/...` (Debian's sites-enabled/default -> /etc/nginx/sites-available/default) leads
   * to that file under the root, not to this machine's /etc; relative links resolve as usual.
   * A link leaving /etc is refused unless it leads into linkTargets.
   */
  private resolve(etcPath: string): { path: string } | { status: ConfigFileStatus['status']; detail?: string } {
    let parts = this.below(etcPath).split('/').filter(Boolean);
    let done: string[] = [];
    for (let hops = 0; parts.length > 0; ) {
      const name = parts.shift()!;
      if (name === '.') continue;
      if (name === '..') {
        if (done.length === 0) return { status: 'outside-root', detail: `${etcPath} climbs out of ${this.mount}` };
        done.pop();
        continue;
      }
      const here = join(this.root, ...done, name);
      let stat;
      try {
        stat = lstatSync(here);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        return code === 'ENOENT' || code === 'ENOTDIR' ? { status: 'missing' } : { status: 'unreadable', detail: code ?? (error as Error).message };
      }
      if (!stat.isSymbolicLink()) {
        done.push(name);
        continue;
      }
      if (++hops > 40) return { status: 'unreadable', detail: 'too many levels of symbolic links' };
      const target = readlinkSync(here);
      if (!target.startsWith('/')) {
        parts = [...target.split('/').filter(Boolean), ...parts];
        continue;
      }
      if (this.inside(target)) {
        done = [];
        parts = [...this.below(target).split('/').filter(Boolean), ...parts];
        continue;
      }
      const outside = [target, ...parts].join('/');
      if (!this.linkTargets.some((dir) => outside.startsWith(dir))) return { status: 'outside-root', detail: `${join('/etc', ...done, name)} links to ${target}, outside ${this.mount}` };
      try {
        return { path: realpathSync(outside) };
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        return code === 'ENOENT' ? { status: 'missing' } : { status: 'unreadable', detail: code ?? (error as Error).message };
      }
    }
    return { path: join(this.root, ...done) };
  }

  /** Whether the file exists under the root (without following it anywhere). */
  exists(etcPath: string): boolean {
    const resolved = this.resolve(etcPath);
    if (!('path' in resolved)) return resolved.status !== 'missing';
    try {
      return statSync(resolved.path).isFile();
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
    const resolved = this.resolve(etcPath);
    if ('status' in resolved) return refuse(resolved.status, resolved.detail);
    const real = resolved.path;
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
    if (!this.inside(absolute)) return [];
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

/**
 * Follows includes from one top file, at most MAX_INCLUDE_DEPTH deep. A file that includes
 * itself through its own include chain is a loop (reported); the same snippet included from
 * two places is read twice, as the daemon reads it.
 */
export class IncludeWalker<T> {
  readonly files: ConfigFileStatus[] = [];

  constructor(
    private readonly etc: EtcRoot,
    /** Parses one file's text; returns its items and the include patterns it names, in order. */
    private readonly parse: (text: string, file: string) => { items: T[]; includes: Array<{ pattern: string; at: number }> },
    /** Where relative include patterns start (sshd: /etc/ssh; nginx: the prefix /etc/nginx). */
    private readonly baseDir: (file: string) => string = (file) => dirname(file),
  ) {}

  /** Items of `file` with those of its includes spliced in where each include stands. */
  walk(file: string, depth = 0, chain: ReadonlySet<string> = new Set()): T[] {
    if (chain.has(file)) {
      this.files.push({ path: file, status: 'include-loop', detail: `includes itself through ${[...chain].join(' -> ')}` });
      return [];
    }
    if (depth > MAX_INCLUDE_DEPTH) {
      this.files.push({ path: file, status: 'include-loop', detail: `includes nested deeper than ${MAX_INCLUDE_DEPTH}` });
      return [];
    }
    const { text, status } = this.etc.readText(file);
    this.files.push(status);
    if (text === null) return [];
    let parsed: { items: T[]; includes: Array<{ pattern: string; at: number }> };
    try {
      parsed = this.parse(text, file);
    } catch (error) {
      this.files[this.files.lastIndexOf(status)] = { path: file, status: 'unparsable', detail: (error as Error).message };
      return [];
    }
    const inner = new Set([...chain, file]);
    const out: T[] = [];
    let next = 0;
    for (const include of parsed.includes) {
      out.push(...parsed.items.slice(next, include.at));
      next = include.at;
      for (const target of this.etc.expand(include.pattern, this.baseDir(file))) out.push(...this.walk(target, depth + 1, inner));
    }
    out.push(...parsed.items.slice(next));
    return out;
  }
}
