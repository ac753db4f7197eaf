// The agent's .rpm (scripts/package/rpm.mjs), x86_64 and aarch64: rpmlint finds no error on
// either, and the x86_64 one's whole life in a throw-away root, by rpm itself: `rpm --root DIR
// --dbpath /var/lib/rpm` (its own database in DIR) chroots into DIR to run the scriptlets
// (deploy/package/rpm/), so DIR holds what they run: sh, getent, groupadd, useradd, cat and
// systemctl, each copied from this machine with the libraries ldd names, and the account files;
// --nodeps because DIR has no glibc package. Install (files, modes, owners, the user and group,
// the unit enabled, the executable runs from /usr/bin, rpm -V clean), upgrade to a bumped
// release (a changed config, the token and the spool kept), erase (the root as it was but the
// documented leftovers), and the scriptlets on a root without systemctl (a container).
//
// The x86_64 executable is the one the .deb test builds (sharedExecutable: built once for both
// files); the aarch64 package carries the arm64 Node.js runtime, stripped: the ELF file its
// executable is made of, which is what rpmlint and rpmbuild's dependency generator read,
// without a qemu build. Payloads uncompressed here (xz in npm run package; the files are the same).
// About 30 s of CPU (user + sys, the executable cached), most of it rpmlint and rpm writing the
// 110 MB executable five times; 115-120 s of wall time at load 25 on the two cores.
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { after, before, test } from 'node:test';
import { skipUnlessAvailable, skipUnlessCommands } from '../helpers/requirements.js';
import { nodeRuntime, REPO, sea, sharedExecutable } from './sea-build.js';

interface Rpm { file: string; bytes: number }
const { buildRpm } = (await import(join(REPO, 'scripts/package/rpm.mjs'))) as {
  buildRpm(o: { arch: string; executable: string; sockdiag?: string | null; version?: string; release?: number; outDir: string; compression?: string; level?: number; config?: string }): Rpm;
};
const { packagedAgentConfig, packagedAgentUnit } = (await import(join(REPO, 'scripts/package/packaged-files.mjs'))) as { packagedAgentUnit(text?: string): string; packagedAgentConfig(): string };

const skip = process.arch !== 'x64' ? 'not an x64 host' :
  skipUnlessAvailable(process.getuid?.() !== 0 && 'not root (rpm --root chroots into the root to run the scriptlets)', { how: 'run the tests as root (.ci/run does)' }) ||
  skipUnlessCommands({ rpm: 'rpm', rpmbuild: 'rpm', rpmlint: 'rpmlint', useradd: 'passwd', groupadd: 'passwd', getent: 'libc-bin', systemctl: 'systemd', 'systemd-analyze': 'systemd', ldd: 'libc-bin', gcc: 'gcc libc6-dev', 'aarch64-linux-gnu-gcc': 'gcc-aarch64-linux-gnu', 'aarch64-linux-gnu-strip': 'binutils-aarch64-linux-gnu' });

const version = sea.agentVersion();
const OLD_CONFIG = packagedAgentConfig().replace(/"interval": "[^"]*"/, '"interval": "15m"');
/** What the root needs for the scriptlets; systemctl is taken away for the last test. */
const ROOT_PROGRAMS = ['/bin/sh', '/usr/bin/getent', '/usr/sbin/groupadd', '/usr/sbin/useradd', '/usr/bin/cat', '/usr/bin/systemctl'];
const WANTS = 'etc/systemd/system/multi-user.target.wants/dualstack-agent.service';
let dir = '';
let root = '';
let previous: Rpm;
let current: Rpm;
let aarch64: Rpm;
let lint: Promise<{ code: number | null; out: string }>;
let pristine: Map<string, string>;

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'dualstack-rpm-'));
  assert.notEqual(OLD_CONFIG, packagedAgentConfig());
  const exe = await sharedExecutable('x64');
  const sockdiag = join(dir, 'sockdiag.node');
  const built = spawnSync(join(REPO, 'packages/agent/native/build.sh'), [sockdiag], { encoding: 'utf8' });
  assert.equal(built.status, 0, built.stderr);
  // The upgrade goes from release 1 to release 2 of the same version, whose packaged config
  // differs (another default interval): the case %config(noreplace) is for.
  previous = buildRpm({ arch: 'x64', executable: exe, sockdiag, release: 1, outDir: join(dir, 'previous'), compression: 'none', config: OLD_CONFIG });
  current = buildRpm({ arch: 'x64', executable: exe, sockdiag, release: 2, outDir: join(dir, 'current'), compression: 'none' });
  const arm64 = join(dir, 'arm64');
  mkdirSync(arm64);
  execFileSync('aarch64-linux-gnu-strip', ['--strip-all', '-o', join(arm64, 'dualstack-agent-linux-arm64'), nodeRuntime('arm64').node]);
  const armSockdiag = spawnSync(join(REPO, 'packages/agent/native/build.sh'), [join(arm64, 'sockdiag.node'), 'aarch64-linux-gnu-gcc'], { encoding: 'utf8' });
  assert.equal(armSockdiag.status, 0, armSockdiag.stderr);
  aarch64 = buildRpm({ arch: 'arm64', executable: join(arm64, 'dualstack-agent-linux-arm64'), sockdiag: join(arm64, 'sockdiag.node'), outDir: arm64, compression: 'none' });
  // rpmlint takes ~30 s on a loaded machine, most of it its checks of each 110 MB executable: one
  // run for both packages (one Python start), while the install tests below go on.
  lint = new Promise((resolve) => {
    const child = spawn('rpmlint', ['-c', join(REPO, 'deploy/package/rpm/rpmlint.toml'), current.file, aarch64.file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d; });
    child.stderr.on('data', (d: Buffer) => { out += d; });
    child.on('close', (code) => resolve({ code, out }));
  });
  root = makeRoot(join(dir, 'root'));
  pristine = snapshot(root);
});
after(async () => {
  if (lint) await lint;
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/**
 * The smallest root rpm can install into and run the scriptlets in: merged /usr (as RHEL and
 * this Debian), the programs with their libraries, /dev/null, root's account files, the
 * directories a real system's base packages own (so that they are not the package's leftovers),
 * and an empty rpm database.
 */
function makeRoot(path: string): string {
  for (const d of ['usr/bin', 'usr/sbin', 'usr/lib', 'usr/lib64']) mkdirSync(join(path, d), { recursive: true });
  for (const d of ['bin', 'sbin', 'lib', 'lib64']) symlinkSync(`usr/${d}`, join(path, d));
  for (const program of ROOT_PROGRAMS) {
    const libs = execFileSync('ldd', [program], { encoding: 'utf8' }).match(/\/\S+/g) ?? [];
    for (const file of [program, ...libs]) {
      mkdirSync(dirname(join(path, file)), { recursive: true }); // through the root's own lib -> usr/lib
      copyFileSync(realpathSync(file), join(path, file));
      execFileSync('chmod', ['--reference', realpathSync(file), join(path, file)]);
    }
  }
  mkdirSync(join(path, 'dev'));
  execFileSync('mknod', ['-m', '0666', join(path, 'dev/null'), 'c', '1', '3']);
  // (No multi-user.target.wants: systemctl disable removes the directory it leaves empty.)
  for (const d of ['etc/systemd/system', 'usr/lib/systemd/system', 'usr/share/doc', 'usr/share/licenses', 'var/lib', 'var/tmp']) mkdirSync(join(path, d), { recursive: true });
  writeFileSync(join(path, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/bash\n');
  writeFileSync(join(path, 'etc/group'), 'root:x:0:\n');
  writeFileSync(join(path, 'etc/shadow'), 'root:*:20000:0:99999:7:::\n', { mode: 0o640 });
  writeFileSync(join(path, 'etc/gshadow'), 'root:*::\n', { mode: 0o640 });
  execFileSync('rpm', ['--root', path, '--dbpath', '/var/lib/rpm', '--initdb']);
  return path;
}

/**
 * Every path under the root with its type, mode, owner and content (a digest for files), but
 * rpm's database and the backups useradd leaves (/etc/passwd- ...).
 */
function snapshot(top: string): Map<string, string> {
  const seen = new Map<string, string>();
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      const rel = relative(top, path);
      if (rel === 'var/lib/rpm' || /^etc\/(passwd|group|shadow|gshadow)-$|^etc\/\.pwd\.lock$/.test(rel)) continue;
      const st = lstatSync(path);
      const what = st.isSymbolicLink() ? `-> ${readlinkSync(path)}` : st.isDirectory() ? 'dir' : st.isFile() ? createHash('sha256').update(readFileSync(path)).digest('hex').slice(0, 16) : 'special';
      seen.set(rel, `${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid} ${what}`);
      if (st.isDirectory()) walk(path);
    }
  };
  walk(top);
  return seen;
}

function rpm(...args: string[]): string {
  const r = spawnSync('rpm', ['--root', root, '--dbpath', '/var/lib/rpm', ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, `rpm ${args.join(' ')}: ${r.stdout}${r.stderr}`);
  return r.stdout;
}

function entry(file: string, name: string): string[] | undefined {
  return readFileSync(join(root, 'etc', file), 'utf8').split('\n').find((l) => l.startsWith(`${name}:`))?.split(':');
}

function account(name: string): { uid: number; gid: number; home: string; shell: string } | null {
  const fields = entry('passwd', name);
  return fields ? { uid: Number(fields[2]), gid: Number(fields[3]), home: fields[5]!, shell: fields[6]! } : null;
}

function mode(path: string): string {
  const st = statSync(join(root, path));
  return `${(st.mode & 0o7777).toString(8).padStart(4, '0')} ${st.uid}:${st.gid}`;
}

test('install: the files, modes and owners, the dualstack user and group, the unit enabled, the post-install message', { skip }, () => {
  const out = rpm('-i', '--nodeps', previous.file);
  assert.match(out, /installed and enabled, not started: it has no collector to report to yet/);
  const user = account('dualstack');
  assert.ok(user, 'no dualstack user in the root\'s /etc/passwd');
  assert.deepEqual({ home: user.home, shell: user.shell }, { home: '/var/lib/dualstack', shell: '/sbin/nologin' });
  assert.ok(user.uid < 1000, `dualstack is not a system user: uid ${user.uid}`);
  assert.equal(Number(entry('group', 'dualstack')?.[2]), user.gid, 'the dualstack group is not the user\'s');
  assert.equal(mode('usr/lib/dualstack-agent/dualstack-agent'), '0755 0:0');
  assert.equal(mode('usr/lib/dualstack-agent/sockdiag.node'), '0644 0:0');
  assert.equal(readlinkSync(join(root, 'usr/bin/dualstack-agent')), '../lib/dualstack-agent/dualstack-agent');
  assert.equal(mode('usr/lib/systemd/system/dualstack-agent.service'), '0644 0:0');
  assert.equal(mode('etc/dualstack/agent.json'), `0640 0:${user.gid}`);
  assert.equal(mode('var/lib/dualstack'), `0700 ${user.uid}:${user.gid}`);
  for (const doc of ['README.RPM', 'examples/firewall.conf', 'examples/namespaces.conf']) assert.ok(existsSync(join(root, 'usr/share/doc/dualstack-agent', doc)), doc);
  assert.match(readFileSync(join(root, 'usr/share/licenses/dualstack-agent/LICENSE'), 'utf8'), /Permission is hereby granted/);
  // Enabled: the wants link (absolute, in the root: /lib/systemd/... where /lib is usr/lib) leads to the unit.
  assert.equal(realpathSync(join(root, readlinkSync(join(root, WANTS)))), realpathSync(join(root, 'usr/lib/systemd/system/dualstack-agent.service')));
  assert.equal(JSON.parse(readFileSync(join(root, 'etc/dualstack/agent.json'), 'utf8')).collector, undefined);
  // rpm's own check of every file's digest, mode and owner against its database: nothing to say.
  assert.equal(rpm('-V', '--nodeps', 'dualstack-agent'), '');
  // The installed executable, through the /usr/bin symlink, is the agent of that version: rpmbuild left it whole.
  const v = spawnSync(join(root, 'usr/bin/dualstack-agent'), ['--version'], { encoding: 'utf8', env: {} });
  assert.equal(v.stdout.trim(), version, v.stderr);
});

test('the packaged unit is the .deb\'s (packaged-files.mjs) and passes systemd-analyze verify as installed', { skip }, () => {
  const installed = readFileSync(join(root, 'usr/lib/systemd/system/dualstack-agent.service'), 'utf8');
  assert.equal(installed, packagedAgentUnit());
  // verify checks that the ExecStart binary exists: the copy points at the one in the root.
  const check = mkdtempSync(join(dir, 'verify-'));
  writeFileSync(join(check, 'dualstack-agent.service'), installed.replace(/^ExecStart=\/usr\/bin\//m, `ExecStart=${root}/usr/bin/`));
  const r = spawnSync('systemd-analyze', ['verify', join(check, 'dualstack-agent.service')], { encoding: 'utf8' });
  assert.equal(`${r.status} ${r.stdout}${r.stderr}`, '0 ');
});

const CHANGED = `{\n  "collector": "https://collector.example",\n  "token-file": "/etc/dualstack/token",\n  "spool": "/var/lib/dualstack/spool",\n  "interval": "1m"\n}\n`;

test('upgrade to the next release keeps a changed config (%config(noreplace)), the token, the spool and the user', { skip }, () => {
  const user = account('dualstack')!;
  writeFileSync(join(root, 'etc/dualstack/agent.json'), CHANGED);
  writeFileSync(join(root, 'etc/dualstack/token'), 'agent-token\n', { mode: 0o600 });
  mkdirSync(join(root, 'var/lib/dualstack/spool'));
  writeFileSync(join(root, 'var/lib/dualstack/spool/report-1.json'), '{}\n');
  const out = rpm('-U', '--nodeps', current.file);
  assert.doesNotMatch(out, /no collector to report to yet/, 'the message shows although a token is there');
  assert.equal(readFileSync(join(root, 'etc/dualstack/agent.json'), 'utf8'), CHANGED);
  // The new release's default beside it, for the administrator to merge (then removed, as they would).
  assert.deepEqual(readdirSync(join(root, 'etc/dualstack')).sort(), ['agent.json', 'agent.json.rpmnew', 'token']);
  assert.equal(readFileSync(join(root, 'etc/dualstack/agent.json.rpmnew'), 'utf8'), packagedAgentConfig());
  rmSync(join(root, 'etc/dualstack/agent.json.rpmnew'));
  assert.equal(mode('etc/dualstack/agent.json'), `0640 0:${user.gid}`);
  assert.equal(readFileSync(join(root, 'etc/dualstack/token'), 'utf8'), 'agent-token\n');
  assert.equal(readFileSync(join(root, 'var/lib/dualstack/spool/report-1.json'), 'utf8'), '{}\n');
  assert.deepEqual(account('dualstack'), user, 'the upgrade changed the user');
  assert.equal(rpm('-q', '--qf', '%{VERSION}-%{RELEASE}', 'dualstack-agent'), `${version}-2`);
  assert.ok(lstatSync(join(root, WANTS)).isSymbolicLink(), 'the upgrade disabled the unit');
});

test('erase disables the unit and removes the package\'s files; the root is as it was but the documented leftovers', { skip }, () => {
  const user = account('dualstack')!;
  rpm('-e', 'dualstack-agent');
  assert.throws(() => lstatSync(join(root, WANTS)), { code: 'ENOENT' }, 'the unit is still enabled');
  // README.RPM's list: the user and group, the credentials, the state, a changed config saved.
  assert.equal(readFileSync(join(root, 'etc/dualstack/agent.json.rpmsave'), 'utf8'), CHANGED);
  const now = snapshot(root);
  const changed = [...new Set([...now.keys(), ...pristine.keys()])].filter((p) => now.get(p) !== pristine.get(p)).sort();
  assert.deepEqual(changed, ['etc/dualstack', 'etc/dualstack/agent.json.rpmsave', 'etc/dualstack/token', 'etc/group', 'etc/gshadow', 'etc/passwd', 'etc/shadow',
    'var/lib/dualstack', 'var/lib/dualstack/spool', 'var/lib/dualstack/spool/report-1.json']);
  assert.equal(mode('var/lib/dualstack'), `0700 ${user.uid}:${user.gid}`);
  assert.deepEqual(account('dualstack'), user);
  assert.ok(entry('group', 'dualstack'));
  assert.equal(spawnSync('rpm', ['--root', root, '--dbpath', '/var/lib/rpm', '-q', 'dualstack-agent']).status, 1, 'still in the rpm database');
});

test('without systemctl (a container): install and erase succeed, nothing is enabled', { skip }, () => {
  rmSync(join(root, 'usr/bin/systemctl'));
  rmSync(join(root, 'etc/dualstack/token'));
  const user = account('dualstack');
  const out = rpm('-i', '--nodeps', current.file);
  assert.match(out, /installed and enabled, not started/);
  assert.throws(() => lstatSync(join(root, WANTS)), { code: 'ENOENT' });
  assert.deepEqual(account('dualstack'), user, 'the user left by the erase is taken again');
  rpm('-e', 'dualstack-agent');
  assert.ok(!existsSync(join(root, 'usr/lib/dualstack-agent')));
});

test('rpmlint finds no error in the x86_64 and aarch64 packages (deploy/package/rpm/rpmlint.toml); each requires its own architecture\'s libraries', { skip }, async () => {
  const requires = (file: string) => execFileSync('rpm', ['-qp', '--requires', file], { encoding: 'utf8' });
  assert.match(requires(current.file), /^ld-linux-x86-64\.so\.2\(\)\(64bit\)$/m);
  assert.match(requires(aarch64.file), /^ld-linux-aarch64\.so\.1\(\)\(64bit\)$/m);
  assert.match(requires(aarch64.file), /^\/usr\/sbin\/useradd$/m);
  const { code, out } = await lint;
  const errors = out.split('\n').filter((l) => / E: /.test(l));
  assert.deepEqual(errors, [], out);
  assert.equal(code, 0, out);
  assert.match(out, / 2 packages and 0 specfiles checked; 0 errors/, out);
  for (const arch of ['x86_64', 'aarch64']) {
    process.stdout.write(`# .rpm ${arch}: rpmlint ${out.split('\n').filter((l) => l.startsWith(`dualstack-agent.${arch}: W: `)).length} warnings (explained in rpmlint.toml)\n`);
  }
});
