#!/usr/bin/env node
// better-sqlite3's compiled module for the collector package's own runtime (issue 13): built
// from better-sqlite3's npm source as installed in node_modules (the version package-lock.json
// pins) against the headers of the Node.js runtime the package carries (node-runtime.mjs:
// <arch>/include/node, so node-gyp downloads nothing), in a temporary copy: the repository's
// own node_modules/better-sqlite3 is built for the Node.js that runs the tests and stays so.
//
// The result is cached in this machine's cache (node-runtime.mjs' machineCache: root's is
// /var/cache/dualstack/better-sqlite3/<key>/), where <key> is the sha256 of what decides the
// binary (better-sqlite3's version, the runtime's version and tarball integrity, the
// architecture): a second build, a second test file, and the next CI run on the same machine
// reuse it instead of compiling SQLite again (about a minute of CPU for x64; the arm64 cross
// compile with Debian's g++-aarch64-linux-gnu takes 75 s of CPU, 2 minutes wall). Outside
// node_modules/ because `npm ci`, which .ci/run starts with, empties it.
//
// Where the repository's own better-sqlite3 was already built for the same architecture and
// the same Node.js module ABI as the package's runtime (npm ci under that runtime, as .ci/run
// does since the project moved to Node 24), that module is taken instead of compiling SQLite a
// second time: better-sqlite3 is compiled per ABI (NODE_MODULE_VERSION), not per patch release.
//
//   node scripts/package/collector-sqlite.mjs [--arch x64]    prints the module's path
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, renameSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { machineCache, nodeRuntime } from './node-runtime.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const BETTER_SQLITE3 = join(root, 'node_modules/better-sqlite3');
export const SQLITE_CACHE = machineCache('better-sqlite3');
/** What of better-sqlite3's package the build reads (build/, a build for the test runtime, is left out). */
const SOURCES = ['package.json', 'binding.gyp', 'src', 'deps', 'lib'];

export function betterSqlite3Version(dir = BETTER_SQLITE3) {
  return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version;
}

/** The C++ compiler per target architecture (Debian: g++, g++-aarch64-linux-gnu). */
const CXX = { x64: process.arch === 'x64' ? ['g++', 'gcc'] : ['x86_64-linux-gnu-g++', 'x86_64-linux-gnu-gcc'], arm64: process.arch === 'arm64' ? ['g++', 'gcc'] : ['aarch64-linux-gnu-g++', 'aarch64-linux-gnu-gcc'] };

function onPath(name) {
  return (process.env.PATH ?? '').split(delimiter).concat('/usr/bin').map((dir) => join(dir || '.', name)).find((p) => existsSync(p)) ?? null;
}

/** npm's own node-gyp (npm ships it): beside the npm on PATH. */
export function findNodeGyp() {
  const npm = onPath('npm');
  const candidates = [process.env.npm_config_node_gyp, npm && join(dirname(realpathSync(npm)), '../node_modules/node-gyp/bin/node-gyp.js')].filter(Boolean);
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`collector-sqlite: node-gyp not found (looked at ${candidates.join(', ') || 'npm on PATH'}): it comes with npm`);
  return found;
}

/**
 * The better_sqlite3.node for `arch` and the package's runtime; built unless cached. Resolves to
 * { file, key, version, runtime, built } (built: false when it came from the cache).
 */
export function betterSqlite3Module(arch, { cache = SQLITE_CACHE, log = () => {}, betterSqlite3 = BETTER_SQLITE3 } = {}) {
  const runtime = nodeRuntime(arch);
  const version = betterSqlite3Version(betterSqlite3);
  const key = createHash('sha256').update(JSON.stringify({ betterSqlite3: version, node: runtime.version, integrity: runtime.integrity, arch })).digest('hex').slice(0, 16);
  const dir = join(cache, `${version}-node${runtime.version}-${arch}-${key}`);
  const file = join(dir, 'better_sqlite3.node');
  if (existsSync(file)) return { file, key, version, runtime, built: false };
  const reusable = repositoryModuleFor(arch, runtime, betterSqlite3);
  if (reusable) {
    log(`collector-sqlite: the repository's better-sqlite3 ${version} is built for this runtime's ABI ${reusable.abi} (${arch}): taken as it is`);
    placeInCache(cache, dir, file, reusable.file);
    return { file, key, version, runtime, built: false };
  }
  const [cxx, cc] = CXX[arch];
  if (!onPath(cxx)) throw new Error(`collector-sqlite: no ${cxx} here to compile better-sqlite3 for ${arch} (Debian: ${arch === process.arch ? 'g++' : 'g++-aarch64-linux-gnu'})`);
  const work = mkdtempSync(join(tmpdir(), `dualstack-better-sqlite3-${arch}-`));
  try {
    for (const part of SOURCES) cpSync(join(betterSqlite3, part), join(work, part), { recursive: true });
    log(`collector-sqlite: compiling better-sqlite3 ${version} for Node.js ${runtime.version} linux-${arch} (about a minute)`);
    const nodedir = dirname(dirname(runtime.include)); // <arch>/, holding include/node
    // The host's node runs node-gyp; --nodedir points it at the target runtime's headers, and
    // --arch at the target architecture (with the cross compiler for another one).
    execFileSync(process.execPath, [findNodeGyp(), 'rebuild', '--release', `--nodedir=${nodedir}`, `--arch=${arch}`, `--jobs=${Math.max(1, cpus().length)}`], {
      cwd: work,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, CXX: cxx, CC: cc, npm_config_nodedir: nodedir, npm_config_build_from_source: 'true' },
    });
    placeInCache(cache, dir, file, join(work, 'build/Release/better_sqlite3.node'));
    return { file, key, version, runtime, built: true };
  } catch (error) {
    const stderr = error.stderr?.toString().trim().split('\n').slice(-5).join('\n');
    throw stderr ? new Error(`collector-sqlite: building better-sqlite3 for ${arch} failed: ${stderr}`) : error;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Into place by rename, so two builds at once never read a half-written module. */
function placeInCache(cache, dir, file, module) {
  mkdirSync(cache, { recursive: true });
  const tmp = mkdtempSync(join(cache, '.build-'));
  cpSync(module, join(tmp, 'better_sqlite3.node'));
  try {
    renameSync(tmp, dir);
  } catch (error) {
    rmSync(tmp, { recursive: true, force: true });
    if (!existsSync(file)) throw error; // else another build put it there first
  }
}

/** NODE_MODULE_VERSION of a runtime, from its own headers (include/node/node_version.h). */
export function runtimeModuleAbi(include) {
  const found = /^#define NODE_MODULE_VERSION (\d+)$/m.exec(readFileSync(join(include, 'node_version.h'), 'utf8'));
  if (!found) throw new Error(`collector-sqlite: no numeric NODE_MODULE_VERSION in ${join(include, 'node_version.h')}`);
  return Number(found[1]);
}

/**
 * The repository's own build of better-sqlite3 when node-gyp made it for `arch` and the runtime's
 * module ABI (its build/config.gypi says so), else null.
 */
export function repositoryModuleFor(arch, runtime, betterSqlite3 = BETTER_SQLITE3) {
  const module = join(betterSqlite3, 'build/Release/better_sqlite3.node');
  const gypi = join(betterSqlite3, 'build/config.gypi');
  if (!existsSync(module) || !existsSync(gypi)) return null;
  const text = readFileSync(gypi, 'utf8');
  const built = Number(/"node_module_version": (\d+)/.exec(text)?.[1]);
  const builtArch = /"target_arch": "([^"]+)"/.exec(text)?.[1];
  const abi = runtimeModuleAbi(runtime.include);
  return built === abi && builtArch === arch ? { file: module, abi } : null;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({ options: { arch: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    process.stdout.write('Usage: node scripts/package/collector-sqlite.mjs [--arch x64|arm64]\n' +
      'Builds (or finds in its cache) better-sqlite3\'s module for the collector package\'s Node.js runtime; prints its path.\n');
    process.exit(0);
  }
  const started = Date.now();
  const m = betterSqlite3Module(values.arch ?? process.arch, { log: (line) => process.stderr.write(`${line}\n`) });
  process.stdout.write(`${m.file}\n`);
  process.stderr.write(`${m.built ? 'built' : 'cached'} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}
