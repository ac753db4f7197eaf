// Host identity on PostgreSQL (as db/sqlite-identity-store.ts on SQLite): enroll secrets, and
// the host keys agents get for them. One live key per host id is the partial unique index
// host_keys_live; an enrollment and an admin's revoke or accept each run in one transaction
// that locks the host's keys first (FOR UPDATE), so two collectors enrolling one host id at
// once give one live key and one pending key, never two live ones.
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { HostLimitError, type EnrolledKey, type EnrollInput, type HostKeyChange, type HostKeyRecord, type HostKeyState, type TokenRecord } from '../../store.js';
import { KEY_COLUMNS, keyOf, MAX_PENDING_KEYS, secretOf, TooManyPendingKeysError, type KeyRow, type SecretRow } from '../identity-rows.js';
import { named } from './named-statement.js';
import { withTransaction } from './pool.js';

const SECRET_COLUMNS = 'id, name, created_at, expires_at, revoked_at, last_used_at, max_hosts';
export const TOKEN_COLUMNS = 'id, name, role, created_at, revoked_at, last_used_at, host_id';

/** An API token's row. */
export interface TokenRow {
  id: string;
  name: string;
  role: 'agent' | 'reader' | 'admin';
  created_at: string;
  revoked_at: string | null;
  last_used_at: string | null;
  host_id: string | null;
}

export const tokenOf = (row: TokenRow): TokenRecord => ({ id: row.id, name: row.name, role: row.role, createdAt: row.created_at, revokedAt: row.revoked_at, lastUsedAt: row.last_used_at, hostId: row.host_id });

// Each table's row as json (node-postgres parses it), so three differently shaped rows come back as one.
const CREDENTIAL_BY_HASH = `SELECT
  (SELECT row_to_json(t) FROM (SELECT ${TOKEN_COLUMNS} FROM tokens WHERE hash = $1) t) AS token,
  (SELECT row_to_json(s) FROM (SELECT ${SECRET_COLUMNS} FROM enroll_secrets WHERE hash = $1) s) AS secret,
  (SELECT row_to_json(k) FROM (SELECT ${KEY_COLUMNS} WHERE k.hash = $1) k) AS key`;

/** Locks the host id's keys (FOR UPDATE): its enrollments, revokes and accepts run one after the other. */
async function lockHostKeys(client: pg.PoolClient, hostId: string): Promise<KeyRow[]> {
  await client.query('SELECT id FROM host_keys WHERE host_id = $1 FOR UPDATE', [hostId]);
  return (await client.query<KeyRow>(`SELECT ${KEY_COLUMNS} WHERE k.host_id = $1 ORDER BY k.created_at DESC`, [hostId])).rows;
}

/**
 * A new host beyond the secret's limit is refused (as on SQLite: its hosts are the host ids it
 * enrolled that still have a live or pending key). The secret's row is locked first, so two
 * collectors enrolling two new hosts with one secret at once count one after the other.
 */
async function checkHostLimit(client: pg.PoolClient, secretId: string, hostId: string, defaultMaxHosts: number | null): Promise<void> {
  const secret = (await client.query<{ name: string; max_hosts: number | null }>('SELECT name, max_hosts FROM enroll_secrets WHERE id = $1 FOR UPDATE', [secretId])).rows[0];
  const max = secret?.max_hosts ?? defaultMaxHosts;
  if (!secret || max === null) return;
  const hosts = await client.query<{ hosts: number; has: boolean }>(
    "SELECT count(DISTINCT host_id) AS hosts, coalesce(bool_or(host_id = $2), false) AS has FROM host_keys WHERE secret_id = $1 AND state != 'revoked'",
    [secretId, hostId],
  );
  const row = hosts.rows[0]!;
  if (!row.has && row.hosts >= max) throw new HostLimitError(secret.name, max, secret.max_hosts === null);
}

export class PostgresIdentityStore {
  constructor(private readonly pool: pg.Pool) {}

  async createSecret(input: { name: string; hash: string; expiresAt: string | null; maxHosts?: number | null }, at: string): Promise<TokenRecord> {
    const id = randomUUID();
    await this.pool.query(
      // One name space with tokens: the INSERT happens only when no token has the name.
      `INSERT INTO enroll_secrets (id, name, hash, created_at, expires_at, max_hosts) SELECT $1, $2, $3, $4, $5, $6
       WHERE NOT EXISTS (SELECT 1 FROM tokens WHERE name = $2) RETURNING id`,
      [id, input.name, input.hash, at, input.expiresAt, input.maxHosts ?? null],
    ).then((result) => {
      if (result.rowCount === 0) throw Object.assign(new Error(`a token named '${input.name}' already exists`), { nameTaken: true });
    });
    return secretOf({ id, name: input.name, created_at: at, expires_at: input.expiresAt, revoked_at: null, last_used_at: null, max_hosts: input.maxHosts ?? null });
  }

  async secretNamed(name: string): Promise<boolean> {
    return (await this.pool.query('SELECT 1 FROM enroll_secrets WHERE name = $1', [name])).rowCount! > 0;
  }

  /**
   * The credential with this hash, revoked ones too: an API token, an
   * enroll secret or a host key. One statement for the three tables: every request is
   * authenticated, and an enrolled host's key was the third lookup in a row.
   */
  async findCredential(hash: string): Promise<TokenRecord | null> {
    const { rows } = await this.pool.query<{ token: TokenRow | null; secret: SecretRow | null; key: KeyRow | null }>(named('credential-by-hash', CREDENTIAL_BY_HASH, [hash]));
    const row = rows[0];
    if (row?.token) return tokenOf(row.token);
    if (row?.secret) return secretOf(row.secret);
    const key = row?.key;
    if (!key) return null;
    return {
      id: key.id,
      name: `host key of ${key.host_id}`,
      role: 'host',
      createdAt: key.created_at,
      revokedAt: key.revoked_at,
      lastUsedAt: key.last_used_at,
      hostId: key.host_id,
      keyState: key.state,
    };
  }

  async listSecrets(): Promise<TokenRecord[]> {
    const sql = `SELECT ${SECRET_COLUMNS},
        (SELECT count(DISTINCT host_id) FROM host_keys k WHERE k.secret_id = s.id AND k.state != 'revoked') AS enrolled_hosts
      FROM enroll_secrets s ORDER BY created_at, name COLLATE "C"`;
    return (await this.pool.query<SecretRow>(sql)).rows.map(secretOf);
  }

  async revokeSecret(idOrName: string, at: string): Promise<boolean> {
    return (await this.pool.query('UPDATE enroll_secrets SET revoked_at = $1 WHERE (id = $2 OR name = $2) AND revoked_at IS NULL', [at, idOrName])).rowCount! > 0;
  }

  async enroll(input: EnrollInput, at: string): Promise<EnrolledKey> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await withTransaction(this.pool, async (client) => {
          const keys = await lockHostKeys(client, input.hostId);
          const live = keys.find((k) => k.state === 'live');
          if (live && keys.filter((k) => k.state === 'pending').length >= MAX_PENDING_KEYS) throw new TooManyPendingKeysError(input.hostId);
          if (input.secretId) await checkHostLimit(client, input.secretId, input.hostId, input.defaultMaxHosts ?? null);
          const id = randomUUID();
          const state: HostKeyState = live ? 'pending' : 'live';
          await client.query('INSERT INTO host_keys (id, host_id, hash, state, hostname, facts, peer, secret_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)', [
            id, input.hostId, input.hash, state, input.hostname, JSON.stringify(input.facts), input.peer, input.secretId, at,
          ]);
          if (input.secretId) await client.query('UPDATE enroll_secrets SET last_used_at = $1 WHERE id = $2', [at, input.secretId]);
          return { keyId: id, hostId: input.hostId, state, createdAt: at, live: live ? keyOf(live) : null };
        });
      } catch (error) {
        // A host id's first enrollment on two collectors at once: no row to lock yet, so both
        // try 'live' and the partial unique index refuses the second; again, it finds the live key.
        if ((error as { code?: string }).code === '23505' && (error as { constraint?: string }).constraint === 'host_keys_live' && attempt < 3) continue;
        throw error;
      }
    }
  }

  async listKeys(): Promise<HostKeyRecord[]> {
    return (await this.pool.query<KeyRow>(`SELECT ${KEY_COLUMNS} WHERE k.state != 'revoked' ORDER BY k.host_id, k.created_at`)).rows.map(keyOf);
  }

  /** Host ids with pending keys (duplicate identities), sorted. */
  async hostsWithPendingKeys(): Promise<string[]> {
    return (await this.pool.query<{ host_id: string }>("SELECT host_id FROM host_keys WHERE state = 'pending' GROUP BY host_id ORDER BY host_id COLLATE \"C\"")).rows.map((r) => r.host_id);
  }

  async keysOf(hostId: string): Promise<HostKeyRecord[]> {
    return (await this.pool.query<KeyRow>(`SELECT ${KEY_COLUMNS} WHERE k.host_id = $1 ORDER BY k.created_at DESC`, [hostId])).rows.map(keyOf);
  }

  async revokeLive(hostId: string, at: string): Promise<HostKeyChange> {
    return withTransaction(this.pool, async (client): Promise<HostKeyChange> => {
      const keys = await lockHostKeys(client, hostId);
      const live = keys.find((k) => k.state === 'live');
      if (!live) return { ok: false, reason: keys.length > 0 ? 'no-live-key' : 'unknown-host' };
      await client.query("UPDATE host_keys SET state = 'revoked', revoked_at = $1 WHERE id = $2", [at, live.id]);
      return { ok: true, live: null, revoked: keyOf({ ...live, state: 'revoked', revoked_at: at }) };
    });
  }

  /** One key of the host revoked by its id (pending or live). */
  async revokeKey(hostId: string, keyId: string, at: string): Promise<HostKeyChange> {
    return withTransaction(this.pool, async (client): Promise<HostKeyChange> => {
      const keys = await lockHostKeys(client, hostId);
      const key = keys.find((k) => k.id === keyId);
      if (!key) return { ok: false, reason: keys.length > 0 ? 'unknown-key' : 'unknown-host' };
      if (key.state === 'revoked') return { ok: false, reason: 'revoked', key: keyOf(key) } as HostKeyChange;
      await client.query("UPDATE host_keys SET state = 'revoked', revoked_at = $1 WHERE id = $2", [at, key.id]);
      const live = key.state === 'live' ? undefined : keys.find((k) => k.state === 'live');
      return { ok: true, live: live ? keyOf(live) : null, revoked: keyOf({ ...key, state: 'revoked', revoked_at: at }) };
    });
  }

  /** A pending key made live; the live one is revoked first (one live key per host id). */
  async accept(hostId: string, keyId: string, at: string): Promise<HostKeyChange> {
    return withTransaction(this.pool, async (client): Promise<HostKeyChange> => {
      const keys = await lockHostKeys(client, hostId);
      const key = keys.find((k) => k.id === keyId);
      if (!key) return { ok: false, reason: keys.length > 0 ? 'unknown-key' : 'unknown-host' };
      if (key.state !== 'pending') return { ok: false, reason: 'not-pending', key: keyOf(key) };
      const live = keys.find((k) => k.state === 'live');
      if (live) await client.query("UPDATE host_keys SET state = 'revoked', revoked_at = $1 WHERE id = $2", [at, live.id]);
      await client.query("UPDATE host_keys SET state = 'live' WHERE id = $1 AND state = 'pending'", [keyId]);
      return { ok: true, live: keyOf({ ...key, state: 'live' }), revoked: live ? keyOf({ ...live, state: 'revoked', revoked_at: at }) : null };
    });
  }
}
