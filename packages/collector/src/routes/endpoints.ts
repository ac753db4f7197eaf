// The endpoint read API (role reader): every declared endpoint with its overall and per-vantage
// family verdicts and open findings; one endpoint with each vantage point's last attempts, the
// findings with their evidence, the backends (linked to their hosts) and the probe history.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import type { EndpointFamilyView } from '@dualstack/core';
import { Problem } from '../api.js';
import { EndpointDetail, EndpointQuery, EndpointSummary, type FamilyCounts } from '../endpoints/api.js';
import { evaluateEndpointInput, historyVerdicts, type EndpointEvaluation } from '../endpoints/evaluate.js';
import { problem, sendProblem } from '../problems.js';

const counts = (f: EndpointFamilyView): FamilyCounts => ({ verdict: f.verdict, answering: f.answering, total: f.total });

function summaryOf(e: EndpointEvaluation): EndpointSummary {
  const findings = { critical: 0, warning: 0, info: 0 };
  for (const f of e.findings) findings[f.severity]++;
  return {
    name: e.input.declared.spec.name,
    url: e.input.declared.spec.url,
    source: e.input.declared.source,
    families: e.families,
    vantages: e.vantages.map((v) => ({ hostId: v.hostId, hostname: v.hostname, receivedAt: v.receivedAt, probedAt: v.probedAt, stale: v.view.stale, ipv4: counts(v.ipv4), ipv6: counts(v.ipv6) })),
    findings,
    lastProbed: e.lastProbed,
  };
}

export const endpointRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const common = { tags: ['endpoints'], security: [{ bearer: [] }] };
  const preHandler = app.authorize('reader');

  app.get('/api/v1/endpoints', { preHandler, schema: { ...common, summary: 'Published endpoints: verdicts per family and vantage point, open findings', response: { 200: Type.Object({ items: Type.Array(EndpointSummary) }), 401: Problem, 403: Problem } } }, async () => ({
    items: (await app.store.endpointInputs(new Date())).map((input) => summaryOf(evaluateEndpointInput(input))),
  }));

  app.get(
    '/api/v1/endpoints/:name',
    {
      preHandler,
      schema: { ...common, summary: "One endpoint: each vantage point's last attempts and verdicts, findings, backends, history", params: Type.Object({ name: Type.String({ minLength: 1 }) }), querystring: EndpointQuery, response: { 200: EndpointDetail, 400: Problem, 401: Problem, 403: Problem, 404: Problem } },
    },
    async (request, reply) => {
      const [input] = await app.store.endpointInputs(new Date(), request.params.name);
      if (!input) return sendProblem(reply, problem(404, 'not-found', 'Not Found', `No endpoint named '${request.params.name}' is declared.`, { field: '/name' }));
      const e = evaluateEndpointInput(input);
      const history = await app.store.probeHistory(request.params.name, request.query.limit ?? 20);
      const { declared } = input;
      return {
        endpoint: { ...declared.spec, source: declared.source, createdAt: declared.createdAt, address: { scheme: e.address.scheme, host: e.address.host, port: e.address.port, literal: e.address.literal, tls: e.address.tls, protocol: e.address.protocol, path: e.address.path } },
        families: e.families,
        vantages: e.vantages.map((v) => ({ hostId: v.hostId, hostname: v.hostname, receivedAt: v.receivedAt, probedAt: v.probedAt, stale: v.view.stale, batchId: v.view.batchId, ipv4: v.ipv4, ipv6: v.ipv6, probe: v.view.probe })),
        findings: e.findings,
        backends: input.backends.map((b) => ({ ...b, link: b.hostId === null ? null : `/api/v1/hosts/${encodeURIComponent(b.hostId)}` })),
        history: e.vantages.map((v) => ({
          hostId: v.hostId,
          hostname: v.hostname,
          results: (history.get(v.hostId) ?? []).map((entry) => {
            const verdict = historyVerdicts(e.address, entry);
            return { batchId: entry.batchId, receivedAt: entry.receivedAt, probedAt: entry.probe.probedAt, ipv4: counts(verdict.ipv4), ipv6: counts(verdict.ipv6) };
          }),
        })),
      };
    },
  );
};
