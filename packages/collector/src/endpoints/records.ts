// What the Store keeps and hands out about published endpoints: the declarations, each vantage
// point's latest probe with its staleness, the declared backends as their reports show them, a
// probe's history; and the errors it refuses with (statusCode and field, so the app's error
// handler answers them as problem details naming the field).
import type { BackendService, EndpointProbe, EndpointSpec, ProbeBatch, VantageView } from '@dualstack/core';

export type EndpointSource = 'config' | 'api';

export interface DeclaredEndpoint {
  spec: EndpointSpec;
  source: EndpointSource;
  /** When the collector declared it (a config endpoint: when the start first saw it). */
  createdAt: string;
}

/** One vantage point's latest probe of an endpoint. */
export interface StoredView extends VantageView {
  batchId: string;
  /** Its batch arrived longer ago than the collector's staleAfterSeconds: not judged. */
  stale: boolean;
}

/** Everything endpoint rules need about one endpoint, read in one go. */
export interface EndpointInput {
  declared: DeclaredEndpoint;
  /** Every vantage point that ever probed it (stale ones included, marked), by host id. */
  views: StoredView[];
  backends: BackendService[];
}

/** One earlier probe of an endpoint by one vantage point. */
export interface ProbeHistoryEntry {
  batchId: string;
  receivedAt: string;
  vantage: ProbeBatch['vantage'];
  probe: EndpointProbe;
}

export interface ProbeIngestMeta {
  receivedAt: string;
  tokenId: string | null;
}

/** A name taken, or a config-declared endpoint the API may not delete: 409. */
export class EndpointConflictError extends Error {
  readonly statusCode = 409;
  constructor(
    message: string,
    readonly field: string | null = null,
  ) {
    super(message);
    this.name = 'EndpointConflictError';
  }
}

/** A probe batch the store refuses for its content (400, naming the field); nothing of it is kept. */
export class ProbeRejectedError extends Error {
  readonly statusCode = 400;
  constructor(
    readonly field: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ProbeRejectedError';
  }
}
