// What the collector answers an agent: shared so the agent reads the same shapes the
// collector validates and serializes (types only on the agent side: no TypeBox at start-up).
import Type, { type Static } from 'typebox';

/** RFC 9457 problem details; `field` names the failing input where there is one. */
export const Problem = Type.Object({
  type: Type.String(),
  title: Type.String(),
  status: Type.Integer(),
  detail: Type.String(),
  field: Type.Optional(Type.String()),
  problems: Type.Optional(Type.Array(Type.Object({ path: Type.String(), message: Type.String() }))),
});

export const IngestAck = Type.Object({
  reportId: Type.String(),
  hostId: Type.String(),
  duplicate: Type.Boolean({ description: 'True when this reportId was stored before: nothing was written again.' }),
  receivedAt: Type.String({ format: 'date-time' }),
  findings: Type.Object({
    open: Type.Integer({ description: 'Findings open on the host after this report.' }),
    opened: Type.Integer({ description: 'New or reopened by this report.' }),
    resolved: Type.Integer({ description: 'Resolved by this report (no longer present).' }),
  }),
});

export type Problem = Static<typeof Problem>;
export type IngestAck = Static<typeof IngestAck>;

/**
 * POST /api/v1/enroll (an enroll secret as the bearer): the host asks for a host key of its
 * own. hostId is the one its reports carry (/etc/machine-id by default).
 */
export const EnrollRequest = Type.Object({
  hostId: Type.String({ minLength: 1, maxLength: 256 }),
  hostname: Type.String({ minLength: 1, maxLength: 255 }),
  facts: Type.Object(
    {
      agentVersion: Type.Optional(Type.String({ maxLength: 64 })),
      distro: Type.Optional(Type.Union([Type.String({ maxLength: 256 }), Type.Null()])),
      kernel: Type.Optional(Type.Union([Type.String({ maxLength: 256 }), Type.Null()])),
      arch: Type.Optional(Type.Union([Type.String({ maxLength: 64 }), Type.Null()])),
    },
    { additionalProperties: false, description: 'What the admin sees beside the key, to tell two hosts with one host id apart.' },
  ),
});

export const EnrollAnswer = Type.Object({
  hostId: Type.String(),
  key: Type.String({ description: 'The host key, shown only now: the bearer for this host from now on.' }),
  keyId: Type.String(),
  state: Type.Union([Type.Literal('live'), Type.Literal('pending')], {
    description: 'live: the key writes this host. pending: another key is live for this host id (a duplicate identity); refused until an admin accepts this one.',
  }),
  createdAt: Type.String({ format: 'date-time' }),
  detail: Type.Optional(Type.String({ description: 'With pending: what happened and the fix.' })),
});

export type EnrollRequest = Static<typeof EnrollRequest>;
export type EnrollAnswer = Static<typeof EnrollAnswer>;
