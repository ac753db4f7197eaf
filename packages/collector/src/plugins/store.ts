import fp from 'fastify-plugin';
import type { Store } from '../store.js';

declare module 'fastify' {
  interface FastifyInstance {
    store: Store;
  }
}

/** Decorates the app with its store and closes the store when the app closes. */
export const storePlugin = fp<{ store: Store; closeStore: boolean }>(
  async (app, opts) => {
    app.decorate('store', opts.store);
    if (opts.closeStore) app.addHook('onClose', async () => opts.store.close());
  },
  { name: 'store', fastify: '5.x' },
);
