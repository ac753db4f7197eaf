// What the .deb tests share (deb.test.ts: the agent's, collector-deb.test.ts: the collector's):
// a throw-away root for `dpkg --root` with its own database, a snapshot of it (what purge must
// restore), its accounts and modes as the maintainer scripts left them, and lintian run in the
// background while the install tests go on.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/** A root with what dpkg --root and useradd --root need: dpkg's database, root's account files. */
export function makeRoot(path: string): string {
  for (const d of ['var/lib/dpkg/info', 'var/lib/dpkg/updates', 'var/lib/dpkg/triggers', 'var/log', 'etc/systemd/system']) mkdirSync(join(path, d), { recursive: true });
  for (const f of ['status', 'available']) writeFileSync(join(path, 'var/lib/dpkg', f), '');
  writeFileSync(join(path, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/bash\n');
  writeFileSync(join(path, 'etc/group'), 'root:x:0:\n');
  writeFileSync(join(path, 'etc/shadow'), 'root:*:20000:0:99999:7:::\n', { mode: 0o640 });
  writeFileSync(join(path, 'etc/gshadow'), 'root:*::\n', { mode: 0o640 });
  return path;
}

/**
 * Every path under root with its type, mode, owner and (files) content, but dpkg's own records
 * (its database and log) and the backups useradd/userdel leave (/etc/passwd- ...).
 */
export function snapshot(top: string): Map<string, string> {
  const seen = new Map<string, string>();
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      const rel = relative(top, path);
      if (rel === 'var/lib/dpkg' || rel === 'var/log/dpkg.log' || /^etc\/(passwd|group|shadow|gshadow)-$|^etc\/\.pwd\.lock$/.test(rel)) continue;
      const st = lstatSync(path);
      const what = st.isSymbolicLink() ? `-> ${readlinkSync(path)}` : st.isDirectory() ? 'dir' : readFileSync(path, 'utf8');
      seen.set(rel, `${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid} ${what}`);
      if (st.isDirectory()) walk(path);
    }
  };
  walk(top);
  return seen;
}

/**
 * dpkg on `root`: its maintainer scripts run on this host with DPKG_ROOT=root
 * (--force-script-chrootless), --force-depends as the root has no libc6 package, and
 * --force-unsafe-io (no fsync per file: a throw-away root).
 */
export function dpkgIn(root: string, ...args: string[]): string {
  const r = spawnSync('dpkg', [`--root=${root}`, '--force-script-chrootless', '--force-depends', '--force-unsafe-io', ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, `dpkg ${args.join(' ')}: ${r.stdout}${r.stderr}`);
  return r.stdout;
}

/** A user of root's /etc/passwd, or null. */
export function accountIn(root: string, name: string): { uid: number; gid: number; home: string; shell: string } | null {
  const line = readFileSync(join(root, 'etc/passwd'), 'utf8').split('\n').find((l) => l.startsWith(`${name}:`));
  if (!line) return null;
  const [, , uid, gid, , home, shell] = line.split(':');
  return { uid: Number(uid), gid: Number(gid), home: home!, shell: shell! };
}

/** "0644 0:0": a path's mode and owner under root. */
export function modeIn(root: string, path: string): string {
  const st = statSync(join(root, path));
  return `${(st.mode & 0o7777).toString(8).padStart(4, '0')} ${st.uid}:${st.gid}`;
}

/** lintian on a package, started now; resolves to its exit code and output. */
export function lintianOf(file: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn('lintian', ['--no-cfg', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d; });
    child.stderr.on('data', (d: Buffer) => { out += d; });
    child.on('close', (code) => resolve({ code, out }));
  });
}
