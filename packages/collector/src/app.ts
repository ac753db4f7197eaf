// buildApp: the whole collector as a Fastify instance, without listening (server.ts does
// that), so tests build it on a temp SQLite file and use inject() or listen on port 0.
import type { Socket } from 'node:net';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { TypeBoxValidatorCompiler, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { CollectorConfig } from './config.js';
import { StoreBusyError, type Store } from './store.js';
import { storePlugin } from './plugins/store.js';
import { authPlugin } from './plugins/auth.js';
import { metricsPlugin } from './plugins/metrics.js';
import { diskFullPlugin, DISK_FULL_RETRY_AFTER_SECONDS } from './plugins/disk-full.js';
import { reportRoutes } from './routes/reports.js';
import { readRoutes } from './routes/read.js';
import { healthRoutes } from './routes/health.js';
import { problem, sendProblem } from './problems.js';
import { AGENT_FACING_VERSION } from './version.js';
import { jsonDepthBeyond, MAX_JSON_DEPTH } from './ingest/json-depth.js';
import { resolveRateLimit } from './limits/rate-limit-config.js';
import { RateLimitedError, rateLimitPlugin } from './limits/rate-limit-plugin.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The JSON body's text as received (application/json requests only). */
    rawBody?: string;
  }
}

export interface AppOptions {
  store: Store;
  /** rateLimit: absent, no request rate limit (serve always has one: defaultConfig's, see limits/). */
  config: Pick<CollectorConfig, 'bodyLimitBytes' | 'openReadsOnLoopback' | 'rateLimit' | 'maxHostsPerEnrollSecret'>;
  /** Close the store when the app closes (true when the app owns it). */
  closeStore?: boolean;
  logger?: FastifyServerOptions['logger'];
  https?: { cert: Buffer; key: Buffer };
  /** Alerting: the `alerts` configuration, a clock, an AlertStore (see alerts/plugin.ts). */
  alerts?: import('./alerts/plugin.js').AlertsPluginOptions;
  /** Published endpoints: the `endpoints` and `probe.timeoutMs` configuration (see endpoints/plugin.ts). */
  endpoints?: import('./endpoints/plugin.js').EndpointsPluginOptions;
}

interface ValidationEntry {
  instancePath?: string;
  message?: string;
  keyword?: string;
  params?: { requiredProperties?: string[]; missingProperty?: string };
}

/** The JSON pointer of the field at fault: for a missing property, the property itself. */
function fieldOf(v: ValidationEntry): { path: string; message: string } {
  const missing = v.keyword === 'required' ? (v.params?.requiredProperties?.[0] ?? v.params?.missingProperty) : undefined;
  const path = missing ? `${v.instancePath ?? ''}/${missing}` : v.instancePath || '/';
  return { path, message: missing ? 'is required' : (v.message ?? 'invalid') };
}

/**
 * close() (and so a SIGTERM'd collector) must not wait minutes for connections that carry no
 * request. Node's server.close() closes the keep-alive connections idle at that moment, and
 * only those; two kinds would hold it:
 * - a connection on which no request byte ever arrived: it does not count as idle (its header
 *   timer runs) until headersTimeout expires, checked every connectionsCheckingInterval
 *   (95-218 s were measured with Chromium, which opens such spare connections while it loads a
 *   page and keeps the unused ones). They are dropped when the close starts: nothing is in
 *   flight on them, and a client that was about to use one sees a reset and retries, as after
 *   any server close. With TLS the count is of decrypted bytes (a spare's handshake is done
 *   but it carries no request); a TCP connection that never sent its TLS hello goes too, one
 *   halfway through its handshake is left to the TLS handshake timeout.
 * - the connection of a request in flight when the close starts: it completes, and then would
 *   stay open as keep-alive (keepAliveTimeout, 72 s). Its response says Connection: close.
 * A request whose first bytes arrived is not touched: it completes as usual. A request that
 * starts while the collector drains (on a connection that stays open for a request in flight,
 * or pipelined behind one) is answered 503 with Retry-After and a problem, before its body is
 * read or its token looked up, instead of Fastify's bare 503: agents keep the report in their
 * spool and send it to the next collector after Retry-After.
 */
function closePromptly(app: FastifyInstance, tls: boolean): void {
  const connections = new Set<Socket>();
  const track = (socket: Socket) => {
    connections.add(socket);
    socket.once('close', () => connections.delete(socket));
  };
  app.server.on('connection', track);
  if (tls) app.server.on('secureConnection', track);
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
    for (const socket of connections) if (socket.bytesRead === 0) socket.destroy();
  });
  app.addHook('onSend', async (_request, reply, payload) => {
    if (closing) reply.header('connection', 'close');
    return payload;
  });
  // The first onRequest hook of the app: before authorization and the rate limit.
  app.addHook('onRequest', async (_request, reply) => {
    if (!closing) return;
    reply.header('retry-after', String(SHUTDOWN_RETRY_AFTER_SECONDS));
    return sendProblem(reply, problem(503, 'shutting-down', 'Service Unavailable', `The collector is shutting down: requests in flight finish, new ones are refused. Send again in ${SHUTDOWN_RETRY_AFTER_SECONDS} s; the agent keeps the report in its spool.`));
  });
}

/** What a request refused during shutdown is told to wait: a restart takes a few seconds. */
export const SHUTDOWN_RETRY_AFTER_SECONDS = 5;

export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: opts.logger ?? false,
    bodyLimit: opts.config.bodyLimitBytes,
    // closePromptly answers requests during shutdown itself (with Retry-After and a problem).
    return503OnClosing: false,
    ...(opts.https ? { https: opts.https } : {}),
  }).withTypeProvider<TypeBoxTypeProvider>();
  closePromptly(app, opts.https !== undefined);
  app.setValidatorCompiler(TypeBoxValidatorCompiler);
  // Keep the JSON text of each body beside the parsed value: the store keeps a host's latest
  // report as it arrived instead of serializing it again.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    // Refused before parsing: a deeply nested body is stored fine and breaks its readers later.
    if (jsonDepthBeyond(body as string) > 0) {
      const error = Object.assign(new Error(`The JSON body nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels, the limit (a report needs about 10).`), { statusCode: 400 });
      done(error, undefined);
      return;
    }
    request.rawBody = body as string;
    parseJson(request, body as string, done);
  });

  app.setErrorHandler((error, request, reply) => {
    const err = error as Error & { validation?: ValidationEntry[]; validationContext?: string; code?: string; statusCode?: number };
    if (err.validation) {
      const problems = err.validation.slice(0, 20).map(fieldOf);
      const first = problems[0]!;
      return sendProblem(
        reply,
        problem(400, 'validation', 'Invalid request', `${err.validationContext ?? 'request'} field ${first.path}: ${first.message}`, { field: first.path, problems }),
      );
    }
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return sendProblem(reply, problem(413, 'too-large', 'Payload Too Large', `The body exceeds the limit of ${opts.config.bodyLimitBytes} bytes.`));
    }
    if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      return sendProblem(reply, problem(415, 'media-type', 'Unsupported Media Type', 'Send the report as application/json.'));
    }
    if (error instanceof RateLimitedError) return sendProblem(reply, error.problem); // Retry-After set by the limiter
    if (app.diskFull.refuses(error)) {
      // Logged once per change of state by the plugin, not per request (plugins/disk-full.ts).
      reply.header('retry-after', String(DISK_FULL_RETRY_AFTER_SECONDS));
      return sendProblem(reply, problem(503, 'disk-full', 'Disk full', `The collector's database disk is full: nothing was stored. Send again in ${DISK_FULL_RETRY_AFTER_SECONDS} s; the agent keeps the report in its spool.`));
    }
    if (error instanceof StoreBusyError) {
      reply.header('retry-after', String(error.retryAfterSeconds));
      return sendProblem(reply, problem(503, 'busy', 'Service Unavailable', `${error.message}. The agent keeps the report in its spool.`));
    }
    if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) {
      const field = (err as { field?: string | null }).field;
      return sendProblem(reply, problem(err.statusCode, err.statusCode === 409 ? 'conflict' : 'malformed', err.statusCode === 409 ? 'Conflict' : 'Bad Request', err.message, field ? { field } : {}));
    }
    request.log.error({ err }, 'request failed');
    return sendProblem(reply, problem(500, 'internal', 'Internal Server Error', 'The collector failed to handle the request; it is logged.'));
  });
  app.setNotFoundHandler((request, reply) => sendProblem(reply, problem(404, 'not-found', 'Not Found', `No route ${request.method} ${request.url}.`)));

  await app.register(swagger, {
    openapi: {
      info: { title: 'dualstack collector', version: AGENT_FACING_VERSION, description: 'Fleet IPv4/IPv6 dual-stack readiness: ingest agent reports, read the fleet.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
  });
  // /docs with swagger-ui's own CSP (its inline scripts allowed by hash, nothing from elsewhere),
  // minus upgrade-insecure-requests: over plain HTTP it would send the page's scripts to https://.
  // Its code injects inline styles, so styles (only) may be inline; scripts stay hash-locked.
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    staticCSP: true,
    transformStaticCSP: (header) => header.replace(/\s*upgrade-insecure-requests;?/, '').replace('style-src ', "style-src 'unsafe-inline' "),
  });
  await app.register(storePlugin, { store: opts.store, closeStore: opts.closeStore ?? true });
  await app.register(authPlugin, { openReadsOnLoopback: opts.config.openReadsOnLoopback });
  await app.register(metricsPlugin);
  await app.register(diskFullPlugin); // write refused for a full disk: 503, /healthz, gauge, one log line per change
  // Before every API route: the limiter hooks the routes declared after it.
  const rateLimits = opts.config.rateLimit === undefined ? null : resolveRateLimit(opts.config.rateLimit);
  if (rateLimits) await app.register(rateLimitPlugin, { limits: rateLimits });
  await app.register(reportRoutes);
  await app.register((await import('./identity/enroll-routes.js')).enrollRoutes, { defaultMaxHosts: opts.config.maxHostsPerEnrollSecret }); // POST /api/v1/enroll: host keys for enroll secrets
  await app.register((await import('./identity/host-key-routes.js')).hostKeyRoutes); // /api/v1/host-keys: list, revoke, accept (admin)
  await app.register(readRoutes);
  await app.register(healthRoutes);
  await app.register((await import('./endpoints/plugin.js')).endpointsPlugin, opts.endpoints ?? {}); // declared endpoints, probe targets and results, /api/v1/endpoints
  await app.register((await import('./alerts/plugin.js')).alertsPlugin, opts.alerts ?? {}); // alert rules, states, delivery, /api/v1/alerts
  await app.register((await import('./plugins/ui.js')).uiPlugin); // the dashboard at / (static files of src/ui)
  return app;
}
