// The `copy` command line: options, progress on stderr, the verification table on stdout,
// exit 1 naming the tables whose counts differ.
import { parseArgs } from 'node:util';
import { copyFleet, formatCounts } from './copy.js';
import { CopyError } from './errors.js';

export const DEFAULT_BATCH = 1000;

export const COPY_HELP = `Usage: dualstack-collector copy --from FILE --to postgres://USER@HOST[:PORT]/DBNAME
                              [--batch N] [--dry-run]

Moves a SQLite fleet into PostgreSQL: every table the collector keeps (hosts, latest reports,
report history, services and both service matrices, findings, tokens, enroll secrets, host
keys, published endpoints and probe results, alert states, history, outbox and deliveries).
The SQLite file is opened read-only and never migrated: its schema version must be this
collector's (run 'dualstack-collector migrate --db FILE' with this version first). The
PostgreSQL database is migrated first and must hold no fleet data.

Rows go in key order, --batch rows per PostgreSQL transaction, each with its progress in the
table copy_progress: when a copy is interrupted (Ctrl-C, killed, the connection lost), run the
same command again and it continues after the last committed batch, never twice. At the end
every table is counted on both sides and printed; any difference exits 1 naming the table.
Stop the collector first (agents keep their reports in their spool meanwhile): rows written
after the copy started are not copied.

  --from FILE    the collector's SQLite database (e.g. ./data/dualstack.db)
  --to URL       the PostgreSQL database (postgres:// or postgresql://)
  --batch N      rows per batch and transaction (default ${DEFAULT_BATCH})
  --dry-run      count the rows each table would copy and check the target; write nothing
Progress lines go to stderr (table, rows done / total, rows/s).`;

export async function copyCommand(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args, options: { help: { type: 'boolean', short: 'h' }, from: { type: 'string' }, to: { type: 'string' }, batch: { type: 'string' }, 'dry-run': { type: 'boolean' } } }));
  } catch (error) {
    throw new CopyError(`copy: ${(error as Error).message} (try 'dualstack-collector copy --help')`);
  }
  if (values.help) {
    process.stdout.write(`${COPY_HELP}\n`);
    return 0;
  }
  if (!values.from) throw new CopyError('copy: --from FILE is required (the SQLite database to copy)');
  if (!values.to) throw new CopyError('copy: --to URL is required (the postgres:// database to copy into)');
  if (values.batch !== undefined && !/^[1-9]\d{0,6}$/.test(values.batch)) throw new CopyError(`copy: --batch takes a whole number of rows from 1, not '${values.batch}'`);
  const abort = new AbortController();
  const interrupt = (): void => abort.abort();
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  try {
    const result = await copyFleet({
      from: values.from,
      to: values.to,
      batch: values.batch === undefined ? DEFAULT_BATCH : Number(values.batch),
      dryRun: values['dry-run'] ?? false,
      progress: (line) => process.stderr.write(`${line}\n`),
      signal: abort.signal,
    });
    process.stdout.write(`${formatCounts(result.counts)}\n`);
    if (values['dry-run']) {
      process.stderr.write(`dry run: nothing written; ${result.start === 'fresh' ? 'a copy would start' : result.start === 'done' ? 'the copy is complete already' : 'an interrupted copy would resume'}\n`);
      return 0;
    }
    if (result.mismatched.length > 0) throw new CopyError(`copy: counts differ for ${result.mismatched.join(', ')}: the target does not hold what the source holds`);
    const how = result.start === 'resumed' ? 'resumed and finished' : result.start === 'done' ? 'was complete already' : 'done';
    process.stderr.write(`copy ${how}: ${result.rows} rows in ${result.seconds.toFixed(1)} s; every table's count matches\n`);
    return 0;
  } finally {
    process.off('SIGINT', interrupt);
    process.off('SIGTERM', interrupt);
  }
}
