// Bearer tokens with roles. 401: no token, unknown or revoked; 403: a valid token whose role
// may not do this. Loopback clients may read without a token when configured so.
import fp from 'fastify-plugin';
import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import type { Role } from '../api.js';
import type { TokenRecord } from '../store.js';
import { hashToken, roleGrants } from '../tokens.js';
import { problem, sendProblem } from '../problems.js';

declare module 'fastify' {
  interface FastifyInstance {
    authorize(role: Role): preHandlerAsyncHookHandler;
  }
  interface FastifyRequest {
    token: TokenRecord | null;
  }
}

const LOOPBACK = /^(127\.|::1$|::ffff:127\.)/;

export const authPlugin = fp<{ openReadsOnLoopback: boolean }>(
  async (app, opts) => {
    app.decorateRequest('token', null);
    app.decorate('authorize', (role: Role): preHandlerAsyncHookHandler => {
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
        if (!roleGrants[token.role].includes(role)) {
          return sendProblem(reply, problem(403, 'forbidden', 'Forbidden', `Token '${token.name}' has role ${token.role}; this endpoint needs ${role}.`));
        }
        request.token = token;
      };
    });
  },
  { name: 'auth', dependencies: ['store'], fastify: '5.x' },
);
