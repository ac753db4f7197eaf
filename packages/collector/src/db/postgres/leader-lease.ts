// The alert leader lease: exactly one collector on a database evaluates alerts. It is a
// session-level advisory lock held on one connection checked out of the store's pool and kept:
// PostgreSQL releases it the moment that session ends, so when the holder dies (killed, its
// connection cut, the server ending the backend) the lock is free at once and the next
// collector to ask, at its next schedule tick, takes it. No expiry to tune and no clock
// involved; the lock holds no row, so nothing is written per tick.
//
// hold() is asked before every evaluation: the holder checks that its session is still there
// (a connection that broke while idle reports it through its 'error' event, a dead one fails
// the query), anyone else tries the lock without waiting.
import type pg from 'pg';

// pg_advisory_lock key for "evaluates alerts": a fixed bigint unique to this purpose (the
// migrations use 7_346_001).
export const ALERT_LEADER_LOCK = 7_346_002;

export class LeaderLease {
  private client: pg.PoolClient | null = null;
  private held = false;
  private broken: Error | null = null;
  private readonly onError = (error: Error) => {
    this.broken = error;
  };

  constructor(
    private readonly pool: pg.Pool,
    private readonly key: number = ALERT_LEADER_LOCK,
  ) {}

  /** Whether this process holds the lease now, taking it when it is free. Never throws. */
  async hold(): Promise<boolean> {
    try {
      if (this.broken) this.drop();
      if (!this.client) {
        this.client = await this.pool.connect();
        this.client.on('error', this.onError);
      }
      if (this.held) {
        await this.client.query('SELECT 1');
        return true;
      }
      const result = await this.client.query<{ taken: boolean }>('SELECT pg_try_advisory_lock($1) AS taken', [this.key]);
      this.held = result.rows[0]?.taken === true;
      // Not taken: the connection goes back to the pool (it holds no lock) until the next ask.
      if (!this.held) this.drop();
      return this.held;
    } catch (error) {
      this.broken ??= error as Error;
      this.drop();
      return false;
    }
  }

  /** The backend pid of the lease's connection (tests end it to play a dead holder), or null. */
  async backendPid(): Promise<number | null> {
    if (!this.client || this.broken) return null;
    return (await this.client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid ?? null;
  }

  /** Gives the lease up (unlocked, the connection back to the pool) so another collector takes it at once. */
  async release(): Promise<void> {
    if (this.client && this.held && !this.broken) {
      await this.client.query('SELECT pg_advisory_unlock($1)', [this.key]).catch((error: Error) => (this.broken = error));
    }
    this.drop();
  }

  /** Forgets the connection; a broken one is destroyed by the pool, not reused. */
  private drop(): void {
    const client = this.client;
    this.client = null;
    this.held = false;
    if (client) {
      client.off('error', this.onError);
      client.release(this.broken ?? undefined);
    }
    this.broken = null;
  }
}
