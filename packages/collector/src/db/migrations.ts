// Schema migrations by PRAGMA user_version (after Signal Desktop): a numbered list, each run in
// its own transaction that also sets user_version, so a crash leaves the database at one
// version or the next, never between. A database newer than this code is refused: an older
// collector would misread tables it does not know.
import type Database from 'better-sqlite3';
import type { Report } from '@dualstack/core';
import { bindingsJson, firewallVerdicts, serviceRows, servicesHash } from './ingest-rows.js';

export interface Migration {
  version: number;
  description: string;
  up(db: Database.Database): void;
}

// Limits that the report schema does not state but a row must respect. They are named so the
// error says which one failed ("CHECK constraint failed: host_id_length"), and sqlite-store.ts
// maps each name to the report field it guards.
const V1 = `
CREATE TABLE tokens (
  id           TEXT PRIMARY KEY,
  name         TEXT NOT NULL UNIQUE CONSTRAINT token_name_length CHECK (length(name) BETWEEN 1 AND 128),
  role         TEXT NOT NULL CHECK (role IN ('agent', 'reader', 'admin')),
  hash         TEXT NOT NULL UNIQUE,
  created_at   TEXT NOT NULL,
  revoked_at   TEXT,
  last_used_at TEXT
) STRICT;

-- The current state of each host: one small row, read by every fleet query. Times are
-- ISO 8601 UTC with milliseconds, so text order is time order. first_seen/last_seen are the
-- collector's clock (received_at); collected_at is the agent's clock of the report that holds
-- the current state (last_report_id). service_modes: bit i set when a current service has
-- mode i of ('dual-separate', 'dual-mapped', 'ipv4-only', 'ipv6-only', 'loopback-only').
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
  connections_hash    TEXT NOT NULL,
  findings_hash       TEXT NOT NULL
) STRICT;
CREATE INDEX hosts_by_name ON hosts (hostname, host_id);
CREATE INDEX hosts_by_last_seen ON hosts (last_seen);

-- The latest full report per host, apart from hosts: ~21 KB of JSON inside a hosts row would
-- spread 300k hosts over ~10x more pages for every fleet scan (summary, filters).
CREATE TABLE latest_reports (
  host_id   TEXT PRIMARY KEY REFERENCES hosts (host_id) ON DELETE CASCADE,
  report_id TEXT NOT NULL,
  body      TEXT NOT NULL
) STRICT;

-- History: one small row per report, never the body. applied = 0 for a report older than
-- the host's current state when it arrived (kept in history, did not change the host).
-- The ack is stored as its three numbers; with report_id, host_id and received_at they
-- rebuild the exact ack a replay returns.
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
) STRICT;
CREATE INDEX reports_by_host ON reports (host_id, collected_at);
CREATE INDEX reports_by_collected ON reports (collected_at);

-- Current services per host, rewritten only when hosts.services_hash changes; the connection
-- counters are updated in place when only they changed. seq is the position in the
-- canonical (sorted) service list: (proto, port, process) is not unique on a host. WITHOUT
-- ROWID: one b-tree clustered by host, so a host's rows are read, replaced and deleted
-- together; no index by mode (it would be the largest index of the file): hosts.service_modes
-- answers "hosts with a service in mode X".
CREATE TABLE services (
  host_id     TEXT NOT NULL REFERENCES hosts (host_id) ON DELETE CASCADE,
  seq         INTEGER NOT NULL,
  proto       TEXT NOT NULL CHECK (proto IN ('tcp', 'udp')),
  port        INTEGER NOT NULL CHECK (port BETWEEN 0 AND 65535),
  process     TEXT CONSTRAINT process_length CHECK (length(process) <= 256),
  pid         INTEGER,
  mode        TEXT NOT NULL CHECK (mode IN ('dual-separate', 'dual-mapped', 'ipv4-only', 'ipv6-only', 'loopback-only')),
  ipv4        TEXT NOT NULL CHECK (ipv4 IN ('any', 'addresses', 'loopback', 'none')),
  ipv6        TEXT NOT NULL CHECK (ipv6 IN ('any', 'addresses', 'loopback', 'none')),
  bindings    TEXT NOT NULL,
  conn_ipv4   INTEGER NOT NULL,
  conn_ipv6   INTEGER NOT NULL,
  conn_mapped INTEGER NOT NULL,
  PRIMARY KEY (host_id, seq)
) STRICT, WITHOUT ROWID;

-- The fleet service matrix kept up to date as hosts' services are replaced, so reading it
-- does not group 300k x 50 service rows. process is '' when the owner is unknown (a NULL in
-- a key would never conflict). hosts: hosts with the service; each mode: hosts with the
-- service in that mode.
CREATE TABLE service_matrix (
  proto         TEXT NOT NULL,
  port          INTEGER NOT NULL,
  process       TEXT NOT NULL,
  hosts         INTEGER NOT NULL,
  dual_separate INTEGER NOT NULL,
  dual_mapped   INTEGER NOT NULL,
  ipv4_only     INTEGER NOT NULL,
  ipv6_only     INTEGER NOT NULL,
  loopback_only INTEGER NOT NULL,
  PRIMARY KEY (proto, port, process)
) STRICT, WITHOUT ROWID;

-- Findings by (host, rule, subject): open while resolved_at IS NULL. first_seen is the start
-- of the current open period (reset when a resolved finding returns); last_seen is the last
-- report that had it. Times are the agent's collectedAt.
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
) STRICT;
CREATE INDEX findings_open_by_rule ON findings (rule, severity, host_id) WHERE resolved_at IS NULL;
CREATE INDEX findings_resolved ON findings (resolved_at) WHERE resolved_at IS NOT NULL;
`;

// Alerting (src/alerts). Times are ISO 8601 UTC with milliseconds, as in V1.
const V2 = `
-- One row per alert (rule + labels, identified by the fingerprint of its labels): its current
-- instance. notified_status is what receivers were last told (see alerts/state.ts).
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
) STRICT;
CREATE INDEX alert_states_live ON alert_states (rule, status) WHERE status != 'resolved' OR notified_status = 'firing';
CREATE INDEX alert_states_resolved ON alert_states (resolved_at) WHERE status = 'resolved';

-- History: every status change.
CREATE TABLE alert_events (
  id          INTEGER PRIMARY KEY,
  at          TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  rule        TEXT NOT NULL,
  labels      TEXT NOT NULL,
  from_status TEXT CHECK (from_status IN ('pending', 'firing', 'resolved')),
  to_status   TEXT NOT NULL CHECK (to_status IN ('pending', 'firing', 'resolved', 'cancelled')),
  summary     TEXT NOT NULL
) STRICT;
CREATE INDEX alert_events_by_at ON alert_events (at);
CREATE INDEX alert_events_by_rule ON alert_events (rule, id);
CREATE INDEX alert_events_by_fingerprint ON alert_events (fingerprint, id);

-- Per group (alert rule): when it was last notified (for groupInterval).
CREATE TABLE alert_groups (
  rule             TEXT PRIMARY KEY,
  last_notified_at TEXT NOT NULL
) STRICT;

-- Each evaluation with its duration.
CREATE TABLE alert_evaluations (
  id            INTEGER PRIMARY KEY,
  started_at    TEXT NOT NULL,
  duration_ms   REAL NOT NULL,
  active        INTEGER NOT NULL,
  transitions   INTEGER NOT NULL,
  notifications INTEGER NOT NULL,
  error         TEXT
) STRICT;
CREATE INDEX alert_evaluations_by_started ON alert_evaluations (started_at);

-- fleet-readiness-drop: each metric's reference value (the previous evaluation's, held while
-- a drop lasts).
CREATE TABLE alert_fleet_reference (
  rule       TEXT NOT NULL,
  metric     TEXT NOT NULL,
  value      REAL NOT NULL,
  at         TEXT NOT NULL,
  drop_since TEXT,
  PRIMARY KEY (rule, metric)
) STRICT;

-- service-regressed: the services seen dual-stack per host (process '' when unknown).
-- regressed_since is set while the service is single-family (current_mode) or gone (NULL).
-- alert_service_hosts holds the services_hash each host had when the snapshot last looked,
-- so only hosts whose services changed are looked at again.
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
) STRICT, WITHOUT ROWID;
CREATE INDEX alert_service_snapshot_regressed ON alert_service_snapshot (regressed_since) WHERE regressed_since IS NOT NULL;
CREATE TABLE alert_service_hosts (
  host_id       TEXT PRIMARY KEY REFERENCES hosts (host_id) ON DELETE CASCADE,
  services_hash TEXT NOT NULL
) STRICT;

-- The outbox: a notification per receiver, written in the transaction of the state change
-- that caused it, delivered in id order per receiver, and marked delivered only after a 2xx.
CREATE TABLE alert_outbox (
  id              INTEGER PRIMARY KEY,
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
) STRICT;
CREATE INDEX alert_outbox_pending ON alert_outbox (receiver, id) WHERE status = 'pending';
CREATE INDEX alert_outbox_finished ON alert_outbox (finished_at) WHERE status != 'pending';

-- Every delivery attempt: what (outbox entry or refresh), where, the HTTP status, the error.
CREATE TABLE alert_delivery_attempts (
  id              INTEGER PRIMARY KEY,
  outbox_id       INTEGER REFERENCES alert_outbox (id) ON DELETE CASCADE,
  notification_id TEXT,
  receiver        TEXT NOT NULL,
  rule            TEXT,
  kind            TEXT NOT NULL CHECK (kind IN ('notification', 'refresh', 'test')),
  fingerprints    TEXT NOT NULL,
  attempt         INTEGER NOT NULL,
  at              TEXT NOT NULL,
  duration_ms     REAL NOT NULL,
  status_code     INTEGER,
  outcome         TEXT NOT NULL CHECK (outcome IN ('delivered', 'retry', 'failed')),
  error           TEXT
) STRICT;
CREATE INDEX alert_delivery_attempts_by_receiver ON alert_delivery_attempts (receiver, id);
CREATE INDEX alert_delivery_attempts_by_at ON alert_delivery_attempts (at);
CREATE INDEX alert_delivery_attempts_by_outbox ON alert_delivery_attempts (outbox_id);
`;

// Published endpoints (src/endpoints). Config-declared rows are rewritten at every start
// (source 'config'); API-declared ones (source 'api') live here only. Deleting an endpoint
// deletes its results.
const V6 = `
CREATE TABLE endpoints (
  name       TEXT PRIMARY KEY,
  source     TEXT NOT NULL CHECK (source IN ('config', 'api')),
  spec       TEXT NOT NULL,
  created_at TEXT NOT NULL
) STRICT;

-- One row per batch received, kept for idempotency (the ack is rebuilt from it) and for the
-- vantage point it came from. unknown: the endpoint names it held that were not declared.
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
) STRICT;
CREATE INDEX probe_batches_by_received ON probe_batches (received_at);

-- Each endpoint's probe by one vantage point, as the agent sent it (body: the EndpointProbe).
CREATE TABLE probe_results (
  id        INTEGER PRIMARY KEY,
  batch_id  TEXT NOT NULL REFERENCES probe_batches (batch_id) ON DELETE CASCADE,
  endpoint  TEXT NOT NULL REFERENCES endpoints (name) ON DELETE CASCADE,
  host_id   TEXT NOT NULL,
  probed_at TEXT NOT NULL,
  url       TEXT NOT NULL CONSTRAINT probe_url_length CHECK (length(url) <= 2048),
  body      TEXT NOT NULL
) STRICT;
CREATE INDEX probe_results_history ON probe_results (endpoint, host_id, probed_at);
CREATE INDEX probe_results_by_batch ON probe_results (batch_id);

-- The latest result per (endpoint, vantage point) by probedAt: what the rules judge, and what
-- retention never prunes.
CREATE TABLE probe_latest (
  endpoint  TEXT NOT NULL REFERENCES endpoints (name) ON DELETE CASCADE,
  host_id   TEXT NOT NULL,
  result_id INTEGER NOT NULL REFERENCES probe_results (id) ON DELETE CASCADE,
  probed_at TEXT NOT NULL,
  PRIMARY KEY (endpoint, host_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX probe_latest_by_result ON probe_latest (result_id);
`;

// Host identity (docs/operations.md, security model). tokens.host_id: an agent token is bound
// to the first host id it reports (NULL until then; admin tokens are never bound). Enroll
// secrets are exchanged by agents (POST /api/v1/enroll) for a host key of their own; they live
// apart from tokens because tokens.role's CHECK cannot be widened without rebuilding a table
// that reports and probe_batches reference. A host has at most one live key; a second
// enrollment for a host id with a live key gets a pending key (a duplicate identity) that an
// admin accepts or that stays refused.
const V7 = `
ALTER TABLE tokens ADD COLUMN host_id TEXT;

CREATE TABLE enroll_secrets (
  id           TEXT PRIMARY KEY,
  name         TEXT NOT NULL UNIQUE CONSTRAINT enroll_name_length CHECK (length(name) BETWEEN 1 AND 128),
  hash         TEXT NOT NULL UNIQUE,
  created_at   TEXT NOT NULL,
  expires_at   TEXT,
  revoked_at   TEXT,
  last_used_at TEXT
) STRICT;

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
) STRICT;
CREATE UNIQUE INDEX host_keys_live ON host_keys (host_id) WHERE state = 'live';
CREATE INDEX host_keys_by_host ON host_keys (host_id, created_at);
`;

// Migration 8 (issue 16): the services of a host's other network namespaces (containers,
// pods: the report's namespaces[]), kept apart from the host's own so every query of
// services (host filters, the host matrix) means what it meant. namespace is the inode
// (net:[INODE]). The containers' matrix counts, per (proto, port, process), the hosts with
// the service in at least one of their namespaces, as service_matrix does for the host's
// own. Filled from each host's next report: hosts.services_hash covers namespaces' services
// from now on, so a host whose report has any is rewritten then.
const V8 = `
CREATE TABLE namespace_services (
  host_id       TEXT NOT NULL REFERENCES hosts (host_id) ON DELETE CASCADE,
  namespace     INTEGER NOT NULL,
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
) STRICT, WITHOUT ROWID;

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
) STRICT, WITHOUT ROWID;
`;

export const migrations: readonly Migration[] = [
  {
    version: 1,
    description: 'tokens, hosts, latest_reports, reports, services, service_matrix, findings',
    up(db) {
      db.exec(V1);
    },
  },
  {
    version: 2,
    description: 'alerting: alert states, events, groups, evaluations, readiness references, service snapshot, outbox, delivery attempts',
    up(db) {
      db.exec(V2);
    },
  },
  {
    version: 3,
    description: 'services by port: the hosts of one service (the service matrix opens them)',
    up(db) {
      // ~20 bytes per service row; without it, listing one service's hosts reads every
      // host's services.
      db.exec('CREATE INDEX services_by_port ON services (port, proto, mode, host_id)');
    },
  },
  {
    version: 4,
    description: 'fewer writes per report: no per-service connection counters, no last_seen refresh of open findings',
    up(db) {
      // Nothing read them: the per-service counts a user sees come from the latest report's
      // body, the fleet's from hosts.conn_*. Updating them cost ~3 page writes per report.
      db.exec(`
        ALTER TABLE services DROP COLUMN conn_ipv4;
        ALTER TABLE services DROP COLUMN conn_ipv6;
        ALTER TABLE services DROP COLUMN conn_mapped;
        ALTER TABLE hosts DROP COLUMN connections_hash;
      `);
      // An open finding is in the host's current report by definition, so its last_seen is
      // hosts.collected_at, read with a join; only a resolved finding keeps its own (the
      // collectedAt of the last report that had it). Refreshing every open finding's row cost
      // ~3 page writes per report. Settle the open ones' stored value once, for readers that
      // look at the column itself.
      db.exec(`
        UPDATE findings SET last_seen = (SELECT h.collected_at FROM hosts h WHERE h.host_id = findings.host_id)
        WHERE resolved_at IS NULL AND EXISTS (SELECT 1 FROM hosts h WHERE h.host_id = findings.host_id)
      `);
    },
  },
  {
    version: 5,
    description: "the host firewall's verdict per service and family; per service matrix cell, the hosts where it filters a family the sockets take",
    up(db) {
      // firewall_ipv4/ipv6: the verdict of the report's services[].firewall (NULL: not judged,
      // e.g. an agent from before the firewall source). The matrix counts per cell the hosts
      // where a family the socket table lets in from outside (ipv4/ipv6 'any' or 'addresses') is
      // dropped or restricted by the firewall (ingest-rows.ts, firewallFilters).
      db.exec(`
        ALTER TABLE services ADD COLUMN firewall_ipv4 TEXT CHECK (firewall_ipv4 IN ('accepted', 'dropped', 'restricted', 'unknown'));
        ALTER TABLE services ADD COLUMN firewall_ipv6 TEXT CHECK (firewall_ipv6 IN ('accepted', 'dropped', 'restricted', 'unknown'));
        ALTER TABLE service_matrix ADD COLUMN firewall_ipv4_filtered INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE service_matrix ADD COLUMN firewall_ipv6_filtered INTEGER NOT NULL DEFAULT 0;
      `);
      backfillFirewall(db);
    },
  },
  {
    version: 6,
    description: 'published endpoints (from the configuration and the admin API) and the probe batches of vantage points',
    up(db) {
      db.exec(V6);
    },
  },
  {
    version: 7,
    description: 'one host, one identity: agent tokens bound to their host, enroll secrets, host keys',
    up(db) {
      db.exec(V7);
    },
  },
  {
    version: 8,
    description: "containers' network namespaces: their services per host, and their own service matrix",
    up(db) {
      db.exec(V8);
    },
  },
  {
    version: 9,
    description: 'quotas: the most hosts an enroll secret may enroll',
    up(db) {
      // NULL: the configuration's maxHostsPerEnrollSecret, or no limit. The index counts a secret's hosts.
      db.exec(`
        ALTER TABLE enroll_secrets ADD COLUMN max_hosts INTEGER CONSTRAINT max_hosts_positive CHECK (max_hosts IS NULL OR max_hosts >= 1);
        CREATE INDEX host_keys_by_secret ON host_keys (secret_id, host_id) WHERE state != 'revoked';
      `);
    },
  },
  {
    version: 10,
    description: "quotas: each host's count of stored reports, kept by triggers, for its history budget",
    up(db) {
      // Kept by triggers so every delete (retention, the budget, a host deleted) keeps it exact,
      // and ingest reads one row instead of counting a host's history.
      db.exec(`
        ALTER TABLE hosts ADD COLUMN history_reports INTEGER NOT NULL DEFAULT 0;
        UPDATE hosts SET history_reports = (SELECT count(*) FROM reports r WHERE r.host_id = hosts.host_id);
        CREATE TRIGGER reports_counted AFTER INSERT ON reports BEGIN
          UPDATE hosts SET history_reports = history_reports + 1 WHERE host_id = NEW.host_id;
        END;
        CREATE TRIGGER reports_uncounted AFTER DELETE ON reports BEGIN
          UPDATE hosts SET history_reports = history_reports - 1 WHERE host_id = OLD.host_id;
        END;
      `);
    },
  },
];

/**
 * Migration 5's data: agents have sent firewall verdicts before this collector stored them, so
 * the hosts' current reports (latest_reports) may hold some. Each such host's service rows get
 * the verdicts of its report's services, matched by everything a row stores (a row the report
 * does not explain leaves the host's services_hash cleared: its next report rewrites them), and
 * services_hash becomes the hash ingest now computes for that report (the verdicts are part of
 * a service's identity), so the next report does not rewrite the rows again. Then the matrix's
 * firewall counters are counted from the rows. Only bodies that mention a firewall are parsed.
 */
function backfillFirewall(db: Database.Database): void {
  const bodies = db.prepare<[], { host_id: string; body: string }>(`
    SELECT l.host_id, l.body FROM latest_reports l JOIN hosts h ON h.host_id = l.host_id
    WHERE h.last_report_id = l.report_id AND instr(l.body, '"firewall"') > 0`);
  const rows = db.prepare<[string], { seq: number; proto: string; port: number; process: string | null; pid: number | null; mode: string; ipv4: string; ipv6: string; bindings: string }>(
    'SELECT seq, proto, port, process, pid, mode, ipv4, ipv6, bindings FROM services WHERE host_id = ?',
  );
  const setVerdicts = db.prepare<[string | null, string | null, string, number]>('UPDATE services SET firewall_ipv4 = ?, firewall_ipv6 = ? WHERE host_id = ? AND seq = ?');
  const setHash = db.prepare<[string, string]>('UPDATE hosts SET services_hash = ? WHERE host_id = ?');
  const rowKey = (r: { proto: string; port: number; process: string | null; pid: number | null; mode: string; ipv4: string; ipv6: string }, bindings: string) =>
    JSON.stringify([r.proto, r.port, r.process, r.pid, r.mode, r.ipv4, r.ipv6, bindings]);
  for (const { host_id: hostId, body } of bodies.all()) {
    let report: Report;
    try {
      report = JSON.parse(body) as Report;
    } catch {
      continue; // not JSON: nothing to take from it (ingest only stores bodies it parsed)
    }
    if (!Array.isArray(report.services) || !report.services.some((s) => s.firewall)) continue;
    const keyed = serviceRows(report);
    const verdicts = new Map<string, Array<ReturnType<typeof firewallVerdicts>>>();
    for (const { service } of keyed) {
      const key = rowKey(service, bindingsJson(service.bindings));
      const list = verdicts.get(key) ?? [];
      list.push({ ipv4: service.firewallIpv4, ipv6: service.firewallIpv6 });
      verdicts.set(key, list);
    }
    const stored = rows.all(hostId);
    let explained = stored.length === keyed.length;
    for (const row of stored) {
      const found = verdicts.get(rowKey(row, row.bindings))?.shift();
      if (!found) {
        explained = false;
        continue;
      }
      setVerdicts.run(found.ipv4, found.ipv6, hostId, row.seq);
    }
    setHash.run(explained ? servicesHash(keyed) : '', hostId);
  }
  db.exec(`
    UPDATE service_matrix SET
      firewall_ipv4_filtered = (SELECT count(DISTINCT s.host_id) FROM services s
        WHERE s.port = service_matrix.port AND s.proto = service_matrix.proto AND coalesce(s.process, '') = service_matrix.process
          AND s.ipv4 IN ('any', 'addresses') AND s.firewall_ipv4 IN ('dropped', 'restricted')),
      firewall_ipv6_filtered = (SELECT count(DISTINCT s.host_id) FROM services s
        WHERE s.port = service_matrix.port AND s.proto = service_matrix.proto AND coalesce(s.process, '') = service_matrix.process
          AND s.ipv6 IN ('any', 'addresses') AND s.firewall_ipv6 IN ('dropped', 'restricted'))
    WHERE EXISTS (SELECT 1 FROM services s WHERE s.port = service_matrix.port AND s.proto = service_matrix.proto
      AND (s.firewall_ipv4 IN ('dropped', 'restricted') OR s.firewall_ipv6 IN ('dropped', 'restricted')))
  `);
}

/** The schema version this code writes and understands. */
export const SCHEMA_VERSION: number = migrations.reduce((max, m) => Math.max(max, m.version), 0);

// Versions must be 1, 2, 3, ... in order: a gap or a duplicate is a programming error that
// must not reach a database.
migrations.forEach((m, index) => {
  if (m.version !== index + 1) throw new Error(`migrations: entry ${index} has version ${m.version}, expected ${index + 1}`);
});

export class SchemaTooNewError extends Error {
  constructor(
    readonly file: string,
    readonly found: number,
    readonly supported: number,
  ) {
    super(
      `${file}: database schema version ${found} is newer than this collector understands (${supported}). ` +
        'It was written by a newer dualstack-collector: run that version, or restore a backup taken before the upgrade. ' +
        'Nothing was changed.',
    );
    this.name = 'SchemaTooNewError';
  }
}

export function userVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/**
 * Brings the database to SCHEMA_VERSION. Each step runs in BEGIN IMMEDIATE and re-reads
 * user_version inside, so two processes opening the same new file do not both migrate.
 */
export function migrate(db: Database.Database, list: readonly Migration[] = migrations): { from: number; to: number } {
  const target = list.reduce((max, m) => Math.max(max, m.version), 0);
  const from = userVersion(db);
  if (from > target) throw new SchemaTooNewError(db.name, from, target);
  for (const migration of list) {
    if (migration.version <= from) continue;
    db.transaction(() => {
      const current = userVersion(db);
      if (current >= migration.version) return;
      if (current !== migration.version - 1) {
        throw new Error(`${db.name}: cannot apply migration ${migration.version} to schema version ${current}`);
      }
      migration.up(db);
      // user_version lives in the database header, so it commits or rolls back with the step.
      db.pragma(`user_version = ${migration.version}`);
    }).immediate();
  }
  return { from, to: userVersion(db) };
}
