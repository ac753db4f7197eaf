// Access to a /proc tree: the live one or a captured copy (--proc-root), so every source can
// replay a real host. Only this file touches the file system paths of /proc.
import { readFileSync, readdirSync, readlinkSync, openSync, readSync, closeSync } from 'node:fs';
import { join } from 'node:path';

export interface ProcRoot {
  /** Directory that plays /proc: '/proc' on a live host, `<capture>/proc` on a replay. */
  readonly path: string;
  /** True when `path` is the running kernel's /proc. */
  readonly live: boolean;
}

export function procRoot(path = '/proc'): ProcRoot {
  return { path, live: path === '/proc' };
}

export function procPath(root: ProcRoot, rel: string): string {
  return join(root.path, rel);
}

/** A /proc file's text, or null when it does not exist (the caller decides what absence means). */
export function readProcText(root: ProcRoot, rel: string): string | null {
  try {
    return readFileSync(procPath(root, rel), 'latin1');
  } catch (error) {
    if (isNotFound(error)) return null;
    throw error;
  }
}

export function listProcDir(root: ProcRoot, rel: string): string[] | null {
  try {
    return readdirSync(procPath(root, rel));
  } catch (error) {
    if (isNotFound(error)) return null;
    throw error;
  }
}

export function readProcLink(root: ProcRoot, rel: string): string {
  return readlinkSync(procPath(root, rel));
}

/**
 * Streams a /proc file line by line without holding it whole (a socket table with 100k
 * entries is ~15 MB) and without making a string per line: the callback gets the bytes of
 * each line (without the newline) inside a reused buffer, valid only during the call.
 * Returns false when the file does not exist.
 */
export function forEachProcLineBytes(root: ProcRoot, rel: string, onLine: (buf: Buffer, start: number, end: number, lineNo: number) => void): boolean {
  let fd: number;
  try {
    fd = openSync(procPath(root, rel), 'r');
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
  let buffer = Buffer.allocUnsafe(256 * 1024);
  let filled = 0;
  let lineNo = 0;
  try {
    for (;;) {
      if (filled === buffer.length) {
        // One line longer than the buffer: grow it rather than split the line.
        const bigger = Buffer.allocUnsafe(buffer.length * 2);
        buffer.copy(bigger, 0, 0, filled);
        buffer = bigger;
      }
      const n = readSync(fd, buffer, filled, buffer.length - filled, null);
      if (n === 0) break;
      const end = filled + n;
      let start = 0;
      for (let nl = buffer.indexOf(10, start); nl !== -1 && nl < end; nl = buffer.indexOf(10, start)) {
        onLine(buffer, start, nl, ++lineNo);
        start = nl + 1;
      }
      filled = end - start;
      if (start > 0 && filled > 0) buffer.copy(buffer, 0, start, end);
    }
    if (filled > 0) onLine(buffer, 0, filled, ++lineNo);
  } finally {
    closeSync(fd);
  }
  return true;
}

export function isNotFound(error: unknown): boolean {
  return (error as NodeJS.ErrnoException)?.code === 'ENOENT';
}

export function isPermissionDenied(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException)?.code;
  return code === 'EACCES' || code === 'EPERM';
}
