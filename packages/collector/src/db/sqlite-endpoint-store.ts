// Published endpoints on SQLite: the declarations, the probe batches of vantage points and the
// facts endpoint rules judge. On the main connection of the SqliteStore (and the AlertStore
// beside it), not on the report ingest thread: a vantage point sends one batch per probe round,
// so a plain transaction (one fsync) per batch is enough, and the ingest thread's writer only
// waits the few milliseconds it takes (busy_timeout), like for an alert evaluation's commit.
// Statements are prepared once; every write is one synchronous transaction (no await inside).
import type Database from 'better-sqlite3';
import type { BackendService, EndpointSpec, ProbeAck, ProbeBatch } from '@dualstack/core';
import { EndpointConflictError, ProbeRejectedError, type DeclaredEndpoint, type EndpointInput, type ProbeHistoryEntry, type ProbeIngestMeta, type StoredView } from '../endpoints/records.js';
import { backendService, CONSTRAINT_FIELDS, declaredOf, endpointPort, viewOf, type BatchRow, type EndpointRow, type ServiceReachRow, type ViewRow } from './endpoint-rows.js';

function prepare(db: Database.Database) {
  return {
    endpoints: db.prepare<[], EndpointRow>('SELECT name, source, spec, created_at FROM endpoints ORDER BY name'),
    endpoint: db.prepare<[string], EndpointRow>('SELECT name, source, spec, created_at FROM endpoints WHERE name = ?'),
    insertEndpoint: db.prepare<[string, string, string, string]>('INSERT INTO endpoints (name, source, spec, created_at) VALUES (?, ?, ?, ?)'),
    updateConfigSpec: db.prepare<[string, string]>("UPDATE endpoints SET spec = ? WHERE name = ? AND source = 'config'"),
    configNames: db.prepare<[], string>("SELECT name FROM endpoints WHERE source = 'config'").pluck(),
    deleteEndpoint: db.prepare<[string]>('DELETE FROM endpoints WHERE name = ?'),
    batch: db.prepare<[string], BatchRow>('SELECT batch_id, received_at, unknown FROM probe_batches WHERE batch_id = ?'),
    insertBatch: db.prepare<[Record<string, unknown>]>(`
      INSERT INTO probe_batches (batch_id, host_id, hostname, ipv4, ipv6, started_at, finished_at, received_at, agent_version, token_id, results, unknown)
      VALUES (@batchId, @hostId, @hostname, @ipv4, @ipv6, @startedAt, @finishedAt, @receivedAt, @agentVersion, @tokenId, @results, @unknown)`),
    insertResult: db.prepare<[string, string, string, string, string, string], { id: number }>(
      'INSERT INTO probe_results (batch_id, endpoint, host_id, probed_at, url, body) VALUES (?, ?, ?, ?, ?, ?) RETURNING id',
    ),
    // A batch replayed from a spool after newer ones does not replace the latest result.
    upsertLatest: db.prepare<[string, string, number, string]>(`
      INSERT INTO probe_latest (endpoint, host_id, result_id, probed_at) VALUES (?, ?, ?, ?)
      ON CONFLICT (endpoint, host_id) DO UPDATE SET result_id = excluded.result_id, probed_at = excluded.probed_at
      WHERE excluded.probed_at >= probe_latest.probed_at`),
    latestViews: db.prepare<[], ViewRow>(`
      SELECT l.endpoint, r.batch_id, b.host_id, b.hostname, b.ipv4, b.ipv6, b.received_at, r.body
      FROM probe_latest l JOIN probe_results r ON r.id = l.result_id JOIN probe_batches b ON b.batch_id = r.batch_id
      ORDER BY l.endpoint, b.host_id`),
    latestViewsOf: db.prepare<[string], ViewRow>(`
      SELECT l.endpoint, r.batch_id, b.host_id, b.hostname, b.ipv4, b.ipv6, b.received_at, r.body
      FROM probe_latest l JOIN probe_results r ON r.id = l.result_id JOIN probe_batches b ON b.batch_id = r.batch_id
      WHERE l.endpoint = ? ORDER BY b.host_id`),
    history: db.prepare<[string, string, number], ViewRow>(`
      SELECT r.endpoint, r.batch_id, b.host_id, b.hostname, b.ipv4, b.ipv6, b.received_at, r.body
      FROM probe_results r JOIN probe_batches b ON b.batch_id = r.batch_id
      WHERE r.endpoint = ? AND r.host_id = ? ORDER BY r.probed_at DESC, r.id DESC LIMIT ?`),
    vantagesOf: db.prepare<[string], string>('SELECT host_id FROM probe_latest WHERE endpoint = ? ORDER BY host_id').pluck(),
    hostById: db.prepare<[string], { host_id: string; hostname: string }>('SELECT host_id, hostname FROM hosts WHERE host_id = ?'),
    hostByName: db.prepare<[string], { host_id: string; hostname: string }>('SELECT host_id, hostname FROM hosts WHERE hostname = ? ORDER BY last_seen DESC LIMIT 1'),
    tcpService: db.prepare<[string, number], ServiceReachRow>("SELECT ipv4, ipv6, firewall_ipv4, firewall_ipv6 FROM services WHERE host_id = ? AND proto = 'tcp' AND port = ?"),
    // Retention: batches older than the cutoff go with their results, except a batch holding
    // some vantage point's latest result of some endpoint.
    prune: db.prepare<[string]>(`
      DELETE FROM probe_batches WHERE received_at < ?
        AND batch_id NOT IN (SELECT r.batch_id FROM probe_latest l JOIN probe_results r ON r.id = l.result_id)`),
  };
}

export class SqliteEndpointStore {
  private readonly s: ReturnType<typeof prepare>;
  private readonly ingestTransaction: Database.Transaction<(batch: ProbeBatch, meta: ProbeIngestMeta) => ProbeAck>;
  private readonly syncTransaction: Database.Transaction<(specs: readonly EndpointSpec[], at: string) => void>;

  /** `db` is an open, migrated connection (SqliteStore.database); the SqliteStore closes it. */
  constructor(private readonly db: Database.Database) {
    this.s = prepare(db);
    this.ingestTransaction = db.transaction((batch: ProbeBatch, meta: ProbeIngestMeta) => this.writeBatch(batch, meta));
    this.syncTransaction = db.transaction((specs: readonly EndpointSpec[], at: string) => this.writeConfig(specs, at));
  }

  // --- declarations --------------------------------------------------------------------------

  /**
   * Makes the config-declared rows exactly `specs`: new ones inserted, changed ones updated,
   * ones no longer in the configuration deleted with their results. A name already declared
   * through the API is refused (the key named), and nothing changes.
   */
  declareConfig(specs: readonly EndpointSpec[], at: string): void {
    this.syncTransaction.immediate(specs, at);
  }

  private writeConfig(specs: readonly EndpointSpec[], at: string): void {
    const names = new Set(specs.map((s) => s.name));
    for (const name of this.s.configNames.all()) if (!names.has(name)) this.s.deleteEndpoint.run(name);
    specs.forEach((spec, index) => {
      const existing = this.s.endpoint.get(spec.name);
      if (existing?.source === 'api') {
        throw new EndpointConflictError(
          `bad key 'endpoints.${index}.name': '${spec.name}' was declared through the API; delete it there first (DELETE /api/v1/endpoints/${spec.name}) or choose another name`,
          `endpoints.${index}.name`,
        );
      }
      if (existing) this.s.updateConfigSpec.run(JSON.stringify(spec), spec.name);
      else this.s.insertEndpoint.run(spec.name, 'config', JSON.stringify(spec), at);
    });
  }

  /** Declares an endpoint through the API; a name in use is refused (409). */
  add(spec: EndpointSpec, at: string): DeclaredEndpoint {
    const existing = this.s.endpoint.get(spec.name);
    if (existing) throw new EndpointConflictError(`an endpoint named '${spec.name}' exists (declared by ${existing.source === 'config' ? 'the configuration' : 'the API'})`, '/name');
    this.s.insertEndpoint.run(spec.name, 'api', JSON.stringify(spec), at);
    return { spec, source: 'api', createdAt: at };
  }

  /** Deletes an API-declared endpoint and its results; false when there is none of that name. */
  remove(name: string): boolean {
    const existing = this.s.endpoint.get(name);
    if (!existing) return false;
    if (existing.source === 'config') {
      throw new EndpointConflictError(`the endpoint '${name}' is declared in the configuration file (endpoints:); remove it there and restart the collector`, '/name');
    }
    this.s.deleteEndpoint.run(name);
    return true;
  }

  list(): DeclaredEndpoint[] {
    return this.s.endpoints.all().map(declaredOf);
  }

  // --- probe batches -------------------------------------------------------------------------

  /**
   * Stores one batch in one transaction, or nothing. Idempotent on batchId: a batch stored
   * before yields its first ack again, with duplicate=true and results 0. Results for names not
   * declared are not stored and are listed in `unknown`.
   */
  ingest(batch: ProbeBatch, meta: ProbeIngestMeta): ProbeAck {
    const seen = new Map<string, number>();
    batch.results.forEach((result, index) => {
      const first = seen.get(result.name);
      if (first !== undefined) throw new ProbeRejectedError(`/results/${index}/name`, `results ${first} and ${index} are both for the endpoint '${result.name}': a batch holds one probe per endpoint`);
      seen.set(result.name, index);
    });
    return this.ingestTransaction.immediate(batch, meta);
  }

  private writeBatch(batch: ProbeBatch, meta: ProbeIngestMeta): ProbeAck {
    const before = this.s.batch.get(batch.batchId);
    if (before) return { batchId: before.batch_id, duplicate: true, receivedAt: before.received_at, results: 0, unknown: JSON.parse(before.unknown) as string[] };
    const declared = new Set(this.s.endpoints.all().map((r) => r.name));
    const known = batch.results.filter((r) => declared.has(r.name));
    const unknown = batch.results.filter((r) => !declared.has(r.name)).map((r) => r.name);
    let field = '';
    try {
      this.s.insertBatch.run({
        batchId: batch.batchId,
        hostId: batch.vantage.hostId,
        hostname: batch.vantage.hostname,
        ipv4: batch.vantage.ipv4 ? 1 : 0,
        ipv6: batch.vantage.ipv6 ? 1 : 0,
        startedAt: batch.startedAt,
        finishedAt: batch.finishedAt,
        receivedAt: meta.receivedAt,
        agentVersion: batch.agent.version,
        tokenId: meta.tokenId,
        results: known.length,
        unknown: JSON.stringify(unknown),
      });
      for (const result of known) {
        field = `/results/${batch.results.indexOf(result)}`;
        const { id } = this.s.insertResult.get(batch.batchId, result.name, batch.vantage.hostId, result.probedAt, result.url, JSON.stringify(result))!;
        this.s.upsertLatest.run(result.name, batch.vantage.hostId, id, result.probedAt);
      }
    } catch (error) {
      const constraint = /CHECK constraint failed: (\w+)/.exec((error as Error).message)?.[1];
      const guarded = constraint === undefined ? undefined : CONSTRAINT_FIELDS[constraint];
      if (guarded === undefined) throw error;
      const path = guarded.startsWith('/vantage') ? guarded : `${field}${guarded}`;
      throw new ProbeRejectedError(path, `batch ${batch.batchId} cannot be stored: ${path} is too long (${constraint})`, { cause: error });
    }
    return { batchId: batch.batchId, duplicate: false, receivedAt: meta.receivedAt, results: known.length, unknown };
  }

  // --- facts ---------------------------------------------------------------------------------

  /** Every declared endpoint (or the one named) with its vantage points' latest probes and its backends. */
  inputs(staleBefore: string, name?: string): EndpointInput[] {
    const declared = name === undefined ? this.s.endpoints.all() : [this.s.endpoint.get(name)].filter((r): r is EndpointRow => r !== undefined);
    const views = new Map<string, StoredView[]>();
    for (const row of name === undefined ? this.s.latestViews.all() : this.s.latestViewsOf.all(name)) {
      let list = views.get(row.endpoint);
      if (!list) views.set(row.endpoint, (list = []));
      list.push(viewOf(row, staleBefore));
    }
    return declared.map((row) => {
      const endpoint = declaredOf(row);
      return { declared: endpoint, views: views.get(row.name) ?? [], backends: this.backends(endpoint.spec) };
    });
  }

  /** Each declared backend (host id first, then hostname) and its TCP service on the endpoint's port. */
  private backends(spec: EndpointSpec): BackendService[] {
    if (!spec.backends || spec.backends.length === 0) return [];
    const port = endpointPort(spec);
    return spec.backends.map((declared) => {
      const host = port === null ? undefined : (this.s.hostById.get(declared) ?? this.s.hostByName.get(declared));
      return backendService(declared, port, host, host && port !== null ? this.s.tcpService.all(host.host_id, port) : []);
    });
  }

  /** The last `limit` probes of the endpoint by each vantage point that probed it, newest first. */
  history(name: string, limit: number): Map<string, ProbeHistoryEntry[]> {
    const out = new Map<string, ProbeHistoryEntry[]>();
    for (const hostId of this.s.vantagesOf.all(name)) {
      out.set(
        hostId,
        this.s.history.all(name, hostId, limit).map((row) => {
          const view = viewOf(row, '');
          return { batchId: view.batchId, receivedAt: view.receivedAt, vantage: view.vantage, probe: view.probe };
        }),
      );
    }
    return out;
  }

  /** Deletes probe batches received before `before` (with their results), except each latest result's. */
  prune(before: string): number {
    return this.s.prune.run(before).changes;
  }
}
