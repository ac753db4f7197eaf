import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';

export const healthRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/healthz', { schema: { tags: ['health'], summary: 'Liveness and database reachability', response: { 200: Type.Object({ status: Type.Literal('ok') }) } } }, async () => {
    await app.store.ping();
    return { status: 'ok' as const };
  });
};
