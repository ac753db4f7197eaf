// A collector on a temp SQLite file listening on 127.0.0.1:0, with a token per role. Its close()
// does not wait for spare connections a browser keeps open: buildApp drops them (app.ts).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { request } from 'undici';
import type { Report } from '@dualstack/core';
import { buildApp } from '../../src/app.js';
import { openStore } from '../../src/open-store.js';
import type { Store } from '../../src/store.js';
import { generateToken, hashToken } from '../../src/tokens.js';
import type { Role } from '../../src/api.js';
import type { AlertsPluginOptions } from '../../src/alerts/plugin.js';
import type { EndpointsPluginOptions } from '../../src/endpoints/plugin.js';
import { reportFrom, type GoldenName } from './reports.js';

/** A full report replayed from a captured fixture, with a fresh id and the given host id. */
export function fixtureReport(fixture: GoldenName, hostId: string, collectedAt = new Date()): Report {
  return reportFrom(fixture, { hostId, collectedAt });
}

export interface TestCollector {
  app: FastifyInstance;
  store: Store;
  url: string;
  dir: string;
  tokens: Record<Role | 'revoked', string>;
  close(): Promise<void>;
}

export interface TestCollectorOptions {
  bodyLimitBytes?: number;
  openReadsOnLoopback?: boolean;
  /** Alerting (rules, receivers, clock); evaluate with `app.alerts.evaluate()`. */
  alerts?: AlertsPluginOptions;
  /** Published endpoints of the configuration and the probe timeout. */
  endpoints?: EndpointsPluginOptions;
  /** The collector's maxClockSkewSeconds (default 300). */
  maxClockSkewSeconds?: number;
  /** The collector's rateLimit (default: none, unlike serve). */
  rateLimit?: import('../../src/config.js').CollectorConfig['rateLimit'];
  /** The collector's maxHostsPerEnrollSecret (default: none). */
  maxHostsPerEnrollSecret?: number;
}

export async function startTestCollector(options: TestCollectorOptions = {}): Promise<TestCollector> {
  const dir = mkdtempSync(join(tmpdir(), 'dualstack-collector-'));
  const store = openStore({ db: join(dir, 'dualstack.db'), staleAfterSeconds: 900, ...(options.maxClockSkewSeconds ? { maxClockSkewSeconds: options.maxClockSkewSeconds } : {}) });
  const tokens = {} as Record<Role | 'revoked', string>;
  for (const role of ['agent', 'reader', 'admin'] as const) {
    tokens[role] = generateToken();
    await store.createToken({ name: `test-${role}`, role, hash: hashToken(tokens[role]) });
  }
  tokens.revoked = generateToken();
  await store.createToken({ name: 'test-revoked', role: 'agent', hash: hashToken(tokens.revoked) });
  await store.revokeToken('test-revoked');
  const app = await buildApp({
    store,
    config: { bodyLimitBytes: options.bodyLimitBytes ?? 2 * 1024 * 1024, openReadsOnLoopback: options.openReadsOnLoopback ?? false, rateLimit: options.rateLimit, maxHostsPerEnrollSecret: options.maxHostsPerEnrollSecret },
    ...(options.alerts ? { alerts: options.alerts } : {}),
    ...(options.endpoints ? { endpoints: options.endpoints } : {}),
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    app,
    store,
    url,
    dir,
    tokens,
    close: async () => {
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** One API request with a bearer token and an optional JSON body: the status and the JSON (else text) answer. */
export async function apiCall(c: TestCollector, method: 'GET' | 'POST' | 'DELETE', path: string, token: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await request(`${c.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.body.text();
  return { status: res.statusCode, body: text.startsWith('{') ? (JSON.parse(text) as any) : text };
}

const hostTokens = new WeakMap<TestCollector, Map<string, string>>();

/**
 * The agent token of one host, created on first use (named `agent-<hostId>`): as deployed, each
 * host has its own, since an agent token writes only the host it reported first.
 */
export async function hostToken(c: TestCollector, hostId: string): Promise<string> {
  let tokens = hostTokens.get(c);
  if (!tokens) hostTokens.set(c, (tokens = new Map()));
  let token = tokens.get(hostId);
  if (token === undefined) {
    token = generateToken();
    tokens.set(hostId, token);
    await c.store.createToken({ name: `agent-${hostId}`, role: 'agent', hash: hashToken(token) });
  }
  return token;
}

/** The agent token of the host a report (host.hostId) or probe batch (vantage.hostId) is about; the shared agent token for a body that names none. */
export async function writerToken(c: TestCollector, body: unknown): Promise<string> {
  const b = body as { host?: { hostId?: unknown }; vantage?: { hostId?: unknown } } | null;
  const hostId = b?.host?.hostId ?? b?.vantage?.hostId;
  return typeof hostId === 'string' ? hostToken(c, hostId) : c.tokens.agent;
}
