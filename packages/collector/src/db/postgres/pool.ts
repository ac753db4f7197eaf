// The PostgreSQL connection pool of one store (node-postgres `pg`): one Pool per store, made
// from a postgres:// or postgresql:// URL. Errors name the URL without its password.
//
// Why `pg` and not `postgres` (porsager): `pg` is the long-standing reference client (Pool,
// explicit checkout for transactions, `FOR UPDATE SKIP LOCKED` work queues and session
// advisory locks on a dedicated client are plain and documented), its pool exposes
// totalCount/idleCount/waitingCount for metrics, and its types can be set per pool instead
// of process-wide. `postgres` is faster on tagged templates but hides connections behind
// its own reserve()/begin() API, which the lease (a lock held on one connection) needs
// explicitly.
import pg from 'pg';

/** Connections per collector unless the pool size says otherwise. */
export const DEFAULT_POOL_SIZE = 10;
/** The most a pool may open (config.ts checks dbPoolSize against the same bound). */
export const MAX_POOL_SIZE = 1000;

export interface PostgresPoolOptions {
  /** Most connections the pool opens (default 10). */
  max?: number;
  /** How long a checkout waits for a connection before failing (default 10 s). */
  connectionTimeoutMs?: number;
  /** Shown in pg_stat_activity (default dualstack-collector). */
  applicationName?: string;
  /** Settings every connection starts with (`-c name=value` in its startup packet): the history budget's. */
  settings?: Record<string, string>;
}

/** True for a postgres:// or postgresql:// URL (the collector's --db selects the backend by it). */
export function isPostgresUrl(db: string): boolean {
  return /^postgres(ql)?:\/\//i.test(db);
}

/** The URL with its password replaced by ***, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    // Not a URL we can parse: drop whatever sits between "://user:" and "@".
    return url.replace(/(:\/\/[^:/@]*:)[^@]*@/, '$1***@');
  }
}

export class PostgresUrlError extends Error {
  constructor(
    readonly url: string,
    reason: string,
  ) {
    super(`--db ${redactUrl(url)}: ${reason}`);
    this.name = 'PostgresUrlError';
  }
}

// bigint (count(*), sum()) as a JS number: every count here is far below 2^53. numeric
// (sum() of integers) likewise. Set on this pool only, never process-wide.
const INT8_OID = 20;
const NUMERIC_OID = 1700;
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID || oid === NUMERIC_OID) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format ?? 'text');
  },
};

/** A pool for `url` (checked, not connected: the first query connects). */
export function createPool(url: string, options: PostgresPoolOptions = {}): pg.Pool {
  if (!isPostgresUrl(url)) throw new PostgresUrlError(url, 'not a postgres:// or postgresql:// URL');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new PostgresUrlError(url, 'not a valid URL');
  }
  if (parsed.pathname.replace(/^\//, '') === '') throw new PostgresUrlError(url, 'the URL names no database (postgres://user@host:port/DATABASE)');
  const max = options.max ?? DEFAULT_POOL_SIZE;
  if (!Number.isInteger(max) || max < 1 || max > MAX_POOL_SIZE) throw new PostgresUrlError(url, `the pool size (--db-pool-size, dbPoolSize) must be a whole number from 1 to ${MAX_POOL_SIZE}, not ${max}`);
  const pool = new pg.Pool({
    connectionString: url,
    max,
    connectionTimeoutMillis: options.connectionTimeoutMs ?? 10_000,
    application_name: options.applicationName ?? 'dualstack-collector',
    types,
    // At connect, not SET per checkout: a pooled connection keeps them, and they hold in every transaction.
    ...(options.settings && Object.keys(options.settings).length > 0 ? { options: startupOptions(options.settings) } : {}),
  });
  // An idle client's connection dropping (server restart) must not crash the process: the
  // pool discards that client and the next checkout connects again.
  pool.on('error', () => {});
  // A checked-out client has no listener of the pool's: PostgreSQL stopping (or the connection
  // cut) between two of its queries, or while a transaction waits on something else, was an
  // unhandled 'error' that ended the collector. Now its next query fails instead (unavailable:
  // 503), and release() drops the broken client.
  pool.on('connect', (client) => client.on('error', () => {}));
  return pool;
}

/** `-c name=value …` for libpq's options parameter; names and values are ours (no user input), checked anyway. */
function startupOptions(settings: Record<string, string>): string {
  return Object.entries(settings)
    .map(([name, value]) => {
      if (!/^[a-z_][a-z0-9_.]*$/.test(name) || !/^[A-Za-z0-9_.-]+$/.test(value)) throw new Error(`postgres pool: setting ${name}=${value} is not a plain name and value`);
      return `-c ${name}=${value}`;
    })
    .join(' ');
}

/** The database could not be opened (refused, wrong password, no such database): one line naming it without its password. */
export class PostgresOpenError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PostgresOpenError';
  }
}

/** Wraps a connection error so it names the database (URL without password) and the cause. */
export function connectionError(url: string, error: unknown): PostgresOpenError {
  const cause = error as { message?: string; code?: string };
  const message = cause?.message ?? String(error);
  return new PostgresOpenError(`PostgreSQL ${redactUrl(url)}: ${message}${cause?.code ? ` (${cause.code})` : ''}`, { cause: error });
}

/**
 * Runs `fn` in a transaction on one checked-out connection: COMMIT when it resolves, ROLLBACK
 * when it throws (the error is passed on). The connection goes back to the pool either way.
 */
export async function withTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>, begin = 'BEGIN'): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query(begin);
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    try {
      await client.query('ROLLBACK');
    } catch (rollbackError) {
      broken = rollbackError as Error; // the connection is gone: do not reuse it
    }
    throw error;
  } finally {
    client.release(broken);
  }
}
