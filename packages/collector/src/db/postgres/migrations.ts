// PostgreSQL schema migrations: a numbered list of their own (the SQLite list in
// db/migrations.ts stays as it is), recorded in schema_migrations. Each step runs in one
// transaction that first takes a transaction-level advisory lock, then re-reads the version,
// so two collectors starting at once on a new database migrate it once: the second waits for
// the lock and finds the work done. A database newer than this code is refused before anything
// is written.
//
// The schema means what SQLite's means (same tables, columns and named CHECK constraints, so a
// refused row names the same report field): times are ISO 8601 UTC text with milliseconds
// (text order is time order, and values round-trip exactly as the SQLite store returns them),
// flags are 0/1 integers. Plain SQL only: no extensions, nothing a PostgreSQL-compatible
// distributed database would refuse without need.
import type pg from 'pg';
import { redactUrl } from './pool.js';

export interface PostgresMigration {
  version: number;
  description: string;
  sql: string;
}

// Everything the Store keeps, in the shape of SQLite's schema version 8.
const V1 = `
CREATE TABLE tokens (
  id           TEXT PRIMARY KEY,
  name         TEXT NOT NULL UNIQUE CONSTRAINT token_name_length CHECK (length(name) BETWEEN 1 AND 128),
  role         TEXT NOT NULL CHECK (role IN ('agent', 'reader', 'admin')),
  hash         TEXT NOT NULL UNIQUE,
  created_at   TEXT NOT NULL,
  revoked_at   TEXT,
  last_used_at TEXT,
  host_id      TEXT
);

-- The current state of each host (see the SQLite schema for each column). last_received_at is
-- the receive time of the report that holds the current state: "latest wins" compares it in the
-- upsert itself, so a late older report never overwrites a newer one under concurrency.
CREATE TABLE hosts (
  host_id             TEXT PRIMARY KEY CONSTRAINT host_id_length CHECK (length(host_id) BETWEEN 1 AND 256),
  hostname            TEXT NOT NULL CONSTRAINT hostname_length CHECK (length(hostname) BETWEEN 1 AND 255),
  distro              TEXT,
  kernel              TEXT,
  first_seen          TEXT NOT NULL,
  last_seen           TEXT NOT NULL,
  last_report_id      TEXT NOT NULL,
  collected_at        TEXT NOT NULL,
  ipv6_routable       INTEGER CHECK (ipv6_routable IN (0, 1)),
  ipv4_routable       INTEGER CHECK (ipv4_routable IN (0, 1)),
  services_exposed    INTEGER NOT NULL,
  services_dual       INTEGER NOT NULL,
  findings_critical   INTEGER NOT NULL,
  findings_warning    INTEGER NOT NULL,
  findings_info       INTEGER NOT NULL,
  conn_ipv4           INTEGER NOT NULL,
  conn_ipv6           INTEGER NOT NULL,
  conn_mapped         INTEGER NOT NULL,
  services_hash       TEXT NOT NULL,
  service_modes       INTEGER NOT NULL,
  services_updated_at TEXT NOT NULL,
  findings_hash       TEXT NOT NULL
);
CREATE INDEX hosts_by_name ON hosts (hostname, host_id);
CREATE INDEX hosts_by_last_seen ON hosts (last_seen);

CREATE TABLE latest_reports (
  host_id   TEXT PRIMARY KEY REFERENCES hosts (host_id) ON DELETE CASCADE,
  report_id TEXT NOT NULL,
  body      TEXT NOT NULL
);

CREATE TABLE reports (
  report_id     TEXT PRIMARY KEY CONSTRAINT report_id_length CHECK (length(report_id) BETWEEN 1 AND 64),
  host_id       TEXT NOT NULL REFERENCES hosts (host_id) ON DELETE CASCADE,
  collected_at  TEXT NOT NULL,
  received_at   TEXT NOT NULL,
  bytes         INTEGER NOT NULL CHECK (bytes >= 0),
  token_id      TEXT REFERENCES tokens (id) ON DELETE SET NULL,
  applied       INTEGER NOT NULL CHECK (applied IN (0, 1)),
  ipv6_routable INTEGER CHECK (ipv6_routable IN (0, 1)),
  exposed       INTEGER NOT NULL,
  dual          INTEGER NOT NULL,
  critical      INTEGER NOT NULL,
  warning       INTEGER NOT NULL,
  ack_open      INTEGER NOT NULL,
  ack_opened    INTEGER NOT NULL,
  ack_resolved  INTEGER NOT NULL
);
CREATE INDEX reports_by_host ON reports (host_id, collected_at);
CREATE INDEX reports_by_collected ON reports (collected_at);

CREATE TABLE services (
  host_id       TEXT NOT NULL REFERENCES hosts (host_id) ON DELETE CASCADE,
  seq           INTEGER NOT NULL,
  proto         TEXT NOT NULL CHECK (proto IN ('tcp', 'udp')),
  port          INTEGER NOT NULL CHECK (port BETWEEN 0 AND 65535),
  process       TEXT CONSTRAINT process_length CHECK (length(process) <= 256),
  pid           INTEGER,
  mode          TEXT NOT NULL CHECK (mode IN ('dual-separate', 'dual-mapped', 'ipv4-only', 'ipv6-only', 'loopback-only')),
  ipv4          TEXT NOT NULL CHECK (ipv4 IN ('any', 'addresses', 'loopback', 'none')),
  ipv6          TEXT NOT NULL CHECK (ipv6 IN ('any', 'addresses', 'loopback', 'none')),
  bindings      TEXT NOT NULL,
  firewall_ipv4 TEXT CHECK (firewall_ipv4 IN ('accepted', 'dropped', 'restricted', 'unknown')),
  firewall_ipv6 TEXT CHECK (firewall_ipv6 IN ('accepted', 'dropped', 'restricted', 'unknown')),
  PRIMARY KEY (host_id, seq)
);
CREATE INDEX services_by_port ON services (port, proto, mode, host_id);

CREATE TABLE service_matrix (
  proto                  TEXT NOT NULL,
  port                   INTEGER NOT NULL,
  process                TEXT NOT NULL,
  hosts                  INTEGER NOT NULL,
  dual_separate          INTEGER NOT NULL,
  dual_mapped            INTEGER NOT NULL,
  ipv4_only              INTEGER NOT NULL,
  ipv6_only              INTEGER NOT NULL,
  loopback_only          INTEGER NOT NULL,
  firewall_ipv4_filtered INTEGER NOT NULL DEFAULT 0,
  firewall_ipv6_filtered INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (proto, port, process)
);

CREATE TABLE findings (
  host_id     TEXT NOT NULL REFERENCES hosts (host_id) ON DELETE CASCADE,
  rule        TEXT NOT NULL CONSTRAINT rule_length CHECK (length(rule) BETWEEN 1 AND 128),
  subject     TEXT NOT NULL CONSTRAINT subject_length CHECK (length(subject) <= 1024),
  severity    TEXT NOT NULL CHECK (severity IN ('critical', 'warning', 'info')),
  message     TEXT NOT NULL,
  evidence    TEXT NOT NULL,
  fix         TEXT NOT NULL,
  first_seen  TEXT NOT NULL,
  last_seen   TEXT NOT NULL,
  resolved_at TEXT,
  PRIMARY KEY (host_id, rule, subject)
);
CREATE INDEX findings_open_by_rule ON findings (rule, severity, host_id) WHERE resolved_at IS NULL;
CREATE INDEX findings_resolved ON findings (resolved_at) WHERE resolved_at IS NOT NULL;

CREATE TABLE namespace_services (
  host_id       TEXT NOT NULL REFERENCES hosts (host_id) ON DELETE CASCADE,
  namespace     BIGINT NOT NULL,
  seq           INTEGER NOT NULL,
  proto         TEXT NOT NULL CHECK (proto IN ('tcp', 'udp')),
  port          INTEGER NOT NULL CHECK (port BETWEEN 0 AND 65535),
  process       TEXT CONSTRAINT process_length CHECK (length(process) <= 256),
  pid           INTEGER,
  mode          TEXT NOT NULL CHECK (mode IN ('dual-separate', 'dual-mapped', 'ipv4-only', 'ipv6-only', 'loopback-only')),
  ipv4          TEXT NOT NULL CHECK (ipv4 IN ('any', 'addresses', 'loopback', 'none')),
  ipv6          TEXT NOT NULL CHECK (ipv6 IN ('any', 'addresses', 'loopback', 'none')),
  bindings      TEXT NOT NULL,
  firewall_ipv4 TEXT CHECK (firewall_ipv4 IN ('accepted', 'dropped', 'restricted', 'unknown')),
  firewall_ipv6 TEXT CHECK (firewall_ipv6 IN ('accepted', 'dropped', 'restricted', 'unknown')),
  PRIMARY KEY (host_id, namespace, seq)
);

CREATE TABLE namespace_service_matrix (
  proto                  TEXT NOT NULL,
  port                   INTEGER NOT NULL,
  process                TEXT NOT NULL,
  hosts                  INTEGER NOT NULL,
  dual_separate          INTEGER NOT NULL,
  dual_mapped            INTEGER NOT NULL,
  ipv4_only              INTEGER NOT NULL,
  ipv6_only              INTEGER NOT NULL,
  loopback_only          INTEGER NOT NULL,
  firewall_ipv4_filtered INTEGER NOT NULL DEFAULT 0,
  firewall_ipv6_filtered INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (proto, port, process)
);

CREATE TABLE enroll_secrets (
  id           TEXT PRIMARY KEY,
  name         TEXT NOT NULL UNIQUE CONSTRAINT enroll_name_length CHECK (length(name) BETWEEN 1 AND 128),
  hash         TEXT NOT NULL UNIQUE,
  created_at   TEXT NOT NULL,
  expires_at   TEXT,
  revoked_at   TEXT,
  last_used_at TEXT
);

CREATE TABLE host_keys (
  id           TEXT PRIMARY KEY,
  host_id      TEXT NOT NULL CONSTRAINT key_host_id_length CHECK (length(host_id) BETWEEN 1 AND 256),
  hash         TEXT NOT NULL UNIQUE,
  state        TEXT NOT NULL CHECK (state IN ('live', 'pending', 'revoked')),
  hostname     TEXT NOT NULL CONSTRAINT key_hostname_length CHECK (length(hostname) BETWEEN 1 AND 255),
  facts        TEXT NOT NULL,
  peer         TEXT,
  secret_id    TEXT REFERENCES enroll_secrets (id) ON DELETE SET NULL,
  created_at   TEXT NOT NULL,
  last_used_at TEXT,
  revoked_at   TEXT
);
CREATE UNIQUE INDEX host_keys_live ON host_keys (host_id) WHERE state = 'live';
CREATE INDEX host_keys_by_host ON host_keys (host_id, created_at);

-- Published endpoints (src/endpoints), as SQLite's migration 6.
CREATE TABLE endpoints (
  name       TEXT PRIMARY KEY,
  source     TEXT NOT NULL CHECK (source IN ('config', 'api')),
  spec       TEXT NOT NULL,
  created_at TEXT NOT NULL
);

CREATE TABLE probe_batches (
  batch_id      TEXT PRIMARY KEY,
  host_id       TEXT NOT NULL CONSTRAINT probe_host_id_length CHECK (length(host_id) BETWEEN 1 AND 256),
  hostname      TEXT NOT NULL CONSTRAINT probe_hostname_length CHECK (length(hostname) BETWEEN 1 AND 255),
  ipv4          INTEGER NOT NULL CHECK (ipv4 IN (0, 1)),
  ipv6          INTEGER NOT NULL CHECK (ipv6 IN (0, 1)),
  started_at    TEXT NOT NULL,
  finished_at   TEXT NOT NULL,
  received_at   TEXT NOT NULL,
  agent_version TEXT NOT NULL,
  token_id      TEXT REFERENCES tokens (id) ON DELETE SET NULL,
  results       INTEGER NOT NULL,
  unknown       TEXT NOT NULL
);
CREATE INDEX probe_batches_by_received ON probe_batches (received_at);

CREATE TABLE probe_results (
  id        BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  batch_id  TEXT NOT NULL REFERENCES probe_batches (batch_id) ON DELETE CASCADE,
  endpoint  TEXT NOT NULL REFERENCES endpoints (name) ON DELETE CASCADE,
  host_id   TEXT NOT NULL,
  probed_at TEXT NOT NULL,
  url       TEXT NOT NULL CONSTRAINT probe_url_length CHECK (length(url) <= 2048),
  body      TEXT NOT NULL
);
CREATE INDEX probe_results_history ON probe_results (endpoint, host_id, probed_at);
CREATE INDEX probe_results_by_batch ON probe_results (batch_id);

CREATE TABLE probe_latest (
  endpoint  TEXT NOT NULL REFERENCES endpoints (name) ON DELETE CASCADE,
  host_id   TEXT NOT NULL,
  result_id BIGINT NOT NULL REFERENCES probe_results (id) ON DELETE CASCADE,
  probed_at TEXT NOT NULL,
  PRIMARY KEY (endpoint, host_id)
);
CREATE INDEX probe_latest_by_result ON probe_latest (result_id);
`;

// Alerting (src/alerts, db/postgres/alert-store.ts), as SQLite's migration 2: times are ISO 8601
// text like the rest. Ids are identities: the outbox is delivered in id order per receiver.
// The outbox is claimed row by row (FOR UPDATE SKIP LOCKED), so it needs no claim columns.
const V2 = `
CREATE TABLE alert_states (
  fingerprint      TEXT PRIMARY KEY,
  rule             TEXT NOT NULL,
  labels           TEXT NOT NULL,
  annotations      TEXT NOT NULL,
  status           TEXT NOT NULL CHECK (status IN ('pending', 'firing', 'resolved')),
  active_since     TEXT NOT NULL,
  firing_since     TEXT,
  resolved_at      TEXT,
  last_active_at   TEXT NOT NULL,
  notified_status  TEXT CHECK (notified_status IN ('firing', 'resolved')),
  last_notified_at TEXT,
  updated_at       TEXT NOT NULL
);
CREATE INDEX alert_states_live ON alert_states (rule, status) WHERE status <> 'resolved' OR notified_status = 'firing';
CREATE INDEX alert_states_resolved ON alert_states (resolved_at) WHERE status = 'resolved';

CREATE TABLE alert_events (
  id          BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  at          TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  rule        TEXT NOT NULL,
  labels      TEXT NOT NULL,
  from_status TEXT CHECK (from_status IN ('pending', 'firing', 'resolved')),
  to_status   TEXT NOT NULL CHECK (to_status IN ('pending', 'firing', 'resolved', 'cancelled')),
  summary     TEXT NOT NULL
);
CREATE INDEX alert_events_by_at ON alert_events (at);
CREATE INDEX alert_events_by_rule ON alert_events (rule, id);
CREATE INDEX alert_events_by_fingerprint ON alert_events (fingerprint, id);

CREATE TABLE alert_groups (
  rule             TEXT PRIMARY KEY,
  last_notified_at TEXT NOT NULL
);

CREATE TABLE alert_evaluations (
  id            BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  started_at    TEXT NOT NULL,
  duration_ms   DOUBLE PRECISION NOT NULL,
  active        INTEGER NOT NULL,
  transitions   INTEGER NOT NULL,
  notifications INTEGER NOT NULL,
  error         TEXT
);
CREATE INDEX alert_evaluations_by_started ON alert_evaluations (started_at);

CREATE TABLE alert_fleet_reference (
  rule       TEXT NOT NULL,
  metric     TEXT NOT NULL,
  value      DOUBLE PRECISION NOT NULL,
  at         TEXT NOT NULL,
  drop_since TEXT,
  PRIMARY KEY (rule, metric)
);

CREATE TABLE alert_service_snapshot (
  host_id         TEXT NOT NULL REFERENCES hosts (host_id) ON DELETE CASCADE,
  proto           TEXT NOT NULL,
  port            INTEGER NOT NULL,
  process         TEXT NOT NULL,
  dual_mode       TEXT NOT NULL,
  dual_since      TEXT NOT NULL,
  regressed_since TEXT,
  current_mode    TEXT,
  PRIMARY KEY (host_id, proto, port, process)
);
CREATE INDEX alert_service_snapshot_regressed ON alert_service_snapshot (regressed_since) WHERE regressed_since IS NOT NULL;
CREATE TABLE alert_service_hosts (
  host_id       TEXT PRIMARY KEY REFERENCES hosts (host_id) ON DELETE CASCADE,
  services_hash TEXT NOT NULL
);

CREATE TABLE alert_outbox (
  id              BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  notification_id TEXT NOT NULL,
  receiver        TEXT NOT NULL,
  rule            TEXT NOT NULL,
  kind            TEXT NOT NULL CHECK (kind IN ('notification', 'test')),
  payload         TEXT NOT NULL,
  created_at      TEXT NOT NULL,
  status          TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at TEXT NOT NULL,
  last_error      TEXT,
  finished_at     TEXT
);
CREATE INDEX alert_outbox_pending ON alert_outbox (receiver, id) WHERE status = 'pending';
CREATE INDEX alert_outbox_finished ON alert_outbox (finished_at) WHERE status <> 'pending';

CREATE TABLE alert_delivery_attempts (
  id              BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  outbox_id       BIGINT REFERENCES alert_outbox (id) ON DELETE CASCADE,
  notification_id TEXT,
  receiver        TEXT NOT NULL,
  rule            TEXT,
  kind            TEXT NOT NULL CHECK (kind IN ('notification', 'refresh', 'test')),
  fingerprints    TEXT NOT NULL,
  attempt         INTEGER NOT NULL,
  at              TEXT NOT NULL,
  duration_ms     DOUBLE PRECISION NOT NULL,
  status_code     INTEGER,
  outcome         TEXT NOT NULL CHECK (outcome IN ('delivered', 'retry', 'failed')),
  error           TEXT
);
CREATE INDEX alert_delivery_attempts_by_receiver ON alert_delivery_attempts (receiver, id);
CREATE INDEX alert_delivery_attempts_by_at ON alert_delivery_attempts (at);
CREATE INDEX alert_delivery_attempts_by_outbox ON alert_delivery_attempts (outbox_id);
`;

// The history budget (maxReportsPerHost) as triggers, so it holds inside whatever transaction
// ingest writes reports in, from any number of collectors: the count is kept per host as
// SQLite's migration 10 keeps it (every delete, retention or budget or a host deleted, keeps it
// exact). The budget itself is the session's dualstack.max_reports_per_host (each collector's
// pool sets it at connect from its configuration; unset: no trim, as for `copy`). Incrementing
// the count locks the host's row, so two collectors' reports of one host trim one after the
// other, each seeing what the other committed. The oldest go first, by collectedAt, never the
// report just inserted nor the host's current one; a trim is told to the collector whose
// connection did it by a NOTICE (postgres/history-budget.ts), for its counter and log.
const V4 = `
ALTER TABLE hosts ADD COLUMN history_reports INTEGER NOT NULL DEFAULT 0;
UPDATE hosts h SET history_reports = c.n FROM (SELECT host_id, count(*) AS n FROM reports GROUP BY host_id) c WHERE c.host_id = h.host_id;

CREATE FUNCTION dualstack_report_counted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  budget integer := nullif(current_setting('dualstack.max_reports_per_host', true), '')::integer;
  stored integer;
  trimmed integer;
BEGIN
  UPDATE hosts SET history_reports = history_reports + 1 WHERE host_id = NEW.host_id RETURNING history_reports INTO stored;
  IF budget IS NOT NULL AND stored > budget THEN
    DELETE FROM reports WHERE report_id IN (
      SELECT r.report_id FROM reports r WHERE r.host_id = NEW.host_id AND r.report_id <> NEW.report_id
        AND r.report_id <> coalesce((SELECT h.last_report_id FROM hosts h WHERE h.host_id = NEW.host_id), '')
      ORDER BY r.collected_at LIMIT stored - budget);
    GET DIAGNOSTICS trimmed = ROW_COUNT;
    IF trimmed > 0 THEN
      RAISE NOTICE USING MESSAGE = 'dualstack history trimmed',
        DETAIL = json_build_object('reportId', NEW.report_id, 'hostId', NEW.host_id, 'trimmed', trimmed)::text;
    END IF;
  END IF;
  RETURN NULL;
END $$;

CREATE FUNCTION dualstack_report_uncounted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE hosts SET history_reports = history_reports - 1 WHERE host_id = OLD.host_id;
  RETURN NULL;
END $$;

CREATE TRIGGER reports_counted AFTER INSERT ON reports FOR EACH ROW EXECUTE FUNCTION dualstack_report_counted();
CREATE TRIGGER reports_uncounted AFTER DELETE ON reports FOR EACH ROW EXECUTE FUNCTION dualstack_report_uncounted();
`;

export const postgresMigrations: readonly PostgresMigration[] = [
  {
    version: 1,
    description: 'tokens, hosts, latest reports, report history, services and their matrices, findings, enroll secrets, host keys, published endpoints and probes',
    sql: V1,
  },
  {
    version: 2,
    description: 'alerting: alert states, events, groups, evaluations, readiness references, service snapshot, outbox, delivery attempts',
    sql: V2,
  },
  {
    version: 3,
    description: 'quotas: the most hosts an enroll secret may enroll (SQLite migration 9)',
    // NULL: the configuration's maxHostsPerEnrollSecret, or no limit. The index counts a secret's hosts.
    sql: `
      ALTER TABLE enroll_secrets ADD COLUMN max_hosts INTEGER CONSTRAINT max_hosts_positive CHECK (max_hosts IS NULL OR max_hosts >= 1);
      CREATE INDEX host_keys_by_secret ON host_keys (secret_id, host_id) WHERE state != 'revoked';
    `,
  },
  {
    version: 4,
    description: "quotas: each host's count of stored reports and its history budget, kept by triggers (SQLite migration 10)",
    sql: V4,
  },
  {
    version: 5,
    description: 'disk full: the table /healthz writes to (and rolls back) to see whether the database has room again',
    // Never holds a committed row: the probe inserts ~1 MiB and rolls back (postgres/write-probe.ts).
    // EXTERNAL: stored out of line uncompressed, so the probe needs that much new space.
    sql: `CREATE TABLE write_probe (payload BYTEA NOT NULL);
      ALTER TABLE write_probe ALTER COLUMN payload SET STORAGE EXTERNAL;`,
  },
  {
    version: 6,
    description: "ingest speed: each host's latest report body compressed with lz4 instead of pglz",
    // Every report rewrites its host's ~30 KB body. Measured on a 28 KB report, 1,000 upserts a
    // round: pglz 0.42 ms per upsert, lz4 0.21 ms, the same size on disk (uncompressed EXTERNAL:
    // 0.34 ms and 3.6x the size). A server built without lz4, or a PostgreSQL-compatible one
    // without column compression, keeps its default: the choice is speed only, never meaning.
    sql: `DO $$
      BEGIN
        ALTER TABLE latest_reports ALTER COLUMN body SET COMPRESSION lz4;
      EXCEPTION WHEN feature_not_supported OR syntax_error OR invalid_parameter_value THEN
        RAISE NOTICE 'latest_reports.body keeps the default compression: %', SQLERRM;
      END $$;`,
  },
];

/** The PostgreSQL schema version this code writes and understands. */
export const POSTGRES_SCHEMA_VERSION: number = postgresMigrations.reduce((max, m) => Math.max(max, m.version), 0);

postgresMigrations.forEach((m, index) => {
  if (m.version !== index + 1) throw new Error(`postgres migrations: entry ${index} has version ${m.version}, expected ${index + 1}`);
});

// pg_advisory_xact_lock key for "migrating": any fixed bigint unique to this purpose.
const MIGRATION_LOCK = 7_346_001;

export class PostgresSchemaTooNewError extends Error {
  constructor(
    readonly url: string,
    readonly found: number,
    readonly supported: number,
  ) {
    super(
      `${redactUrl(url)}: database schema version ${found} is newer than this collector understands (${supported}). ` +
        'It was written by a newer dualstack-collector: run that version, or restore a dump taken before the upgrade. Nothing was changed.',
    );
    this.name = 'PostgresSchemaTooNewError';
  }
}

const CREATE_VERSIONS = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version     INTEGER PRIMARY KEY,
  description TEXT NOT NULL,
  applied_at  TEXT NOT NULL
)`;

async function currentVersion(client: pg.ClientBase): Promise<number> {
  // pg_class read by a query (this statement's snapshot), not to_regclass(): that answers from
  // the session's catalog cache, which keeps a "no such table" seen before this transaction
  // waited for the lock, so the second of two collectors would run step 1 again.
  const exists = await client.query<{ present: boolean }>(
    "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.relname = 'schema_migrations' AND n.nspname = current_schema()) AS present",
  );
  if (!exists.rows[0]?.present) return 0;
  const result = await client.query<{ version: number | null }>('SELECT max(version) AS version FROM schema_migrations');
  return result.rows[0]?.version ?? 0;
}

/** The schema version of the database (0: never migrated), without changing anything. */
export async function postgresSchemaVersion(pool: pg.Pool): Promise<number> {
  const client = await pool.connect();
  try {
    return await currentVersion(client);
  } finally {
    client.release();
  }
}

/**
 * Brings the database to the newest version of `list`, one transaction per step under the
 * migration advisory lock. `url` only names the database in errors.
 */
export async function migratePostgres(pool: pg.Pool, url: string, list: readonly PostgresMigration[] = postgresMigrations): Promise<{ from: number; to: number }> {
  const target = list.reduce((max, m) => Math.max(max, m.version), 0);
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    const from = await currentVersion(client);
    if (from > target) throw new PostgresSchemaTooNewError(url, from, target);
    let version = from;
    for (const migration of list) {
      if (migration.version <= version) continue;
      await client.query('BEGIN');
      try {
        await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
        const current = await currentVersion(client);
        if (current > target) throw new PostgresSchemaTooNewError(url, current, target);
        if (current >= migration.version) {
          await client.query('COMMIT');
          version = current;
          continue;
        }
        if (current !== migration.version - 1) throw new Error(`${redactUrl(url)}: cannot apply migration ${migration.version} to schema version ${current}`);
        await client.query(CREATE_VERSIONS);
        await client.query(migration.sql);
        await client.query('INSERT INTO schema_migrations (version, description, applied_at) VALUES ($1, $2, $3)', [migration.version, migration.description, new Date().toISOString()]);
        await client.query('COMMIT');
        version = migration.version;
      } catch (error) {
        await client.query('ROLLBACK').catch((rollbackError: Error) => {
          broken = rollbackError;
        });
        throw error;
      }
    }
    return { from, to: version };
  } finally {
    client.release(broken);
  }
}
