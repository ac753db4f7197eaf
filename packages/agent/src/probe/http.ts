// The HTTP exchange of one attempt, over the socket the attempt already connected (and wrapped
// in TLS): undici's Client is given that socket through its `connect` hook, so the request goes
// to this one address while the Host header (from the origin) is the URL host, and the TLS facts
// and the HTTP answer come from the same connection. One GET, redirects not followed.
import { Client } from 'undici';
import type { Socket } from 'node:net';
import type { AttemptOutcome, EndpointExpect, ProbeAttempt } from '@dualstack/core';
import { failureOf, type StepFailure } from './connect.js';

export interface HttpOptions {
  /** http or https, the URL host (a name or a literal) and port: the Host header. */
  scheme: 'http' | 'https';
  host: string;
  literal: 4 | 6 | null;
  port: number;
  path: string;
  expect?: EndpointExpect | undefined;
  /** The User-Agent header; default `dualstack-agent (endpoint probe)`. */
  userAgent?: string | undefined;
  signal: AbortSignal;
}

export type HttpFacts = NonNullable<ProbeAttempt['http']>;

export type HttpResult = { ok: true; http: HttpFacts; outcome: AttemptOutcome; error?: string } | ({ ok: false } & StepFailure);

/** ok, or unexpected for a 5xx or a status other than expect.status. Pure. */
export function judgeStatus(status: number, expect: EndpointExpect | undefined): { outcome: AttemptOutcome; error?: string } {
  if (expect?.status !== undefined && status !== expect.status) return { outcome: 'unexpected', error: `HTTP ${status}, expected ${expect.status}` };
  if (expect?.status === undefined && status >= 500) return { outcome: 'unexpected', error: `HTTP ${status}` };
  return { outcome: 'ok' };
}

/** The outcome of an undici failure: its timeouts, a closed socket, a reply that is not HTTP. */
function httpFailure(error: unknown, signal: AbortSignal): StepFailure {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') return { outcome: 'timeout', error: String(code) };
  if (code === 'UND_ERR_SOCKET' || code === 'UND_ERR_CLOSED') return { outcome: 'reset', error: `${String(code)}: ${(error as Error).message}` };
  if (typeof code === 'string' && code.startsWith('HPE_')) return { outcome: 'protocol-error', error: `not HTTP (${code})` };
  return failureOf(error, signal);
}

const single = (value: string | string[] | undefined): string | null => (Array.isArray(value) ? (value[0] ?? null) : (value ?? null));

/** GET path on the connected socket; the socket is closed afterwards. */
export async function httpExchange(socket: Socket, options: HttpOptions): Promise<HttpResult> {
  const hostPart = options.literal === 6 ? `[${options.host}]` : options.host;
  let handed = false;
  const client = new Client(`${options.scheme}://${hostPart}:${options.port}`, {
    // Exactly one connection: this attempt's. A second connect would be a reconnect to
    // wherever DNS points, which is not this attempt's address.
    connect: (_options, callback) => {
      // Called back on the next tick: undici's resume loop ignores a connect that completes
      // inside it (undici 7's client.js), and the request would never be written.
      if (handed) return process.nextTick(callback, new Error('the probe connection is closed'), null);
      handed = true;
      process.nextTick(callback, null, socket);
    },
  });
  try {
    const response = await client.request({
      method: 'GET',
      path: options.path,
      headers: { 'user-agent': options.userAgent ?? 'dualstack-agent (endpoint probe)', accept: '*/*' },
      signal: options.signal,
    });
    // The body is not needed; closing the connection is cheaper than reading it.
    response.body.on('error', () => undefined).destroy();
    const http: HttpFacts = { status: response.statusCode, server: single(response.headers.server), location: single(response.headers.location) };
    return { ok: true, http, ...judgeStatus(response.statusCode, options.expect) };
  } catch (error) {
    return { ok: false, ...httpFailure(error, options.signal) };
  } finally {
    await client.destroy().catch(() => undefined);
    socket.destroy();
  }
}
