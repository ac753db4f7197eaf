// Request rate per credential (@fastify/rate-limit): each API request counts against the
// credential it authenticated with (a token or host key id), or against the client address
// when it carries none (loopback reads). Beyond its role's limit a request is answered 429 with
// Retry-After and a problem naming the limit. The count runs right after the route's authorize
// hook, in the same list: onRequest for the ingest and enroll routes (so a refused report's
// body is never read), preHandler for reads. A request that fails authentication is answered
// 401 there, for the cost of one hash and one lookup. API routes without authorize count by
// address in onRequest.
// /healthz, /metrics, /docs and the dashboard's files are not limited: a load balancer or
// Prometheus must never see 429.
import fp from 'fastify-plugin';
import rateLimit from '@fastify/rate-limit';
import { Counter } from 'prom-client';
import type { FastifyRequest, RouteOptions } from 'fastify';
import type { Problem } from '../api.js';
import { problem } from '../problems.js';
import type { RateLimitClass, RateLimits } from './rate-limit-config.js';

/** Thrown by the limiter; the app's error handler sends its problem (Retry-After is set). */
export class RateLimitedError extends Error {
  readonly statusCode = 429;
  constructor(readonly problem: Problem) {
    super(problem.detail);
    this.name = 'RateLimitedError';
  }
}

function classOf(request: FastifyRequest): RateLimitClass {
  const role = request.token?.role;
  if (role === undefined) return 'anonymous';
  return role === 'host' ? 'agent' : role;
}

/** authorize() hooks are named so (plugins/auth.ts): the count must know who is asking. */
const isAuthorize = (hook: unknown) => typeof hook === 'function' && hook.name === 'authorize';

function hooksOf(route: RouteOptions, name: 'onRequest' | 'preHandler'): unknown[] {
  const hooks = route[name];
  return hooks === undefined ? [] : Array.isArray(hooks) ? hooks : [hooks];
}

function describe(request: FastifyRequest): string {
  const token = request.token;
  if (!token) return `client ${request.ip} (no token)`;
  return token.role === 'host' ? `the ${token.name}` : `${token.role === 'enroll' ? 'enroll secret' : 'token'} '${token.name}'`;
}

export const rateLimitPlugin = fp<{ limits: RateLimits }>(
  async (app, { limits }) => {
    const refused = new Counter({
      name: 'dualstack_rate_limited_requests_total',
      help: 'Requests answered 429 because their credential (or address, without one) exceeded its rate limit, by role (anonymous: no token).',
      labelNames: ['role'],
      registers: [app.metrics.registry],
    });
    for (const role of ['agent', 'enroll', 'reader', 'admin', 'anonymous']) refused.inc({ role }, 0);
    await app.register(rateLimit, {
      global: false, // placed by the onRoute hook below
      timeWindow: limits.windowSeconds * 1000,
      max: (request) => limits[classOf(request)],
      keyGenerator: (request) => (request.token ? `${request.token.role}:${request.token.id}` : `ip:${request.ip}`),
      // The most recently counted keys are kept: a credential hammering the API is always among them.
      cache: 20_000,
      onExceeded: (request) => refused.inc({ role: classOf(request) }),
      errorResponseBuilder: (request, context) => {
        const limit = `${context.max} requests per ${limits.windowSeconds} s`;
        return new RateLimitedError(
          problem(429, 'rate-limited', 'Too Many Requests', `${describe(request)} exceeded its rate limit of ${limit} (rateLimit.${classOf(request)}); send again in ${context.after}.`),
        );
      },
    });
    const limiter = app.rateLimit();
    app.addHook('onRoute', (route) => {
      if (!route.url.startsWith('/api/')) return;
      const hook = hooksOf(route, 'preHandler').some(isAuthorize) && !hooksOf(route, 'onRequest').some(isAuthorize) ? 'preHandler' : 'onRequest';
      route[hook] = [...hooksOf(route, hook), limiter] as RouteOptions['onRequest'];
    });
  },
  { name: 'rate-limit', dependencies: ['auth', 'metrics'], fastify: '5.x' },
);
