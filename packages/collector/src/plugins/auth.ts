// Bearer tokens with roles. 401: no token, unknown or revoked; 403: a valid token whose role
// may not do this, or a credential bound to one host writing for another. Loopback clients may
// read without a token when configured so. authorize() works as onRequest (before the body is
// read: an unauthenticated client never gets its body parsed or validated) or as preHandler.
import fp from 'fastify-plugin';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Problem, Role } from '../api.js';
import type { TokenRecord } from '../store.js';
import { hashToken, roleGrants } from '../tokens.js';
import { problem, sendProblem } from '../problems.js';
import { CLONE_STEPS } from '../identity/duplicate-identity.js';

type AuthHook = (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;

declare module 'fastify' {
  interface FastifyInstance {
    authorize(role: Role): AuthHook;
    /**
     * Whether the request's credential may write data of `hostId` (a report, or probe results
     * as that vantage point): null when it may, else the 403 naming both host ids. An agent
     * token that is not bound yet is bound to `hostId` here.
     */
    hostWriteRefusal(request: FastifyRequest, hostId: string, what: string, field: string): Promise<Problem | null>;
  }
  interface FastifyRequest {
    token: TokenRecord | null;
  }
}

const LOOPBACK = /^(127\.|::1$|::ffff:127\.)/;

/**
 * The tokens row a stored report or probe batch names (reports.token_id): none for a host key,
 * which lives in host_keys and is found by the host id (one live key per host).
 */
export function storedTokenId(request: FastifyRequest): string | null {
  return request.token && request.token.role !== 'host' ? request.token.id : null;
}

/** A pending host key's refusal: what happened, and both ways out. */
export function duplicateIdentity(hostId: string, keyId: string): Problem {
  return problem(
    403,
    'duplicate-identity',
    'Duplicate host identity',
    `Host id ${hostId} already has a live host key; this one (${keyId}) was enrolled later by another machine with the same host id, most likely a clone (same /etc/machine-id). ` +
      `On the clone: ${CLONE_STEPS}. If this machine replaces the old one, an admin accepts its key: dualstack-collector host accept ${hostId} ${keyId}.`,
  );
}

export const authPlugin = fp<{ openReadsOnLoopback: boolean }>(
  async (app, opts) => {
    app.decorateRequest('token', null);
    app.decorate('authorize', (role: Role): AuthHook => {
      return async function authorize(request: FastifyRequest, reply: FastifyReply) {
        const header = request.headers.authorization;
        if (!header) {
          if (role === 'reader' && opts.openReadsOnLoopback && LOOPBACK.test(request.ip)) return;
          return sendProblem(reply, problem(401, 'unauthorized', 'Unauthorized', `This endpoint needs a bearer token with role ${role}: Authorization: Bearer <token>.`));
        }
        const match = /^Bearer\s+(\S+)$/i.exec(header);
        if (!match) return sendProblem(reply, problem(401, 'unauthorized', 'Unauthorized', 'The Authorization header must be "Bearer <token>".'));
        const token = await app.store.findTokenByHash(hashToken(match[1]!));
        if (!token) return sendProblem(reply, problem(401, 'unauthorized', 'Unauthorized', 'Unknown token.'));
        if (token.revokedAt) return sendProblem(reply, problem(401, 'unauthorized', 'Unauthorized', `Token '${token.name}' was revoked at ${token.revokedAt}.`));
        if (token.expiresAt && token.expiresAt <= new Date().toISOString()) {
          return sendProblem(reply, problem(401, 'unauthorized', 'Unauthorized', `Enroll secret '${token.name}' expired at ${token.expiresAt}.`));
        }
        // Not 401: the agent would enroll again and again. 403 keeps its reports in its spool.
        if (token.keyState === 'pending') return sendProblem(reply, duplicateIdentity(token.hostId!, token.id));
        if (!roleGrants[token.role].includes(role)) {
          return sendProblem(reply, problem(403, 'forbidden', 'Forbidden', `Token '${token.name}' has role ${token.role}; this endpoint needs ${role}.`));
        }
        request.token = token;
      };
    });
    app.decorate('hostWriteRefusal', async (request: FastifyRequest, hostId: string, what: string, field: string): Promise<Problem | null> => {
      const token = request.token;
      if (!token || token.role === 'admin') return null;
      const bound = token.hostId ?? (await app.store.bindToken(token.id, hostId));
      if (bound === hostId) return null;
      return problem(
        403,
        'wrong-host',
        'Forbidden',
        `Token '${token.name}' is bound to host ${bound} (the first host it reported); it cannot write ${what} of host ${hostId}. Give each host its own token or host key.`,
        { field },
      );
    });
  },
  { name: 'auth', dependencies: ['store'], fastify: '5.x' },
);
