// What `copy` moves from a SQLite database into PostgreSQL: every table the collector keeps, in
// an order where each table's parents come first (the target's foreign keys hold after every
// batch). Columns are taken by name from both schemas (PRAGMA table_info, information_schema),
// so the list names tables, not columns; a column only SQLite has must be listed in
// SQLITE_ONLY_COLUMNS with what replaces it, or the copy refuses to start.
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
 * Columns SQLite keeps that the PostgreSQL schema has no column for, and why nothing is lost.
 * A column named here that the target does have is recounted there after the copy instead of
 * copied (a counter the target may keep by trigger would count the copied rows twice).
 */
export const SQLITE_ONLY_COLUMNS: Readonly<Record<string, Readonly<Record<string, { recount: string }>>>> = {
  hosts: {
    // SQLite's per-host history count (migration 10), kept by triggers for the history budget.
    history_reports: { recount: 'UPDATE hosts SET history_reports = (SELECT count(*) FROM reports r WHERE r.host_id = hosts.host_id)' },
  },
};

/** Tables of either schema that are not fleet data: the schema's own bookkeeping and the copy's. */
export const NOT_COPIED = new Set(['schema_migrations', 'copy_progress', 'sqlite_sequence', 'sqlite_stat1', 'sqlite_stat4']);
