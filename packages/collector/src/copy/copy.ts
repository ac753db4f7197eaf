// `dualstack-collector copy`: a SQLite fleet into PostgreSQL, table by table (parents first),
// in keyed batches, each batch one target transaction with its progress; resumed from the
// target's copy_progress when run again; verified by counting every table on both sides.
import { PostgresOpenError } from '../db/postgres/pool.js';
import { CopyError } from './errors.js';
import { CopySource, type SourceTable } from './source.js';
import { RECOUNTED_COLUMNS } from './tables.js';
import { CopyTarget, type ProgressRow } from './target.js';

export interface CopyOptions {
  from: string;
  to: string;
  /** Rows per batch (one target transaction each). */
  batch: number;
  /** Count and check only: nothing is written. */
  dryRun?: boolean;
  /** One progress line (no newline). */
  progress?: (line: string) => void;
  /** Aborted (Ctrl-C): stop after the batch in flight. */
  signal?: AbortSignal;
}

export interface TableCount {
  table: string;
  source: number;
  /** null in a dry run on a target without that table yet. */
  target: number | null;
}

export interface CopyResult {
  counts: TableCount[];
  /** Tables whose counts differ (empty: verified). Never checked in a dry run. */
  mismatched: string[];
  /** 'fresh': a new copy; 'resumed': an interrupted one continued; 'done': it was complete already. */
  start: 'fresh' | 'resumed' | 'done';
  /** Rows read and written by this run. */
  rows: number;
  seconds: number;
}

interface Plan {
  table: SourceTable;
  columns: string[];
  recounts: string[];
  identities: Awaited<ReturnType<CopyTarget['columns']>>;
}

const PROGRESS_EVERY_MS = 1000;

export async function copyFleet(options: CopyOptions): Promise<CopyResult> {
  if (!Number.isInteger(options.batch) || options.batch < 1) throw new CopyError(`--batch takes a whole number of rows from 1, not ${options.batch}`);
  const started = performance.now();
  const source = new CopySource(options.from);
  try {
    const target = await CopyTarget.open(options.to, { migrate: !options.dryRun }).catch((error: unknown) => {
      if (error instanceof PostgresOpenError) throw new CopyError(`--to: ${error.message}`);
      throw error;
    });
    try {
      return await copyInto(source, target, options, started);
    } finally {
      await target.close();
    }
  } finally {
    source.close();
  }
}

async function copyInto(source: CopySource, target: CopyTarget, options: CopyOptions, started: number): Promise<CopyResult> {
  const present = new Set(await target.tables());
  const plans = options.dryRun && !present.has('hosts') ? null : await plan(source, target);
  const totals = new Map(source.tables.map((t) => [t.name, source.count(t.name)]));
  const names = source.tables.map((t) => t.name);

  const sourceState = source.state(totals);
  const progress = await target.progress();
  if (progress) {
    const other = progress.find((p) => p.source !== source.file);
    if (other) {
      throw new CopyError(`--to ${target.shown}: holds a copy of ${other.source}, not of ${source.file}: finish that one with --from ${other.source}, or copy into a new, empty database`);
    }
    if (progress.some((p) => p.sourceState !== sourceState)) {
      throw new CopyError(
        `--from ${source.file}: changed since the copy into ${target.shown} started (a collector wrote to it): stop the collector, then copy again into a new, empty database (or empty this one: DROP SCHEMA public CASCADE; CREATE SCHEMA public)`,
      );
    }
  } else if (plans) {
    const held = await target.rowsHeld(names);
    if (held.length > 0) {
      const what = held.slice(0, 4).map((h) => `${h.table}: ${h.rows}`).join(', ');
      throw new CopyError(
        `--to ${target.shown}: already holds fleet data (${what}) and no interrupted copy to resume: copy into a new, empty database (createdb NAME), or empty this one first (DROP SCHEMA public CASCADE; CREATE SCHEMA public) if nothing in it is needed; nothing was written`,
      );
    }
  }

  if (options.dryRun) {
    const counts: TableCount[] = [];
    for (const name of names) counts.push({ table: name, source: totals.get(name)!, target: present.has(name) ? await target.count(name) : null });
    return { counts, mismatched: [], start: progress ? (progress.every((p) => p.done) ? 'done' : 'resumed') : 'fresh', rows: 0, seconds: (performance.now() - started) / 1000 };
  }

  if (!progress) await target.begin(source.file, sourceState, names);
  const state = new Map<string, ProgressRow>((progress ?? []).map((p) => [p.table, p]));
  let rows = 0;
  for (const p of plans!) {
    const name = p.table.name;
    const at = state.get(name);
    if (at?.done) continue;
    rows += await copyTable(source, target, p, at ?? null, totals.get(name)!, options);
    await target.finishTable(name);
  }
  for (const p of plans!) {
    await target.advanceIdentities(p.table.name, p.identities);
    for (const sql of p.recounts) await target.run(sql);
  }

  const counts: TableCount[] = [];
  for (const name of names) counts.push({ table: name, source: totals.get(name)!, target: await target.count(name) });
  const start = !progress ? 'fresh' : progress.every((p) => p.done) ? 'done' : 'resumed';
  return { counts, mismatched: counts.filter((c) => c.source !== c.target).map((c) => c.table), start, rows, seconds: (performance.now() - started) / 1000 };
}

/** Which columns each table copies: both schemas' columns by name, checked so none is dropped unnoticed. */
async function plan(source: CopySource, target: CopyTarget): Promise<Plan[]> {
  const plans: Plan[] = [];
  for (const table of source.tables) {
    const targetColumns = await target.columns(table.name);
    if (targetColumns.length === 0) throw new Error(`copy: the PostgreSQL schema has no table ${table.name}`);
    const inTarget = new Set(targetColumns.map((c) => c.column_name));
    const recounted = RECOUNTED_COLUMNS[table.name] ?? {};
    const lost = table.columns.filter((c) => !inTarget.has(c) && !(c in recounted));
    if (lost.length > 0) throw new Error(`copy: ${table.name}.${lost.join(', ')} has no PostgreSQL column to go to: map it in src/copy/tables.ts`);
    const inSource = new Set(table.columns);
    const unfilled = targetColumns.filter((c) => !inSource.has(c.column_name) && c.is_nullable === 'NO' && c.column_default === null && c.is_identity === 'NO');
    if (unfilled.length > 0) throw new Error(`copy: PostgreSQL's ${table.name}.${unfilled.map((c) => c.column_name).join(', ')} is required and SQLite has no value for it`);
    plans.push({
      table,
      columns: table.columns.filter((c) => inTarget.has(c) && !(c in recounted)),
      recounts: Object.entries(recounted)
        .filter(([column]) => inTarget.has(column))
        .map(([, how]) => how.recount),
      identities: targetColumns,
    });
  }
  return plans;
}

async function copyTable(source: CopySource, target: CopyTarget, p: Plan, at: ProgressRow | null, total: number, options: CopyOptions): Promise<number> {
  const name = p.table.name;
  let lastKey = at?.lastKey ?? null;
  let done = at?.rowsCopied ?? 0;
  let rows = 0;
  const began = performance.now();
  let shown = 0;
  for (;;) {
    if (options.signal?.aborted) throw new CopyError(`interrupted while copying ${name} (${done}/${total} rows committed): run the same copy command again to resume`);
    const batch = source.batch(p.table, lastKey, options.batch, p.columns);
    if (batch.length === 0) break;
    const last = batch[batch.length - 1]!;
    lastKey = p.table.key.map((c) => last[c]);
    await target.writeBatch(name, p.table.key, p.columns, batch, lastKey);
    done += batch.length;
    rows += batch.length;
    const now = performance.now();
    if (shown === 0 || now - shown >= PROGRESS_EVERY_MS || batch.length < options.batch) {
      shown = now;
      const rate = Math.round(rows / Math.max((now - began) / 1000, 0.001));
      options.progress?.(`copy: ${name} ${done}/${total} rows (${rate} rows/s)`);
    }
    if (batch.length < options.batch) break;
  }
  return rows;
}

/** The verification as a table: one line per table with both counts. */
export function formatCounts(counts: readonly TableCount[]): string {
  const width = Math.max(5, ...counts.map((c) => c.table.length));
  const lines = [`${'table'.padEnd(width)}  ${'sqlite'.padStart(10)}  ${'postgresql'.padStart(10)}`];
  for (const c of counts) {
    const target = c.target === null ? '-' : String(c.target);
    const mark = c.target === null ? '' : c.target === c.source ? '  ok' : '  MISMATCH';
    lines.push(`${c.table.padEnd(width)}  ${String(c.source).padStart(10)}  ${target.padStart(10)}${mark}`);
  }
  return lines.join('\n');
}
