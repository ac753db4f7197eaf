// Bearer tokens: 32 random bytes, shown once; only their SHA-256 is stored. A hash without
// salt is enough for random tokens of this length (no dictionary to attack).
import { createHash, randomBytes } from 'node:crypto';
import type { Role } from './api.js';

export const TOKEN_PREFIX = 'dsk_';

export function generateToken(): string {
  return `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** What each role may do: admin everything, reader the read API, agent the ingest. */
export const roleGrants: Record<Role, ReadonlyArray<Role>> = {
  admin: ['admin', 'reader', 'agent'],
  reader: ['reader'],
  agent: ['agent'],
};
