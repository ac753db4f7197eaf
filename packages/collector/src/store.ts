// Everything the collector keeps, behind one asynchronous interface: routes and jobs hold
// no SQL, so a PostgreSQL store for fleets that outgrow one collector can stand in for the
// SQLite one without touching them.
import type { EndpointSpec, ProbeAck, ProbeBatch, Report } from '@dualstack/core';
import type { DeclaredEndpoint, EndpointInput, ProbeHistoryEntry, ProbeIngestMeta } from './endpoints/records.js';
import type { FindingRuleRow, FleetSummary, HostDetail, HostQuery, HostSummary, IngestAck, Paged, Role, ServiceMatrixRow } from './api.js';

export interface TokenRecord {
  id: string;
  name: string;
  role: Role;
  createdAt: string;
  revokedAt: string | null;
  lastUsedAt: string | null;
  /**
   * The host this credential may write: an agent token's is the first host id it reported
   * (null until then), a host key's the host it was enrolled for; admin tokens are never bound.
   */
  hostId: string | null;
  /** Enroll secrets: when the secret stops enrolling (null: never). */
  expiresAt?: string | null;
  /** Enroll secrets: the most hosts it may enroll (null: the configuration's default, or none). */
  maxHosts?: number | null;
  /** Enroll secrets: the hosts it enrolled that have a live or pending key (listTokens only). */
  enrolledHosts?: number;
  /** Host keys: live, pending (a duplicate identity, refused until accepted) or revoked. */
  keyState?: HostKeyState;
}

export type HostKeyState = 'live' | 'pending' | 'revoked';

/** One host key as the admin sees it (never the key itself). */
export interface HostKeyRecord {
  id: string;
  hostId: string;
  state: HostKeyState;
  /** What the enrolling agent said about itself, to tell two hosts with one host id apart. */
  hostname: string;
  facts: Record<string, unknown>;
  /** The enrolling client's address as the collector saw it. */
  peer: string | null;
  /** The name of the enroll secret it was enrolled with (null once that secret is gone). */
  enrolledWith: string | null;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

export interface EnrollInput {
  secretId: string | null;
  hostId: string;
  hostname: string;
  facts: Record<string, unknown>;
  peer: string | null;
  /** The new key's hash (never the key). */
  hash: string;
  /** The most hosts a secret without a max_hosts of its own may enroll (maxHostsPerEnrollSecret); absent: no limit. */
  defaultMaxHosts?: number | null;
}

export interface EnrolledKey {
  keyId: string;
  hostId: string;
  state: 'live' | 'pending';
  createdAt: string;
  /** With pending: the live key the host id already has. */
  live: HostKeyRecord | null;
}

/**
 * What an admin's revoke or accept did to one host's keys, or why it did nothing: the host id
 * has no keys at all, no key `keyId`, or the key is not in the state the action needs.
 */
export type HostKeyChange =
  | { ok: true; live: HostKeyRecord | null; revoked: HostKeyRecord | null }
  | { ok: false; reason: 'unknown-host' | 'unknown-key' | 'no-live-key' | 'not-pending' | 'revoked'; key?: HostKeyRecord };

export interface IngestMeta {
  receivedAt: string;
  tokenId: string | null;
  bytes: number;
  /** The request's Date header (the agent's clock when it sent the report), for host-clock-skew. */
  sentAt?: string;
  /**
   * The report's JSON text as it arrived (the very text `report` was parsed from), kept as the
   * host's latest report: serializing the parsed report again cost ~15% of the collector's CPU
   * per ingest (test/bench/ingest.bench.mjs). The SQLite store's writer also rebuilds changed
   * service and finding rows from it.
   */
  body?: string;
}

export interface StoreCounts {
  hosts: number;
  reports: number;
  services: number;
  findings: number;
  tokens: number;
}

export interface Store {
  /**
   * Stores a token's hash (never the token). Names are unique (enroll secrets included). Role
   * enroll makes an enroll secret (optionally expiring); role host is refused: host keys come
   * from enrollHost.
   */
  createToken(input: { name: string; role: Role; hash: string; expiresAt?: string | null; maxHosts?: number | null }): Promise<TokenRecord>;
  findTokenByHash(hash: string): Promise<TokenRecord | null>;
  listTokens(): Promise<TokenRecord[]>;
  /** Revokes by id or name; false when no such live token exists. */
  revokeToken(idOrName: string): Promise<boolean>;
  /**
   * Binds an agent token that is not bound yet to `hostId` (atomically: of two first reports
   * at once, one wins) and returns the host id the token is bound to afterwards.
   */
  bindToken(tokenId: string, hostId: string): Promise<string>;
  /**
   * Issues a host key for `hostId` (POST /api/v1/enroll): live when the host id has none,
   * pending (a duplicate identity) when it has a live one. TooManyPendingKeysError (429) beyond
   * the pending keys kept per host. HostLimitError when the secret enrolled its most hosts
   * already and `hostId` is not one of them.
   */
  enrollHost(input: EnrollInput): Promise<EnrolledKey>;
  /** Live and pending host keys, by host id. */
  listHostKeys(): Promise<HostKeyRecord[]>;
  /** One host's keys, newest first, revoked ones included. */
  hostKeysOf(hostId: string): Promise<HostKeyRecord[]>;
  /**
   * Revokes the host's live key (its agent gets 401 and enrolls again); pending keys stay. With
   * `keyId`, that key of the host, live or pending (a pending one: the duplicate identity is
   * settled, the live key stays).
   */
  revokeHostKey(hostId: string, keyId?: string): Promise<HostKeyChange>;
  /** Host ids with pending keys (duplicate identities), sorted: the host list marks them, the summary counts them. */
  hostsWithPendingKeys(): Promise<string[]>;
  /** Makes a pending key of the host its live key, revoking the live one, in one transaction. */
  acceptHostKey(hostId: string, keyId: string): Promise<HostKeyChange>;

  /**
   * Stores one validated report in one transaction, or nothing. Idempotent on reportId: a
   * report stored before is not written again and yields the same ack with duplicate=true.
   * Resolves only after the data is committed.
   */
  ingestReport(report: Report, meta: IngestMeta): Promise<IngestAck>;

  listHosts(query: HostQuery, now: Date): Promise<Paged<HostSummary>>;
  getHost(hostId: string, now: Date): Promise<HostDetail | null>;
  /** scope: host (the hosts' own services), containers (their namespaces'), all (the default: both, a row per scope). */
  servicesMatrix(page: { limit: number; offset: number; scope?: 'host' | 'containers' | 'all' }): Promise<Paged<ServiceMatrixRow>>;
  findingsByRule(): Promise<FindingRuleRow[]>;
  summary(now: Date): Promise<FleetSummary>;

  // Published endpoints (src/endpoints, docs/api.md).
  /**
   * Makes the configuration's endpoints the config-declared ones (added, updated, and those no
   * longer listed deleted with their results). Throws EndpointConflictError naming the key when
   * a name is declared through the API.
   */
  declareConfigEndpoints(specs: readonly EndpointSpec[]): Promise<void>;
  /** Declares an endpoint (source api); EndpointConflictError (409) when the name exists. */
  addEndpoint(spec: EndpointSpec): Promise<DeclaredEndpoint>;
  /** Deletes an API-declared endpoint and its results; false when none has that name; EndpointConflictError for a config one. */
  removeEndpoint(name: string): Promise<boolean>;
  listEndpoints(): Promise<DeclaredEndpoint[]>;
  /**
   * Stores one validated probe batch in one transaction, or nothing. Idempotent on batchId (a
   * batch stored before yields its ack again with duplicate=true). Results for undeclared
   * endpoint names are not stored and are listed in the ack's `unknown`.
   */
  ingestProbeBatch(batch: ProbeBatch, meta: ProbeIngestMeta): Promise<ProbeAck>;
  /** The declared endpoints (or the one named) with each vantage point's latest probe (stale ones marked) and their backends. */
  endpointInputs(now: Date, name?: string): Promise<EndpointInput[]>;
  /** The last `limit` probes of an endpoint per vantage point (host id), newest first. */
  probeHistory(name: string, limit: number): Promise<Map<string, ProbeHistoryEntry[]>>;
  /** Deletes probe batches received before `before`, except those holding a latest result. */
  pruneProbes(before: Date): Promise<number>;

  /** Deletes report history older than `before`; returns how many reports went. */
  pruneReports(before: Date): Promise<number>;
  counts(): Promise<StoreCounts>;
  /** A cheap round trip to the database, for /healthz. */
  ping(): Promise<void>;
  /**
   * One tiny committed write (SQLite: the header page, rewriting user_version unchanged), asked
   * by /healthz while writes fail for a full disk: resolves when the disk takes writes again,
   * throws the write's error while it does not. Absent: no such probe (recovery then waits for
   * the next write that succeeds).
   */
  probeWrite?(): Promise<void>;
  /**
   * Writes a consistent copy of everything stored to `path` while ingest goes on (SQLite's
   * online backup API), checked with PRAGMA integrity_check and renamed into place only when
   * whole. Refuses to overwrite an existing file.
   */
  backup(path: string): Promise<void>;
  /**
   * Ingest write transactions since start and the reports they carried (their ratio is the
   * mean group-commit size), for /metrics. Synchronous: counters kept in memory.
   */
  ingestBatches(): { transactions: number; reports: number };
  /** The connection pool's use now, for /metrics (a store without a pool, SQLite: absent). */
  poolUsage?(): { max: number; open: number; idle: number; waiting: number };
  /** Reports deleted since start because their host exceeded maxReportsPerHost (a store without the budget: absent). */
  historyTrimmed?(): number;
  close(): Promise<void>;
}

export interface StoreOptions {
  /** A host is stale when its last report is older than this. */
  staleAfterSeconds: number;
  /** A report whose collectedAt is further than this from its receive time gets a host-clock-skew finding (default 300). */
  maxClockSkewSeconds?: number;
  /** Each host's stored reports are at most this many: the oldest beyond it go at ingest (absent: no budget). */
  maxReportsPerHost?: number;
  /**
   * Called when a host starts losing reports to maxReportsPerHost (`over`: its first trim since
   * start or since it was last under) and when a report of it trims nothing again (`under`):
   * once per change of state, for the log, not once per report.
   */
  onHistoryBudget?(event: { hostId: string; state: 'over' | 'under'; trimmed: number; maxReportsPerHost: number }): void;
}

/**
 * An enroll secret has enrolled as many hosts as it may (its max_hosts, else the configuration's
 * maxHostsPerEnrollSecret): a new host id is refused (403); hosts it enrolled before, with a
 * live or pending key, may enroll again (after a revoke) and keep their keys.
 */
export class HostLimitError extends Error {
  readonly statusCode = 403;
  constructor(
    readonly secretName: string,
    readonly maxHosts: number,
    readonly fromDefault: boolean,
  ) {
    super(`Enroll secret '${secretName}' has enrolled its limit of ${maxHosts} hosts (${fromDefault ? 'the configuration\'s maxHostsPerEnrollSecret' : 'its --max-hosts'}); a new host is refused. Create another enroll secret (token create --role enroll --max-hosts N) or raise the limit; enrolled hosts are not affected`);
    this.name = 'HostLimitError';
  }
}

/**
 * The store has more reports waiting for their commit than it accepts: the caller should
 * answer 503 with Retry-After, and the agent keeps the report in its spool and sends it later.
 * Without a bound, a collector that receives faster than it commits would hold every waiting
 * report (~30 KB each) in memory until it runs out.
 */
export class StoreBusyError extends Error {
  readonly statusCode = 503;
  constructor(
    readonly waiting: number,
    readonly retryAfterSeconds: number,
    message = `${waiting} reports are waiting to be stored; send again in ${retryAfterSeconds} s`,
  ) {
    super(message);
    this.name = 'StoreBusyError';
  }
}
