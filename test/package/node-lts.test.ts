// scripts/node-lts.sh, sourced before `npm ci` (README's quick start, .ci/run): with node >= 24
// on PATH it does nothing; with an older one it puts the pinned Node.js from the per-user cache
// first on PATH with npm_config_nodedir at its headers; a cached tarball that is not the pinned
// one is refused and the shell keeps its node. The registry is never asked here: `npm` on PATH is
// a stub that fails, and the cache is filled with the runtime node-runtime.mjs already holds for
// the executables (the same download the SEA tests use).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { machine, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const { NODE_RUNTIME, nodeRuntime } = (await import(join(REPO, 'scripts/package/node-runtime.mjs'))) as {
  NODE_RUNTIME: { version: string };
  nodeRuntime(arch: string): { tarball: string; node: string };
};
const ARCH = ({ x86_64: 'x64', aarch64: 'arm64' } as Record<string, string>)[machine()];

/** A temp dir with a fake `node` (prints `version` for -v, else runs this test's node, or logs and fails) and a failing `npm`. */
function fakeBin(t: { after(fn: () => void): void }, version: string, { runsScripts }: { runsScripts: boolean }) {
  const dir = mkdtempSync(join(tmpdir(), 'dualstack-node-lts-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  const calls = join(dir, 'node-calls');
  const other = runsScripts ? `exec '${process.execPath}' "$@"` : `echo "$*" >> '${calls}'; exit 1`;
  writeFileSync(join(bin, 'node'), `#!/bin/sh\nif [ "$1" = -v ]; then echo ${version}; exit 0; fi\n${other}\n`);
  writeFileSync(join(bin, 'npm'), `#!/bin/sh\necho "npm stub: $*" >&2; exit 1\n`);
  chmodSync(join(bin, 'node'), 0o755);
  chmodSync(join(bin, 'npm'), 0o755);
  return { dir, bin, calls, cache: join(dir, 'cache') };
}

/** Sources the script in `shell` and prints what the shell has afterwards. */
function source(shell: string, script: string, env: Record<string, string>) {
  const probe = `. ${script}; echo "rc=$?"; echo "node=$(command -v node)"; echo "version=$(node -v)"; echo "nodedir=\${npm_config_nodedir:-}"`;
  const r = spawnSync(shell, ['-c', probe], { cwd: REPO, env: { HOME: env.HOME ?? tmpdir(), ...env }, encoding: 'utf8' });
  const out = Object.fromEntries(r.stdout.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  return { rc: out.rc, node: out.node, version: out.version, nodedir: out.nodedir, stderr: r.stderr };
}

test('node >= 24 already: sourcing changes nothing, fetches nothing, runs nothing but node -v', (t) => {
  const f = fakeBin(t, 'v24.1.0', { runsScripts: false });
  const PATH = `${f.bin}:/usr/bin:/bin`;
  const r = source('sh', './scripts/node-lts.sh', { PATH, XDG_CACHE_HOME: f.cache, npm_config_nodedir: '/usr' });
  assert.equal(r.rc, '0', r.stderr);
  assert.equal(r.node, join(f.bin, 'node'));
  assert.equal(r.version, 'v24.1.0');
  assert.equal(r.nodedir, '/usr', 'npm_config_nodedir left as it was');
  assert.equal(r.stderr, '');
  assert.equal(existsSync(f.calls), false, 'node was asked only for -v');
  assert.equal(existsSync(f.cache), false, 'no cache made');
});

test('an older node: the pinned Node.js from the cache comes first on PATH, with npm_config_nodedir at its headers', { skip: ARCH ? false : `no Node.js package for ${machine()}` }, (t) => {
  const f = fakeBin(t, 'v20.20.2', { runsScripts: true });
  const dir = join(f.cache, 'dualstack/node-runtime', NODE_RUNTIME.version);
  mkdirSync(dir, { recursive: true });
  // Linked, not copied and unpacked again (~50 MB, ~120 MB unpacked): the tarball is still
  // checked against the pin, the unpacking is node-runtime.mjs's and tested with the executables.
  const runtime = nodeRuntime(ARCH!);
  symlinkSync(runtime.tarball, join(dir, `node-linux-${ARCH}-${NODE_RUNTIME.version}.tgz`));
  // Its directory as node-runtime.mjs leaves it (unpacked in a mkdtemp, 0700): opened for the
  // other users the tests run node as.
  mkdirSync(join(dir, ARCH!), { mode: 0o700 });
  for (const entry of ['bin', 'include']) symlinkSync(join(runtime.node, '../..', entry), join(dir, ARCH!, entry));
  // bash, by absolute path from another directory: the script finds node-lts.mjs beside itself.
  const r = source('bash', join(REPO, 'scripts/node-lts.sh'), { PATH: `${f.bin}:/usr/bin:/bin`, XDG_CACHE_HOME: f.cache, npm_config_nodedir: '/usr' });
  assert.equal(r.rc, '0', r.stderr);
  assert.equal(r.node, join(dir, ARCH!, 'bin/node'));
  assert.equal(r.version, `v${NODE_RUNTIME.version}`);
  assert.equal(r.nodedir, join(dir, ARCH!));
  assert.match(readFileSync(join(r.nodedir ?? '', 'include/node/node_version.h'), 'utf8'), new RegExp(`#define NODE_MAJOR_VERSION ${NODE_RUNTIME.version.split('.')[0]}\\b`));
  assert.doesNotMatch(r.stderr, /npm stub/, 'the cached tarball was used, the registry not asked');
  assert.equal(statSync(join(dir, ARCH!)).mode & 0o777, 0o755);
});

test('an older node and a cached tarball that is not the pinned one: refused, removed, the shell keeps its node', { skip: ARCH ? false : `no Node.js package for ${machine()}` }, (t) => {
  const f = fakeBin(t, 'v20.20.2', { runsScripts: true });
  const dir = join(f.cache, 'dualstack/node-runtime', NODE_RUNTIME.version);
  mkdirSync(dir, { recursive: true });
  const tarball = join(dir, `node-linux-${ARCH}-${NODE_RUNTIME.version}.tgz`);
  writeFileSync(tarball, 'not the runtime');
  const r = source('sh', './scripts/node-lts.sh', { PATH: `${f.bin}:/usr/bin:/bin`, XDG_CACHE_HOME: f.cache, npm_config_nodedir: '/usr' });
  assert.equal(r.rc, '1');
  assert.match(r.stderr, /node-lts: node runtime: node-linux-\S+\.tgz has integrity sha512-\S+, not the pinned sha512-\S+: refused/);
  assert.equal(existsSync(tarball), false);
  assert.equal(r.node, join(f.bin, 'node'));
  assert.equal(r.version, 'v20.20.2');
  assert.equal(r.nodedir, '/usr');
});
