// better-sqlite3 for the collector package: where the repository's own module was built for the
// package runtime's ABI and architecture (npm ci under Node 24, as .ci/run runs), it is taken as
// it is instead of compiling SQLite a second time (scripts/package/collector-sqlite.mjs); a module
// of another ABI or architecture never is.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { REPO } from './sea-build.js';

interface Runtime { include: string; version: string }
const { nodeRuntime } = (await import(join(REPO, 'scripts/package/node-runtime.mjs'))) as { nodeRuntime(arch: string): Runtime };
const { betterSqlite3Module, repositoryModuleFor, runtimeModuleAbi } = (await import(join(REPO, 'scripts/package/collector-sqlite.mjs'))) as {
  runtimeModuleAbi(include: string): number;
  repositoryModuleFor(arch: string, runtime: Runtime, dir: string): { file: string; abi: number } | null;
  betterSqlite3Module(arch: string, o: { cache: string; betterSqlite3: string }): { file: string; built: boolean };
};

/** A better-sqlite3 package dir as node-gyp leaves it, built for `abi` on `arch`. */
function builtPackage(parent: string, abi: number, arch: string): string {
  const dir = join(parent, `better-sqlite3-${abi}-${arch}`);
  mkdirSync(join(dir, 'build/Release'), { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'better-sqlite3', version: '12.0.0' }));
  writeFileSync(join(dir, 'build/Release/better_sqlite3.node'), `module for ${abi} ${arch}`);
  // The two lines of node-gyp's build/config.gypi that decide, among its others.
  writeFileSync(join(dir, 'build/config.gypi'), `{\n  "variables": {\n    "node_module_version": ${abi},\n    "target_arch": "${arch}",\n    "nodedir": "/x"\n  }\n}\n`);
  return dir;
}

test("the repository's better-sqlite3 is reused only for the runtime's own ABI and architecture", (t) => {
  const tmp = mkdtempSync(join(tmpdir(), 'dualstack-sqlite-reuse-'));
  t.after(() => rmSync(tmp, { recursive: true, force: true }));
  const runtime = nodeRuntime('x64');
  const abi = runtimeModuleAbi(runtime.include);
  assert.equal(abi, 137, 'Node.js 24 is NODE_MODULE_VERSION 137');

  const same = builtPackage(tmp, abi, 'x64');
  assert.deepEqual(repositoryModuleFor('x64', runtime, same), { file: join(same, 'build/Release/better_sqlite3.node'), abi });
  assert.equal(repositoryModuleFor('x64', runtime, builtPackage(tmp, 115, 'x64')), null, 'a Node 20 build (ABI 115) is not taken');
  assert.equal(repositoryModuleFor('x64', runtime, builtPackage(tmp, abi, 'arm64')), null, 'another architecture is not taken');

  // Through the package build's own entry: taken into the cache, nothing compiled.
  const cache = join(tmp, 'cache');
  const got = betterSqlite3Module('x64', { cache, betterSqlite3: same });
  assert.equal(got.built, false);
  assert.equal(readFileSync(got.file, 'utf8'), `module for ${abi} x64`);
});
