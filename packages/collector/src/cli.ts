#!/usr/bin/env node
// dualstack-collector: serve | token create|list|revoke | migrate.
// Exit codes: 0 done; 1 could not run (the reason on one line).
import { parseArgs } from 'node:util';
import { ConfigError, configFromEnv, readConfigFile, resolveConfig, type CollectorConfig } from './config.js';
import { closeOnSignals, startCollector } from './server.js';
import { openStore } from './open-store.js';
import { generateToken, hashToken } from './tokens.js';
import type { Role } from './api.js';

class UsageError extends Error {}

const HELP = {
  main: `dualstack-collector — gathers every host's dual-stack report and answers fleet-wide questions.

Usage: dualstack-collector <command> [options]

Commands:
  serve                          run the collector (API, /docs, /metrics, /healthz)
  token create --name N --role R create a token (role agent, reader or admin); printed once
  token list                     list tokens (never the tokens themselves)
  token revoke NAME|ID           revoke a token
  migrate                        create or upgrade the database, then exit

Common options:
  --config FILE      JSON configuration (keys: listen, db, bodyLimitBytes, staleAfterSeconds,
                     retentionDays, retentionSchedule, openReadsOnLoopback, tls {cert,key}, logLevel)
  --db FILE          SQLite database (default ./data/dualstack.db; env DUALSTACK_DB)
  -h, --help         this help`,
  serve: `Usage: dualstack-collector serve [--listen HOST:PORT] [--db FILE] [--config FILE]
                                 [--tls-cert FILE --tls-key FILE] [--log-level LEVEL]

  --listen HOST:PORT   default 127.0.0.1:8080 (env DUALSTACK_LISTEN); [::]:8080 for all addresses
  --tls-cert/--tls-key serve HTTPS (or put the collector behind a TLS reverse proxy)
  --log-level          fatal, error, warn, info (default), debug, trace, silent
Logs are JSON lines on stdout. SIGTERM stops accepting, finishes in-flight requests and
closes the database.`,
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

function loadConfig(values: { config?: string | undefined; db?: string | undefined }, flags: Partial<CollectorConfig> = {}): CollectorConfig {
  const file = values.config ? readConfigFile(values.config) : {};
  return resolveConfig([file, configFromEnv(process.env), { db: values.db, ...flags }], values.config ?? 'configuration');
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
        parseArgs({ args: rest, options: { ...common, listen: { type: 'string' }, 'tls-cert': { type: 'string' }, 'tls-key': { type: 'string' }, 'log-level': { type: 'string' } } }),
      );
      if (values.help) return print(HELP.serve);
      if (Boolean(values['tls-cert']) !== Boolean(values['tls-key'])) throw new UsageError('serve: --tls-cert and --tls-key go together');
      const config = loadConfig(values, {
        listen: values.listen,
        logLevel: values['log-level'] as CollectorConfig['logLevel'] | undefined,
        ...(values['tls-cert'] ? { tls: { cert: values['tls-cert'], key: values['tls-key']! } } : {}),
      });
      const collector = await startCollector(config);
      closeOnSignals(collector);
      return -1; // keep running
    }
    case 'migrate': {
      const { values } = parse('migrate', () => parseArgs({ args: rest, options: common }));
      if (values.help) return print('Usage: dualstack-collector migrate [--db FILE] [--config FILE]');
      const config = loadConfig(values);
      const store = openStore(config);
      await store.close();
      process.stderr.write(`database ${config.db} is up to date\n`);
      return 0;
    }
    case 'token':
      return tokenCommand(rest);
    default:
      throw new UsageError(`unknown command '${command}' (try 'dualstack-collector --help')`);
  }
}

async function tokenCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  const { values, positionals } = parse(`token ${sub ?? ''}`.trim(), () =>
    parseArgs({ args: rest, options: { ...common, name: { type: 'string' }, role: { type: 'string' } }, allowPositionals: true }),
  );
  if (values.help || sub === undefined) return print(HELP.main);
  const config = loadConfig(values);
  const store = openStore(config);
  try {
    switch (sub) {
      case 'create': {
        const role = values.role as Role | undefined;
        if (!values.name) throw new UsageError('token create: --name is required');
        if (role !== 'agent' && role !== 'reader' && role !== 'admin') throw new UsageError('token create: --role must be agent, reader or admin');
        const token = generateToken();
        const record = await store.createToken({ name: values.name, role, hash: hashToken(token) });
        process.stderr.write(`token '${record.name}' (${record.role}, id ${record.id}) created; it is shown only now:\n`);
        process.stdout.write(`${token}\n`);
        return 0;
      }
      case 'list': {
        for (const t of await store.listTokens()) {
          process.stdout.write(`${t.id}\t${t.name}\t${t.role}\tcreated ${t.createdAt}\t${t.revokedAt ? `revoked ${t.revokedAt}` : 'active'}\n`);
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

function print(text: string): number {
  process.stdout.write(`${text}\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (error: unknown) => {
    const message = error instanceof UsageError || error instanceof ConfigError ? error.message : `error: ${(error as Error).message ?? String(error)}`;
    process.stderr.write(`dualstack-collector: ${message}\n`);
    process.exitCode = 1;
  },
);
