// Declaring endpoints through the API (role admin): POST /api/v1/endpoints (201; 409 for a
// name in use; 400 naming the field) and DELETE /api/v1/endpoints/:name (204; 409 for an
// endpoint of the configuration file, which only the file can remove). Kept in the database,
// so a restart keeps them.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { EndpointSpec } from '@dualstack/core/schema';
import { Problem } from '../api.js';
import { DeclaredEndpointView } from '../endpoints/api.js';
import { checkEndpointSpec, EndpointSpecError } from '../endpoints/spec.js';
import { problem, sendProblem } from '../problems.js';

export const endpointAdminRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const common = { tags: ['endpoints'], security: [{ bearer: [] }] };
  const preHandler = app.authorize('admin');

  app.post(
    '/api/v1/endpoints',
    { preHandler, schema: { ...common, summary: 'Declare a published endpoint', body: EndpointSpec, response: { 201: DeclaredEndpointView, 400: Problem, 401: Problem, 403: Problem, 409: Problem } } },
    async (request, reply) => {
      try {
        checkEndpointSpec(request.body, '');
      } catch (error) {
        if (!(error instanceof EndpointSpecError)) throw error;
        // '.url' -> '/url', '.expect.tlsName' -> '/expect/tlsName'
        const field = error.key.replace(/\./g, '/');
        return sendProblem(reply, problem(400, 'validation', 'Invalid request', `body field ${field}: ${error.reason}`, { field }));
      }
      const declared = await app.store.addEndpoint(request.body);
      return reply.code(201).send({ ...declared.spec, source: declared.source, createdAt: declared.createdAt });
    },
  );

  app.delete(
    '/api/v1/endpoints/:name',
    { preHandler, schema: { ...common, summary: 'Delete an endpoint declared through the API, with its results', params: Type.Object({ name: Type.String({ minLength: 1 }) }), response: { 204: Type.Null(), 401: Problem, 403: Problem, 404: Problem, 409: Problem } } },
    async (request, reply) => {
      if (!(await app.store.removeEndpoint(request.params.name))) {
        return sendProblem(reply, problem(404, 'not-found', 'Not Found', `No endpoint named '${request.params.name}' is declared.`, { field: '/name' }));
      }
      return reply.code(204).send(null);
    },
  );
};
