// The agent's .deb (scripts/package/deb.mjs) from a real x64 executable (sea.mjs, built once for
// the file) and sockdiag.node (packages/agent/native/build.sh): lintian finds no error, and its
// whole life in a throw-away root, by dpkg itself: `dpkg --root DIR --force-script-chrootless`
// (its own database under DIR/var/lib/dpkg) runs the package's maintainer scripts on this host
// with DPKG_ROOT=DIR, which they honour (useradd/userdel/systemctl --root); --force-depends
// because DIR has no libc6 package. Install (files, modes, owners, the user, the unit enabled,
// the executable runs from /usr/bin), upgrade from an older version (a changed config, the token
// and the spool kept), remove (config and state kept, unit disabled), purge (DIR as it was).
// The packaged unit passes systemd-analyze verify as installed.
//
// The packages here are built with gzip -1 (the one lintian reads: ~3 s) or none (the older
// version: under a second), where xz takes ~90 s on a loaded machine; the files are the same. ~40 s in all, most of it the executable and lintian.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { skipUnlessAvailable, skipUnlessCommands } from '../helpers/requirements.js';
import { accountIn, dpkgIn, lintianOf, makeRoot, modeIn, snapshot } from './deb-checks.js';
import { REPO, sea, sharedExecutable } from './sea-build.js';

interface Deb { file: string; bytes: number; installedKiB: number }
const { buildDeb } = (await import(join(REPO, 'scripts/package/deb.mjs'))) as {
  buildDeb(o: { arch: string; executable: string; sockdiag?: string | null; version?: string; outDir: string; compression?: string; level?: number }): Deb;
};
const { packagedAgentUnit } = (await import(join(REPO, 'scripts/package/packaged-files.mjs'))) as { packagedAgentUnit(text?: string): string };

const skip = process.arch !== 'x64' ? 'not an x64 host' :
  skipUnlessAvailable(process.getuid?.() !== 0 && 'not root (dpkg --root chowns to the dualstack user)', { how: 'run the tests as root (.ci/run does)' }) ||
  skipUnlessCommands({ 'dpkg-deb': 'dpkg', dpkg: 'dpkg', lintian: 'lintian', useradd: 'passwd', userdel: 'passwd', systemctl: 'systemd', 'systemd-analyze': 'systemd', gcc: 'gcc libc6-dev' });

const version = sea.agentVersion();
let dir = '';
let root = '';
let current: Deb;
let previous: Deb;
let lintian: Promise<{ code: number | null; out: string }>;
let pristine: Map<string, string>;

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'dualstack-deb-'));
  const exe = await sharedExecutable('x64'); // built once for this file and rpm.test.ts
  const sockdiag = join(dir, 'sockdiag.node');
  const built = spawnSync(join(REPO, 'packages/agent/native/build.sh'), [sockdiag], { encoding: 'utf8' });
  assert.equal(built.status, 0, built.stderr);
  current = buildDeb({ arch: 'x64', executable: exe, sockdiag, outDir: join(dir, 'current'), compression: 'gzip', level: 1 });
  // The older release an upgrade starts from: "~" sorts before anything in Debian versions.
  previous = buildDeb({ arch: 'x64', executable: exe, sockdiag, version: `${version}~old1`, outDir: join(dir, 'previous'), compression: 'none' });
  lintian = lintianOf(current.file); // ~20 s: it runs while the install tests below do
  root = makeRoot(join(dir, 'root'));
  pristine = snapshot(root);
});
after(async () => {
  if (lintian) await lintian;
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const dpkg = (...args: string[]) => dpkgIn(root, ...args);
const account = (name: string) => accountIn(root, name);
const mode = (path: string) => modeIn(root, path);

const WANTS = 'etc/systemd/system/multi-user.target.wants/dualstack-agent.service';

test('install: the files, modes and owners, the dualstack user, the unit enabled, the post-install message', { skip }, () => {
  const out = dpkg('-i', previous.file);
  assert.match(out, /installed and enabled, not started: it has no collector to report to yet/);
  const user = account('dualstack');
  assert.ok(user, 'no dualstack user in the root\'s /etc/passwd');
  assert.deepEqual({ home: user.home, shell: user.shell }, { home: '/var/lib/dualstack', shell: '/usr/sbin/nologin' });
  assert.ok(user.uid < 1000, `dualstack is not a system user: uid ${user.uid}`);
  assert.equal(mode('usr/lib/dualstack-agent/dualstack-agent'), '0755 0:0');
  assert.equal(mode('usr/lib/dualstack-agent/sockdiag.node'), '0644 0:0');
  assert.equal(readlinkSync(join(root, 'usr/bin/dualstack-agent')), '../lib/dualstack-agent/dualstack-agent');
  assert.equal(mode('usr/lib/systemd/system/dualstack-agent.service'), '0644 0:0');
  assert.equal(mode('etc/dualstack/agent.json'), `0640 0:${user.gid}`);
  assert.equal(mode('var/lib/dualstack'), `0700 ${user.uid}:${user.gid}`);
  assert.equal(readlinkSync(join(root, WANTS)), '/usr/lib/systemd/system/dualstack-agent.service');
  for (const example of ['firewall.conf', 'namespaces.conf']) assert.ok(existsSync(join(root, 'usr/share/doc/dualstack-agent/examples', example)), example);
  // The config names no collector: started anyway, the agent exits 1 saying so.
  const config = JSON.parse(readFileSync(join(root, 'etc/dualstack/agent.json'), 'utf8')) as Record<string, string>;
  assert.equal(config.collector, undefined);
  // The installed executable, through the /usr/bin symlink, is the agent of that version.
  const v = spawnSync(join(root, 'usr/bin/dualstack-agent'), ['--version'], { encoding: 'utf8', env: {} });
  assert.equal(v.stdout.trim(), version, v.stderr);
  const run = spawnSync(join(root, 'usr/bin/dualstack-agent'), ['run', '--config', join(root, 'etc/dualstack/agent.json')], { encoding: 'utf8', env: {} });
  assert.equal(run.status, 1);
  assert.match(run.stderr, /--collector URL is required/);
  // The delivery path loads in the executable: a push to a closed loopback port spools the report.
  const token = join(dir, 'token');
  writeFileSync(join(dir, 'token'), 'agent-token\n', { mode: 0o600 });
  const push = spawnSync(join(root, 'usr/bin/dualstack-agent'), ['push', '--collector', 'http://127.0.0.1:9', '--token-file', token, '--spool', join(dir, 'spool'), '--namespaces', 'host'], { encoding: 'utf8', env: {}, timeout: 60_000 });
  assert.equal(push.status, 0, push.stderr);
  assert.match(push.stderr, /spooled report .*ECONNREFUSED 127\.0\.0\.1:9/);
});

test('the packaged unit is deploy/systemd\'s with ExecStart on /usr/bin/dualstack-agent, and passes systemd-analyze verify as installed', { skip }, () => {
  const installed = readFileSync(join(root, 'usr/lib/systemd/system/dualstack-agent.service'), 'utf8');
  assert.equal(installed, packagedAgentUnit());
  const deployed = readFileSync(join(REPO, 'deploy/systemd/dualstack-agent.service'), 'utf8').split('\n');
  const lines = new Set(installed.split('\n'));
  const missing = deployed.filter((l) => l.trim() && !l.startsWith('ExecStart=') && !lines.has(l));
  assert.deepEqual(missing, [], 'lines of deploy/systemd/dualstack-agent.service not in the packaged unit');
  assert.ok(lines.has('ExecStart=/usr/bin/dualstack-agent run --config /etc/dualstack/agent.json'));
  assert.ok(lines.has('ConditionPathExists=|/etc/dualstack/token') && lines.has('ConditionPathExists=|/etc/dualstack/enroll-secret'));
  // verify checks that the ExecStart binary exists: the copy points at the one installed in the
  // root. Alone and with the example drop-ins; any output at all is a failure (verify-units.sh).
  const check = mkdtempSync(join(dir, 'verify-'));
  writeFileSync(join(check, 'dualstack-agent.service'), installed.replace(/^ExecStart=\/usr\/bin\//m, `ExecStart=${root}/usr/bin/`));
  for (const dropins of [false, true]) {
    if (dropins) {
      mkdirSync(join(check, 'dualstack-agent.service.d'));
      for (const f of ['firewall.conf', 'namespaces.conf']) writeFileSync(join(check, 'dualstack-agent.service.d', f), readFileSync(join(root, 'usr/share/doc/dualstack-agent/examples', f)));
    }
    const r = spawnSync('systemd-analyze', ['verify', join(check, 'dualstack-agent.service')], { encoding: 'utf8' });
    assert.equal(`${r.status} ${r.stdout}${r.stderr}`, '0 ', `systemd-analyze verify${dropins ? ' with the example drop-ins' : ''}`);
  }
});

test('upgrade from the previous version keeps a changed config, the token and the spool', { skip }, () => {
  const user = account('dualstack')!;
  const changed = `{\n  "collector": "https://collector.example",\n  "token-file": "/etc/dualstack/token",\n  "spool": "/var/lib/dualstack/spool",\n  "interval": "1m"\n}\n`;
  writeFileSync(join(root, 'etc/dualstack/agent.json'), changed);
  writeFileSync(join(root, 'etc/dualstack/token'), 'agent-token\n', { mode: 0o600 });
  mkdirSync(join(root, 'var/lib/dualstack/spool'));
  writeFileSync(join(root, 'var/lib/dualstack/spool/report-1.json'), '{}\n');
  const out = dpkg('-i', current.file);
  assert.doesNotMatch(out, /no collector to report to yet/, 'the message shows although a token is there');
  assert.equal(readFileSync(join(root, 'etc/dualstack/agent.json'), 'utf8'), changed);
  assert.equal(mode('etc/dualstack/agent.json'), `0640 0:${user.gid}`);
  assert.equal(readFileSync(join(root, 'etc/dualstack/token'), 'utf8'), 'agent-token\n');
  assert.equal(readFileSync(join(root, 'var/lib/dualstack/spool/report-1.json'), 'utf8'), '{}\n');
  assert.deepEqual(account('dualstack'), user, 'the upgrade changed the user');
  const status = spawnSync('dpkg-query', [`--admindir=${join(root, 'var/lib/dpkg')}`, '-W', '-f=${Version}', 'dualstack-agent'], { encoding: 'utf8' });
  assert.equal(status.stdout, version);
});

test('remove keeps the config, token, spool and user and disables the unit; purge leaves the root as it was', { skip }, () => {
  dpkg('-r', 'dualstack-agent');
  assert.ok(!existsSync(join(root, 'usr/lib/dualstack-agent/dualstack-agent')));
  assert.ok(!existsSync(join(root, 'usr/lib/systemd/system/dualstack-agent.service')));
  // lstat: a link left behind would dangle now that the unit file is gone.
  assert.throws(() => lstatSync(join(root, WANTS)), { code: 'ENOENT' }, 'the unit is still enabled');
  for (const kept of ['etc/dualstack/agent.json', 'etc/dualstack/token', 'var/lib/dualstack/spool/report-1.json']) assert.ok(existsSync(join(root, kept)), `remove deleted ${kept}`);
  assert.ok(account('dualstack'));

  dpkg('--purge', 'dualstack-agent');
  assert.equal(account('dualstack'), null);
  assert.deepEqual(Object.fromEntries(snapshot(root)), Object.fromEntries(pristine));
});

test('lintian finds no error in the .deb', { skip }, async () => {
  const { code, out } = await lintian;
  const errors = out.split('\n').filter((l) => l.startsWith('E: '));
  assert.deepEqual(errors, [], out);
  assert.equal(code, 0, out);
  process.stdout.write(`# .deb: ${current.bytes} bytes (gzip -1 here; xz in npm run package), ${current.installedKiB} KiB installed; lintian: ${out.split('\n').filter((l) => l.startsWith('W: ')).length} warnings\n`);
});
