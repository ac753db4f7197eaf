import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { Problem } from '../api.js';
import { problem, sendProblem } from '../problems.js';
import { DISK_FULL_RETRY_AFTER_SECONDS, isDiskFullError } from '../plugins/disk-full.js';

export const healthRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/healthz',
    { schema: { tags: ['health'], summary: 'Liveness, database reachability, and whether the database disk is full', response: { 200: Type.Object({ status: Type.Literal('ok') }), 503: Problem } } },
    async (_request, reply) => {
      await app.store.ping();
      // 503 like every refused ingest: a check that only reads the status code (curl -f, a
      // load balancer, Docker HEALTHCHECK) must see that the collector cannot store reports.
      if (app.diskFull.since !== null && app.store.probeWrite) {
        try {
          await app.store.probeWrite();
          app.diskFull.recovered();
        } catch (error) {
          if (!isDiskFullError(error)) throw error;
        }
      }
      const since = app.diskFull.since;
      if (since !== null) {
        reply.header('retry-after', String(DISK_FULL_RETRY_AFTER_SECONDS));
        return sendProblem(
          reply,
          problem(503, 'disk-full', 'Disk full', `disk full: database writes fail since ${since} (${app.diskFull.refused} refused); reads are served. Free space where the database lives: this check, or the next write, clears it once a write succeeds.`),
        );
      }
      return { status: 'ok' as const };
    },
  );
};
