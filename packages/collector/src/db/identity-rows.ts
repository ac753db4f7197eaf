// Host-identity rows as both identity stores read them (sqlite-identity-store.ts,
// postgres/identity-store.ts: the same tables and columns, times as ISO 8601 text), and the
// limit on pending keys both enforce.
import type { HostKeyRecord, HostKeyState, TokenRecord } from '../store.js';

/** Pending keys kept per host id: a clone re-enrolling in a loop must not grow the table. */
export const MAX_PENDING_KEYS = 5;

export class TooManyPendingKeysError extends Error {
  readonly statusCode = 429;
  constructor(readonly hostId: string) {
    super(`host ${hostId} already has ${MAX_PENDING_KEYS} pending enrollments (a duplicate identity): accept or revoke them first`);
    this.name = 'TooManyPendingKeysError';
  }
}

export interface SecretRow {
  id: string;
  name: string;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
  last_used_at: string | null;
  max_hosts: number | null;
  enrolled_hosts?: number;
}

export interface KeyRow {
  id: string;
  host_id: string;
  state: HostKeyState;
  hostname: string;
  facts: string;
  peer: string | null;
  secret_name: string | null;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

export const KEY_COLUMNS = `k.id, k.host_id, k.state, k.hostname, k.facts, k.peer, s.name AS secret_name, k.created_at, k.last_used_at, k.revoked_at
  FROM host_keys k LEFT JOIN enroll_secrets s ON s.id = k.secret_id`;

export const secretOf = (row: SecretRow): TokenRecord => ({
  id: row.id,
  name: row.name,
  role: 'enroll',
  createdAt: row.created_at,
  revokedAt: row.revoked_at,
  lastUsedAt: row.last_used_at,
  hostId: null,
  expiresAt: row.expires_at,
  maxHosts: row.max_hosts,
  ...(row.enrolled_hosts !== undefined ? { enrolledHosts: row.enrolled_hosts } : {}),
});

export const keyOf = (row: KeyRow): HostKeyRecord => ({
  id: row.id,
  hostId: row.host_id,
  state: row.state,
  hostname: row.hostname,
  facts: JSON.parse(row.facts) as Record<string, unknown>,
  peer: row.peer,
  enrolledWith: row.secret_name,
  createdAt: row.created_at,
  lastUsedAt: row.last_used_at,
  revokedAt: row.revoked_at,
});
