// Prometheus metrics: ingest counters and latency, and fleet gauges read from the store at
// scrape time. One registry per app, so several apps in one process (tests) do not clash.
import fp from 'fastify-plugin';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { FleetSummary } from '../api.js';
import { backendOf, timedStore } from '../db/timed-store.js';

declare module 'fastify' {
  interface FastifyInstance {
    metrics: {
      registry: Registry;
      ingested: Counter<'result'>;
      ingestSeconds: Histogram;
      probeBatches: Counter<'result'>;
    };
  }
}

export const metricsPlugin = fp(
  async (app) => {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry, prefix: 'dualstack_collector_' });
    const ingested = new Counter({
      name: 'dualstack_ingest_reports_total',
      help: 'Reports received, by result: stored, duplicate, rejected.',
      labelNames: ['result'],
      registers: [registry],
    });
    const ingestSeconds = new Histogram({
      name: 'dualstack_ingest_duration_seconds',
      help: 'Time from request to acknowledged commit of a report.',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers: [registry],
    });
    const probeBatches = new Counter({
      name: 'dualstack_probe_batches_total',
      help: 'Probe batches of vantage points received, by result: stored, duplicate, rejected.',
      labelNames: ['result'],
      registers: [registry],
    });
    for (const result of ['stored', 'duplicate', 'rejected']) probeBatches.inc({ result }, 0);
    // Every Store call, timed in one place: the app's store is replaced by the timed wrapper here,
    // before the routes, the alerts and the jobs that use it are registered (db/timed-store.ts).
    const queries = new Histogram({
      name: 'dualstack_db_query_seconds',
      help: 'Duration of database operations, by backend (sqlite, postgres) and operation (the Store method: ingestReport, getHost, listHosts, summary, servicesMatrix, pruneReports, …).',
      labelNames: ['backend', 'operation'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    });
    const backend = backendOf(app.store);
    app.store = timedStore(app.store, (operation, seconds) => queries.observe({ backend, operation }, seconds));
    // Every fleet gauge reads the same summary: compute it once per scrape, not per gauge.
    let cached: { at: number; summary: Promise<FleetSummary> } | null = null;
    const summary = (): Promise<FleetSummary> => {
      if (!cached || Date.now() - cached.at > 1000) cached = { at: Date.now(), summary: app.store.summary(new Date()) };
      return cached.summary;
    };
    const fleet = (name: string, help: string, pick: (s: FleetSummary) => number | null) =>
      new Gauge({
        name,
        help,
        registers: [registry],
        async collect() {
          const value = pick(await summary());
          if (value !== null) this.set(value);
        },
      });
    fleet('dualstack_fleet_hosts', 'Hosts that ever reported.', (s) => s.hosts);
    fleet('dualstack_fleet_stale_hosts', 'Hosts whose last report is older than the stale threshold.', (s) => s.staleHosts);
    fleet('dualstack_fleet_ipv6_routable_ratio', 'Share of fresh hosts whose kernel routes global IPv6.', (s) => s.ipv6RoutableShare);
    fleet('dualstack_fleet_dual_stack_service_ratio', 'Share of exposed services reachable over both families.', (s) => s.dualStackServiceShare);
    fleet('dualstack_fleet_ipv6_connection_ratio', 'Share of established connections to services that came over IPv6.', (s) => s.ipv6ConnectionShare);
    new Gauge({
      name: 'dualstack_fleet_open_findings',
      help: 'Open findings across the fleet, by severity.',
      labelNames: ['severity'],
      registers: [registry],
      async collect() {
        const { findings } = await summary();
        for (const [severity, count] of Object.entries(findings)) this.set({ severity }, count);
      },
    });
    // Counters read at scrape time: rate(reports) / rate(transactions) is the group-commit size.
    const batches = (name: string, help: string, pick: (b: { transactions: number; reports: number }) => number) =>
      new Counter({
        name,
        help,
        registers: [registry],
        collect() {
          this.reset();
          this.inc(pick(app.store.ingestBatches()));
        },
      });
    batches('dualstack_ingest_transactions_total', 'Ingest write transactions (each commits a batch of concurrent reports).', (b) => b.transactions);
    batches('dualstack_ingest_batched_reports_total', 'Reports written by those transactions.', (b) => b.reports);
    new Counter({
      name: 'dualstack_history_trimmed_reports_total',
      help: "Reports deleted at ingest because their host had more than maxReportsPerHost stored (its oldest first).",
      registers: [registry],
      collect() {
        this.reset();
        this.inc(app.store.historyTrimmed?.() ?? 0);
      },
    });
    // The database connection pool (PostgreSQL): busy near max with clients waiting means the
    // pool, or the database behind it, is what ingest waits for.
    if (app.store.poolUsage) {
      const usage = () => app.store.poolUsage!();
      new Gauge({
        name: 'dualstack_db_pool_connections',
        help: 'Database connections of this collector, by state: busy (checked out), idle, max (the pool size).',
        labelNames: ['state'],
        registers: [registry],
        collect() {
          const u = usage();
          this.set({ state: 'busy' }, u.open - u.idle);
          this.set({ state: 'idle' }, u.idle);
          this.set({ state: 'max' }, u.max);
        },
      });
      new Gauge({
        name: 'dualstack_db_pool_waiting',
        help: 'Queries waiting for a free database connection.',
        registers: [registry],
        collect() {
          this.set(usage().waiting);
        },
      });
    }
    app.decorate('metrics', { registry, ingested, ingestSeconds, probeBatches });
    app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
      reply.type(registry.contentType);
      return registry.metrics();
    });
  },
  { name: 'metrics', dependencies: ['store'], fastify: '5.x' },
);
