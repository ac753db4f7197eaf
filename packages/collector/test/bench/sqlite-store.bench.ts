// Ingest throughput of SqliteStore vs raw better-sqlite3 inserts of the same rows.
//   node --import tsx packages/collector/test/bench/sqlite-store.bench.ts [reports] [concurrency] [FULL|NORMAL]
// Prints reports/s and per-report latency; ratios are against the raw baseline measured in
// the same run on the same disk.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Report } from '@dualstack/core';
import { SqliteStore } from '../../src/db/sqlite-store.js';
import { openDatabase } from '../../src/db/open.js';
import { realisticReport } from '../helpers/reports.js';

const total = Number(process.argv[2] ?? 2000);
const concurrency = Number(process.argv[3] ?? 20);
const synchronous = (process.argv[4] ?? 'FULL') as 'FULL' | 'NORMAL';
const dir = mkdtempSync(join(tmpdir(), 'dualstack-bench-'));

function reportsFor(hosts: number): Report[] {
  const rounds = Math.ceil(total / hosts);
  const start = Date.now() - rounds * 300_000;
  const out: Report[] = [];
  for (let round = 0; round < rounds; round++) {
    for (let h = 0; h < hosts && out.length < total; h++) {
      out.push(realisticReport({ hostId: `host-${String(h).padStart(6, '0')}`, collectedAt: new Date(start + round * 300_000 + h), round }));
    }
  }
  return out;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

async function benchStore(name: string, reports: Report[]) {
  const store = new SqliteStore(join(dir, `${name}.db`), { staleAfterSeconds: 900, synchronous });
  const latencies: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < reports.length; i += concurrency) {
    await Promise.all(
      reports.slice(i, i + concurrency).map(async (r) => {
        const started = performance.now();
        await store.ingestReport(r, { receivedAt: new Date().toISOString(), tokenId: null, bytes: 31000 });
        latencies.push(performance.now() - started);
      }),
    );
  }
  const seconds = (performance.now() - t0) / 1000;
  const stats = store.stats();
  await store.close();
  latencies.sort((a, b) => a - b);
  return { perSecond: reports.length / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99), flushes: stats.flushes };
}

/** The same rows, no logic: one transaction per report (or per group of `group`). */
function benchRaw(name: string, reports: Report[], group: number) {
  const db = openDatabase(join(dir, `${name}.db`), { synchronous });
  const host = db.prepare(`INSERT INTO hosts (host_id, hostname, distro, kernel, first_seen, last_seen, last_report_id, collected_at,
      ipv6_routable, ipv4_routable, services_exposed, services_dual, findings_critical, findings_warning, findings_info,
      conn_ipv4, conn_ipv6, conn_mapped, service_modes, services_hash, services_updated_at, connections_hash, findings_hash)
    VALUES (?, ?, NULL, NULL, ?, ?, ?, ?, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 'h', ?, 'c', 'f')
    ON CONFLICT (host_id) DO UPDATE SET last_seen = excluded.last_seen, last_report_id = excluded.last_report_id, collected_at = excluded.collected_at`);
  const latest = db.prepare('INSERT INTO latest_reports (host_id, report_id, body) VALUES (?, ?, ?) ON CONFLICT (host_id) DO UPDATE SET report_id = excluded.report_id, body = excluded.body');
  const history = db.prepare(`INSERT INTO reports (report_id, host_id, collected_at, received_at, bytes, token_id, applied, ipv6_routable, exposed, dual, critical, warning, ack_open, ack_opened, ack_resolved)
    VALUES (?, ?, ?, ?, 31000, NULL, 1, 1, 0, 0, 0, 0, 0, 0, 0)`);
  const delServices = db.prepare('DELETE FROM services WHERE host_id = ?');
  const service = db.prepare(`INSERT INTO services (host_id, seq, proto, port, process, pid, mode, ipv4, ipv6, bindings, conn_ipv4, conn_ipv6, conn_mapped) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const findingStmt = db.prepare(`INSERT INTO findings (host_id, rule, subject, severity, message, evidence, fix, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (host_id, rule, subject) DO UPDATE SET last_seen = excluded.last_seen, message = excluded.message`);
  const write = db.transaction((rs: Report[]) => {
    for (const r of rs) {
      const now = new Date().toISOString();
      host.run(r.host.hostId, r.host.hostname, now, now, r.reportId, r.collectedAt, r.collectedAt);
      delServices.run(r.host.hostId);
      r.services.forEach((s, seq) => service.run(r.host.hostId, seq, s.proto, s.port, s.process, s.pid, s.mode, s.ipv4, s.ipv6, JSON.stringify(s.bindings), s.connections.ipv4, s.connections.ipv6, s.connections.mapped));
      for (const f of r.findings) findingStmt.run(r.host.hostId, f.rule, f.subject, f.severity, f.message, JSON.stringify(f.evidence), JSON.stringify(f.fix), r.collectedAt, r.collectedAt);
      latest.run(r.host.hostId, r.reportId, JSON.stringify(r));
      history.run(r.reportId, r.host.hostId, r.collectedAt, now);
    }
  });
  const t0 = performance.now();
  for (let i = 0; i < reports.length; i += group) write.immediate(reports.slice(i, i + group));
  const seconds = (performance.now() - t0) / 1000;
  db.close();
  return { perSecond: reports.length / seconds };
}

const size = JSON.stringify(reportsFor(1)[0]).length;
console.log(`${total} reports of ${(size / 1024).toFixed(1)} KB (50 services, 10 findings), ${concurrency} concurrent, synchronous=${synchronous}, ${dir}`);
for (const [label, hosts] of [
  ['new hosts (every report a first report)', total],
  ['steady state (200 hosts x 10 rounds)', 200],
] as const) {
  const reports = reportsFor(hosts);
  const tag = hosts === total ? 'new' : 'steady';
  const raw = benchRaw(`raw-${tag}`, reports, 1);
  const rawGrouped = benchRaw(`rawgroup-${tag}`, reports, concurrency);
  const store = await benchStore(`store-${tag}`, reports);
  console.log(`\n${label}`);
  console.log(`  raw, 1 transaction per report:        ${raw.perSecond.toFixed(0).padStart(6)} reports/s  (1.00x)`);
  console.log(`  raw, ${concurrency} reports per transaction:     ${rawGrouped.perSecond.toFixed(0).padStart(6)} reports/s  (${(rawGrouped.perSecond / raw.perSecond).toFixed(2)}x)`);
  console.log(
    `  SqliteStore.ingestReport, batched:     ${store.perSecond.toFixed(0).padStart(6)} reports/s  (${(store.perSecond / raw.perSecond).toFixed(2)}x)  latency p50 ${store.p50.toFixed(1)} ms, p99 ${store.p99.toFixed(1)} ms, ${store.flushes} flushes`,
  );
}
rmSync(dir, { recursive: true, force: true });
