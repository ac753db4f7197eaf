// POST /api/v1/enroll (an enroll secret as the bearer): the agent sends its host id, hostname
// and facts and gets a host key bound to that host id, shown once. A host id that already has
// a live key gets a pending key instead (202): a duplicate identity, refused until an admin
// accepts it, never a silent takeover of the host.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { EnrollAnswer, EnrollRequest } from '@dualstack/core/schema';
import { Problem } from '../api.js';
import { duplicateIdentity } from '../plugins/auth.js';
import { HostLimitError } from '../store.js';
import { problem, sendProblem } from '../problems.js';
import { generateToken, hashToken, HOST_KEY_PREFIX } from '../tokens.js';

/** defaultMaxHosts: the configuration's maxHostsPerEnrollSecret (a secret's own --max-hosts wins). */
export const enrollRoutes: FastifyPluginAsyncTypebox<{ defaultMaxHosts?: number }> = async (app, opts) => {
  app.post(
    '/api/v1/enroll',
    {
      schema: {
        summary: 'Exchange an enroll secret for a host key of this host',
        tags: ['identity'],
        security: [{ bearer: [] }],
        body: EnrollRequest,
        response: { 201: EnrollAnswer, 202: EnrollAnswer, 400: Problem, 401: Problem, 403: Problem, 413: Problem, 429: Problem },
      },
      // Before the body is read, like the ingest routes.
      onRequest: app.authorize('enroll'),
    },
    async (request, reply) => {
      const key = generateToken(HOST_KEY_PREFIX);
      const { hostId, hostname, facts } = request.body;
      let enrolled;
      try {
        enrolled = await app.store.enrollHost({ secretId: request.token?.id ?? null, hostId, hostname, facts, peer: request.ip, hash: hashToken(key), defaultMaxHosts: opts.defaultMaxHosts ?? null });
      } catch (error) {
        if (!(error instanceof HostLimitError)) throw error;
        request.log.warn({ hostId, secret: error.secretName, maxHosts: error.maxHosts, peer: request.ip }, 'enrollment refused: the enroll secret reached its host limit');
        return sendProblem(reply, problem(403, 'host-limit', 'Forbidden', `${error.message}.`, { field: '/hostId' }));
      }
      if (enrolled.state === 'live') {
        request.log.info({ hostId, keyId: enrolled.keyId, secret: request.token?.name }, 'host enrolled');
        return reply.code(201).send({ hostId, key, keyId: enrolled.keyId, state: 'live', createdAt: enrolled.createdAt });
      }
      const detail = duplicateIdentity(hostId, enrolled.keyId).detail;
      request.log.warn({ hostId, keyId: enrolled.keyId, liveKeyId: enrolled.live?.id, hostname, liveHostname: enrolled.live?.hostname, peer: request.ip }, 'duplicate host identity: enrollment for a host id with a live key');
      return reply.code(202).send({ hostId, key, keyId: enrolled.keyId, state: 'pending', createdAt: enrolled.createdAt, detail });
    },
  );
};
