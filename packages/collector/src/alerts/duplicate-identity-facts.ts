// The duplicate-identity alert's facts from host-key rows, one fact per host id: the same fold
// for every store backend, whose query gives the live and pending keys of the host ids that
// have pending keys, ordered by host id, then creation.
import type { DuplicateIdentityFact } from './store.js';

export interface DuplicateKeyRow {
  hostId: string;
  id: string;
  state: 'live' | 'pending';
  /** What the enrolling agent said its hostname was. */
  hostname: string;
  peer: string | null;
  createdAt: string;
  lastUsedAt: string | null;
  /** The hostname of the host's latest report; null before it reported. */
  reported: string | null;
}

export function duplicateIdentityFacts(rows: Iterable<DuplicateKeyRow>): DuplicateIdentityFact[] {
  const byHost = new Map<string, DuplicateIdentityFact>();
  for (const row of rows) {
    let fact = byHost.get(row.hostId);
    if (!fact) byHost.set(row.hostId, (fact = { hostId: row.hostId, hostname: row.reported ?? row.hostname, live: null, pending: [] }));
    if (row.state === 'live') {
      fact.live = { id: row.id, hostname: row.hostname, createdAt: row.createdAt, lastUsedAt: row.lastUsedAt };
      if (row.reported === null) fact.hostname = row.hostname;
    } else fact.pending.push({ id: row.id, hostname: row.hostname, peer: row.peer, createdAt: row.createdAt });
  }
  return [...byHost.values()];
}
