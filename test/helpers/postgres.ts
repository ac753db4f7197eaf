// A throw-away PostgreSQL 15 cluster for the tests (Debian's postgresql-15): initdb into a temp
// dir, listening only on a unix socket in that dir (no TCP port to collide with anything),
// started with pg_ctl, stopped by its postmaster's PID and removed at the end. One cluster per
// test FILE (initdb takes ~1-2 s), a fresh database per test (CREATE DATABASE, optionally from
// a migrated template: milliseconds).
//
// postgres refuses to run as root, so as root every server program runs as the `postgres`
// user (runuser). Locally, missing binaries skip; under CI=true they fail the run, and a
// cluster that does not start always fails (test/helpers/requirements.ts).
import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { skipUnlessAvailable } from './requirements.js';

const run = promisify(execFile);
export const POSTGRES_BIN = process.env.DUALSTACK_POSTGRES_BIN ?? '/usr/lib/postgresql/15/bin';
const SERVER_USER = 'postgres';

/** false when a cluster can be started here; otherwise the skip reason (throws under CI). */
export function skipUnlessPostgres(): string | false {
  const missing = ['initdb', 'pg_ctl', 'postgres'].filter((p) => !existsSync(join(POSTGRES_BIN, p)));
  if (missing.length > 0) return skipUnlessAvailable(`${missing.join(', ')} not found in ${POSTGRES_BIN}`, 'postgresql-15');
  if (process.getuid?.() === 0 && !uidOf(SERVER_USER)) return skipUnlessAvailable(`running as root and there is no ${SERVER_USER} user to run postgres as`, 'postgresql-15');
  return false;
}

function uidOf(user: string): { uid: number; gid: number } | null {
  for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
    const [name, , uid, gid] = line.split(':');
    if (name === user && uid !== undefined && gid !== undefined) return { uid: Number(uid), gid: Number(gid) };
  }
  return null;
}

export interface PostgresCluster {
  /** The directory holding the data folder, the log and the socket. */
  readonly dir: string;
  /** The postmaster's PID. */
  readonly pid: number;
  /** The superuser the tests connect as (trust auth on the socket only). */
  readonly user: string;
  /** A postgres:// URL for `database` through the socket. */
  url(database: string): string;
  /**
   * Creates a new, empty database (or a copy of `template`, which must have no open
   * connection) and returns its URL.
   */
  createDatabase(options?: { name?: string; template?: string }): Promise<string>;
  /** Runs SQL as the superuser on `database` (default postgres). */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params?: unknown[], database?: string): Promise<pg.QueryResult<R>>;
  /** Stops the server for real (pg_ctl stop -m fast), keeping its data dir and socket path: PostgreSQL down under load. */
  down(): Promise<void>;
  /** Starts it again (pg_ctl start) on the same data dir and socket, after down(). */
  up(): Promise<void>;
  /** Fast shutdown by PID, then removes the directory. */
  stop(): Promise<void>;
}

let counter = 0;

export async function startPostgresCluster(): Promise<PostgresCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'dualstack-pg-'));
  const data = join(dir, 'data');
  const asRoot = process.getuid?.() === 0;
  const owner = asRoot ? uidOf(SERVER_USER) : null;
  const user = asRoot ? SERVER_USER : userInfo().username;
  if (owner) chownSync(dir, owner.uid, owner.gid);
  const as = (program: string, args: string[]): [string, string[]] => (asRoot ? ['runuser', ['-u', SERVER_USER, '--', join(POSTGRES_BIN, program), ...args]] : [join(POSTGRES_BIN, program), args]);
  let pid = 0;
  const stop = async (): Promise<void> => {
    if (pid > 0) {
      try {
        process.kill(pid, 'SIGINT'); // fast shutdown: abort sessions, checkpoint, exit
      } catch {
        pid = 0;
      }
      for (let i = 0; pid > 0 && i < 200; i++) {
        try {
          process.kill(pid, 0);
          await new Promise((resolve) => setTimeout(resolve, 25));
        } catch {
          pid = 0;
        }
      }
      if (pid > 0) process.kill(pid, 'SIGKILL');
      pid = 0;
    }
    rmSync(dir, { recursive: true, force: true });
    process.off('exit', killOnExit);
  };
  const killOnExit = (): void => {
    if (pid > 0) {
      try {
        process.kill(pid, 'SIGQUIT');
      } catch {
        /* gone */
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
  process.on('exit', killOnExit);
  const startServer = async (): Promise<void> => {
    await run(...as('pg_ctl', ['start', '-w', '-t', '60', '-D', data, '-l', join(dir, 'log')]));
    pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
  };
  try {
    await run(...as('initdb', ['-D', data, '-U', user, '-A', 'trust', '-E', 'UTF8', '--locale=C', '-N']));
    // Test speed over durability: the cluster dies with the test file.
    writeFileSync(
      join(data, 'postgresql.auto.conf'),
      [`listen_addresses = ''`, `unix_socket_directories = '${dir}'`, 'fsync = off', 'synchronous_commit = off', 'full_page_writes = off', 'max_connections = 200', ''].join('\n'),
    );
    if (owner) chownSync(join(data, 'postgresql.auto.conf'), owner.uid, owner.gid);
    await startServer();
  } catch (error) {
    const log = existsSync(join(dir, 'log')) ? readFileSync(join(dir, 'log'), 'utf8').slice(-2000) : '';
    await stop();
    throw new Error(`the test PostgreSQL cluster did not start: ${(error as Error).message}${log ? `\n${log}` : ''}`, { cause: error });
  }
  const url = (database: string): string => `postgres://${encodeURIComponent(user)}@localhost/${encodeURIComponent(database)}?host=${encodeURIComponent(dir)}`;
  const query = async <R extends pg.QueryResultRow>(sql: string, params: unknown[] = [], database = 'postgres'): Promise<pg.QueryResult<R>> => {
    const client = new pg.Client({ connectionString: url(database) });
    await client.connect();
    try {
      return await client.query<R>(sql, params);
    } finally {
      await client.end();
    }
  };
  return {
    dir,
    user,
    get pid() {
      return pid;
    },
    url,
    query,
    async createDatabase(options = {}) {
      const name = options.name ?? `t${process.pid}_${++counter}`;
      await query(`CREATE DATABASE "${name}"${options.template ? ` TEMPLATE "${options.template}"` : ''}`);
      return url(name);
    },
    async down() {
      await run(...as('pg_ctl', ['stop', '-w', '-t', '60', '-m', 'fast', '-D', data]));
      pid = 0;
    },
    up: startServer,
    stop,
  };
}
