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

type LineCallback = (buf: Buffer, start: number, end: number, lineNo: number) => void;

/**
 * A /proc file read chunk by chunk (256 KiB per read(2)), each chunk's whole lines handed to
 * the callback as bytes inside a reused buffer (valid only during the call): a socket table
 * with 100k entries is ~15 MB and is never held whole, and no string is made per line.
 */
class ProcLineReader {
  private buffer = Buffer.allocUnsafe(256 * 1024);
  private filled = 0;
  private lineNo = 0;
  private done = false;

  constructor(
    private readonly fd: number,
    private readonly onLine: LineCallback,
  ) {}

  /** Reads and hands over one chunk; false once the file is exhausted (the last line included). */
  step(): boolean {
    if (this.done) return false;
    let buffer = this.buffer;
    if (this.filled === buffer.length) {
      // One line longer than the buffer: grow it rather than split the line.
      const bigger = Buffer.allocUnsafe(buffer.length * 2);
      buffer.copy(bigger, 0, 0, this.filled);
      this.buffer = buffer = bigger;
    }
    const n = readSync(this.fd, buffer, this.filled, buffer.length - this.filled, null);
    if (n === 0) {
      this.done = true;
      if (this.filled > 0) this.onLine(buffer, 0, this.filled, ++this.lineNo);
      return false;
    }
    const end = this.filled + n;
    let start = 0;
    for (let nl = buffer.indexOf(10, start); nl !== -1 && nl < end; nl = buffer.indexOf(10, start)) {
      this.onLine(buffer, start, nl, ++this.lineNo);
      start = nl + 1;
    }
    this.filled = end - start;
    if (start > 0 && this.filled > 0) buffer.copy(buffer, 0, start, end);
    return true;
  }
}

function openProcFile(root: ProcRoot, rel: string): number | null {
  try {
    return openSync(procPath(root, rel), 'r');
  } catch (error) {
    if (isNotFound(error)) return null;
    throw error;
  }
}

/**
 * Streams a /proc file line by line (see ProcLineReader), in one go. Returns false when the
 * file does not exist.
 */
export function forEachProcLineBytes(root: ProcRoot, rel: string, onLine: LineCallback): boolean {
  const fd = openProcFile(root, rel);
  if (fd === null) return false;
  try {
    const reader = new ProcLineReader(fd, onLine);
    while (reader.step());
  } finally {
    closeSync(fd);
  }
  return true;
}

/**
 * The same, but returning to the event loop between chunks: the kernel generates a socket
 * table's text inside read(2), ~100 ms for 50k sockets, and child processes started beside the
 * read (ss, ip) must get their pipes drained meanwhile, or they stall on a full pipe until the
 * read is over. Resolves false when the file does not exist.
 */
export async function forEachProcLineBytesYielding(root: ProcRoot, rel: string, onLine: LineCallback): Promise<boolean> {
  const fd = openProcFile(root, rel);
  if (fd === null) return false;
  try {
    const reader = new ProcLineReader(fd, onLine);
    while (reader.step()) await new Promise((resolve) => setImmediate(resolve));
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
