// Bearer tokens: 32 random bytes, shown once; only their SHA-256 is stored. A hash without
// salt is enough for random tokens of this length (no dictionary to attack).
import { createHash, randomBytes } from 'node:crypto';
import type { Role } from './api.js';

export const TOKEN_PREFIX = 'dsk_';
/** Enroll secrets and host keys have their own prefixes: a leaked one says what it is. */
export const ENROLL_SECRET_PREFIX = 'dse_';
export const HOST_KEY_PREFIX = 'dsh_';

export function generateToken(prefix = TOKEN_PREFIX): string {
  return `${prefix}${randomBytes(32).toString('base64url')}`;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/**
 * What each role may do: admin everything, reader the read API, agent the ingest; a host key
 * (role host) what an agent does, for its own host only; an enroll secret only enrollment.
 */
export const roleGrants: Record<Role, ReadonlyArray<Role>> = {
  admin: ['admin', 'reader', 'agent'],
  reader: ['reader'],
  agent: ['agent'],
  host: ['agent'],
  enroll: ['enroll'],
};
