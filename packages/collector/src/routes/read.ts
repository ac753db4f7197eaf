// The read API (role reader): hosts, one host, the fleet service matrix, findings by rule,
// the fleet summary.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { FindingRuleRow, HostDetail, HostListItem, HostQuery, Page, Problem, ServiceMatrixRow, ServicesQuery, SummaryView } from '../api.js';
import { problem, sendProblem } from '../problems.js';
import { duplicateIdentityFix } from '../identity/duplicate-identity.js';

export const readRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const common = { tags: ['read'], security: [{ bearer: [] }] };
  const preHandler = app.authorize('reader');

  app.get('/api/v1/hosts', { preHandler, schema: { ...common, summary: 'Hosts, filtered and paged', querystring: HostQuery, response: { 200: Page(HostListItem), 400: Problem, 401: Problem, 403: Problem } } }, async (request) => {
    const [page, duplicates] = await Promise.all([app.store.listHosts({ ...request.query, limit: request.query.limit ?? 100, offset: request.query.offset ?? 0 }, new Date()), app.store.hostsWithPendingKeys()]);
    const marked = new Set(duplicates);
    return { ...page, items: page.items.map((host) => ({ ...host, duplicateIdentity: marked.has(host.hostId) })) };
  });

  app.get(
    '/api/v1/hosts/:hostId',
    { preHandler, schema: { ...common, summary: 'One host: services, findings, readiness history', params: Type.Object({ hostId: Type.String({ minLength: 1 }) }), response: { 200: HostDetail, 401: Problem, 403: Problem, 404: Problem } } },
    async (request, reply) => {
      const detail = await app.store.getHost(request.params.hostId, new Date());
      if (!detail) return sendProblem(reply, problem(404, 'not-found', 'Not Found', `No host with id '${request.params.hostId}' has reported.`, { field: '/hostId' }));
      const keys = await app.store.hostKeysOf(request.params.hostId);
      // hostKeysOf is newest first; the pending keys are listed oldest first, as the alert does.
      const pending = keys.filter((k) => k.state === 'pending').reverse();
      const live = keys.find((k) => k.state === 'live');
      return {
        ...detail,
        identity: {
          enrolled: live !== undefined,
          pendingKeys: pending.length,
          fix: duplicateIdentityFix(request.params.hostId, pending),
          live: live ? { createdAt: live.createdAt, lastUsedAt: live.lastUsedAt } : null,
          pending: pending.map((k) => ({ id: k.id, hostname: k.hostname, peer: k.peer, createdAt: k.createdAt })),
        },
      };
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

  app.get('/api/v1/summary', { preHandler, schema: { ...common, summary: 'Fleet readiness at a glance', response: { 200: SummaryView, 401: Problem, 403: Problem } } }, async () => {
    const [summary, duplicates] = await Promise.all([app.store.summary(new Date()), app.store.hostsWithPendingKeys()]);
    return { ...summary, duplicateIdentities: duplicates.length };
  });
};
