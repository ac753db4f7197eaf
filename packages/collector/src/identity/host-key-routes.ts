// Host-key administration (role admin): GET /api/v1/host-keys lists every enrolled host with
// its live key and its pending keys (duplicate identities); POST .../:hostId/revoke revokes the
// live key (the agent gets 401 and enrolls again with its secret), .../:hostId/revoke/:keyId one
// key, live or pending (a clone's, once fixed); POST .../:hostId/accept/:keyId
// makes a pending key the live one and revokes the old. Keys themselves are never shown.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import Type from 'typebox';
import { Problem } from '../api.js';
import { duplicateIdentityFix } from './duplicate-identity.js';
import { problem, sendProblem } from '../problems.js';
import type { HostKeyChange, HostKeyRecord } from '../store.js';

const Nullable = <T extends Type.TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

const HostKeyView = Type.Object({
  id: Type.String(),
  hostname: Type.String({ description: 'What the enrolling agent said its hostname was' }),
  peer: Nullable(Type.String({ description: 'The enrolling client address as the collector saw it' })),
  enrolledWith: Nullable(Type.String({ description: 'The enroll secret it was enrolled with (null once that secret is gone)' })),
  facts: Type.Record(Type.String(), Type.Unknown()),
  createdAt: Type.String({ format: 'date-time' }),
  lastUsedAt: Nullable(Type.String({ format: 'date-time' })),
  revokedAt: Nullable(Type.String({ format: 'date-time' })),
});

const HostKeys = Type.Object({
  hostId: Type.String(),
  live: Nullable(HostKeyView),
  pending: Type.Array(HostKeyView, { description: 'Later enrollments for this host id: duplicate identities, refused until accepted' }),
  fix: Nullable(Type.String({ description: 'With pending keys: what to do on the clone, or how to accept' })),
});

const HostKeyChangeView = Type.Object({ hostId: Type.String(), live: Nullable(HostKeyView), revoked: Nullable(HostKeyView) });

const view = (k: HostKeyRecord) => ({ id: k.id, hostname: k.hostname, peer: k.peer, enrolledWith: k.enrolledWith, facts: k.facts, createdAt: k.createdAt, lastUsedAt: k.lastUsedAt, revokedAt: k.revokedAt });

/** A refused change as a problem naming what was not found or not in the right state. */
function refuse(reply: FastifyReply, hostId: string, keyId: string | null, change: Extract<HostKeyChange, { ok: false }>): FastifyReply {
  switch (change.reason) {
    case 'unknown-host':
      return sendProblem(reply, problem(404, 'not-found', 'Not Found', `No host key was ever enrolled for host ${hostId}.`, { field: '/hostId' }));
    case 'unknown-key':
      return sendProblem(reply, problem(404, 'not-found', 'Not Found', `Host ${hostId} has no key ${keyId} (GET /api/v1/host-keys lists its keys).`, { field: '/keyId' }));
    case 'no-live-key':
      return sendProblem(reply, problem(409, 'conflict', 'Conflict', `Host ${hostId} has no live host key (revoked already); its agent gets one when it enrolls again.`, { field: '/hostId' }));
    case 'revoked':
      return sendProblem(reply, problem(409, 'conflict', 'Conflict', `Key ${keyId} of host ${hostId} was revoked already (at ${change.key?.revokedAt}).`, { field: '/keyId' }));
    case 'not-pending':
      return sendProblem(reply, problem(409, 'conflict', 'Conflict', `Key ${keyId} of host ${hostId} is ${change.key?.state}, not pending: only a pending key can be accepted.`, { field: '/keyId' }));
  }
}

export const hostKeyRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const common = { tags: ['identity'], security: [{ bearer: [] }] };
  const preHandler = app.authorize('admin');

  app.get(
    '/api/v1/host-keys',
    { preHandler, schema: { ...common, summary: 'Enrolled hosts with their live key and pending keys (duplicate identities)', response: { 200: Type.Object({ items: Type.Array(HostKeys) }), 401: Problem, 403: Problem } } },
    async () => {
      const byHost = new Map<string, HostKeyRecord[]>();
      for (const key of await app.store.listHostKeys()) byHost.set(key.hostId, [...(byHost.get(key.hostId) ?? []), key]);
      const items = [...byHost].map(([hostId, keys]) => {
        const pending = keys.filter((k) => k.state === 'pending');
        const live = keys.find((k) => k.state === 'live');
        return { hostId, live: live ? view(live) : null, pending: pending.map(view), fix: duplicateIdentityFix(hostId, pending) };
      });
      return { items };
    },
  );

  app.post(
    '/api/v1/host-keys/:hostId/revoke',
    {
      preHandler,
      schema: { ...common, summary: "Revoke a host's live key: its agent gets 401 and enrolls again with its secret", params: Type.Object({ hostId: Type.String({ minLength: 1 }) }), response: { 200: HostKeyChangeView, 401: Problem, 403: Problem, 404: Problem, 409: Problem } },
    },
    async (request, reply) => {
      const { hostId } = request.params;
      const change = await app.store.revokeHostKey(hostId);
      if (!change.ok) return refuse(reply, hostId, null, change);
      request.log.warn({ hostId, keyId: change.revoked?.id, by: request.token?.name }, 'host key revoked');
      return { hostId, live: null, revoked: change.revoked ? view(change.revoked) : null };
    },
  );

  app.post(
    '/api/v1/host-keys/:hostId/revoke/:keyId',
    {
      preHandler,
      schema: {
        ...common,
        summary: "Revoke one of a host's keys: a pending key (a duplicate identity settled) or the live key",
        params: Type.Object({ hostId: Type.String({ minLength: 1 }), keyId: Type.String({ minLength: 1 }) }),
        response: { 200: HostKeyChangeView, 401: Problem, 403: Problem, 404: Problem, 409: Problem },
      },
    },
    async (request, reply) => {
      const { hostId, keyId } = request.params;
      const change = await app.store.revokeHostKey(hostId, keyId);
      if (!change.ok) return refuse(reply, hostId, keyId, change);
      request.log.warn({ hostId, keyId, by: request.token?.name }, 'host key revoked');
      return { hostId, live: change.live ? view(change.live) : null, revoked: change.revoked ? view(change.revoked) : null };
    },
  );

  app.post(
    '/api/v1/host-keys/:hostId/accept/:keyId',
    {
      preHandler,
      schema: {
        ...common,
        summary: 'Accept a pending key (a duplicate identity) as the host’s live key; the old live key is revoked',
        params: Type.Object({ hostId: Type.String({ minLength: 1 }), keyId: Type.String({ minLength: 1 }) }),
        response: { 200: HostKeyChangeView, 401: Problem, 403: Problem, 404: Problem, 409: Problem },
      },
    },
    async (request, reply) => {
      const { hostId, keyId } = request.params;
      const change = await app.store.acceptHostKey(hostId, keyId);
      if (!change.ok) return refuse(reply, hostId, keyId, change);
      request.log.warn({ hostId, keyId, revokedKeyId: change.revoked?.id, by: request.token?.name }, 'pending host key accepted');
      return { hostId, live: change.live ? view(change.live) : null, revoked: change.revoked ? view(change.revoked) : null };
    },
  );
};
