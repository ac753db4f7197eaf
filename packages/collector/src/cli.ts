#!/usr/bin/env node
// dualstack-collector: serve | token create|list|revoke | host list|revoke|accept | migrate |
// backup FILE | alerts test | copy --from FILE --to URL.
// Exit codes: 0 done; 1 could not run (the reason on one line).
import { runCli } from '@dualstack/core/cli';
import { parseArgs } from 'node:util';
import type { CollectorConfig } from './config.js';
import { EndpointConflictError } from './endpoints/records.js';
import { CopyError } from './copy/errors.js';
import type { Role } from './api.js';

// Each command loads its modules when it runs (import()): `--help` or `token create` need not
// load the server, the dashboard or the alert service (every start took ~1.3 s of CPU while
// cli.ts imported them all; test/cli-modules.test.ts). Only light modules are imported above.

class UsageError extends Error {}

/**
 * The errors that end the CLI with their message alone (one line, no "error:"); a command adds
 * the classes of the modules it loads (configModule, postgresErrors), so each is in the list
 * whenever the module that throws it has run.
 */
const oneLineErrors = new Set<abstract new (...args: never[]) => Error>([UsageError, EndpointConflictError, CopyError]);

/** config.js (TypeBox, YAML), with its ConfigError. */
async function configModule(): Promise<typeof import('./config.js')> {
  const config = await import('./config.js');
  oneLineErrors.add(config.ConfigError);
  return config;
}

/**
 * A PostgreSQL database that cannot be opened (bad URL, refused login, missing, migrated by a
 * newer collector) is one line too: nothing was written. Loaded for a postgres:// --db only.
 */
async function postgresErrors(): Promise<void> {
  const [pool, migrations] = await Promise.all([import('./db/postgres/pool.js'), import('./db/postgres/migrations.js')]);
  for (const error of [pool.PostgresUrlError, pool.PostgresOpenError, migrations.PostgresSchemaTooNewError]) oneLineErrors.add(error);
}

const HELP = {
  main: `dualstack-collector — gathers every host's dual-stack report and answers fleet-wide questions.

Usage: dualstack-collector <command> [options]

Commands:
  serve                          run the collector (API, /docs, /metrics, /healthz)
  token create --name N --role R create a token (role agent, reader or admin), or an enroll
                                 secret (role enroll, optional --expires 30d|12h|90m and
                                 --max-hosts N, the most hosts it may enroll: agents exchange
                                 it for a host key of their own); printed once
  token list                     list tokens (never the tokens themselves) with the host each
                                 agent token is bound to (the first host id it reported)
  token revoke NAME|ID           revoke a token or enroll secret (enrolled hosts keep their keys)
  host list                      enrolled hosts: each one's live key and pending keys (duplicate
                                 identities), with creation, last use and enroll secret
  host revoke HOSTID [KEYID]     revoke a host's live key (its agent enrolls again with its secret),
                                 or that one key: a clone's pending key once the clone is fixed
  host accept HOSTID KEYID       make a pending key the host's live key (the old one is revoked)
  migrate                        create or upgrade the database, then exit
  alerts test --receiver NAME    send a test notification to a configured alert receiver
  backup FILE [--force]          copy the database to FILE while the collector runs (online
                                 backup, checked); a fresh collector opens FILE as its --db.
                                 On PostgreSQL: checks the connection and names pg_dump
  copy --from FILE --to URL      move a SQLite fleet into PostgreSQL: resumable, verified by
                                 counting every table (copy --help)

Common options:
  --config FILE      JSON configuration, or YAML for a .yaml/.yml file (keys: listen, db, dbPoolSize,
                     bodyLimitBytes, staleAfterSeconds, maxClockSkewSeconds, retentionDays, retentionSchedule,
                     maxReportsPerHost (100000), maxHostsPerEnrollSecret (none): docs/operations.md "Limits",
                     openReadsOnLoopback, rateLimit, tls {cert,key}, logLevel, alerts: see docs/alerts.md,
                     endpoints [{name,url,expect,backends}], probe {timeoutMs}: see docs/api.md)
  --db FILE|URL      SQLite database file (default ./data/dualstack.db), or a PostgreSQL
                     postgres://USER[:PASSWORD]@HOST[:PORT]/DBNAME URL for several collectors
                     on one database (docs/operations.md, PostgreSQL); env DUALSTACK_DB
  -h, --help         this help`,
  serve: `Usage: dualstack-collector serve [--listen HOST:PORT] [--db FILE] [--config FILE]
                                 [--tls-cert FILE --tls-key FILE] [--log-level LEVEL]
                                 [--rate-limit off|KEY=N,...] [--db-pool-size N]

  --listen HOST:PORT   default 127.0.0.1:8080 (env DUALSTACK_LISTEN); [::]:8080 for all addresses
  --tls-cert/--tls-key serve HTTPS (or put the collector behind a TLS reverse proxy)
  --log-level          fatal, error, warn, info (default), debug, trace, silent
  --rate-limit         API requests per credential (a token, host key or enroll secret; the
                       client address without one) and window, by role; beyond it 429 with
                       Retry-After. 'off', or KEY=N,... with KEY windowSeconds (60), agent
                       (2400, host keys too), enroll (600), reader (1200), admin (3000),
                       anonymous (1200); replaces the config file's rateLimit, unset keys
                       take their default (docs/operations.md, "Limits")
  --db-pool-size N     PostgreSQL: most connections of this collector (1-1000, default 10;
                       env DUALSTACK_DB_POOL_SIZE, config dbPoolSize). Keep collectors x N
                       under the server's max_connections minus a reserve (docs/operations.md,
                       PostgreSQL); ignored for SQLite
Logs are JSON lines on stdout. SIGTERM stops accepting, finishes in-flight requests (a
request that starts meanwhile gets 503 with Retry-After: 5) and closes the database.`,
  host: `Usage: dualstack-collector host list|revoke|accept [--db FILE] [--config FILE]

  host list                  one line per live or pending host key: host id, state, key id,
                             hostname the agent gave, created, last used, enroll secret, peer
  host revoke HOSTID         revoke the host's live key: its agent gets 401 and enrolls again
                             with its enroll secret (while that secret is valid)
  host revoke HOSTID KEYID   revoke that one key of the host, pending or live: a clone's pending
                             key once the clone is fixed (this settles the duplicate identity)
  host accept HOSTID KEYID   a pending key (a duplicate identity: another machine enrolled with
                             this host id) becomes the live key; the old live key is revoked.
                             When the pending key is a clone instead, fix the clone:
                             rm /etc/machine-id && systemd-machine-id-setup, remove its
                             /var/lib/dualstack/host.key and spool/*.json, restart the agent;
                             then host revoke HOSTID KEYID
The same as GET /api/v1/host-keys and POST /api/v1/host-keys/HOSTID/revoke[/KEYID]|accept/KEYID.`,
  alerts: `Usage: dualstack-collector alerts test --receiver NAME [--config FILE] [--db FILE]

Sends a test notification to the receiver NAME of the configuration's alerts.receivers, in
the receiver's format, up to 3 attempts with its backoff; each attempt is printed and
recorded (GET /api/v1/alerts/deliveries, kind test). Exit 0 when the receiver answered 2xx.`,
};

function parse<T>(command: string, run: () => T): T {
  try {
    return run();
  } catch (error) {
    throw new UsageError(`${command}: ${(error as Error).message} (try 'dualstack-collector --help')`);
  }
}

const common = {
  help: { type: 'boolean', short: 'h' },
  config: { type: 'string' },
  db: { type: 'string' },
} as const;

async function loadConfig(values: { config?: string | undefined; db?: string | undefined }, flags: Partial<CollectorConfig> = {}): Promise<CollectorConfig> {
  const { configFromEnv, readConfigFile, resolveConfig } = await configModule();
  const file = values.config ? readConfigFile(values.config) : {};
  const config = resolveConfig([file, configFromEnv(process.env), { db: values.db, ...flags }], values.config ?? 'configuration');
  const { isPostgresUrl } = await import('./db/postgres/pool.js');
  if (isPostgresUrl(config.db)) await postgresErrors();
  return config;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    process.stdout.write(`${HELP.main}\n`);
    return 0;
  }
  switch (command) {
    case 'serve': {
      const { values } = parse('serve', () =>
        parseArgs({ args: rest, options: { ...common, listen: { type: 'string' }, 'tls-cert': { type: 'string' }, 'tls-key': { type: 'string' }, 'log-level': { type: 'string' }, 'rate-limit': { type: 'string' }, 'db-pool-size': { type: 'string' } } }),
      );
      if (values.help) return print(HELP.serve);
      if (Boolean(values['tls-cert']) !== Boolean(values['tls-key'])) throw new UsageError('serve: --tls-cert and --tls-key go together');
      const { parseRateLimitOption } = await import('./limits/rate-limit-config.js');
      const { parsePoolSize } = await configModule();
      const rateLimit = values['rate-limit'] === undefined ? undefined : parse('serve', () => parseRateLimitOption(values['rate-limit']!));
      const dbPoolSize = values['db-pool-size'] === undefined ? undefined : parsePoolSize(values['db-pool-size'], 'serve: --db-pool-size');
      const config = await loadConfig(values, {
        listen: values.listen,
        rateLimit,
        dbPoolSize,
        logLevel: values['log-level'] as CollectorConfig['logLevel'] | undefined,
        ...(values['tls-cert'] ? { tls: { cert: values['tls-cert'], key: values['tls-key']! } } : {}),
      });
      const { closeOnSignals, startCollector } = await import('./server.js');
      const collector = await startCollector(config);
      closeOnSignals(collector);
      return -1; // keep running
    }
    case 'migrate': {
      const { values } = parse('migrate', () => parseArgs({ args: rest, options: common }));
      if (values.help) return print('Usage: dualstack-collector migrate [--db FILE|URL] [--config FILE]');
      const config = await loadConfig(values);
      const [{ connectStore }, { redactUrl }] = await Promise.all([import('./open-store.js'), import('./db/postgres/pool.js')]);
      const store = await connectStore(config);
      await store.close();
      process.stderr.write(`database ${redactUrl(config.db)} is up to date\n`);
      return 0;
    }
    case 'token':
      return tokenCommand(rest);
    case 'host':
      return hostCommand(rest);
    case 'alerts':
      return alertsCommand(rest);
    case 'backup':
      return backupCommand(rest);
    case 'copy': {
      const { copyCommand } = await import('./copy/command.js');
      await postgresErrors();
      return copyCommand(rest);
    }
    default:
      throw new UsageError(`unknown command '${command}' (try 'dualstack-collector --help')`);
  }
}

async function tokenCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  const { values, positionals } = parse(`token ${sub ?? ''}`.trim(), () =>
    parseArgs({ args: rest, options: { ...common, name: { type: 'string' }, role: { type: 'string' }, expires: { type: 'string' }, 'max-hosts': { type: 'string' } }, allowPositionals: true }),
  );
  if (values.help || sub === undefined) return print(HELP.main);
  const config = await loadConfig(values);
  const [{ connectStore }, { ENROLL_SECRET_PREFIX, generateToken, hashToken, TOKEN_PREFIX }] = await Promise.all([import('./open-store.js'), import('./tokens.js')]);
  const store = await connectStore(config);
  try {
    switch (sub) {
      case 'create': {
        const role = values.role as Role | undefined;
        if (!values.name) throw new UsageError('token create: --name is required');
        if (role !== 'agent' && role !== 'reader' && role !== 'admin' && role !== 'enroll') throw new UsageError('token create: --role must be agent, reader, admin or enroll');
        if (values.expires !== undefined && role !== 'enroll') throw new UsageError('token create: --expires applies to --role enroll only');
        if (values['max-hosts'] !== undefined && role !== 'enroll') throw new UsageError('token create: --max-hosts applies to --role enroll only (an agent token is bound to one host already)');
        if (values['max-hosts'] !== undefined && !/^[1-9]\d{0,8}$/.test(values['max-hosts'])) throw new UsageError(`token create: --max-hosts takes a whole number of hosts from 1, not '${values['max-hosts']}'`);
        const maxHosts = values['max-hosts'] === undefined ? null : Number(values['max-hosts']);
        const expiresAt = values.expires === undefined ? null : new Date(Date.now() + expiryMs(values.expires)).toISOString();
        const token = generateToken(role === 'enroll' ? ENROLL_SECRET_PREFIX : TOKEN_PREFIX);
        const record = await store.createToken({ name: values.name, role, hash: hashToken(token), expiresAt, maxHosts });
        const until = `${expiresAt ? `, expires ${expiresAt}` : ''}${maxHosts !== null ? `, at most ${maxHosts} hosts` : ''}`;
        process.stderr.write(`${role === 'enroll' ? 'enroll secret' : 'token'} '${record.name}' (${record.role}, id ${record.id}${until}) created; it is shown only now:\n`);
        process.stdout.write(`${token}\n`);
        return 0;
      }
      case 'list': {
        for (const t of await store.listTokens()) {
          // An agent token writes only the host it reported first (docs/operations.md).
          const host = t.role === 'enroll' ? `expires ${t.expiresAt ?? 'never'}` : t.role !== 'agent' ? '-' : t.hostId === null ? 'host: not bound yet' : `host ${t.hostId}`;
          process.stdout.write(`${t.id}\t${t.name}\t${t.role}\tcreated ${t.createdAt}\t${host}\t${t.revokedAt ? `revoked ${t.revokedAt}` : 'active'}${t.role === 'enroll' ? `\t${enrolledHosts(t, config.maxHostsPerEnrollSecret)}` : ''}\n`);
        }
        return 0;
      }
      case 'revoke': {
        const target = positionals[0];
        if (!target) throw new UsageError('token revoke: give the token name or id');
        if (!(await store.revokeToken(target))) throw new UsageError(`token revoke: no active token named or with id '${target}'`);
        process.stderr.write(`token '${target}' revoked\n`);
        return 0;
      }
      default:
        throw new UsageError(`unknown token command '${sub}' (create, list, revoke)`);
    }
  } finally {
    await store.close();
  }
}

async function hostCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  const { values, positionals } = parse(`host ${sub ?? ''}`.trim(), () => parseArgs({ args: rest, options: common, allowPositionals: true }));
  if (values.help || sub === undefined || sub === '-h' || sub === '--help') return print(HELP.host);
  if (sub !== 'list' && sub !== 'revoke' && sub !== 'accept') throw new UsageError(`unknown host command '${sub}' (list, revoke, accept)`);
  const [hostId, keyId] = positionals;
  if (sub !== 'list' && !hostId) throw new UsageError(`host ${sub}: give the HOSTID`);
  if (sub === 'accept' && !keyId) throw new UsageError('host accept: give the HOSTID and the KEYID of the pending key (host list shows them)');
  const config = await loadConfig(values);
  const { connectStore } = await import('./open-store.js');
  const store = await connectStore(config);
  try {
    if (sub === 'list') {
      for (const k of await store.listHostKeys()) {
        process.stdout.write(`${k.hostId}\t${k.state}\t${k.id}\t${k.hostname}\tcreated ${k.createdAt}\tlast used ${k.lastUsedAt ?? 'never'}\tenrolled with ${k.enrolledWith ?? '-'}\tpeer ${k.peer ?? '-'}\n`);
      }
      return 0;
    }
    const change = sub === 'revoke' ? await store.revokeHostKey(hostId!, keyId) : await store.acceptHostKey(hostId!, keyId!);
    if (!change.ok) {
      const why = {
        'unknown-host': `no host key was ever enrolled for host ${hostId}`,
        'unknown-key': `host ${hostId} has no key ${keyId} (host list shows its keys)`,
        'no-live-key': `host ${hostId} has no live host key (revoked already)`,
        'not-pending': `key ${keyId} of host ${hostId} is ${change.key?.state}, not pending`,
        revoked: `key ${keyId} of host ${hostId} was revoked already (at ${change.key?.revokedAt})`,
      }[change.reason];
      throw new UsageError(`host ${sub}: ${why}`);
    }
    if (sub === 'revoke' && keyId !== undefined && change.live) process.stderr.write(`host key ${keyId} of host ${hostId} revoked; ${change.live.id} stays the live key\n`);
    else if (sub === 'revoke') process.stderr.write(`host key ${change.revoked?.id} of host ${hostId} revoked; its agent enrolls again with its secret\n`);
    else process.stderr.write(`${keyId} is now the live key of host ${hostId}; ${change.revoked ? `${change.revoked.id} revoked` : 'it had no live key'}\n`);
    return 0;
  } finally {
    await store.close();
  }
}

const BACKUP_HELP = `Usage: dualstack-collector backup FILE [--force] [--db FILE] [--config FILE]

Copies the database to FILE with SQLite's online backup API: the collector keeps running and
ingesting, and FILE holds one consistent moment. The copy is checked (PRAGMA integrity_check),
made self-contained (no -wal file) and renamed into place only when whole. The database is
opened read-only and never migrated, so a backup taken before an upgrade is of the old schema.
Run it as the collector's user (it needs to read the database and its -wal and -shm files).
Restore: stop the collector, put FILE where --db points (remove the old -wal and -shm), start.
With a postgres:// --db nothing is written: the command checks that the database answers and
exits 1 naming pg_dump (a consistent logical copy while collectors run) and pg_basebackup.

  --force    replace FILE if it exists`;

async function backupCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse('backup', () => parseArgs({ args, options: { ...common, force: { type: 'boolean' } }, allowPositionals: true }));
  if (values.help) return print(BACKUP_HELP);
  if (positionals.length !== 1) throw new UsageError('backup: give exactly one FILE to write the backup to');
  const config = await loadConfig(values);
  const { isPostgresUrl } = await import('./db/postgres/pool.js');
  if (isPostgresUrl(config.db)) {
    const { connectStore } = await import('./open-store.js');
    const store = await connectStore(config);
    try {
      await store.backup(positionals[0]!);
      return 0;
    } catch (error) {
      throw new UsageError(`backup: ${(error as Error).message}`);
    } finally {
      await store.close();
    }
  }
  const [{ openDatabase }, { BackupError, backupDatabase }] = await Promise.all([import('./db/open.js'), import('./db/backup.js')]);
  let db;
  try {
    db = openDatabase(config.db, { readonly: true });
  } catch (error) {
    throw new UsageError(`backup: cannot open the database ${config.db}: ${(error as Error).message}`);
  }
  try {
    const summary = await backupDatabase(db, positionals[0]!, { overwrite: values.force ?? false, pagesPerStep: 'all' });
    process.stderr.write(`backed up ${config.db} to ${summary.file}: ${summary.bytes} bytes, schema version ${summary.schemaVersion}, ${summary.hosts} hosts, ${summary.reports} reports; integrity_check ok\n`);
    return 0;
  } catch (error) {
    if (error instanceof BackupError) throw new UsageError(`backup: ${error.message}`);
    throw error;
  } finally {
    db.close();
  }
}

async function alertsCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  const { values } = parse(`alerts ${sub ?? ''}`.trim(), () => parseArgs({ args: rest, options: { ...common, receiver: { type: 'string' } } }));
  if (values.help || sub === undefined) return print(HELP.alerts);
  if (sub !== 'test') throw new UsageError(`unknown alerts command '${sub}' (test)`);
  if (!values.receiver) throw new UsageError('alerts test: --receiver NAME is required');
  const config = await loadConfig(values);
  const { resolveAlerts } = await import('./alerts/config.js');
  const settings = resolveAlerts(config.alerts);
  const receiver = settings.receivers.find((r) => r.name === values.receiver);
  if (!receiver) {
    throw new UsageError(`alerts test: no receiver named '${values.receiver}' in ${values.config ?? 'the configuration'} (receivers: ${settings.receivers.map((r) => r.name).join(', ') || 'none'})`);
  }
  const [{ alertStoreFor, connectStore }, { AlertService }] = await Promise.all([import('./open-store.js'), import('./alerts/service.js')]);
  const store = await connectStore(config);
  try {
    const service = new AlertService({ store: alertStoreFor(store), settings });
    const result = await service.sendTest(receiver.name);
    result.attempts.forEach((a, index) => {
      const answer = a.statusCode === null ? a.error : `HTTP ${a.statusCode}${a.error ? ` (${a.error})` : ''}`;
      process.stderr.write(`attempt ${index + 1}: ${answer} in ${Math.round(a.durationMs)} ms\n`);
    });
    process.stdout.write(`test notification to '${receiver.name}' (${receiver.type}, ${receiver.url}): ${result.delivered ? 'delivered' : 'NOT delivered'}\n`);
    return result.delivered ? 0 : 1;
  } finally {
    await store.close();
  }
}

/** token list: the hosts an enroll secret enrolled (live or pending key) and the most it may. */
function enrolledHosts(secret: { enrolledHosts?: number; maxHosts?: number | null }, configured: number | undefined): string {
  const max = secret.maxHosts != null ? `max ${secret.maxHosts}` : configured !== undefined ? `max ${configured} (maxHostsPerEnrollSecret)` : 'no max';
  return `hosts ${secret.enrolledHosts ?? 0}, ${max}`;
}

/** --expires: "30d", "12h", "90m" -> ms. */
function expiryMs(value: string): number {
  const match = /^([1-9]\d*)([dhm])$/.exec(value.trim());
  if (!match) throw new UsageError(`token create: --expires takes a duration like 30d, 12h or 90m, not '${value}'`);
  return Number(match[1]) * { d: 86_400_000, h: 3_600_000, m: 60_000 }[match[2] as 'd' | 'h' | 'm'];
}

function print(text: string): number {
  process.stdout.write(`${text}\n`);
  return 0;
}

runCli('dualstack-collector', main, (error) => [...oneLineErrors].some((oneLine) => error instanceof oneLine));
