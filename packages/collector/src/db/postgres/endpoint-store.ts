// Published endpoints on PostgreSQL (PostgresStore.useEndpoints: its PostgresEndpoints): the declarations, the probe
// batches of vantage points and the facts endpoint rules judge, on the store's pool, meaning
// what sqlite-endpoint-store.ts means. What several collectors on one database change:
//   - a batch is idempotent on batchId by constraint (INSERT ... ON CONFLICT DO NOTHING): two
//     collectors receiving it at once store it once and both answer with the first ack;
//   - the latest result per (endpoint, vantage point) is replaced only by a newer probedAt, in
//     the upsert itself;
//   - the configuration's endpoints are written under a transaction advisory lock, so
//     collectors starting at once on one configuration do not race on the same rows;
//   - API declarations are one statement each (a name taken is a conflict, never two rows).
import type { EndpointSpec, ProbeAck, ProbeBatch } from '@dualstack/core';
import type pg from 'pg';
import { EndpointConflictError, ProbeRejectedError, type DeclaredEndpoint, type EndpointInput, type ProbeHistoryEntry, type ProbeIngestMeta, type StoredView } from '../../endpoints/records.js';
import { backendService, CONSTRAINT_FIELDS, declaredOf, endpointPort, viewOf, type BatchRow, type EndpointRow, type ServiceReachRow, type ViewRow } from '../endpoint-rows.js';
import { withTransaction } from './pool.js';

// pg_advisory_xact_lock key for "writing the configuration's endpoints" (the migrations use
// 7_346_001, the alert leader 7_346_002).
const CONFIG_ENDPOINTS_LOCK = 7_346_003;

const ENDPOINT_COLUMNS = 'name, source, spec, created_at';
const VIEW_COLUMNS = 'r.endpoint, r.batch_id, b.host_id, b.hostname, b.ipv4, b.ipv6, b.received_at, r.body';
const CHECK_VIOLATION = '23514';

function configConflict(name: string, index: number): EndpointConflictError {
  return new EndpointConflictError(
    `bad key 'endpoints.${index}.name': '${name}' was declared through the API; delete it there first (DELETE /api/v1/endpoints/${name}) or choose another name`,
    `endpoints.${index}.name`,
  );
}

export class PostgresEndpointStore {
  /** `pool` is the migrated pool of the PostgresStore, which closes it. */
  constructor(private readonly pool: pg.Pool) {}

  // --- declarations --------------------------------------------------------------------------

  /**
   * Makes the config-declared rows exactly `specs` (see SqliteEndpointStore.declareConfig): one
   * transaction under the config lock; a name declared through the API is refused, nothing changes.
   */
  async declareConfig(specs: readonly EndpointSpec[], at: string): Promise<void> {
    await withTransaction(this.pool, async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1)', [CONFIG_ENDPOINTS_LOCK]);
      const existing = new Map((await client.query<EndpointRow>(`SELECT ${ENDPOINT_COLUMNS} FROM endpoints`)).rows.map((row) => [row.name, row]));
      specs.forEach((spec, index) => {
        if (existing.get(spec.name)?.source === 'api') throw configConflict(spec.name, index);
      });
      const names = specs.map((s) => s.name);
      await client.query("DELETE FROM endpoints WHERE source = 'config' AND NOT (name = ANY ($1::text[]))", [names]);
      for (const spec of specs) {
        await client.query(
          `INSERT INTO endpoints (name, source, spec, created_at) VALUES ($1, 'config', $2, $3)
           ON CONFLICT (name) DO UPDATE SET spec = excluded.spec WHERE endpoints.source = 'config'`,
          [spec.name, JSON.stringify(spec), at],
        );
      }
    });
  }

  /** Declares an endpoint through the API; a name in use is refused (409). */
  async add(spec: EndpointSpec, at: string): Promise<DeclaredEndpoint> {
    const inserted = await this.pool.query("INSERT INTO endpoints (name, source, spec, created_at) VALUES ($1, 'api', $2, $3) ON CONFLICT (name) DO NOTHING", [spec.name, JSON.stringify(spec), at]);
    if (inserted.rowCount === 0) {
      const existing = (await this.pool.query<EndpointRow>(`SELECT ${ENDPOINT_COLUMNS} FROM endpoints WHERE name = $1`, [spec.name])).rows[0];
      throw new EndpointConflictError(`an endpoint named '${spec.name}' exists (declared by ${existing?.source === 'config' ? 'the configuration' : 'the API'})`, '/name');
    }
    return { spec, source: 'api', createdAt: at };
  }

  /** Deletes an API-declared endpoint and its results; false when there is none of that name. */
  async remove(name: string): Promise<boolean> {
    const deleted = await this.pool.query("DELETE FROM endpoints WHERE name = $1 AND source = 'api'", [name]);
    if ((deleted.rowCount ?? 0) > 0) return true;
    const existing = (await this.pool.query<EndpointRow>(`SELECT ${ENDPOINT_COLUMNS} FROM endpoints WHERE name = $1`, [name])).rows[0];
    if (existing?.source === 'config') {
      throw new EndpointConflictError(`the endpoint '${name}' is declared in the configuration file (endpoints:); remove it there and restart the collector`, '/name');
    }
    return false;
  }

  async list(): Promise<DeclaredEndpoint[]> {
    return (await this.pool.query<EndpointRow>(`SELECT ${ENDPOINT_COLUMNS} FROM endpoints ORDER BY name`)).rows.map(declaredOf);
  }

  // --- probe batches -------------------------------------------------------------------------

  /**
   * Stores one batch in one transaction, or nothing. Idempotent on batchId (the constraint
   * decides): a batch stored before, by this collector or another, yields its first ack again
   * with duplicate=true and results 0. Results for names not declared are listed in `unknown`.
   */
  async ingest(batch: ProbeBatch, meta: ProbeIngestMeta): Promise<ProbeAck> {
    const seen = new Map<string, number>();
    batch.results.forEach((result, index) => {
      const first = seen.get(result.name);
      if (first !== undefined) throw new ProbeRejectedError(`/results/${index}/name`, `results ${first} and ${index} are both for the endpoint '${result.name}': a batch holds one probe per endpoint`);
      seen.set(result.name, index);
    });
    let field = '';
    try {
      return await withTransaction(this.pool, async (client) => {
        const declared = new Set((await client.query<{ name: string }>('SELECT name FROM endpoints')).rows.map((r) => r.name));
        const known = batch.results.filter((r) => declared.has(r.name));
        const unknown = batch.results.filter((r) => !declared.has(r.name)).map((r) => r.name);
        const inserted = await client.query(
          `INSERT INTO probe_batches (batch_id, host_id, hostname, ipv4, ipv6, started_at, finished_at, received_at, agent_version, token_id, results, unknown)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (batch_id) DO NOTHING`,
          [
            batch.batchId,
            batch.vantage.hostId,
            batch.vantage.hostname,
            batch.vantage.ipv4 ? 1 : 0,
            batch.vantage.ipv6 ? 1 : 0,
            batch.startedAt,
            batch.finishedAt,
            meta.receivedAt,
            batch.agent.version,
            meta.tokenId,
            known.length,
            JSON.stringify(unknown),
          ],
        );
        if (inserted.rowCount === 0) {
          const before = (await client.query<BatchRow>('SELECT batch_id, received_at, unknown FROM probe_batches WHERE batch_id = $1', [batch.batchId])).rows[0]!;
          return { batchId: before.batch_id, duplicate: true, receivedAt: before.received_at, results: 0, unknown: JSON.parse(before.unknown) as string[] };
        }
        for (const result of known) {
          field = `/results/${batch.results.indexOf(result)}`;
          const { id } = (
            await client.query<{ id: number }>('INSERT INTO probe_results (batch_id, endpoint, host_id, probed_at, url, body) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id', [
              batch.batchId,
              result.name,
              batch.vantage.hostId,
              result.probedAt,
              result.url,
              JSON.stringify(result),
            ])
          ).rows[0]!;
          // A batch replayed from a spool after newer ones does not replace the latest result.
          await client.query(
            `INSERT INTO probe_latest (endpoint, host_id, result_id, probed_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (endpoint, host_id) DO UPDATE SET result_id = excluded.result_id, probed_at = excluded.probed_at
             WHERE excluded.probed_at >= probe_latest.probed_at`,
            [result.name, batch.vantage.hostId, id, result.probedAt],
          );
        }
        return { batchId: batch.batchId, duplicate: false, receivedAt: meta.receivedAt, results: known.length, unknown };
      });
    } catch (error) {
      const err = error as { code?: string; constraint?: string };
      const guarded = err.code === CHECK_VIOLATION && err.constraint !== undefined ? CONSTRAINT_FIELDS[err.constraint] : undefined;
      if (guarded === undefined) throw error;
      const path = guarded.startsWith('/vantage') ? guarded : `${field}${guarded}`;
      throw new ProbeRejectedError(path, `batch ${batch.batchId} cannot be stored: ${path} is too long (${err.constraint})`, { cause: error });
    }
  }

  // --- facts ---------------------------------------------------------------------------------

  /** Every declared endpoint (or the one named) with its vantage points' latest probes and its backends. */
  async inputs(staleBefore: string, name?: string): Promise<EndpointInput[]> {
    const filter = name === undefined ? '' : 'WHERE name = $1';
    const declared = (await this.pool.query<EndpointRow>(`SELECT ${ENDPOINT_COLUMNS} FROM endpoints ${filter} ORDER BY name`, name === undefined ? [] : [name])).rows;
    const rows = (
      await this.pool.query<ViewRow>(
        `SELECT ${VIEW_COLUMNS} FROM probe_latest l JOIN probe_results r ON r.id = l.result_id JOIN probe_batches b ON b.batch_id = r.batch_id
         ${name === undefined ? '' : 'WHERE l.endpoint = $1'} ORDER BY l.endpoint, b.host_id`,
        name === undefined ? [] : [name],
      )
    ).rows;
    const views = new Map<string, StoredView[]>();
    for (const row of rows) {
      let list = views.get(row.endpoint);
      if (!list) views.set(row.endpoint, (list = []));
      list.push(viewOf(row, staleBefore));
    }
    const out: EndpointInput[] = [];
    for (const row of declared) {
      const endpoint = declaredOf(row);
      out.push({ declared: endpoint, views: views.get(row.name) ?? [], backends: await this.backends(endpoint.spec) });
    }
    return out;
  }

  /** Each declared backend (host id first, then hostname) and its TCP service on the endpoint's port. */
  private async backends(spec: EndpointSpec): Promise<EndpointInput['backends']> {
    if (!spec.backends || spec.backends.length === 0) return [];
    const port = endpointPort(spec);
    const out: EndpointInput['backends'] = [];
    for (const declared of spec.backends) {
      let host: { host_id: string; hostname: string } | undefined;
      let rows: ServiceReachRow[] = [];
      if (port !== null) {
        host =
          (await this.pool.query<{ host_id: string; hostname: string }>('SELECT host_id, hostname FROM hosts WHERE host_id = $1', [declared])).rows[0] ??
          (await this.pool.query<{ host_id: string; hostname: string }>('SELECT host_id, hostname FROM hosts WHERE hostname = $1 ORDER BY last_seen DESC LIMIT 1', [declared])).rows[0];
        if (host) {
          rows = (await this.pool.query<ServiceReachRow>("SELECT ipv4, ipv6, firewall_ipv4, firewall_ipv6 FROM services WHERE host_id = $1 AND proto = 'tcp' AND port = $2", [host.host_id, port])).rows;
        }
      }
      out.push(backendService(declared, port, host, rows));
    }
    return out;
  }

  /** The last `limit` probes of the endpoint by each vantage point that probed it, newest first. */
  async history(name: string, limit: number): Promise<Map<string, ProbeHistoryEntry[]>> {
    const out = new Map<string, ProbeHistoryEntry[]>();
    const vantages = (await this.pool.query<{ host_id: string }>('SELECT host_id FROM probe_latest WHERE endpoint = $1 ORDER BY host_id', [name])).rows;
    for (const { host_id: hostId } of vantages) {
      const rows = (
        await this.pool.query<ViewRow>(
          `SELECT ${VIEW_COLUMNS} FROM probe_results r JOIN probe_batches b ON b.batch_id = r.batch_id
           WHERE r.endpoint = $1 AND r.host_id = $2 ORDER BY r.probed_at DESC, r.id DESC LIMIT $3`,
          [name, hostId, limit],
        )
      ).rows;
      out.set(
        hostId,
        rows.map((row) => {
          const view = viewOf(row, '');
          return { batchId: view.batchId, receivedAt: view.receivedAt, vantage: view.vantage, probe: view.probe };
        }),
      );
    }
    return out;
  }

  /** Deletes probe batches received before `before` (with their results), except each latest result's. */
  async prune(before: string): Promise<number> {
    const result = await this.pool.query(
      `DELETE FROM probe_batches WHERE received_at < $1
         AND batch_id NOT IN (SELECT r.batch_id FROM probe_latest l JOIN probe_results r ON r.id = l.result_id)`,
      [before],
    );
    return result.rowCount ?? 0;
  }
}
