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
