// POST /api/v1/reports: one agent report, validated against the shared schema, stored in one
// transaction, idempotent on reportId (202 stored, 200 stored before: the same ack).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { REPORT_SCHEMA, Report, schemaMajor, REPORT_SCHEMA_MAJOR } from '@dualstack/core/schema';
import { IngestAck, Problem } from '../api.js';
import { problem, sendProblem } from '../problems.js';
import { storedTokenId } from '../plugins/auth.js';
import { hasUnknownProperties, withoutUnknownProperties } from '../ingest/unknown-properties.js';

export const reportRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/api/v1/reports',
    {
      schema: {
        summary: 'Ingest one host report',
        tags: ['ingest'],
        security: [{ bearer: [] }],
        body: Report,
        response: { 200: IngestAck, 202: IngestAck, 400: Problem, 401: Problem, 403: Problem, 413: Problem, 503: Problem },
      },
      // Authenticated before the body is read: an unknown client gets 401, never a parse or
      // validation answer (or the work of one).
      onRequest: app.authorize('agent'),
      // After validation: the credential may only write its own host's reports.
      preHandler: async (request, reply) => {
        const refusal = await app.hostWriteRefusal(request, request.body.host.hostId, 'reports', '/host/hostId');
        if (refusal) {
          app.metrics.ingested.inc({ result: 'rejected' });
          return sendProblem(reply, refusal);
        }
      },
      // A report of another major version would fail validation with a confusing message:
      // refuse it by name first.
      preValidation: async (request, reply) => {
        const schema = (request.body as { schema?: unknown } | null)?.schema;
        const major = schemaMajor(schema);
        if (major !== null && major !== REPORT_SCHEMA_MAJOR) {
          app.metrics.ingested.inc({ result: 'rejected' });
          return sendProblem(
            reply,
            problem(400, 'unsupported-schema', 'Unsupported report schema', `This collector understands ${REPORT_SCHEMA}; the report is ${String(schema)}. Upgrade the collector before the agents.`, { field: '/schema' }),
          );
        }
      },
    },
    async (request, reply) => {
      const stop = app.metrics.ingestSeconds.startTimer();
      // Properties the schema does not name are not stored (ingest/unknown-properties.ts).
      const known = hasUnknownProperties(request.body) ? withoutUnknownProperties(request.body) : null;
      const ack = await app.store.ingestReport(known ?? request.body, {
        receivedAt: new Date().toISOString(),
        tokenId: storedTokenId(request),
        bytes: Number(request.headers['content-length'] ?? 0),
        ...(request.headers.date !== undefined ? { sentAt: request.headers.date } : {}),
        ...(known !== null ? { body: JSON.stringify(known) } : request.rawBody !== undefined ? { body: request.rawBody } : {}),
      });
      stop();
      app.metrics.ingested.inc({ result: ack.duplicate ? 'duplicate' : 'stored' });
      return reply.code(ack.duplicate ? 200 : 202).send(ack);
    },
  );
};
