// Where a report (or a probe batch) waits when the collector cannot take it: one file per
// payload in one directory, named `<collectedAt>_<reportId>.json` (probe batches:
// `probe-<startedAt>_<batchId>.json`, see payload.ts) so a name sort is oldest first; each
// kind is listed and bounded on its own. Files
// appear whole or not at all (temp name in the same directory, fsync, rename, fsync the
// directory: rename(2) is atomic within one file system, and the directory fsync makes the
// new name survive a power cut). Bounded by count and bytes; the oldest go first, each
// with a log line. A file that does not parse is moved into corrupt/, never deleted.
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { chmod, mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Report } from '@dualstack/core';
import { REPORT_KIND, type PayloadKind } from './payload.js';
import { DEFAULT_SPOOL_DIR } from './paths.js';

export { DEFAULT_SPOOL_DIR };
export const DEFAULT_SPOOL_MAX_REPORTS = 1000;
export const DEFAULT_SPOOL_MAX_BYTES = 100 * 1024 * 1024;
/** A temp file older than this was left by a writer that died: removed on the next listing. */
const STALE_TEMP_MS = 10 * 60 * 1000;

export interface SpoolOptions<T = Report> {
  dir?: string;
  /** What this spool holds (default reports); another kind in the same directory is not listed. */
  kind?: PayloadKind<T, unknown>;
  maxReports?: number;
  maxBytes?: number;
  /** One line per event (dropped, moved aside). Default: nothing. */
  log?: (line: string) => void;
  now?: () => number;
}

export interface SpoolEntry {
  /** File name inside the spool directory. */
  name: string;
  path: string;
  /** The payload's id: reportId, batchId. */
  id: string;
  /** From the file name (collectedAt, startedAt), as ISO 8601 UTC, e.g. 2025-01-02T03:04:05.678Z. */
  time: string;
  bytes: number;
}

export interface SpoolAddResult {
  /** The new entry, or null when the report alone is over the byte bound (dropped). */
  entry: SpoolEntry | null;
  /** Older reports dropped to make room, oldest first. */
  dropped: SpoolEntry[];
}

// [prefix]20250102T030405.678Z_<uuid>.json: the time sorts first, the id breaks ties.
const entryPattern = (prefix: string) => new RegExp(`^${prefix.replace(/[^A-Za-z0-9]/g, '\\$&')}(\\d{8}T\\d{6}\\.\\d{3}Z)_([0-9A-Za-z-]{1,64})\\.json$`);
const TEMP_PREFIX = '.tmp-';
export const CORRUPT_DIR = 'corrupt';

/** The spool's file name for a report; throws on a collectedAt that is not a date. */
export function spoolFileName(report: Pick<Report, 'reportId' | 'collectedAt'>): string {
  return fileName(REPORT_KIND as PayloadKind<unknown, unknown>, report.reportId, report.collectedAt);
}

function fileName(kind: PayloadKind<unknown, unknown>, id: string, at: string): string {
  const time = Date.parse(at);
  if (Number.isNaN(time)) throw new SpoolError(`${kind.noun} ${id} has ${kind.timeField} '${at}', not a date`);
  if (!/^[0-9A-Za-z-]{1,64}$/.test(id)) throw new SpoolError(`${kind.noun} id '${id}' cannot name a spool file`);
  // Normalised to UTC with milliseconds, so every name has the same width and sorts by time.
  const compact = new Date(time).toISOString().replace(/[-:]/g, '');
  return `${kind.filePrefix}${compact}_${id}.json`;
}

/** 20250102T030405.678Z -> 2025-01-02T03:04:05.678Z */
function isoFromCompact(compact: string): string {
  return `${compact.slice(0, 4)}-${compact.slice(4, 6)}-${compact.slice(6, 11)}:${compact.slice(11, 13)}:${compact.slice(13)}`;
}

export class SpoolError extends Error {
  override name = 'SpoolError';
}

export class Spool<T = Report> {
  readonly dir: string;
  readonly kind: PayloadKind<T, unknown>;
  private readonly entryName: RegExp;
  readonly maxReports: number;
  readonly maxBytes: number;
  private readonly log: (line: string) => void;
  private readonly now: () => number;

  constructor(options: SpoolOptions<T> = {}) {
    this.dir = options.dir ?? DEFAULT_SPOOL_DIR;
    this.kind = options.kind ?? (REPORT_KIND as unknown as PayloadKind<T, unknown>);
    this.entryName = entryPattern(this.kind.filePrefix);
    this.maxReports = options.maxReports ?? DEFAULT_SPOOL_MAX_REPORTS;
    this.maxBytes = options.maxBytes ?? DEFAULT_SPOOL_MAX_BYTES;
    if (!(Number.isInteger(this.maxReports) && this.maxReports >= 1)) throw new SpoolError(`spool bound must be at least 1 report, not ${this.maxReports}`);
    if (!(Number.isInteger(this.maxBytes) && this.maxBytes >= 1)) throw new SpoolError(`spool bound must be at least 1 byte, not ${this.maxBytes}`);
    this.log = options.log ?? (() => undefined);
    this.now = options.now ?? Date.now;
  }

  /** Creates the directory (0700: reports describe the host's network) if it is missing, and sets an existing one to 0700. */
  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    // mkdir leaves an existing directory's mode alone: one made by hand, or under umask 022,
    // would let every local user read the waiting reports.
    const mode = (await stat(this.dir)).mode & 0o777;
    if ((mode & 0o077) !== 0) {
      await chmod(this.dir, 0o700);
      this.log(`warning: spool ${this.dir} had mode ${mode.toString(8).padStart(4, '0')} (other users could read the waiting reports); set it to 0700`);
    }
  }

  /** Waiting reports, oldest first. Temp files and foreign names are not entries. */
  async list(): Promise<SpoolEntry[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const entries: SpoolEntry[] = [];
    for (const name of names.sort()) {
      if (name.startsWith(TEMP_PREFIX)) {
        await this.removeStaleTemp(name);
        continue;
      }
      const match = this.entryName.exec(name);
      if (!match) continue;
      const path = join(this.dir, name);
      try {
        const info = await stat(path);
        if (!info.isFile()) continue;
        entries.push({ name, path, time: isoFromCompact(match[1]!), id: match[2]!, bytes: info.size });
      } catch (error) {
        // Removed by a concurrent flush (another agent process on the same spool).
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    }
    return entries;
  }

  async size(): Promise<{ reports: number; bytes: number }> {
    const entries = await this.list();
    return { reports: entries.length, bytes: entries.reduce((sum, e) => sum + e.bytes, 0) };
  }

  /** Writes the payload atomically, then drops the oldest ones beyond the bounds. */
  async add(payload: T): Promise<SpoolAddResult> {
    const { kind } = this;
    const id = kind.id(payload);
    const name = fileName(kind as PayloadKind<unknown, unknown>, id, kind.time(payload));
    const data = Buffer.from(JSON.stringify(payload), 'utf8');
    if (data.length > this.maxBytes) {
      // Dropping everything older would not make it fit: drop this one alone.
      this.log(`dropped ${kind.noun} ${id} (${kind.timeWord} ${kind.time(payload)}, ${formatBytes(data.length)}): larger than the spool's bound of ${formatBytes(this.maxBytes)}`);
      return { entry: null, dropped: [] };
    }
    await this.init();
    const path = join(this.dir, name);
    await this.writeAtomically(path, data);
    const dropped = await this.enforceBounds(name);
    return { entry: { name, path, id, time: isoFromCompact(this.entryName.exec(name)![1]!), bytes: data.length }, dropped };
  }

  /**
   * The report in an entry, or null when the file is gone (another process delivered it) or
   * corrupt (then moved into corrupt/ with a log line).
   */
  async read(entry: SpoolEntry): Promise<T | null> {
    let text: string;
    try {
      text = await readFile(entry.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
    const problem = corruption(text, entry, this.kind);
    if (problem === null) return JSON.parse(text) as T;
    await this.moveAside(entry, problem);
    return null;
  }

  /** Removes a delivered (or rejected) report; already gone is fine. */
  async remove(entry: SpoolEntry): Promise<void> {
    try {
      await unlink(entry.path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    await this.syncDir();
  }

  private async writeAtomically(path: string, data: Buffer): Promise<void> {
    const temp = join(this.dir, `${TEMP_PREFIX}${process.pid}-${randomBytes(6).toString('hex')}`);
    const handle = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } catch (error) {
      await handle.close().catch(() => undefined);
      await unlink(temp).catch(() => undefined);
      throw error;
    }
    await handle.close();
    try {
      await rename(temp, path);
    } catch (error) {
      await unlink(temp).catch(() => undefined);
      throw error;
    }
    await this.syncDir();
  }

  private async syncDir(): Promise<void> {
    const handle = await open(this.dir, constants.O_RDONLY | constants.O_DIRECTORY);
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  /** Drops the oldest entries until both bounds hold; `keep` (the one just added) goes last. */
  private async enforceBounds(keep: string): Promise<SpoolEntry[]> {
    const entries = await this.list();
    let reports = entries.length;
    let bytes = entries.reduce((sum, e) => sum + e.bytes, 0);
    const dropped: SpoolEntry[] = [];
    // Oldest first, but never the new report while an older one can go instead (a report with
    // an old collectedAt, e.g. replayed from a capture, sorts first yet is the newest arrival).
    const order = [...entries.filter((e) => e.name !== keep), ...entries.filter((e) => e.name === keep)];
    for (const entry of order) {
      if (reports <= this.maxReports && bytes <= this.maxBytes) break;
      const reason = reports > this.maxReports ? `over its bound of ${this.maxReports} ${this.kind.noun}s` : `over its bound of ${formatBytes(this.maxBytes)}`;
      await this.remove(entry);
      reports -= 1;
      bytes -= entry.bytes;
      dropped.push(entry);
      this.log(`dropped spooled ${this.kind.noun} ${entry.id} (${this.kind.timeWord} ${entry.time}, ${formatBytes(entry.bytes)}): spool ${this.dir} ${reason}`);
    }
    return dropped;
  }

  private async moveAside(entry: SpoolEntry, problem: string): Promise<void> {
    const dir = join(this.dir, CORRUPT_DIR);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const target = join(dir, entry.name);
    try {
      await rename(entry.path, target);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    await this.syncDir();
    this.log(`moved corrupt spool file ${entry.name} aside to ${target}: ${problem}`);
  }

  private async removeStaleTemp(name: string): Promise<void> {
    const path = join(this.dir, name);
    try {
      const info = await stat(path);
      if (this.now() - info.mtimeMs < STALE_TEMP_MS) return; // maybe a writer at work right now
      await unlink(path);
      this.log(`removed ${path}: a partial spool write left by an interrupted agent (${formatBytes(info.size)})`);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
}

/** Why a spool file's text is not the payload its name says, or null when it is. */
function corruption(text: string, entry: SpoolEntry, kind: PayloadKind<unknown, unknown>): string | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return `not JSON (${(error as Error).message})`;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not a JSON object';
  const record = value as Record<string, unknown>;
  const id = record[kind.idField];
  if (typeof id !== 'string') return `no ${kind.idField}`;
  if (typeof record[kind.timeField] !== 'string') return `no ${kind.timeField}`;
  if (id !== entry.id) return `${kind.idField} ${id} does not match the file name`;
  return null;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
