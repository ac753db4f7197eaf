// Host identity on SQLite (migration 7): enroll secrets, and the host keys agents get for them.
// A host id has at most one live key (a partial unique index says so); a second enrollment for
// a host id with a live key gets a pending key: a duplicate identity, refused until an admin
// accepts it. Writes go through this thread's connection: enrollments are rare (once per host,
// and again after a revoke), unlike reports.
import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import { HostLimitError, type EnrolledKey, type EnrollInput, type HostKeyChange, type HostKeyRecord, type HostKeyState, type TokenRecord } from '../store.js';
import { KEY_COLUMNS, keyOf, MAX_PENDING_KEYS, secretOf, TooManyPendingKeysError, type KeyRow, type SecretRow } from './identity-rows.js';

export class SqliteIdentityStore {
  private readonly s;

  constructor(private readonly db: Database.Database) {
    this.s = {
      insertSecret: db.prepare<[string, string, string, string, string | null, number | null]>('INSERT INTO enroll_secrets (id, name, hash, created_at, expires_at, max_hosts) VALUES (?, ?, ?, ?, ?, ?)'),
      secretByHash: db.prepare<[string], SecretRow>('SELECT id, name, created_at, expires_at, revoked_at, last_used_at, max_hosts FROM enroll_secrets WHERE hash = ?'),
      secrets: db.prepare<[], SecretRow>(
        `SELECT id, name, created_at, expires_at, revoked_at, last_used_at, max_hosts,
           (SELECT count(DISTINCT host_id) FROM host_keys k WHERE k.secret_id = s.id AND k.state != 'revoked') AS enrolled_hosts
         FROM enroll_secrets s ORDER BY created_at, name`,
      ),
      secretLimit: db.prepare<[string], { name: string; max_hosts: number | null }>('SELECT name, max_hosts FROM enroll_secrets WHERE id = ?'),
      secretHosts: db.prepare<[string], number>("SELECT count(DISTINCT host_id) FROM host_keys WHERE secret_id = ? AND state != 'revoked'").pluck(),
      secretHasHost: db.prepare<[string, string], number>("SELECT count(*) FROM host_keys WHERE secret_id = ? AND host_id = ? AND state != 'revoked'").pluck(),
      revokeSecret: db.prepare<[{ at: string; idOrName: string }]>('UPDATE enroll_secrets SET revoked_at = @at WHERE (id = @idOrName OR name = @idOrName) AND revoked_at IS NULL'),
      touchSecret: db.prepare<[string, string]>('UPDATE enroll_secrets SET last_used_at = ? WHERE id = ?'),
      tokenNamed: db.prepare<[string], number>('SELECT count(*) FROM tokens WHERE name = ?').pluck(),
      secretNamed: db.prepare<[string], number>('SELECT count(*) FROM enroll_secrets WHERE name = ?').pluck(),
      keyByHash: db.prepare<[string], KeyRow>(`SELECT ${KEY_COLUMNS} WHERE k.hash = ?`),
      liveKey: db.prepare<[string], KeyRow>(`SELECT ${KEY_COLUMNS} WHERE k.host_id = ? AND k.state = 'live'`),
      pendingCount: db.prepare<[string], number>("SELECT count(*) FROM host_keys WHERE host_id = ? AND state = 'pending'").pluck(),
      insertKey: db.prepare<[{ id: string; hostId: string; hash: string; state: HostKeyState; hostname: string; facts: string; peer: string | null; secretId: string | null; at: string }]>(
        'INSERT INTO host_keys (id, host_id, hash, state, hostname, facts, peer, secret_id, created_at) VALUES (@id, @hostId, @hash, @state, @hostname, @facts, @peer, @secretId, @at)',
      ),
      keys: db.prepare<[], KeyRow>(`SELECT ${KEY_COLUMNS} WHERE k.state != 'revoked' ORDER BY k.host_id, k.created_at`),
      keysOfHost: db.prepare<[string], KeyRow>(`SELECT ${KEY_COLUMNS} WHERE k.host_id = ? ORDER BY k.created_at DESC`),
      keyOfHost: db.prepare<[string, string], KeyRow>(`SELECT ${KEY_COLUMNS} WHERE k.host_id = ? AND k.id = ?`),
      hostKnown: db.prepare<[string], number>('SELECT count(*) FROM host_keys WHERE host_id = ?').pluck(),
      pendingHosts: db.prepare<[], string>("SELECT DISTINCT host_id FROM host_keys WHERE state = 'pending' ORDER BY host_id").pluck(),
      revokeKey: db.prepare<[string, string]>("UPDATE host_keys SET state = 'revoked', revoked_at = ? WHERE id = ?"),
      makeLive: db.prepare<[string]>("UPDATE host_keys SET state = 'live' WHERE id = ? AND state = 'pending'"),
    };
  }

  createSecret(input: { name: string; hash: string; expiresAt: string | null; maxHosts?: number | null }, at: string): TokenRecord {
    // One name space with tokens: `token revoke NAME` must not have to guess which one.
    if (this.s.tokenNamed.get(input.name)! > 0) throw Object.assign(new Error(`a token named '${input.name}' already exists`), { code: 'SQLITE_CONSTRAINT_UNIQUE', nameTaken: true });
    const id = randomUUID();
    this.s.insertSecret.run(id, input.name, input.hash, at, input.expiresAt, input.maxHosts ?? null);
    return secretOf({ id, name: input.name, created_at: at, expires_at: input.expiresAt, revoked_at: null, last_used_at: null, max_hosts: input.maxHosts ?? null });
  }

  secretNamed(name: string): boolean {
    return this.s.secretNamed.get(name)! > 0;
  }

  /** An enroll secret or a host key with this hash, as a credential (revoked ones too). */
  findByHash(hash: string): TokenRecord | null {
    const secret = this.s.secretByHash.get(hash);
    if (secret) return secretOf(secret);
    const key = this.s.keyByHash.get(hash);
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

  listSecrets(): TokenRecord[] {
    return this.s.secrets.all().map(secretOf);
  }

  revokeSecret(idOrName: string, at: string): boolean {
    return this.s.revokeSecret.run({ at, idOrName }).changes > 0;
  }

  /** One transaction: the live key is looked up and the new one inserted with nothing between. */
  enroll(input: EnrollInput, at: string): EnrolledKey {
    return this.db.transaction((): EnrolledKey => {
      const live = this.s.liveKey.get(input.hostId);
      if (live && this.s.pendingCount.get(input.hostId)! >= MAX_PENDING_KEYS) throw new TooManyPendingKeysError(input.hostId);
      if (input.secretId) this.checkHostLimit(input.secretId, input.hostId, input.defaultMaxHosts ?? null);
      const id = randomUUID();
      const state: HostKeyState = live ? 'pending' : 'live';
      this.s.insertKey.run({ id, hostId: input.hostId, hash: input.hash, state, hostname: input.hostname, facts: JSON.stringify(input.facts), peer: input.peer, secretId: input.secretId, at });
      if (input.secretId) this.s.touchSecret.run(at, input.secretId);
      return { keyId: id, hostId: input.hostId, state, createdAt: at, live: live ? keyOf(live) : null };
    }).immediate();
  }

  /**
   * A new host beyond the secret's limit is refused. Its hosts are the host ids it enrolled that
   * still have a live or pending key: a second key for one of them (a clone's pending key) is
   * not a new host, and a revoked key's host leaves room, which it takes again when its agent
   * re-enrolls (or which revoking a decommissioned host's key frees).
   */
  private checkHostLimit(secretId: string, hostId: string, defaultMaxHosts: number | null): void {
    const secret = this.s.secretLimit.get(secretId);
    const max = secret?.max_hosts ?? defaultMaxHosts;
    if (!secret || max === null) return;
    if (this.s.secretHasHost.get(secretId, hostId)! > 0) return;
    if (this.s.secretHosts.get(secretId)! >= max) throw new HostLimitError(secret.name, max, secret.max_hosts === null);
  }

  /** Every key that is not revoked (live and pending), by host id. */
  listKeys(): HostKeyRecord[] {
    return this.s.keys.all().map(keyOf);
  }

  /** Host ids with pending keys (duplicate identities). */
  hostsWithPendingKeys(): string[] {
    return this.s.pendingHosts.all();
  }

  /** One host's keys, newest first, revoked ones included. */
  keysOf(hostId: string): HostKeyRecord[] {
    return this.s.keysOfHost.all(hostId).map(keyOf);
  }

  /** The live key revoked: its agent gets 401 and enrolls again (live, as no key is then). */
  revokeLive(hostId: string, at: string): HostKeyChange {
    return this.db.transaction((): HostKeyChange => {
      const live = this.s.liveKey.get(hostId);
      if (!live) return { ok: false, reason: this.s.hostKnown.get(hostId)! > 0 ? 'no-live-key' : 'unknown-host' };
      this.s.revokeKey.run(at, live.id);
      return { ok: true, live: null, revoked: keyOf({ ...live, state: 'revoked', revoked_at: at }) };
    }).immediate();
  }

  /**
   * One key of the host revoked by its id: a pending key (a clone fixed, or not wanted), or the
   * live key (as revokeLive). The key then gets 401.
   */
  revokeKey(hostId: string, keyId: string, at: string): HostKeyChange {
    return this.db.transaction((): HostKeyChange => {
      const key = this.s.keyOfHost.get(hostId, keyId);
      if (!key) return { ok: false, reason: this.s.hostKnown.get(hostId)! > 0 ? 'unknown-key' : 'unknown-host' };
      if (key.state === 'revoked') return { ok: false, reason: 'revoked', key: keyOf(key) };
      this.s.revokeKey.run(at, key.id);
      const live = key.state === 'live' ? null : this.s.liveKey.get(hostId);
      return { ok: true, live: live ? keyOf(live) : null, revoked: keyOf({ ...key, state: 'revoked', revoked_at: at }) };
    }).immediate();
  }

  /** A pending key made live; the live one is revoked first (one live key per host id). */
  accept(hostId: string, keyId: string, at: string): HostKeyChange {
    return this.db.transaction((): HostKeyChange => {
      const key = this.s.keyOfHost.get(hostId, keyId);
      if (!key) return { ok: false, reason: this.s.hostKnown.get(hostId)! > 0 ? 'unknown-key' : 'unknown-host' };
      if (key.state !== 'pending') return { ok: false, reason: 'not-pending', key: keyOf(key) };
      const live = this.s.liveKey.get(hostId);
      if (live) this.s.revokeKey.run(at, live.id);
      this.s.makeLive.run(keyId);
      return { ok: true, live: keyOf({ ...key, state: 'live' }), revoked: live ? keyOf({ ...live, state: 'revoked', revoked_at: at }) : null };
    }).immediate();
  }
}
