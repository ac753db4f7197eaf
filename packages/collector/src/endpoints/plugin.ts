// The endpoints plugin: declares the configuration's endpoints in the store at start (a name
// the API already declared stops the start, naming the key), then registers the vantage points'
// routes (routes/probes.ts), the endpoint API (routes/endpoints.ts) and the endpoint metrics.
import fp from 'fastify-plugin';
import type { EndpointSpec } from '@dualstack/core';
import { DEFAULT_PROBE_TIMEOUT_MS } from '../config.js';
import { probeRoutes } from '../routes/probes.js';
import { endpointAdminRoutes } from '../routes/endpoint-admin.js';
import { endpointRoutes } from '../routes/endpoints.js';
import { registerEndpointMetrics } from './metrics.js';

export interface EndpointsPluginOptions {
  /** The `endpoints` key of the configuration (checked by resolveConfig); none by default. */
  config?: readonly EndpointSpec[] | undefined;
  /** `probe.timeoutMs`, handed to vantage points (default 5000). */
  probeTimeoutMs?: number | undefined;
}

export const endpointsPlugin = fp<EndpointsPluginOptions>(
  async (app, opts) => {
    await app.store.declareConfigEndpoints(opts.config ?? []);
    registerEndpointMetrics(app.metrics.registry, app.store);
    await app.register(probeRoutes, { timeoutMs: opts.probeTimeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS });
    await app.register(endpointAdminRoutes);
    await app.register(endpointRoutes);
  },
  { name: 'endpoints', dependencies: ['store', 'auth', 'metrics'], fastify: '5.x' },
);
