// What a dualstack-collector start loads: each command imports its modules when it runs, so
// `--help` loads no dependency and `token create` no web server (cli.ts; they cost ~1 s of CPU
// per start, and the tests start the CLI hundreds of times). The modules are seen by a module
// loader hook in the real CLI process, so a static import creeping back into cli.ts fails here.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COLLECTOR_CLI } from './helpers/cli.js';

const HOOKS = `import { appendFileSync } from 'node:fs';
export async function load(url, context, next) {
  appendFileSync(process.env.MODULES_LOG, url + '\\n');
  return next(url, context);
}`;

/** Runs the CLI with `args`; its exit code, stderr and the URLs of every ES module it loaded. */
function loadedBy(t: TestContext, args: (dir: string) => string[]): { status: number | null; stderr: string; modules: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'dualstack-cli-modules-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'hooks.mjs'), HOOKS);
  writeFileSync(join(dir, 'register.mjs'), "import { register } from 'node:module';\nregister('./hooks.mjs', import.meta.url);\n");
  const log = join(dir, 'modules.log');
  writeFileSync(log, '');
  const env: NodeJS.ProcessEnv = { ...process.env, MODULES_LOG: log };
  delete env.DUALSTACK_DB;
  const run = spawnSync(process.execPath, ['--import', join(dir, 'register.mjs'), COLLECTOR_CLI, ...args(dir)], { encoding: 'utf8', env });
  return { status: run.status, stderr: run.stderr, modules: readFileSync(log, 'utf8').split('\n').filter(Boolean) };
}

/** The npm packages among `modules` (the workspace's own @dualstack/* aside). */
function packages(modules: string[]): string[] {
  const names = modules.map((url) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1]).filter((name): name is string => name !== undefined && !name.startsWith('@dualstack/'));
  return [...new Set(names)].sort();
}

test('--help loads no dependency: no web server, database driver or schema library', (t) => {
  const help = loadedBy(t, () => ['--help']);
  assert.equal(help.status, 0, help.stderr);
  assert.ok(help.modules.some((url) => url.endsWith('/collector/dist/cli.js')), `the hook saw the CLI load: ${help.modules.join(' ')}`);
  assert.deepEqual(packages(help.modules), []);
});

test('token create on SQLite loads the configuration and the store, not the server or the alert service', (t) => {
  const created = loadedBy(t, (dir) => ['token', 'create', '--db', join(dir, 'collector.db'), '--name', 'web', '--role', 'reader']);
  assert.equal(created.status, 0, created.stderr);
  const names = packages(created.modules);
  for (const needed of ['better-sqlite3', 'typebox']) assert.ok(names.includes(needed), `${needed} among ${names.join(', ')}`);
  for (const unneeded of ['fastify', '@fastify/swagger', 'prom-client', 'undici']) assert.ok(!names.includes(unneeded), `${unneeded} loaded by token create: ${names.join(', ')}`);
  for (const file of ['server.js', 'app.js', 'alerts/service.js', 'copy/command.js']) {
    assert.ok(!created.modules.some((url) => url.endsWith(`/collector/dist/${file}`)), `dist/${file} loaded by token create`);
  }
});
