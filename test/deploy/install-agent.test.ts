// deploy/install-agent.sh in a throw-away root (--root DIR: a directory tree shaped like a
// host's /, with its own /etc/passwd; the user is created there by `useradd --root`, and
// systemctl is not run): installed twice in a row leaves the identical tree (nothing even
// rewritten); --firewall adds the CAP_NET_ADMIN drop-in where systemd reads it (and only
// it), twice is once, a run without --firewall takes it away again (not a drop-in put there
// by hand); then --uninstall leaves the tree as it was before. Needs root and useradd.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { skipUnlessAvailable, skipUnlessCommands } from '../helpers/requirements.js';
import { startTestCollector } from '../../packages/collector/test/helpers/collector.js';
import { generateToken, hashToken } from '../../packages/collector/src/tokens.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const SCRIPT = join(REPO, 'deploy/install-agent.sh');
const UNIT = join(REPO, 'deploy/systemd/dualstack-agent.service');
const DROP_IN = join(REPO, 'deploy/systemd/dualstack-agent.service.d/firewall.conf');
const NS_DROP_IN = join(REPO, 'deploy/systemd/dualstack-agent.service.d/namespaces.conf');
const DROP_IN_DIR_PATH = 'etc/systemd/system/dualstack-agent.service.d';
const DROP_IN_PATH = `${DROP_IN_DIR_PATH}/firewall.conf`;
const DROP_IN_MARK = '# Installed by install-agent.sh --firewall: a run without --firewall removes it.\n';
const PROC = join(REPO, 'test/fixtures/dual-stack-services/proc');
// shadow-utils keeps the previous passwd/group/shadow/gshadow as name- and locks with
// .pwd.lock; on a real host these exist before and after, their content follows each change.
const SHADOW_BACKUPS = new Set(['etc/passwd-', 'etc/group-', 'etc/shadow-', 'etc/gshadow-', 'etc/.pwd.lock']);

const skip =
  skipUnlessAvailable((process.platform !== 'linux' || process.getuid?.() !== 0) && 'needs root (it creates a user with useradd --root and chowns files)', { how: 'run the tests as root (.ci/run runs as root)' }) ||
  skipUnlessCommands({ useradd: 'passwd', userdel: 'passwd', groupdel: 'passwd' });

interface Entry {
  path: string;
  type: 'dir' | 'file' | 'link';
  mode: string;
  uid: number;
  gid: number;
  content: string;
  mtimeMs: number;
}

/** Every entry under root: type, mode, owner, content hash (or link target), mtime. */
function snapshot(root: string): Entry[] {
  const out: Entry[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      const st = lstatSync(path);
      const type = st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'link' : 'file';
      const content = type === 'file' ? createHash('sha256').update(readFileSync(path)).digest('hex') : type === 'link' ? readlinkSync(path) : '';
      out.push({ path: relative(root, path), type, mode: (st.mode & 0o7777).toString(8), uid: st.uid, gid: st.gid, content, mtimeMs: type === 'file' ? st.mtimeMs : 0 });
      if (type === 'dir') walk(path);
    }
  };
  walk(root);
  return out;
}

const listing = (entries: Entry[]) => entries.map(({ path, type, mode, uid, gid }) => ({ path, type, mode, uid, gid }));
const contents = (entries: Entry[]) => entries.filter((e) => !SHADOW_BACKUPS.has(e.path)).map(({ path, content }) => ({ path, content }));

/** A directory shaped like a small Debian host's /. */
function makeRoot(): string {
  const root = mkdtempSync(join(tmpdir(), 'dualstack-root-'));
  chmodSync(root, 0o755);
  for (const dir of ['etc/systemd/system', 'usr/local/lib', 'usr/sbin', 'usr/bin', 'var/lib']) mkdirSync(join(root, dir), { recursive: true });
  const files: Record<string, [string, number]> = {
    'etc/passwd': ['root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n', 0o644],
    'etc/group': ['root:x:0:\ndaemon:x:1:\n', 0o644],
    'etc/shadow': ['root:*:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n', 0o640],
    'etc/gshadow': ['root:*::\ndaemon:*::\n', 0o640],
    'etc/passwd-': ['root:x:0:0:root:/root:/bin/bash\n', 0o644],
    'etc/group-': ['root:x:0:\n', 0o644],
    'etc/shadow-': ['root:*:19000:0:99999:7:::\n', 0o640],
    'etc/gshadow-': ['root:*::\n', 0o640],
    'etc/.pwd.lock': ['', 0o600],
    'usr/sbin/nologin': ['#!/bin/sh\nexit 1\n', 0o755],
  };
  for (const [path, [text, mode]] of Object.entries(files)) {
    writeFileSync(join(root, path), text);
    chmodSync(join(root, path), mode);
  }
  return root;
}

function install(args: string[], input?: string) {
  const r = spawnSync('bash', [SCRIPT, ...args], { encoding: 'utf8', input: input ?? '', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('install-agent.sh in a throw-away root', { skip }, () => {
  let work: string;
  let root: string;
  let artifact: string;
  let tokenFile: string;
  let initial: Entry[];

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'dualstack-install-'));
    const { packageAgent } = (await import(join(REPO, 'scripts/package-agent.mjs'))) as { packageAgent(o: { outfile: string }): Promise<{ outfile: string }> };
    ({ outfile: artifact } = await packageAgent({ outfile: join(work, 'dualstack-agent.mjs') }));
    tokenFile = join(work, 'token');
    writeFileSync(tokenFile, 'ds_agent_token_0123456789\n');
    root = makeRoot();
    initial = snapshot(root);
  });
  after(() => {
    if (work) rmSync(work, { recursive: true, force: true });
    if (root) rmSync(root, { recursive: true, force: true });
  });

  const installArgs = () => ['--root', root, '--artifact', artifact, '--collector', 'https://collector.example:8443', '--token-file', tokenFile];
  let first: Entry[];

  test('first install: user, artifact, config, token and unit, with their owners and modes', () => {
    const r = install(installArgs());
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /created system user dualstack \(uid \d+\)/);
    assert.match(r.stdout, /systemctl not run \(--root\)/);
    assert.match(r.stdout, /: changed$/m);
    first = snapshot(root);

    const passwd = readFileSync(join(root, 'etc/passwd'), 'utf8');
    const line = /^dualstack:x:(\d+):(\d+):dualstack agent:\/var\/lib\/dualstack:\/usr\/sbin\/nologin$/m.exec(passwd);
    assert.ok(line, passwd);
    const [uid, gid] = [Number(line[1]), Number(line[2])];
    assert.ok(uid < 1000, 'a system user');
    assert.match(readFileSync(join(root, 'etc/group'), 'utf8'), new RegExp(`^dualstack:x:${gid}:$`, 'm'));
    assert.equal(readFileSync('/etc/passwd', 'utf8').includes('dualstack agent'), false, "the host's own /etc/passwd is untouched");

    const entry = (path: string) => first.find((e) => e.path === path)!;
    assert.deepEqual(listing([entry('etc/dualstack/token')]), [{ path: 'etc/dualstack/token', type: 'file', mode: '600', uid, gid }]);
    assert.deepEqual(listing([entry('etc/dualstack/agent.json')]), [{ path: 'etc/dualstack/agent.json', type: 'file', mode: '640', uid: 0, gid }]);
    assert.deepEqual(listing([entry('usr/local/lib/dualstack/dualstack-agent.mjs')]), [{ path: 'usr/local/lib/dualstack/dualstack-agent.mjs', type: 'file', mode: '755', uid: 0, gid: 0 }]);
    assert.deepEqual(listing([entry('etc/systemd/system/dualstack-agent.service')]), [{ path: 'etc/systemd/system/dualstack-agent.service', type: 'file', mode: '644', uid: 0, gid: 0 }]);
    assert.equal(readFileSync(join(root, 'etc/dualstack/token'), 'utf8'), 'ds_agent_token_0123456789\n');
    assert.equal(readFileSync(join(root, 'etc/systemd/system/dualstack-agent.service'), 'utf8'), readFileSync(UNIT, 'utf8'));
    assert.deepEqual(readFileSync(join(root, 'usr/local/lib/dualstack/dualstack-agent.mjs')), readFileSync(artifact));
    assert.deepEqual(JSON.parse(readFileSync(join(root, 'etc/dualstack/agent.json'), 'utf8')), {
      collector: 'https://collector.example:8443',
      'token-file': '/etc/dualstack/token',
      spool: '/var/lib/dualstack/spool',
      interval: '5m',
    });
  });

  test('the installed agent.json is what the installed agent reads with --config (push; run keys ignored)', () => {
    const spool = join(work, 'spool');
    // The flags point the config's host paths (token, spool) and collector at test ones.
    const r = spawnSync(process.execPath, [join(root, 'usr/local/lib/dualstack/dualstack-agent.mjs'), 'push', '--config', join(root, 'etc/dualstack/agent.json'), '--token-file', tokenFile, '--spool', spool, '--collector', 'http://127.0.0.1:9', '--proc-root', PROC], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /^spooled report /m);
  });

  test('second install with the same options: identical tree, nothing rewritten', () => {
    const r = install(installArgs());
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /unchanged: already installed as asked$/m);
    assert.doesNotMatch(r.stdout, /installed \/|created/);
    assert.deepEqual(snapshot(root), first);
  });

  test('a re-run without --artifact/--collector keeps them; a new token from stdin changes the token only', () => {
    const r = install(['--root', root, '--token-stdin'], 'ds_agent_token_rotated\n');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /installed \/etc\/dualstack\/token/);
    const now = snapshot(root);
    const changed = now.filter((e, i) => JSON.stringify(e) !== JSON.stringify(first[i])).map((e) => e.path);
    assert.deepEqual(changed, ['etc/dualstack/token']);
    assert.deepEqual(listing(now), listing(first));
    assert.equal(readFileSync(join(root, 'etc/dualstack/token'), 'utf8'), 'ds_agent_token_rotated\n');
  });

  /** Entries of `now` that are not in `before` or differ from it, by path. */
  const changes = (before: Entry[], now: Entry[]) => {
    const old = new Map(before.map((e) => [e.path, JSON.stringify(e)]));
    return now.filter((e) => old.get(e.path) !== JSON.stringify(e)).map((e) => e.path);
  };
  /** `systemd-analyze security --offline --root` on the installed unit: what systemd would load from that root, drop-ins included. */
  const effective = (t: TestContext) => {
    const missing = skipUnlessCommands({ 'systemd-analyze': 'systemd' });
    if (missing) {
      t.diagnostic(`${missing}: the drop-in is not checked as systemd loads it`);
      return null;
    }
    const r = spawnSync('systemd-analyze', ['security', '--offline=yes', `--root=${root}`, '--no-pager', 'dualstack-agent.service'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout;
  };
  let beforeFirewall: Entry[];
  let withFirewall: Entry[];

  test('--firewall: the drop-in, marked as the installer\'s, beside the installed unit (systemd reads it there); nothing else changes', (t) => {
    beforeFirewall = snapshot(root);
    const unitOnly = effective(t);
    if (unitOnly !== null) assert.match(unitOnly, /^✓ CapabilityBoundingSet=~CAP_NET_ADMIN /m, 'no CAP_NET_ADMIN before');
    const r = install(['--root', root, '--firewall']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /installed \/etc\/systemd\/system\/dualstack-agent\.service\.d\/firewall\.conf/);
    assert.match(r.stdout, /: changed$/m);
    withFirewall = snapshot(root);
    assert.deepEqual(changes(beforeFirewall, withFirewall), [DROP_IN_DIR_PATH, DROP_IN_PATH]);
    assert.deepEqual(listing(withFirewall.filter((e) => e.path.startsWith(DROP_IN_DIR_PATH))), [
      { path: DROP_IN_DIR_PATH, type: 'dir', mode: '755', uid: 0, gid: 0 },
      { path: DROP_IN_PATH, type: 'file', mode: '644', uid: 0, gid: 0 },
    ]);
    assert.equal(readFileSync(join(root, DROP_IN_PATH), 'utf8'), DROP_IN_MARK + readFileSync(DROP_IN, 'utf8'));
    // The unit as systemd loads it from this root now holds CAP_NET_ADMIN.
    const out = effective(t);
    if (out !== null) assert.match(out, /^✗ CapabilityBoundingSet=~CAP_NET_ADMIN /m);
  });

  test('--firewall again: identical tree, nothing rewritten', () => {
    const r = install(['--root', root, '--firewall']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /unchanged \/etc\/systemd\/system\/dualstack-agent\.service\.d\/firewall\.conf/);
    assert.match(r.stdout, /unchanged: already installed as asked$/m);
    assert.deepEqual(snapshot(root), withFirewall);
  });

  test('a re-run without --firewall removes the drop-in and its directory: the tree before --firewall, nothing else rewritten', (t) => {
    const r = install(['--root', root]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /removed \/etc\/systemd\/system\/dualstack-agent\.service\.d\/firewall\.conf \(no --firewall/);
    assert.match(r.stdout, /: changed$/m);
    assert.deepEqual(snapshot(root), beforeFirewall);
    const out = effective(t);
    if (out !== null) assert.match(out, /^✓ CapabilityBoundingSet=~CAP_NET_ADMIN /m);
    const again = install(['--root', root]);
    assert.match(again.stdout, /unchanged: already installed as asked$/m);
    assert.deepEqual(snapshot(root), beforeFirewall);
  });

  test('a firewall.conf put there by hand is kept by a run without --firewall, and replaced by one with it', () => {
    mkdirSync(join(root, DROP_IN_DIR_PATH));
    writeFileSync(join(root, DROP_IN_PATH), readFileSync(DROP_IN));
    const byHand = snapshot(root);
    const r = install(['--root', root]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /kept \/etc\/systemd\/system\/dualstack-agent\.service\.d\/firewall\.conf: not installed by install-agent\.sh --firewall/);
    assert.match(r.stdout, /unchanged: already installed as asked$/m);
    assert.deepEqual(snapshot(root), byHand);
    const adopt = install(['--root', root, '--firewall']);
    assert.equal(adopt.code, 0, adopt.stderr);
    assert.equal(readFileSync(join(root, DROP_IN_PATH), 'utf8'), DROP_IN_MARK + readFileSync(DROP_IN, 'utf8'));
    assert.deepEqual(listing(snapshot(root)), listing(withFirewall));
    assert.deepEqual(contents(snapshot(root)), contents(withFirewall));
  });

  test('--namespaces: namespaces.conf (CAP_SYS_ADMIN) beside firewall.conf, marked as the installer\'s; a re-run with --firewall only takes it away again and keeps the firewall drop-in', (t) => {
    const nsPath = `${DROP_IN_DIR_PATH}/namespaces.conf`;
    const nsMark = '# Installed by install-agent.sh --namespaces: a run without --namespaces removes it.\n';
    const firewallInstalled = snapshot(root);
    const both = install(['--root', root, '--firewall', '--namespaces']);
    assert.equal(both.code, 0, both.stderr);
    assert.match(both.stdout, /installed \/etc\/systemd\/system\/dualstack-agent\.service\.d\/namespaces\.conf/);
    assert.match(both.stdout, /unchanged \/etc\/systemd\/system\/dualstack-agent\.service\.d\/firewall\.conf/);
    const withBoth = snapshot(root);
    assert.deepEqual(changes(firewallInstalled, withBoth), [nsPath]);
    assert.deepEqual(listing(withBoth.filter((e) => e.path === nsPath)), [{ path: nsPath, type: 'file', mode: '644', uid: 0, gid: 0 }]);
    assert.equal(readFileSync(join(root, nsPath), 'utf8'), nsMark + readFileSync(NS_DROP_IN, 'utf8'));
    const out = effective(t);
    if (out !== null) assert.match(out, /^✗ CapabilityBoundingSet=~CAP_SYS_ADMIN /m);
    const again = install(['--root', root, '--firewall', '--namespaces']);
    assert.match(again.stdout, /unchanged: already installed as asked$/m);
    assert.deepEqual(snapshot(root), withBoth);
    const firewallOnly = install(['--root', root, '--firewall']);
    assert.equal(firewallOnly.code, 0, firewallOnly.stderr);
    assert.match(firewallOnly.stdout, /removed \/etc\/systemd\/system\/dualstack-agent\.service\.d\/namespaces\.conf \(no --namespaces: the agent no longer enters other network namespaces\)/);
    assert.deepEqual(listing(snapshot(root)), listing(withFirewall));
    assert.deepEqual(contents(snapshot(root)), contents(withFirewall));
    const gone = effective(t);
    if (gone !== null) assert.match(gone, /^✓ CapabilityBoundingSet=~CAP_SYS_ADMIN /m);
  });

  test('--secret-file: the enroll secret installed 0600 for the agent user and named in agent.json (no token), and the first run enrolls by itself and delivers', async (t) => {
    const fresh = makeRoot();
    const pristine = snapshot(fresh);
    const collector = await startTestCollector();
    t.after(async () => {
      await collector.close();
      rmSync(fresh, { recursive: true, force: true });
    });
    const secret = generateToken();
    await collector.store.createToken({ name: 'rollout', role: 'enroll', hash: hashToken(secret) });
    const secretFile = join(work, 'enroll-secret');
    writeFileSync(secretFile, `${secret}\n`);
    const args = ['--root', fresh, '--artifact', artifact, '--collector', collector.url, '--secret-file', secretFile];
    const r = install(args);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /installed \/etc\/dualstack\/enroll-secret/);
    const installed = snapshot(fresh);
    const [uid, gid] = /^dualstack:x:(\d+):(\d+):/m.exec(readFileSync(join(fresh, 'etc/passwd'), 'utf8'))!.slice(1).map(Number);
    assert.deepEqual(listing(installed.filter((e) => e.path.startsWith('etc/dualstack/'))), [
      { path: 'etc/dualstack/agent.json', type: 'file', mode: '640', uid: 0, gid },
      { path: 'etc/dualstack/enroll-secret', type: 'file', mode: '600', uid, gid },
    ]);
    assert.equal(readFileSync(join(fresh, 'etc/dualstack/enroll-secret'), 'utf8'), `${secret}\n`);
    const config = JSON.parse(readFileSync(join(fresh, 'etc/dualstack/agent.json'), 'utf8')) as Record<string, string>;
    assert.deepEqual(config, { collector: collector.url, 'secret-file': '/etc/dualstack/enroll-secret', spool: '/var/lib/dualstack/spool', interval: '5m' });
    const again = install(args);
    assert.match(again.stdout, /unchanged: already installed as asked$/m);
    assert.deepEqual(snapshot(fresh), installed);

    // The installed agent on the installed agent.json, its host paths moved into the root (the
    // state directory is the unit's StateDirectory, the agent's default, moved likewise).
    const moved = join(work, 'agent-in-root.json');
    writeFileSync(moved, JSON.stringify({ ...config, 'secret-file': join(fresh, config['secret-file']!), spool: join(fresh, config.spool!) }));
    const stateDir = join(fresh, 'var/lib/dualstack');
    const hostId = 'installed-with-secret';
    const agent = spawn(process.execPath, [join(fresh, 'usr/local/lib/dualstack/dualstack-agent.mjs'), 'run', '--config', moved, '--state-dir', stateDir, '--proc-root', PROC, '--host-id', hostId, '--interval', '1s', '--jitter', '0s'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    agent.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    agent.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise((resolve) => agent.once('exit', resolve));
    try {
      for (const deadline = Date.now() + 30_000; !/"event":"delivered"/.test(stdout); ) {
        assert.ok(agent.exitCode === null && Date.now() < deadline, `the agent did not deliver:\n${stdout}\n${stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    } finally {
      agent.kill('SIGTERM');
      await exited;
    }
    assert.match(stdout + stderr, new RegExp(`enrolled as ${hostId} \\(no host key yet\\): host key \\S+ stored in ${stateDir}/host.key`));
    assert.equal((lstatSync(join(stateDir, 'host.key')).mode & 0o777).toString(8), '600');
    const keys = await collector.store.hostKeysOf(hostId);
    assert.equal(keys.filter((k) => k.state === 'live').length, 1, JSON.stringify(keys));
    assert.equal((await collector.store.counts()).hosts, 1);

    const gone = install(['--root', fresh, '--uninstall']);
    assert.match(gone.stdout, /^install-agent\.sh: removed \/etc\/dualstack\/enroll-secret$/m);
    assert.deepEqual(listing(snapshot(fresh)), listing(pristine));
  });

  test('mistakes are one line and exit 1', () => {
    const fresh = makeRoot();
    const pristine = snapshot(fresh);
    try {
      const noCollector = install(['--root', fresh, '--artifact', artifact, '--token-file', tokenFile]);
      assert.equal(noCollector.code, 1);
      assert.equal(noCollector.stderr, 'install-agent.sh: --collector URL is required on the first install\n');
      const noToken = install(['--root', fresh, '--artifact', artifact, '--collector', 'https://c.example']);
      assert.equal(noToken.stderr, 'install-agent.sh: a token or an enroll secret is required on the first install (--token-file FILE, --token-stdin or --secret-file FILE)\n');
      const emptySecret = join(work, 'empty-secret');
      writeFileSync(emptySecret, '\n');
      const noSecret = install(['--root', fresh, '--artifact', artifact, '--collector', 'https://c.example', '--secret-file', emptySecret]);
      assert.equal(noSecret.code, 1);
      assert.equal(noSecret.stderr, `install-agent.sh: the enroll secret in --secret-file ${emptySecret} is empty\n`);
      const notAgent = install(['--root', fresh, '--artifact', UNIT, '--collector', 'https://c.example', '--token-file', tokenFile]);
      assert.match(notAgent.stderr, /is not the dualstack-agent bundle/);
      const badUrl = install(['--root', fresh, '--artifact', artifact, '--collector', 'collector.example', '--token-file', tokenFile]);
      assert.match(badUrl.stderr, /--collector must be an http:\/\/ or https:\/\/ URL/);
      const unknown = install(['--frobnicate']);
      assert.equal(unknown.code, 2);
      const both = install(['--root', fresh, '--uninstall', '--firewall']);
      assert.equal(both.code, 1);
      assert.equal(both.stderr, 'install-agent.sh: give --firewall or --uninstall, not both\n');
      // None of them wrote anything: not even the user.
      assert.deepEqual(snapshot(fresh), pristine);
    } finally {
      rmSync(fresh, { recursive: true, force: true });
    }
  });

  test('--uninstall (the firewall drop-in installed) leaves the root as it was before the install (twice: the second finds nothing)', () => {
    assert.ok(lstatSync(join(root, DROP_IN_PATH)).isFile(), 'installed with --firewall');
    const r = install(['--root', root, '--uninstall']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /removed user dualstack/);
    assert.match(r.stdout, /^install-agent\.sh: removed \/etc\/systemd\/system\/dualstack-agent\.service\.d\/firewall\.conf$/m);
    assert.match(r.stdout, /^install-agent\.sh: removed \/etc\/systemd\/system\/dualstack-agent\.service\.d\/$/m);
    const after = snapshot(root);
    assert.deepEqual(listing(after), listing(initial));
    assert.deepEqual(contents(after), contents(initial));
    const again = install(['--root', root, '--uninstall']);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout, 'install-agent.sh: uninstalled\n');
    assert.deepEqual(listing(snapshot(root)), listing(initial));
  });
});
