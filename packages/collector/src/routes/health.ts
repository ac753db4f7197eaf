import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { Problem } from '../api.js';
import { problem, sendProblem } from '../problems.js';
import { DISK_FULL_RETRY_AFTER_SECONDS, isDiskFullError } from '../plugins/disk-full.js';
import { backendOf } from '../db/timed-store.js';
import { StoreBusyError } from '../store.js';

/** Seconds a check waits before asking again when the database does not answer (the store's own busy answer says so when it has one). */
const UNREACHABLE_RETRY_AFTER_SECONDS = 5;

const Database = Type.Object({
  backend: Type.String({ description: 'sqlite or postgres' }),
  reachable: Type.Literal(true),
  latencyMs: Type.Number({ description: 'Time of one SELECT 1 on the database, from this collector, in milliseconds.' }),
});

export const healthRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const backend = backendOf(app.store);
  app.get(
    '/healthz',
    {
      schema: {
        tags: ['health'],
        summary: 'Liveness, the database (its backend, reachable, latency of SELECT 1), and whether its disk is full',
        response: { 200: Type.Object({ status: Type.Literal('ok'), database: Database }), 503: Problem },
      },
    },
    async (_request, reply) => {
      const started = process.hrtime.bigint();
      try {
        await app.store.ping();
      } catch (error) {
        // 503 naming the backend: a load balancer takes this collector out while its database is gone.
        reply.header('retry-after', String(error instanceof StoreBusyError ? error.retryAfterSeconds : UNREACHABLE_RETRY_AFTER_SECONDS));
        return sendProblem(reply, problem(503, 'database-unreachable', 'Database unreachable', `database unreachable: the ${backend} database does not answer (${(error as Error).message})`));
      }
      const latencyMs = Number(process.hrtime.bigint() - started) / 1e6;
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
      return { status: 'ok' as const, database: { backend, reachable: true as const, latencyMs } };
    },
  );
};
