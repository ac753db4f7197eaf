// The read API (role reader): hosts, one host, the fleet service matrix, findings by rule,
// the fleet summary.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { FindingRuleRow, FleetSummary, HostDetail, HostQuery, HostSummary, Page, Problem, ServiceMatrixRow, ServicesQuery } from '../api.js';
import { problem, sendProblem } from '../problems.js';
import { duplicateIdentityFix } from '../identity/duplicate-identity.js';

export const readRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const common = { tags: ['read'], security: [{ bearer: [] }] };
  const preHandler = app.authorize('reader');

  app.get('/api/v1/hosts', { preHandler, schema: { ...common, summary: 'Hosts, filtered and paged', querystring: HostQuery, response: { 200: Page(HostSummary), 400: Problem, 401: Problem, 403: Problem } } }, async (request) =>
    app.store.listHosts({ ...request.query, limit: request.query.limit ?? 100, offset: request.query.offset ?? 0 }, new Date()),
  );

  app.get(
    '/api/v1/hosts/:hostId',
    { preHandler, schema: { ...common, summary: 'One host: services, findings, readiness history', params: Type.Object({ hostId: Type.String({ minLength: 1 }) }), response: { 200: HostDetail, 401: Problem, 403: Problem, 404: Problem } } },
    async (request, reply) => {
      const detail = await app.store.getHost(request.params.hostId, new Date());
      if (!detail) return sendProblem(reply, problem(404, 'not-found', 'Not Found', `No host with id '${request.params.hostId}' has reported.`, { field: '/hostId' }));
      const keys = await app.store.hostKeysOf(request.params.hostId);
      const pending = keys.filter((k) => k.state === 'pending');
      return { ...detail, identity: { enrolled: keys.some((k) => k.state === 'live'), pendingKeys: pending.length, fix: duplicateIdentityFix(request.params.hostId, pending) } };
    },
  );

  app.get(
    '/api/v1/services',
    { preHandler, schema: { ...common, summary: 'Fleet service matrix: per scope, process and port, hosts per mode', querystring: ServicesQuery, response: { 200: Page(ServiceMatrixRow), 400: Problem, 401: Problem, 403: Problem } } },
    async (request) => app.store.servicesMatrix({ limit: request.query.limit ?? 100, offset: request.query.offset ?? 0, scope: request.query.scope ?? 'all' }),
  );

  app.get('/api/v1/findings', { preHandler, schema: { ...common, summary: 'Open findings per rule with the hosts affected', response: { 200: Type.Object({ items: Type.Array(FindingRuleRow) }), 401: Problem, 403: Problem } } }, async () => ({
    items: await app.store.findingsByRule(),
  }));

  app.get('/api/v1/summary', { preHandler, schema: { ...common, summary: 'Fleet readiness at a glance', response: { 200: FleetSummary, 401: Problem, 403: Problem } } }, async () => app.store.summary(new Date()));
};
