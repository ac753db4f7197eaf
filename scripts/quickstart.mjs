#!/usr/bin/env node
// The whole thing on the embedded default, for a first look: a collector on 127.0.0.1 with a
// SQLite file, an agent token and a reader token, one agent push from this host, and the URL
// to open. Runs until Ctrl-C.   Usage: npm start  (or node scripts/quickstart.mjs [--listen H:P] [--data DIR])
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const root = new URL('..', import.meta.url).pathname;
const collectorCli = join(root, 'packages/collector/dist/cli.js');
const agentCli = join(root, 'packages/agent/dist/cli.js');
const { values } = parseArgs({ options: { listen: { type: 'string', default: '127.0.0.1:8080' }, data: { type: 'string', default: 'data' } } });
const dataDir = resolve(values.data);
const db = join(dataDir, 'dualstack.db');
const say = (line) => process.stderr.write(`quickstart: ${line}\n`);

if (!existsSync(collectorCli) || !existsSync(agentCli)) {
  say('build first: npm run build');
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
const collector = spawn(process.execPath, [collectorCli, 'serve', '--db', db, '--listen', values.listen, '--log-level', 'warn'], { stdio: ['ignore', 'inherit', 'inherit'] });
const stop = (signal) => collector.kill(signal);
process.on('SIGINT', () => stop('SIGTERM'));
process.on('SIGTERM', () => stop('SIGTERM'));
collector.on('exit', (code, signal) => {
  say(`collector stopped (${signal ?? code})`);
  process.exit(code ?? 0);
});

const [host, port] = values.listen.startsWith('[') ? [values.listen.slice(1, values.listen.indexOf(']')), values.listen.split(':').pop()] : values.listen.split(':');
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
