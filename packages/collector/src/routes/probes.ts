// The vantage points' side (role agent): GET /api/v1/probe-targets hands out every declared
// endpoint with its parsed URL and the per-attempt budget; POST /api/v1/probe-results takes one
// probe round, validated by schema, stored in one transaction, idempotent on batchId
// (202 stored, 200 stored before: the same ack).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { parseEndpointUrl, type ProbeTarget } from '@dualstack/core';
import { PROBE_SCHEMA, ProbeAck, ProbeBatch, ProbeTargets } from '@dualstack/core/schema';
import { Problem } from '../api.js';
import { problem, sendProblem } from '../problems.js';
import { storedTokenId } from '../plugins/auth.js';

/** `dualstack.probe/vN` -> N; null when the value is not such a string. */
function probeSchemaMajor(schema: unknown): number | null {
  const match = typeof schema === 'string' ? /^dualstack\.probe\/v(\d+)$/.exec(schema) : null;
  return match ? Number(match[1]) : null;
}
const PROBE_SCHEMA_MAJOR = probeSchemaMajor(PROBE_SCHEMA);

export const probeRoutes: FastifyPluginAsyncTypebox<{ timeoutMs: number }> = async (app, opts) => {
  const common = { tags: ['probes'], security: [{ bearer: [] }] };
  // Authenticated before the body is read (see routes/reports.ts).
  const onRequest = app.authorize('agent');

  app.get('/api/v1/probe-targets', { onRequest, schema: { ...common, summary: 'The endpoints a vantage point probes, and the per-attempt timeout', response: { 200: ProbeTargets, 401: Problem, 403: Problem } } }, async () => {
    const targets: ProbeTarget[] = [];
    for (const { spec } of await app.store.listEndpoints()) {
      // Every stored spec was checked when declared.
      const address = parseEndpointUrl(spec.url);
      targets.push({ name: spec.name, url: spec.url, ...address, ...(spec.expect ? { expect: spec.expect } : {}) });
    }
    return { targets, timeoutMs: opts.timeoutMs };
  });

  app.post(
    '/api/v1/probe-results',
    {
      onRequest,
      // A credential bound to a host probes as that vantage point only.
      preHandler: async (request, reply) => {
        const refusal = await app.hostWriteRefusal(request, request.body.vantage.hostId, 'probe results', '/vantage/hostId');
        if (refusal) return sendProblem(reply, refusal);
      },
      schema: { ...common, summary: 'Ingest one probe round of a vantage point', body: ProbeBatch, response: { 200: ProbeAck, 202: ProbeAck, 400: Problem, 401: Problem, 403: Problem, 413: Problem } },
      // Counted by answer, so a batch refused by the schema, by name or by the store counts as rejected.
      onResponse: async (_request, reply) => {
        const result = reply.statusCode === 202 ? 'stored' : reply.statusCode === 200 ? 'duplicate' : reply.statusCode === 400 || reply.statusCode === 413 ? 'rejected' : null;
        if (result) app.metrics.probeBatches.inc({ result });
      },
      // A batch of another major version would fail validation with a confusing message: refuse it by name first.
      preValidation: async (request, reply) => {
        const schema = (request.body as { schema?: unknown } | null)?.schema;
        const major = probeSchemaMajor(schema);
        if (major !== null && major !== PROBE_SCHEMA_MAJOR) {
          return sendProblem(
            reply,
            problem(400, 'unsupported-schema', 'Unsupported probe schema', `This collector understands ${PROBE_SCHEMA}; the batch is ${String(schema)}. Upgrade the collector before the agents.`, { field: '/schema' }),
          );
        }
      },
    },
    async (request, reply) => {
      // A UUID is case-insensitive (RFC 9562): compared and stored in lower case, as reportId is, so
      // a resend spelling it in upper case is the duplicate it is. Here, so every store backend gets it.
      const batch = { ...request.body, batchId: request.body.batchId.toLowerCase() };
      const ack = await app.store.ingestProbeBatch(batch, { receivedAt: new Date().toISOString(), tokenId: storedTokenId(request) });
      return reply.code(ack.duplicate ? 200 : 202).send(ack);
    },
  );
};
