#!/usr/bin/env node
// The whole thing on the embedded default, for a first look: a collector on 127.0.0.1 with a
// SQLite file, an agent token and a reader token, one agent push from this host, and the URL
// to open. Runs until Ctrl-C.   Usage: npm start [-- [--listen H:P] [--data DIR]]  (--help)
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const root = new URL('..', import.meta.url).pathname;
const collectorCli = join(root, 'packages/collector/dist/cli.js');
const agentCli = join(root, 'packages/agent/dist/cli.js');
const say = (line) => process.stderr.write(`quickstart: ${line}\n`);
const HELP = `Usage: npm start [-- [--listen HOST:PORT] [--data DIR]]
   or: node scripts/quickstart.mjs [--listen HOST:PORT] [--data DIR]

Builds (npm start only), then starts a collector, creates an agent and a reader token, pushes
one report of this host and prints the URL to open. Ctrl-C stops the collector.

  --listen HOST:PORT  where the collector listens (default 127.0.0.1:8080, or env
                      DUALSTACK_LISTEN); e.g. npm start -- --listen 127.0.0.1:8081
  --data DIR          database and tokens (default ./data)
  -h, --help          this help`;

let values;
try {
  ({ values } = parseArgs({
    options: {
      listen: { type: 'string', default: process.env.DUALSTACK_LISTEN || '127.0.0.1:8080' },
      data: { type: 'string', default: 'data' },
      help: { type: 'boolean', short: 'h' },
    },
  }));
} catch (error) {
  say(`${error.message} (see --help)`);
  process.exit(1);
}
if (values.help) {
  process.stdout.write(`${HELP}\n`);
  process.exit(0);
}
const listen = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(values.listen);
if (!listen || Number(listen[3]) > 65535) {
  say(`--listen takes HOST:PORT or [IPv6]:PORT, e.g. 127.0.0.1:8081, not '${values.listen}'`);
  process.exit(1);
}
const host = listen[1] ?? listen[2];
const port = Number(listen[3]);
const dataDir = resolve(values.data);
const db = join(dataDir, 'dualstack.db');

if (!existsSync(collectorCli) || !existsSync(agentCli)) {
  say('build first: npm run build');
  process.exit(1);
}

// A port already taken (often a collector or `npm start` still running) is said plainly, with
// the way to pick another, before anything is created. The collector says it too if the port
// is taken in between, and then exits, which stops this script.
const taken = await new Promise((resolve) => {
  const probe = createServer();
  probe.once('error', (error) => resolve(error));
  probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve(null)));
});
if (taken) {
  const next = `${listen[1] ? `[${host}]` : host}:${port === 65535 ? 8081 : port + 1}`;
  if (taken.code === 'EADDRINUSE') say(`${values.listen} is already in use (another collector, or npm start still running?): pick another port, e.g. npm start -- --listen ${next}`);
  else say(`cannot listen on ${values.listen}: ${taken.code ?? taken.message}${taken.code === 'EADDRNOTAVAIL' ? ' (not an address of this host)' : ''}; pick another with --listen HOST:PORT`);
  process.exit(1);
}
mkdirSync(dataDir, { recursive: true });

/** A token kept in DATA/<role>.token, created once with the collector's own CLI. */
function token(role) {
  const file = join(dataDir, `${role}.token`);
  if (!existsSync(file)) {
    const made = spawnSync(process.execPath, [collectorCli, 'token', 'create', '--name', `quickstart-${role}`, '--role', role, '--db', db], { encoding: 'utf8' });
    if (made.status !== 0) {
      say(`token create failed: ${made.stderr.trim()}`);
      process.exit(1);
    }
    writeFileSync(file, made.stdout, { mode: 0o600 });
    say(`created the ${role} token in ${file}`);
  }
  chmodSync(file, 0o600);
  return { file, value: readFileSync(file, 'utf8').trim() };
}

const agentToken = token('agent');
const readerToken = token('reader');
// In its own process group: Ctrl-C in a terminal signals the whole foreground group, and a
// collector signalled by it and by this script reads the second signal as "exit now" (exit 1).
// This script forwards one SIGTERM instead, the collector closes cleanly and this exits 0.
const collector = spawn(process.execPath, [collectorCli, 'serve', '--db', db, '--listen', values.listen, '--log-level', 'warn'], { stdio: ['ignore', 'inherit', 'inherit'], detached: true });
const stop = (signal) => collector.kill(signal);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => stop('SIGTERM'));
collector.on('exit', (code, signal) => {
  say(`collector stopped (${signal ?? code})`);
  process.exit(code ?? 0);
});

const browserHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
const base = `http://${browserHost.includes(':') ? `[${browserHost}]` : browserHost}:${port}`;
for (let attempt = 0; ; attempt++) {
  try {
    if ((await fetch(`${base}/healthz`)).ok) break;
  } catch {
    /* not up yet */
  }
  if (attempt > 100) {
    say(`the collector did not answer on ${base}/healthz`);
    stop('SIGTERM');
    process.exit(1);
  }
  await new Promise((r) => setTimeout(r, 100));
}

const push = spawnSync(process.execPath, [agentCli, 'push', '--collector', base, '--token-file', agentToken.file, '--spool', join(dataDir, 'spool')], { stdio: 'inherit' });
if (push.status !== 0) say(`the agent push exited ${push.status}`);
say(`collector on ${base} with ${db}`);
say(`open ${base}/ (dashboard) or ${base}/docs (API); reader token: ${readerToken.value}`);
say(`more pushes: node ${agentCli} push --collector ${base} --token-file ${agentToken.file}`);
say('Ctrl-C stops the collector.');
