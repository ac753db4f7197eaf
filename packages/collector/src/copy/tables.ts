// What `copy` moves from a SQLite database into PostgreSQL: every table the collector keeps, in
// an order where each table's parents come first (the target's foreign keys hold after every
// batch). Columns are taken by name from both schemas (PRAGMA table_info, information_schema),
// so the list names tables, not columns; a column only SQLite has must be listed in
// RECOUNTED_COLUMNS with how it is recounted, or the copy refuses to start.
//
// Derived tables are copied, not rebuilt: service_matrix and namespace_service_matrix are the
// counts of the services rows copied beside them in the same source snapshot, so copying them is
// exact and costs a few hundred rows, where rebuilding would re-derive every host's services.
// The alert evaluator's memory (alert_service_snapshot, alert_fleet_reference, alert_groups) is
// copied too: rebuilding it would make the first evaluation on PostgreSQL forget regressions
// and readiness references, and notify again what was already notified.

export interface CopiedTable {
  /** Same name in both schemas. */
  name: string;
  /** What it holds, for --help and docs. */
  holds: string;
}

export const COPIED_TABLES: readonly CopiedTable[] = [
  { name: 'tokens', holds: 'API tokens (hashes only)' },
  { name: 'enroll_secrets', holds: 'enroll secrets (hashes only)' },
  { name: 'hosts', holds: "each host's current state" },
  { name: 'latest_reports', holds: "each host's latest full report" },
  { name: 'reports', holds: 'report history (one row per report, no body)' },
  { name: 'services', holds: "each host's current services" },
  { name: 'service_matrix', holds: 'fleet service matrix (derived from services, copied)' },
  { name: 'findings', holds: 'open and resolved findings' },
  { name: 'namespace_services', holds: "services of hosts' container namespaces" },
  { name: 'namespace_service_matrix', holds: 'containers service matrix (derived, copied)' },
  { name: 'host_keys', holds: 'enrolled host keys (hashes only)' },
  { name: 'endpoints', holds: 'published endpoints' },
  { name: 'probe_batches', holds: "vantage points' probe batches" },
  { name: 'probe_results', holds: 'probe results' },
  { name: 'probe_latest', holds: 'latest probe result per endpoint and vantage point' },
  { name: 'alert_states', holds: 'alert states' },
  { name: 'alert_events', holds: 'alert history' },
  { name: 'alert_groups', holds: 'when each alert rule was last notified' },
  { name: 'alert_evaluations', holds: 'alert evaluations' },
  { name: 'alert_fleet_reference', holds: 'fleet readiness references' },
  { name: 'alert_service_snapshot', holds: 'services seen dual-stack (service-regressed)' },
  { name: 'alert_service_hosts', holds: 'services hash per host seen by the evaluator' },
  { name: 'alert_outbox', holds: 'alert notifications (pending, delivered, failed)' },
  { name: 'alert_delivery_attempts', holds: 'alert delivery attempts' },
];

/**
 * Columns that are counted, not copied: the copy leaves them out of its INSERTs and sets them
 * from the copied rows at the end, so a target that keeps them itself is exact either way.
 * hosts.history_reports: each host's stored reports (SQLite migration 10, PostgreSQL migration
 * 4), kept by triggers on both; PostgreSQL's trigger counts each copied report as it is inserted
 * (and never trims history here: the copy's connections set no history budget).
 */
export const RECOUNTED_COLUMNS: Readonly<Record<string, Readonly<Record<string, { recount: string }>>>> = {
  hosts: {
    history_reports: { recount: 'UPDATE hosts h SET history_reports = c.n FROM (SELECT host_id, count(*) AS n FROM reports GROUP BY host_id) c WHERE c.host_id = h.host_id AND h.history_reports <> c.n' },
  },
};

/** Tables of either schema that are not fleet data: the schema's own bookkeeping and the copy's. */
export const NOT_COPIED = new Set(['schema_migrations', 'copy_progress', 'sqlite_sequence', 'sqlite_stat1', 'sqlite_stat4']);
