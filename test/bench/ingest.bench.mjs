#!/usr/bin/env node
// Ingest benchmark: sustained POST /api/v1/reports of realistic reports (realisticReport of
// packages/collector/test/helpers/reports.ts: 50 services, 10 findings, ~31 KB) with autocannon,
// against the real collector and, in the same run, against baselines:
//   empty     Fastify route answering 204 from onRequest: the body is never parsed
//   parse     Fastify parses the JSON body and answers 202 (no schema)
//   validate  parse + the collector's body validation (TypeBoxValidatorCompiler, core's Report)
//   collector `node packages/collector/dist/cli.js serve` on a fresh database (admin token: an agent token is bound to its first host; --rate-limit off: one credential
//             sending thousands of reports/s would be refused past its 2,400/min)
//   pg        the same collector on PostgreSQL (--db postgres://): a cluster the bench starts itself
//             (initdb into the temp dir, unix socket only, durable settings: fsync and
//             synchronous_commit on, as SQLite's synchronous=FULL), stopped by its PID at the end
//   pg2       two collector processes on that same database, the connections split across both
//             (pg and pg2 share the database and its fleet: one warm-up)
//   raw       better-sqlite3 in this process: the report's rows on a fresh collector database
//             (opened by the collector's own dist/db/open.js), one transaction per report (and,
//             for reference, 20 reports per transaction)
// Every HTTP target is a process of its own on 127.0.0.1; autocannon runs in this process.
// Every request is a distinct report: a new reportId, the next host of a fleet of --hosts hosts
// and a collectedAt 5 minutes after that host's previous one. A warm-up first sends one report
// per host (the collector creates every host), so the measured reports are steady-state updates.
//
//   npm run build   (the bench runs packages/*/dist)
//   node test/bench/ingest.bench.mjs [--duration 10] [--connections 20,50]
//        [--hosts 2000] [--warmup 2] [--repeat 1] [--targets empty,parse,validate,collector,raw,pg,pg2]
//        [--pg-bin /usr/lib/postgresql/15/bin] [--pg-set name=value ...]
//        [--profile DIR] [--pg-statements] [--fleet DIR [--seed-only]]
//        [--collector path/to/dist/cli.js]   (another build of the collector, e.g. a candidate change)
//
// --pg-set name=value (repeatable) adds a server setting to the bench's cluster, to try a
// sizing (shared_buffers=4GB, max_wal_size=8GB, ...); without it the cluster runs PostgreSQL's
// defaults.
// --profile DIR runs the collector with --cpu-prof (the profile lands in DIR) and prints where
// its CPU time went. --pg-statements loads pg_stat_statements into the bench's cluster and
// prints the statements the PostgreSQL phases ran (counted from the end of the warm-ups), the
// costliest first, with their calls, rows and plan and execution time per call.
// --fleet DIR keeps the collector's SQLite database and the PostgreSQL cluster in DIR, and the
// fleet the warm-up made: a later run with the same DIR and --hosts skips the warm-up (seeding
// 200,000 hosts takes minutes), its reports following on the seeded ones. --seed-only stops
// after the warm-up: seed once, measure when the machine is quiet. Internal modes, used by the bench itself:
//   --emit-templates (under node --import tsx): prints realisticReport bodies with placeholders
//   --serve empty|parse|validate: runs one baseline server and prints "PORT <n>"
// Prints figures, asserts nothing; not part of `npm test`. See README.md in this folder.
import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const SELF = fileURLToPath(import.meta.url);
const REPO = resolve(dirname(SELF), '../..');
const COLLECTOR_DIR = join(REPO, 'packages/collector');
let CLI = join(COLLECTOR_DIR, 'dist/cli.js');
const PATH = '/api/v1/reports';
const BODY_LIMIT = 2 * 1024 * 1024; // the collector's default bodyLimitBytes
const TEMPLATE_ROUNDS = 12; // connection counters differ from one round to the next
const INTERVAL_MS = 300_000; // agents report every 5 minutes
const TARGET_RATIO = 0.4;
const TARGET_RATE = 1000;
const TARGET_P99_MS = 50;
const TARGET_CONNECTIONS = 20;
const PG_TARGET_RATIO = 0.7; // PostgreSQL with one collector against SQLite, same run (issue 18)

const mode = process.argv[2];
if (mode === '--emit-templates') await emitTemplates();
else if (mode === '--serve') await serveBaseline(process.argv[3]);
else await main();

// --- child modes -------------------------------------------------------------------------------

/** Runs under tsx: the realistic report of test/helpers/reports.ts, one per round, as templates. */
async function emitTemplates() {
  const { realisticReport } = await import(pathToFileURL(join(COLLECTOR_DIR, 'test/helpers/reports.ts')).href);
  const templates = [];
  for (let round = 0; round < TEMPLATE_ROUNDS; round++) {
    templates.push(JSON.stringify(realisticReport({ hostId: '__HOST__', collectedAt: '__AT__', reportId: '__RID__', round })));
  }
  process.stdout.write(JSON.stringify(templates));
}

async function serveBaseline(kind) {
  const { default: Fastify } = await import('fastify');
  const app = Fastify({ logger: false, bodyLimit: BODY_LIMIT });
  if (kind === 'empty') {
    // onRequest runs before the content-type parser: the body is never buffered nor parsed
    // (Node discards it from the socket once the response is sent, as keep-alive requires).
    app.post(PATH, { onRequest: async (_request, reply) => reply.code(204).send() }, async () => undefined);
  } else if (kind === 'parse') {
    app.post(PATH, async (request, reply) => reply.code(202).send({ reportId: request.body.reportId }));
  } else if (kind === 'validate') {
    const { TypeBoxValidatorCompiler } = await import('@fastify/type-provider-typebox');
    const { Report } = await import('@dualstack/core/schema');
    app.setValidatorCompiler(TypeBoxValidatorCompiler);
    app.post(PATH, { schema: { body: Report } }, async (request, reply) => reply.code(202).send({ reportId: request.body.reportId }));
  } else {
    throw new Error(`--serve: unknown kind '${kind}'`);
  }
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  process.stdout.write(`PORT ${new URL(address).port}\n`);
  const stop = () => app.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

// --- the bench ---------------------------------------------------------------------------------

async function main() {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '10' },
      connections: { type: 'string', default: '20,50' },
      hosts: { type: 'string', default: '2000' },
      warmup: { type: 'string', default: '2' },
      targets: { type: 'string', default: 'empty,parse,validate,collector,raw' },
      repeat: { type: 'string', default: '1' },
      profile: { type: 'string' },
      'pg-statements': { type: 'boolean' },
      fleet: { type: 'string' },
      'seed-only': { type: 'boolean' },
      collector: { type: 'string' },
      'pg-set': { type: 'string', multiple: true, default: [] },
      'pg-bin': { type: 'string', default: process.env.DUALSTACK_POSTGRES_BIN ?? '/usr/lib/postgresql/15/bin' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    const lines = readFileSync(SELF, 'utf8').split('\n').slice(1);
    process.stdout.write(lines.slice(0, lines.findIndex((l) => !l.startsWith('//'))).map((l) => l.slice(3)).join('\n') + '\n');
    return;
  }
  if (values.collector) CLI = resolve(values.collector);
  const duration = Number(values.duration);
  const repeat = Number(values.repeat);
  const warmup = Number(values.warmup);
  const hosts = Number(values.hosts);
  const connectionCounts = values.connections.split(',').map(Number);
  const targets = new Set(values.targets.split(','));
  targets.add('parse'); // the reference of every ratio
  for (const t of targets) if (!['empty', 'parse', 'validate', 'collector', 'raw', 'pg', 'pg2'].includes(t)) throw new Error(`--targets: unknown target '${t}'`);
  if (!(duration > 0) || !(hosts > 0) || !(warmup >= 0) || !(repeat >= 1) || connectionCounts.some((c) => !(c > 0))) throw new Error('bad --duration, --hosts, --warmup or --connections');

  const { default: autocannon } = await import('autocannon');
  const dir = mkdtempSync(join(tmpdir(), 'dualstack-ingest-bench-'));
  if (values['seed-only'] && !values.fleet) throw new Error('--seed-only needs --fleet DIR (where the seeded fleet is kept)');
  const fleetDir = values.fleet ? resolve(values.fleet) : null;
  if (fleetDir) mkdirSync(fleetDir, { recursive: true });
  const dataDir = fleetDir ?? dir;
  const children = new Set();
  let running = null; // the autocannon instance in flight
  let cleaned = false;
  let postgres = null; // { pid, url }
  const cleanupSync = () => {
    if (cleaned) return;
    cleaned = true;
    for (const r of running ?? []) r.stop();
    for (const child of children) if (child.exitCode === null && child.signalCode === null) process.kill(child.pid, 'SIGKILL');
    if (postgres?.pid) killQuietly(postgres.pid, 'SIGQUIT'); // immediate shutdown by the postmaster's PID
    rmSync(dir, { recursive: true, force: true });
  };
  process.on('exit', cleanupSync);
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.on(signal, () => {
      process.stderr.write(`\n${signal}: stopping the servers and removing ${dir}\n`);
      cleanupSync();
      process.exit(130);
    });
  }

  const templates = loadTemplates();
  const sizes = templates.map((t) => Buffer.byteLength(render(t, 'bench-host-000000', randomUUID(), new Date().toISOString())));
  const meanSize = sizes.reduce((a, b) => a + b, 0) / sizes.length;
  console.log(
    `report body: ${fmtInt(meanSize)} bytes (${(meanSize / 1024).toFixed(1)} KiB; ${fmtInt(Math.min(...sizes))}-${fmtInt(Math.max(...sizes))} over ${templates.length} rounds), 50 services, 10 findings`,
  );
  console.log(`fleet: ${fmtInt(hosts)} hosts, every request a new report (new reportId, next host, collectedAt +5 min for that host)`);
  console.log(`each HTTP phase: ${warmup} s warm-up, then ${duration} s measured; connections ${connectionCounts.join(', ')}; ${process.version}, ${(await import('node:os')).cpus().length} CPUs`);
  console.log(`collector ${CLI}; temp dir ${dir}${fleetDir ? `; fleet kept in ${fleetDir}` : ''}\n`);

  // Servers, each in its own process.
  const servers = {};
  for (const kind of ['empty', 'parse', 'validate']) {
    if (!targets.has(kind)) continue;
    servers[kind] = await startBaseline(kind, children);
  }
  let collector = null;
  if (targets.has('collector')) {
    collector = await startCollector(dataDir, children, values.profile);
    servers.collector = collector;
  }
  if (targets.has('pg') || targets.has('pg2')) {
    postgres = await startPostgres(join(dataDir, 'pg'), values['pg-bin'], values['pg-statements'], values['pg-set']);
    console.log(`PostgreSQL ${postgres.version}, postmaster PID ${postgres.pid}, fsync on, synchronous_commit on${values['pg-set'].length ? `, ${values['pg-set'].join(', ')}` : ', default sizing'}`);
    const first = await startCollector(dataDir, children, values.profile, postgres.url);
    if (targets.has('pg')) servers.pg = { ...first, kind: 'pg', postgres };
    if (targets.has('pg2')) {
      const second = await startCollector(dataDir, children, null, postgres.url, first.token);
      servers.pg2 = { kind: 'pg2', child: first.child, port: first.port, token: first.token, postgres, others: [second] };
    }
  }

  // One report sequence per target, so the collector's starts with one report per host;
  // pg and pg2 share one database, hence one fleet and one sequence.
  const sequences = {};
  // A kept fleet (--fleet) says when its reports began and how many hosts it has: its next
  // reports follow on, and the warm-up is not sent again.
  const seeded = {};
  for (const kind of Object.keys(servers)) {
    const fleetKind = kind === 'pg2' ? 'pg' : kind;
    const marker = fleetDir && (kind === 'collector' || fleetKind === 'pg') ? join(fleetDir, `seeded-${fleetKind}.json`) : null;
    const kept = marker && existsSync(marker) ? JSON.parse(readFileSync(marker, 'utf8')) : null;
    if (kept && kept.hosts !== hosts) throw new Error(`--fleet ${fleetDir}: its ${fleetKind} fleet has ${kept.hosts} hosts, not --hosts ${hosts}`);
    const start = kept?.start ?? Date.now() - 3 * 86_400_000;
    seeded[kind] = { marker, kept, start };
    if (kind === 'pg2' && sequences.pg) sequences[kind] = sequences.pg;
    else sequences[kind] = reportSequence(templates, hosts, start, kept ? hosts : 0);
  }

  // pg2: one autocannon per collector, the connections split between them, run at once.
  const fire = async (kind, opts) => {
    const server = servers[kind];
    const ports = [server.port, ...(server.others ?? []).map((o) => o.port)];
    if (ports.length === 1) return fireAt(kind, ports[0], opts);
    const parts = await Promise.all(
      ports.map((port, i) => {
        const share = (n) => (n === undefined ? undefined : Math.floor(n / ports.length) + (i < n % ports.length ? 1 : 0));
        return fireAt(kind, port, { ...opts, connections: share(opts.connections), amount: share(opts.amount) });
      }),
    );
    return mergeResults(parts);
  };
  const fireAt = (kind, port, opts) =>
    new Promise((resolvePromise, reject) => {
      const server = servers[kind];
      const next = sequences[kind];
      const instance = autocannon(
        {
          url: `http://127.0.0.1:${port}`,
          pipelining: 1,
          timeout: 30,
          ...opts,
          requests: [
            {
              method: 'POST',
              path: PATH,
              headers: { 'content-type': 'application/json', authorization: `Bearer ${server.token ?? 'not-checked'}` },
              setupRequest: (request) => ({ ...request, body: next() }),
            },
          ],
        },
        (error, result) => {
          running?.delete(instance);
          if (error) reject(error);
          else resolvePromise(result);
        },
      );
      (running ??= new Set()).add(instance);
    });

  // Warm-up: one report per host (the collector creates the fleet), on every server alike
  // (pg2 shares pg's fleet).
  for (const kind of Object.keys(servers)) {
    if (kind === 'pg2' && servers.pg) continue;
    if (seeded[kind]?.kept) {
      console.log(`warm-up ${kind.padEnd(9)} skipped: the kept fleet has its ${fmtInt(hosts)} hosts`);
      continue;
    }
    const t0 = performance.now();
    const result = await fire(kind, { connections: 20, amount: hosts });
    const bad = result.non2xx + result.errors + result.timeouts;
    console.log(`warm-up ${kind.padEnd(9)} ${fmtInt(hosts)} reports (every host's first) in ${((performance.now() - t0) / 1000).toFixed(1)} s${bad ? `, ${bad} failed` : ''}`);
    // A few lost to a loaded machine (timeouts) leave their hosts to be created by the measured
    // phases, which count them as any request; more say the collector is broken.
    if (bad > hosts / 100) throw new Error(`${kind}: ${bad} warm-up requests failed (status codes ${JSON.stringify(result.statusCodeStats)})`);
    if (bad) console.log(`  ${bad} of them failed (errors ${result.errors}, timeouts ${result.timeouts}, non-2xx ${result.non2xx}): those hosts are created by the measured phases`);
    if (seeded[kind]?.marker) writeFileSync(seeded[kind].marker, JSON.stringify({ hosts, start: seeded[kind].start }) + '\n');
  }
  if (values['seed-only']) {
    for (const server of Object.values(servers)) {
      await stopChild(server.child);
      for (const o of server.others ?? []) await stopChild(o.child);
    }
    if (postgres) await stopPostgres(postgres.pid);
    postgres = null;
    console.log(`seeded: ${fleetDir} (measure with the same --fleet and --hosts)`);
    return;
  }

  // The measured phases, --repeat times over (interleaved, so slow spells of a shared machine
  // hit every target alike); the table shows medians.
  const samples = [];
  const profileWindows = [];
  for (let rep = 1; rep <= repeat; rep++) {
    if (repeat > 1) process.stderr.write(`round ${rep}/${repeat}\n`);
    for (const connections of connectionCounts) {
      let parseRate = NaN;
      let sqliteRate = NaN;
      let pgRate = NaN;
      for (const kind of ['parse', 'empty', 'validate', 'collector', 'pg', 'pg2']) {
        if (!servers[kind]) continue;
        if (warmup > 0) await fire(kind, { connections, duration: warmup });
        if (postgres?.statements && (kind === 'pg' || kind === 'pg2')) await resetStatements(postgres);
        const pids = () => [process.pid, ...[...children].map((c) => c.pid), ...(postgres ? postgresPids(postgres.pid) : [])];
        const before = cpuSnapshot(pids());
        const server = servers[kind];
        const serverPid = server.child.pid;
        // CPU of what serves the report: the collector process(es), and on PostgreSQL the
        // postmaster and its backends (connections held by the pools: they live through the phase).
        const servingPids = [serverPid, ...(server.others ?? []).map((o) => o.child.pid)];
        const serving = () => servingPids.reduce((sum, pid) => sum + ticksOf(pid), 0);
        const database = () => (server.postgres ? postgresPids(server.postgres.pid).reduce((sum, pid) => sum + ticksOf(pid), 0) : 0);
        const serverBefore = [serving(), ticksOf(`${serverPid}/task/${serverPid}`), database()];
        const startUs = Number(process.hrtime.bigint() / 1000n);
        const result = await fire(kind, { connections, duration });
        const serverAfter = [serving(), ticksOf(`${serverPid}/task/${serverPid}`), database()];
        const other = otherCores(before, cpuSnapshot(pids()));
        if (kind === 'collector') {
          profileWindows.push({ label: `${connections} connections, measured ${duration} s${repeat > 1 ? `, round ${rep}` : ''}`, start: startUs, end: Number(process.hrtime.bigint() / 1000n) });
        }
        const rate = result['2xx'] / result.duration;
        if (kind === 'parse') parseRate = rate;
        if (kind === 'collector') sqliteRate = rate;
        if (kind === 'pg') pgRate = rate;
        samples.push({
          kind,
          connections,
          rate,
          ratio: rate / parseRate,
          sqliteRatio: kind === 'pg' || kind === 'pg2' ? rate / sqliteRate : NaN,
          pgRatio: kind === 'pg2' ? rate / pgRate : NaN,
          p50: result.latency.p50,
          p99: result.latency.p99,
          failed: result.non2xx + result.errors + result.timeouts,
          codes: Object.keys(result.statusCodeStats),
          other,
          // CPU of the server process(es) (all threads) and of its main thread, per 2xx response;
          // on PostgreSQL the database's CPU is added to cpuUs and shown apart as dbUs
          cpuUs: ((serverAfter[0] - serverBefore[0] + serverAfter[2] - serverBefore[2]) * 10_000) / result['2xx'],
          mainUs: ((serverAfter[1] - serverBefore[1]) * 10_000) / result['2xx'],
          dbUs: server.postgres ? ((serverAfter[2] - serverBefore[2]) * 10_000) / result['2xx'] : NaN,
          nodeUs: ((serverAfter[0] - serverBefore[0]) * 10_000) / result['2xx'],
        });
      }
    }
    // Raw better-sqlite3 in this process, while the servers sit idle.
    if (targets.has('raw')) {
      for (const [group, seconds] of [[1, duration], [20, Math.max(1, duration / 2)]]) {
        const pids = [process.pid, ...[...children].map((c) => c.pid)];
        const before = cpuSnapshot(pids);
        const result = await rawInserts(join(dir, `raw-${group}-${rep}.db`), templates, hosts, start, group, seconds);
        samples.push({ kind: `raw${group}`, connections: 0, ...result, failed: 0, codes: [], other: otherCores(before, cpuSnapshot(pids)) });
      }
    }
  }
  const median = (xs) => {
    const v = xs.filter((x) => !Number.isNaN(x)).sort((p, q) => p - q);
    return v.length === 0 ? NaN : v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
  };
  const rows = [];
  for (const key of new Set(samples.map((x) => `${x.kind}@${x.connections}`))) {
    const group = samples.filter((x) => `${x.kind}@${x.connections}` === key);
    rows.push({
      kind: group[0].kind,
      connections: group[0].connections,
      group: group[0].group,
      rate: median(group.map((x) => x.rate)),
      ratio: median(group.map((x) => x.ratio ?? NaN)),
      p50: median(group.map((x) => x.p50)),
      p99: median(group.map((x) => x.p99)),
      failed: group.reduce((sum, x) => sum + x.failed, 0),
      codes: [...new Set(group.flatMap((x) => x.codes))].join('/'),
      other: Math.max(...group.map((x) => x.other)),
      cpuUs: median(group.map((x) => x.cpuUs ?? NaN)),
      mainUs: median(group.map((x) => x.mainUs ?? NaN)),
      dbUs: median(group.map((x) => x.dbUs ?? NaN)),
      nodeUs: median(group.map((x) => x.nodeUs ?? NaN)),
      sqliteRatio: median(group.map((x) => x.sqliteRatio ?? NaN)),
      pgRatio: median(group.map((x) => x.pgRatio ?? NaN)),
      rates: group.map((x) => x.rate),
    });
  }

  let collectorStats = null;
  if (collector) collectorStats = await collectorMetrics(collector.port);
  const pgStats = [];
  if (servers.pg || servers.pg2) {
    const pgServer = servers.pg ?? servers.pg2;
    for (const s of [pgServer, ...(servers.pg2?.others ?? [])]) pgStats.push(await collectorMetrics(s.port));
  }
  for (const server of Object.values(servers)) {
    await stopChild(server.child);
    for (const o of server.others ?? []) await stopChild(o.child);
  }
  if (postgres?.statements) await printStatements(postgres);
  if (postgres) {
    await stopPostgres(postgres.pid);
    postgres.pid = 0;
  }

  printTable(rows, connectionCounts, repeat);
  if (collectorStats) console.log(`\ncollector /metrics: ${collectorStats}`);
  pgStats.forEach((stats, i) => console.log(`${i === 0 ? '\n' : ''}PostgreSQL collector ${i + 1} /metrics (pg and pg2 phases together): ${stats}`));
  if (values.profile) summarizeProfile(values.profile, profileWindows);
  cleanupSync();
}

// --- reports -----------------------------------------------------------------------------------

function loadTemplates() {
  const out = execFileSync(process.execPath, ['--import', 'tsx', SELF, '--emit-templates'], { cwd: REPO, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return JSON.parse(out).map((text) => text.split(/(__HOST__|__RID__|__AT__)/));
}

function render(parts, hostId, reportId, collectedAt) {
  let s = '';
  for (const p of parts) s += p === '__HOST__' ? hostId : p === '__RID__' ? reportId : p === '__AT__' ? collectedAt : p;
  return s;
}

/** Report n goes to host n % hosts, as that host's report number floor(n / hosts). */
function reportSequence(templates, hosts, start, first = 0) {
  let n = first;
  return () => {
    const i = n++;
    const host = i % hosts;
    const round = Math.floor(i / hosts);
    const collectedAt = new Date(start + round * INTERVAL_MS + host).toISOString();
    return render(templates[round % templates.length], `bench-host-${String(host).padStart(6, '0')}`, randomUUID(), collectedAt);
  };
}

// --- processes ---------------------------------------------------------------------------------

async function startBaseline(kind, children) {
  const child = spawn(process.execPath, [SELF, '--serve', kind], { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] });
  children.add(child);
  const port = await new Promise((resolvePromise, reject) => {
    let text = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      text += chunk;
      const match = /PORT (\d+)/.exec(text);
      if (match) resolvePromise(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`${kind} server exited (${code}) before listening`)));
  });
  return { kind, child, port, token: null };
}

/** A collector on SQLite in `dir`, or on the PostgreSQL database `url` (with `token`, a second collector on it). */
async function startCollector(dir, children, profileDir, url = null, existingToken = null) {
  const db = url ?? join(dir, 'collector.db');
  const token =
    existingToken ??
    execFileSync(process.execPath, [CLI, 'token', 'create', '--db', db, '--name', `bench-fleet-${process.pid}`, '--role', 'admin'], {
      cwd: REPO,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    }).trim();
  const port = await freePort();
  const nodeFlags = [];
  if (profileDir) {
    mkdirSync(profileDir, { recursive: true });
    nodeFlags.push('--cpu-prof', '--cpu-prof-dir', resolve(profileDir));
  }
  const child = spawn(process.execPath, [...nodeFlags, CLI, 'serve', '--db', db, '--listen', `127.0.0.1:${port}`, '--log-level', 'warn', '--rate-limit', 'off'], {
    cwd: REPO,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  children.add(child);
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`collector exited (${child.exitCode}) before listening`);
    try {
      const response = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error('collector did not answer /healthz within 20 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  return { kind: 'collector', child, port, token, db };
}

/**
 * A PostgreSQL cluster of its own (test/helpers/postgres.ts's way: initdb into `dir`, unix
 * socket in `dir`, no TCP; as root the server runs as user postgres), but durable: fsync,
 * synchronous_commit and full_page_writes stay at their defaults (on), as a production
 * database would run, where the tests' cluster turns them off.
 */
async function startPostgres(dir, bin, statements = false, extra = []) {
  for (const setting of extra) {
    if (!/^[a-z_.]+=[^\n']+$/.test(setting)) throw new Error(`--pg-set: expected name=value, got ${JSON.stringify(setting)}`);
  }
  for (const program of ['initdb', 'pg_ctl', 'postgres']) {
    if (!existsSync(join(bin, program))) throw new Error(`--pg-bin: ${join(bin, program)} not found (Debian: apt-get install postgresql-15)`);
  }
  mkdirSync(dir, { recursive: true });
  chmodSync(dirname(dir), 0o711); // the server's user reaches its folder through the bench's temp dir
  const asRoot = process.getuid?.() === 0;
  let owner = null;
  if (asRoot) {
    const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('postgres:'));
    if (!line) throw new Error('running as root and there is no postgres user to run the PostgreSQL server as');
    const [, , uid, gid] = line.split(':');
    owner = { uid: Number(uid), gid: Number(gid) };
    chownSync(dir, owner.uid, owner.gid);
  }
  const user = asRoot ? 'postgres' : (await import('node:os')).userInfo().username;
  const as = (program, args) => (asRoot ? ['runuser', ['-u', 'postgres', '--', join(bin, program), ...args]] : [join(bin, program), args]);
  const data = join(dir, 'data');
  const run = (program, args) => execFileSync(...as(program, args), { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  const reused = existsSync(join(data, 'PG_VERSION')); // a kept fleet's cluster (--fleet)
  if (!reused) run('initdb', ['-D', data, '-U', user, '-A', 'trust', '-E', 'UTF8', '--locale=C']);
  const settings = [`listen_addresses = ''`, `unix_socket_directories = '${dir}'`, 'max_connections = 100'];
  for (const setting of extra) settings.push(`${setting.split('=')[0]} = '${setting.slice(setting.indexOf('=') + 1)}'`);
  if (statements) settings.push(`shared_preload_libraries = 'pg_stat_statements'`, 'pg_stat_statements.track_planning = on');
  writeFileSync(join(data, 'postgresql.auto.conf'), [...settings, ''].join('\n'));
  if (owner) chownSync(join(data, 'postgresql.auto.conf'), owner.uid, owner.gid);
  try {
    run('pg_ctl', ['start', '-w', '-t', '60', '-D', data, '-l', join(dir, 'log')]);
  } catch (error) {
    throw new Error(`PostgreSQL did not start: ${error.message}\n${readFileSync(join(dir, 'log'), 'utf8').slice(-2000)}`);
  }
  const pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const base = `postgres://${encodeURIComponent(user)}@localhost`;
  const socket = `?host=${encodeURIComponent(dir)}`;
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: `${base}/postgres${socket}` });
  await client.connect();
  if (!reused) await client.query('CREATE DATABASE bench');
  if (statements) await client.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements'); // in database postgres: the bench database stays the collector's own
  const version = (await client.query('SHOW server_version')).rows[0].server_version;
  await client.end();
  return { pid, url: `${base}/bench${socket}`, admin: `${base}/postgres${socket}`, version, statements };
}

/** Forgets what pg_stat_statements counted so far (the warm-up's statements). */
async function resetStatements(postgres) {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: postgres.admin });
  await client.connect();
  await client.query('SELECT pg_stat_statements_reset()');
  await client.end();
}

/** The measured PostgreSQL phases' statements, costliest first (plan + execution time, the server's own clock). */
async function printStatements(postgres) {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: postgres.admin });
  await client.connect();
  const { rows: all } = await client.query(
    `SELECT calls, rows, total_plan_time AS plan_ms, total_exec_time AS exec_ms, wal_bytes, regexp_replace(query, '\\s+', ' ', 'g') AS query
     FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = 'bench'`,
  );
  await client.end();
  // A multi-row statement is one entry per row count: summed under one text, its VALUES list shortened to "(…)".
  const byText = new Map();
  for (const r of all) {
    const text = r.query.replace(/\(\$\d+[^()]*\)(, \(\$\d+[^()]*\))*/g, '(…)');
    const sum = byText.get(text) ?? { query: text, calls: 0, rows: 0, plan_ms: 0, exec_ms: 0, wal_bytes: 0 };
    for (const k of ['calls', 'rows', 'plan_ms', 'exec_ms', 'wal_bytes']) sum[k] += Number(r[k]);
    byText.set(text, sum);
  }
  const rows = [...byText.values()].map((r) => ({ ...r, total_ms: r.plan_ms + r.exec_ms })).sort((a, b) => b.total_ms - a.total_ms).slice(0, 15);
  const total = rows.reduce((sum, r) => sum + r.total_ms, 0);
  console.log(`\nPostgreSQL statements of the measured phases (pg_stat_statements, top ${rows.length}: ${total.toFixed(0)} ms of plan + execution in all):`);
  console.log('   calls      rows  plan µs/call  exec µs/call  WAL B/call  statement');
  for (const r of rows) {
    const per = (ms) => ((ms * 1000) / Math.max(1, Number(r.calls))).toFixed(0).padStart(12);
    console.log(`${fmtInt(Number(r.calls)).padStart(8)}  ${fmtInt(Number(r.rows)).padStart(8)}  ${per(r.plan_ms)}  ${per(r.exec_ms)}  ${(Number(r.wal_bytes) / Math.max(1, Number(r.calls))).toFixed(0).padStart(10)}  ${r.query.slice(0, 110)}`);
  }
}

/** Fast shutdown by the postmaster's PID (SIGINT), SIGKILL after 10 s. */
async function stopPostgres(pid) {
  killQuietly(pid, 'SIGINT');
  for (let i = 0; i < 400; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  killQuietly(pid, 'SIGKILL');
}

function killQuietly(pid, signal) {
  try {
    process.kill(pid, signal);
  } catch {
    // gone already
  }
}

/** The postmaster and its children (backends, checkpointer, WAL writer, ...) from /proc. */
function postgresPids(postmaster) {
  const pids = [postmaster];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === postmaster) pids.push(Number(name));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

/** Two autocannon results (pg2's halves) as one: counts summed, the longer duration, the worse percentile of the two. */
function mergeResults(parts) {
  const sum = (key) => parts.reduce((total, r) => total + r[key], 0);
  const statusCodeStats = Object.assign({}, ...parts.map((r) => r.statusCodeStats));
  return {
    '2xx': sum('2xx'),
    non2xx: sum('non2xx'),
    errors: sum('errors'),
    timeouts: sum('timeouts'),
    duration: Math.max(...parts.map((r) => r.duration)),
    statusCodeStats,
    latency: { p50: Math.max(...parts.map((r) => r.latency.p50)), p99: Math.max(...parts.map((r) => r.latency.p99)) },
  };
}

function freePort() {
  return new Promise((resolvePromise, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolvePromise(port));
    });
  });
}

/** SIGTERM (the collector finishes, closes the database and, with --cpu-prof, writes the profile), SIGKILL after 10 s. */
async function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  process.kill(child.pid, 'SIGTERM');
  const timer = setTimeout(() => {
    if (child.exitCode === null && child.signalCode === null) process.kill(child.pid, 'SIGKILL');
  }, 10_000);
  await exited;
  clearTimeout(timer);
}

async function collectorMetrics(port) {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const value = (re) => Number(re.exec(text)?.[1] ?? NaN);
  const stored = value(/^dualstack_ingest_reports_total\{result="stored"\} (\S+)/m);
  const duplicate = value(/^dualstack_ingest_reports_total\{result="duplicate"\} (\S+)/m);
  const sum = value(/^dualstack_ingest_duration_seconds_sum (\S+)/m);
  const count = value(/^dualstack_ingest_duration_seconds_count (\S+)/m);
  const transactions = value(/^dualstack_ingest_transactions_total (\S+)/m);
  const batched = value(/^dualstack_ingest_batched_reports_total (\S+)/m);
  // The alert evaluations that ran meanwhile (every minute, and at start): on a large fleet their
  // reads and write compete with ingest for the cores and for SQLite's write lock.
  const evaluations = value(/^dualstack_alert_evaluation_duration_seconds_count (\S+)/m);
  const evaluationSeconds = value(/^dualstack_alert_evaluation_duration_seconds_sum (\S+)/m);
  const alerts = evaluations > 0 ? `; ${fmtInt(evaluations)} alert evaluations, ${(evaluationSeconds / evaluations).toFixed(1)} s each on average` : '';
  return `${fmtInt(stored)} stored, ${Number.isNaN(duplicate) ? 0 : fmtInt(duplicate)} duplicates; mean time in store.ingestReport (prepare + wait for the batch commit) ${((sum / count) * 1000).toFixed(1)} ms; ${fmtInt(transactions)} write transactions, ${(batched / transactions).toFixed(1)} reports each on average${alerts}`;
}

// --- raw better-sqlite3 --------------------------------------------------------------------------

/**
 * The rows of each report written with plain prepared statements on a fresh collector database
 * (db/open.js next to the collector's cli.js: the collector's pragmas, synchronous=FULL, schema):
 * host upsert, the 50 service rows replaced, 10 finding upserts, the latest body, one history
 * row; `group` reports per transaction. Times the transactions only (the rows' parameters are
 * built from the parsed body beforehand). The hosts are created first, as in the HTTP warm-up.
 */
async function rawInserts(file, templates, hosts, start, group, seconds) {
  const { openDatabase } = await import(pathToFileURL(join(dirname(CLI), 'db/open.js')).href); // the build under test
  const db = openDatabase(file);
  const host = db.prepare(`INSERT INTO hosts (host_id, hostname, distro, kernel, first_seen, last_seen, last_report_id, collected_at,
      ipv6_routable, ipv4_routable, services_exposed, services_dual, findings_critical, findings_warning, findings_info,
      conn_ipv4, conn_ipv6, conn_mapped, service_modes, services_hash, services_updated_at, findings_hash)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 'h', ?, 'f')
    ON CONFLICT (host_id) DO UPDATE SET last_seen = excluded.last_seen, last_report_id = excluded.last_report_id, collected_at = excluded.collected_at`);
  const latest = db.prepare('INSERT INTO latest_reports (host_id, report_id, body) VALUES (?, ?, ?) ON CONFLICT (host_id) DO UPDATE SET report_id = excluded.report_id, body = excluded.body');
  const history = db.prepare(`INSERT INTO reports (report_id, host_id, collected_at, received_at, bytes, token_id, applied, ipv6_routable, exposed, dual, critical, warning, ack_open, ack_opened, ack_resolved)
    VALUES (?, ?, ?, ?, ?, NULL, 1, 1, 0, 0, 0, 0, 10, 0, 0)`);
  const delServices = db.prepare('DELETE FROM services WHERE host_id = ?');
  const service = db.prepare('INSERT INTO services (host_id, seq, proto, port, process, pid, mode, ipv4, ipv6, bindings) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
  const finding = db.prepare(`INSERT INTO findings (host_id, rule, subject, severity, message, evidence, fix, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (host_id, rule, subject) DO UPDATE SET last_seen = excluded.last_seen, message = excluded.message`);
  const write = db.transaction((batch) => {
    for (const r of batch) {
      host.run(r.hostId, r.hostname, r.distro, r.kernel, r.now, r.now, r.reportId, r.collectedAt, r.collectedAt);
      delServices.run(r.hostId);
      for (const s of r.services) service.run(s);
      for (const f of r.findings) finding.run(f);
      latest.run(r.hostId, r.reportId, r.body);
      history.run(r.reportId, r.hostId, r.collectedAt, r.now, r.body.length);
    }
  });
  const rowsOf = (body) => {
    const report = JSON.parse(body);
    const hostId = report.host.hostId;
    return {
      hostId,
      hostname: report.host.hostname,
      distro: report.host.os.distro,
      kernel: report.host.os.kernel,
      reportId: report.reportId,
      collectedAt: report.collectedAt,
      now: new Date().toISOString(),
      body,
      services: report.services.map((s, seq) => [
        hostId, seq, s.proto, s.port, s.process, s.pid, s.mode, s.ipv4, s.ipv6, JSON.stringify(s.bindings),
      ]),
      findings: report.findings.map((f) => [hostId, f.rule, f.subject, f.severity, f.message, JSON.stringify(f.evidence), JSON.stringify(f.fix), report.collectedAt, report.collectedAt]),
    };
  };
  const next = reportSequence(templates, hosts, start);
  for (let i = 0; i < hosts; i += 100) write.immediate(Array.from({ length: Math.min(100, hosts - i) }, () => rowsOf(next())));

  const latencies = [];
  let busy = 0;
  let count = 0;
  let cpu = 0;
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    const batch = Array.from({ length: group }, () => rowsOf(next()));
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    write.immediate(batch);
    const ms = performance.now() - t0;
    const c = process.cpuUsage(c0);
    cpu += c.user + c.system;
    busy += ms;
    count += group;
    latencies.push(ms);
  }
  db.close();
  latencies.sort((a, b) => a - b);
  const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))];
  return { group, rate: count / (busy / 1000), p50: pct(50), p99: pct(99), count, cpuUs: cpu / count, mainUs: cpu / count };
}

// --- output ------------------------------------------------------------------------------------

function printTable(rows, connectionCounts, repeat) {
  const header = ['target', 'conns', 'reports/s', 'p50 ms', 'p99 ms', 'x parse-only', 'CPU µs/report', 'failed', 'other CPU', 'target check'];
  const cpu = (r) =>
    Number.isNaN(r.cpuUs)
      ? '-'
      : !Number.isNaN(r.dbUs)
        ? `${fmtInt(r.cpuUs)} (node ${fmtInt(r.nodeUs)}, db ${fmtInt(r.dbUs)})`
        : Math.abs(r.cpuUs - r.mainUs) / r.cpuUs < 0.05
          ? fmtInt(r.cpuUs)
          : `${fmtInt(r.cpuUs)} (main ${fmtInt(r.mainUs)})`;
  const cores = (n) => (Number.isNaN(n) ? '-' : n.toFixed(2));
  const describe = {
    empty: 'empty route (204, body unread)',
    parse: 'parse-only (JSON, 202)',
    validate: 'parse + TypeBox validation',
    collector: 'collector (auth, validate, SQLite)',
    pg: 'collector on PostgreSQL, 1 process',
    pg2: 'collector on PostgreSQL, 2 processes',
    raw1: 'raw better-sqlite3, 1 report/transaction',
    raw20: 'raw better-sqlite3, 20 reports/transaction',
  };
  const lines = [];
  const verdicts = [];
  for (const connections of connectionCounts) {
    const order = ['empty', 'parse', 'validate', 'collector', 'pg', 'pg2'];
    for (const r of rows.filter((x) => x.connections === connections).sort((p, q) => order.indexOf(p.kind) - order.indexOf(q.kind))) {
      let check = '';
      if (r.kind === 'collector') {
        const checks = [`ratio ${r.ratio >= TARGET_RATIO ? 'PASS' : 'MISS'}`];
        if (connections === TARGET_CONNECTIONS) {
          checks.push(`>=${TARGET_RATE}/s ${r.rate >= TARGET_RATE ? 'PASS' : 'MISS'}`, `p99<${TARGET_P99_MS} ${r.p99 < TARGET_P99_MS ? 'PASS' : 'MISS'}`);
        }
        check = checks.join(', ');
        const empty = rows.find((x) => x.kind === 'empty' && x.connections === connections);
        const raw1 = rows.find((x) => x.kind === 'raw1');
        const parse = rows.find((x) => x.kind === 'parse' && x.connections === connections);
        const others = [
          parse && `CPU per report ${(r.mainUs / parse.mainUs).toFixed(1)}x parse-only's (main thread; the load-independent view of the ratio: ${(parse.mainUs / r.mainUs).toFixed(2)}x)`,
          empty && `${(r.rate / empty.rate).toFixed(2)}x the empty route`,
          raw1 && `${(r.rate / raw1.rate).toFixed(2)}x raw 1/transaction`,
        ].filter(Boolean);
        verdicts.push(
          `${connections} connections: ${r.ratio.toFixed(2)}x parse-only (target >= ${TARGET_RATIO}x)${connections === TARGET_CONNECTIONS ? `, ${fmtInt(r.rate)} reports/s (target >= ${TARGET_RATE}), p99 ${r.p99} ms (target < ${TARGET_P99_MS})` : ''}${others.length ? `; ${others.join(', ')}` : ''}`,
        );
      }
      if (r.kind === 'pg' || r.kind === 'pg2') {
        const checks = [];
        if (!Number.isNaN(r.sqliteRatio)) checks.push(`${r.sqliteRatio.toFixed(2)}x SQLite${r.kind === 'pg' ? ` (>=${PG_TARGET_RATIO} ${r.sqliteRatio >= PG_TARGET_RATIO ? 'PASS' : 'MISS'})` : ''}`);
        if (!Number.isNaN(r.pgRatio)) checks.push(`${r.pgRatio.toFixed(2)}x pg (>=1 ${r.pgRatio >= 1 ? 'PASS' : 'MISS'})`);
        check = checks.join(', ');
        verdicts.push(`${connections} connections, ${describe[r.kind]}: ${fmtInt(r.rate)} reports/s, p99 ${r.p99} ms, ${check}; CPU per report ${cpu(r)} µs`);
      }
      lines.push([describe[r.kind], String(connections), fmtInt(r.rate), String(r.p50), String(r.p99), `${r.ratio.toFixed(2)}x`, cpu(r), r.failed ? `${r.failed} (${r.codes})` : '0', cores(r.other), check]);
    }
  }
  for (const r of rows.filter((x) => x.connections === 0)) {
    const ratios = connectionCounts
      .map((c) => rows.find((x) => x.kind === 'parse' && x.connections === c))
      .filter(Boolean)
      .map((p) => `${(r.rate / p.rate).toFixed(2)}x@${p.connections}`)
      .join(' ');
    lines.push([describe[r.kind], '-', fmtInt(r.rate), r.p50.toFixed(1), r.p99.toFixed(1), ratios || '-', cpu(r), '0', cores(r.other), r.kind === 'raw1' ? 'no HTTP; latency = transaction' : 'reference']);
  }
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmt = (cells) => cells.map((c, i) => (i === 0 || i === cells.length - 1 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd();
  console.log('\n' + fmt(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const l of lines) console.log(fmt(l));
  if (repeat > 1) {
    console.log(`\nmedians of ${repeat} interleaved rounds (ratio: median of each round's ratio; other CPU: the worst round). reports/s per round:`);
    for (const r of rows) console.log(`  ${`${r.kind}${r.connections ? `@${r.connections}` : ''}`.padEnd(14)} ${r.rates.map(fmtInt).join(', ')}`);
  }
  if (verdicts.length) console.log(`\ncollector:\n${verdicts.map((v) => `  ${v}`).join('\n')}`);
  console.log('latencies: autocannon, 1 ms resolution, 2xx responses only; reports/s = 2xx responses / measured seconds');
  console.log('CPU µs/report: CPU time of the server process (all threads; its main thread when that differs) per 2xx response; raw: of the transactions');
  console.log('  PostgreSQL targets: the collector process(es) (node) plus the postmaster and all its children (db), per 2xx response; pg2 p50/p99: the worse of its two halves');
  const busiest = Math.max(...rows.map((r) => r.other).filter((n) => !Number.isNaN(n)), 0);
  console.log(
    `other CPU: cores used by other processes on the machine during the phase${busiest > 0.1 ? ` - up to ${busiest.toFixed(2)} here: the machine was not quiet, the figures are low and noisy` : ''}`,
  );
}

/**
 * The collector's CPU profile, restricted to the measured collector phases (V8's profile clock
 * and process.hrtime are both CLOCK_MONOTONIC): self time by package and function, and
 * inclusive time of the busiest functions. "(idle)" is the event loop waiting.
 */
function summarizeProfile(profileDir, windows) {
  const files = readdirSync(profileDir).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(profileDir, f));
  if (files.length === 0) {
    console.log(`\nno .cpuprofile in ${profileDir}`);
    return;
  }
  // One profile per thread of the last collector run (node names them CPU.<date>.<time>.<pid>.<thread>.<seq>):
  // the HTTP thread and the ingest thread.
  const pid = files.sort().at(-1).split('.').at(-4);
  for (const file of files.filter((f) => f.split('.').at(-4) === pid)) summarizeThreadProfile(file, windows);
}

function summarizeThreadProfile(file, windows) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const label = (id) => {
    const { callFrame } = byId.get(id);
    const where = callFrame.url ? ` ${callFrame.url.replace(/^file:\/\/.*node_modules\//, '').replace(/^file:\/\/.*packages\//, '')}:${callFrame.lineNumber + 1}` : '';
    return `${callFrame.functionName || '(anonymous)'}${where}`;
  };
  const packageOf = (url) => {
    if (!url) return '(native, vm, idle, gc)';
    const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
    if (nm) return nm[1];
    if (url.startsWith('node:')) return 'node:' + url.slice(5).split('/')[0];
    const ws = /packages\/([^/]+)\//.exec(url);
    return ws ? `@dualstack/${ws[1]}` : url;
  };
  for (const window of windows) {
    const self = new Map();
    let t = profile.startTime;
    for (let i = 0; i < profile.samples.length; i++) {
      t += profile.timeDeltas[i] ?? 0;
      const dt = profile.timeDeltas[i + 1] ?? 0; // the sample covers the time until the next one
      if (t < window.start || t >= window.end) continue;
      self.set(profile.samples[i], (self.get(profile.samples[i]) ?? 0) + dt);
    }
    const total = [...self.values()].reduce((a, b) => a + b, 0);
    if (total === 0) {
      console.log(`\n${window.label}: no samples in the window`);
      continue;
    }
    const byFunction = new Map();
    const byPackage = new Map();
    const inclusive = new Map();
    for (const [id, us] of self) {
      const name = label(id);
      byFunction.set(name, (byFunction.get(name) ?? 0) + us);
      const pkg = packageOf(byId.get(id).callFrame.url);
      byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + us);
      const seen = new Set();
      for (let at = id; at !== undefined; at = parent.get(at)) {
        const n = label(at);
        if (seen.has(n)) continue;
        seen.add(n);
        inclusive.set(n, (inclusive.get(n) ?? 0) + us);
      }
    }
    const top = (map, n, skip = () => false) =>
      [...map]
        .filter(([k]) => !skip(k))
        .sort((a, b) => b[1] - a[1])
        .slice(0, n)
        .map(([k, us]) => `  ${((us / total) * 100).toFixed(1).padStart(5)}%  ${(us / 1e6).toFixed(2).padStart(6)} s  ${k}`)
        .join('\n');
    const boring = (k) => /^\((root|idle|program|garbage collector)\)/.test(k) || /^(processImmediate|processTicksAndRejections|listOnTimeout|emit|runMicrotasks|(anonymous)) node:/.test(k) || k === '(anonymous)';
    const thread = file.split('.').at(-3) === '0' ? 'HTTP (main) thread' : `thread ${file.split('.').at(-3)} (the ingest writer)`;
    console.log(`\ncollector CPU profile, ${thread}, ${window.label}: ${(total / 1e6).toFixed(1)} s of samples (${file})`);
    console.log(`self time by package:\n${top(byPackage, 10)}`);
    console.log(`self time by function:\n${top(byFunction, 20)}`);
    console.log(`inclusive time (function and what it calls):\n${top(inclusive, 25, boring)}`);
  }
}

// --- CPU of other processes (Linux /proc): a benchmark on a shared machine is only as good as
// the machine is quiet, so every phase reports how many cores the rest of the machine used.

function ticksOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]); // utime + stime
  } catch {
    return 0;
  }
}

function cpuSnapshot(pids) {
  try {
    const [user, nice, system] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1, 4).map(Number);
    return { at: performance.now(), all: user + nice + system, own: pids.reduce((sum, pid) => sum + ticksOf(pid), 0) };
  } catch {
    return null;
  }
}

/** Cores used by processes other than the bench and its servers between two snapshots (USER_HZ 100). */
function otherCores(before, after) {
  if (!before || !after) return NaN;
  return Math.max(0, after.all - before.all - (after.own - before.own)) / 100 / ((after.at - before.at) / 1000);
}

function fmtInt(n) {
  return Math.round(n).toLocaleString('en-US');
}
