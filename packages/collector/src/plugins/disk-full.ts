// The database's disk is full (SQLite's file, or a PostgreSQL server out of space or other
// resources): every write fails until space returns, while reads go on. A
// write refused for it answers 503 with Retry-After (the agent keeps its report in the spool and
// sends it again), /healthz and the dualstack_disk_full gauge say so, and the log has one line
// when it starts and one when a write succeeds again: not a stack trace per refused request (a
// collector on a filled 12 MB filesystem logged 976 of them).
import fp from 'fastify-plugin';
import { Counter, Gauge } from 'prom-client';

declare module 'fastify' {
  interface FastifyInstance {
    diskFull: DiskFullState;
  }
}

export interface DiskFullState {
  /** When the first write was refused for a full disk, or null while writes succeed. */
  readonly since: string | null;
  /** Writes refused since then (requests, and background jobs' writes). */
  readonly refused: number;
  /** True (and the state noted) when the error is a write refused for a full disk. */
  refuses(error: unknown): boolean;
  /** A write succeeded: clears the state (one log line) if it was set. */
  recovered(): void;
}

/** A logger as the collector's background jobs take it (pino's methods of these names). */
export interface JobLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/**
 * The log for a background job that writes on a schedule (the alert evaluation records each run,
 * every minute by default): an error whose `err` is a write refused for a full disk notes the
 * state, which logs once, instead of a stack trace per run.
 */
export function diskFullAwareLog(log: JobLogger, state: DiskFullState): JobLogger {
  return {
    debug: (obj, msg) => log.debug(obj, msg),
    info: (obj, msg) => log.info(obj, msg),
    warn: (obj, msg) => log.warn(obj, msg),
    error: (obj, msg) => {
      if (!state.refuses((obj as { err?: unknown }).err)) log.error(obj, msg);
    },
  };
}

/**
 * Error codes of a write refused for a full disk. SQLite answers SQLITE_FULL when a write of
 * the WAL or the database file gets ENOSPC (that is what a filled tmpfs gave for every refused
 * ingest, on the ingest thread's connection and on the main one alike); ENOSPC itself comes
 * from Node's fs. better-sqlite3 puts the extended code in `code`.
 */
const DISK_FULL_CODES = new Set(['SQLITE_FULL', 'ENOSPC']);

/**
 * PostgreSQL's class 53, insufficient resources: 53100 disk_full is what a table that cannot
 * grow gives ("could not extend file …: No space left on device", its tablespace's filesystem
 * full); 53000, 53200 (out of memory) and 53400 (a configured limit) likewise refuse the write
 * until the server has room again, so they take the same answer. Not 53300 (too many
 * connections): that is the database being busy, answered 503 busy with a short Retry-After
 * (postgres/store.ts, isUnavailable).
 */
function isPostgresOutOfResources(code: string): boolean {
  return /^53[0-9A-Z]{3}$/.test(code) && code !== '53300';
}

/** Seconds an agent waits before sending again: freeing a disk takes an operator minutes, and a refused write is cheap. */
export const DISK_FULL_RETRY_AFTER_SECONDS = 30;

export function isDiskFullError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (DISK_FULL_CODES.has(code) || isPostgresOutOfResources(code));
}

// Answers that stored or deleted something: the write went through, so there is space again.
// Not 200: a duplicate report's ack commits nothing, and would succeed on a full disk too.
const WROTE = new Set([201, 202, 204]);
const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export const diskFullPlugin = fp(
  async (app) => {
    let since: string | null = null;
    let refused = 0;
    const refusals = new Counter({
      name: 'dualstack_disk_full_refusals_total',
      help: 'Database writes refused for a full disk: requests answered 503, and writes of background jobs (alert evaluations).',
      registers: [app.metrics.registry],
    });
    new Gauge({
      name: 'dualstack_disk_full',
      help: '1 while database writes fail for a full disk (from the first refused write to the next one that succeeds), else 0.',
      registers: [app.metrics.registry],
      collect() {
        this.set(since === null ? 0 : 1);
      },
    });
    app.decorate('diskFull', {
      get since() {
        return since;
      },
      get refused() {
        return refused;
      },
      refuses(error: unknown): boolean {
        if (!isDiskFullError(error)) return false;
        refused++;
        refusals.inc();
        if (since === null) {
          since = new Date().toISOString();
          app.log.error({ code: (error as { code: string }).code, err: error }, 'disk full: database writes fail, ingest answers 503 until space is freed where the database lives');
        }
        return true;
      },
      recovered(): void {
        if (since === null) return;
        app.log.info({ since, refused }, `disk full: recovered, writes succeed again (${refused} refused since ${since})`);
        since = null;
        refused = 0;
      },
    });
    // Recovery needs nothing but a write that succeeds: agents send again after Retry-After, and
    // /healthz tries one itself (store.probeWrite), so a load balancer that took the collector
    // out for its 503 sees it healthy again without an agent's write getting through first.
    app.addHook('onResponse', async (request, reply) => {
      if (since === null || !WRITE_METHODS.has(request.method) || !WROTE.has(reply.statusCode)) return;
      app.diskFull.recovered();
    });
  },
  { name: 'disk-full', dependencies: ['metrics'], fastify: '5.x' },
);
