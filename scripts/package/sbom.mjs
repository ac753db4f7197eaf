// A CycloneDX 1.6 JSON software bill of materials for one artifact
// (https://cyclonedx.org/docs/1.6/json/): the agent as the described component, every package
// whose files esbuild put in the bundle (from its metafile: each input file is mapped to the
// nearest package.json above it, for name, version and license), and for the executables the
// Node.js runtime they carry. No timestamp and no random serial number: the same sources give
// the same file, so SHA256SUMS stays the same from build to build.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The package.json nearest above `file`, inside the repository. */
function owningPackageJson(file) {
  for (let dir = dirname(file); dir.startsWith(root) && dir !== dirname(dir); dir = dirname(dir)) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate) && JSON.parse(readFileSync(candidate, 'utf8')).name) return candidate;
  }
  throw new Error(`sbom: no package.json with a name above ${file}`);
}

/** CycloneDX licenses of a package.json "license" (SPDX id or expression) or old "licenses" array. */
export function licensesOf(pkg) {
  const raw = typeof pkg.license === 'string' ? pkg.license : pkg.license?.type ?? (Array.isArray(pkg.licenses) ? pkg.licenses.map((l) => l.type ?? l).join(' OR ') : null);
  if (!raw) return [];
  return /\s(OR|AND|WITH)\s|[()]/.test(raw) ? [{ expression: raw }] : [{ license: { id: raw } }];
}

const purl = (name, version) => `pkg:npm/${name.startsWith('@') ? `%40${name.slice(1)}` : name}@${version}`;

/** The packages that own the given source files: one component each, sorted by name. */
export function bundledComponents(inputs) {
  const byManifest = new Map();
  for (const file of inputs) {
    const manifest = owningPackageJson(file);
    if (!byManifest.has(manifest)) byManifest.set(manifest, JSON.parse(readFileSync(manifest, 'utf8')));
  }
  const components = [...byManifest.entries()].map(([manifest, pkg]) => ({
    type: 'library',
    'bom-ref': purl(pkg.name, pkg.version),
    name: pkg.name,
    version: pkg.version,
    purl: purl(pkg.name, pkg.version),
    licenses: licensesOf(pkg),
    // Where in this repository it came from: node_modules/... or packages/... (workspaces).
    properties: [{ name: 'dualstack:source', value: relative(root, dirname(manifest)) }],
  }));
  return components.sort((a, b) => a.name.localeCompare(b.name) || a.version.localeCompare(b.version));
}

/** The runtime inside an executable (scripts/package/node-runtime.mjs), as a component. */
export function runtimeComponent(runtime) {
  return {
    type: 'platform',
    'bom-ref': purl(runtime.package, runtime.version),
    name: runtime.package,
    version: runtime.version,
    description: `Node.js ${runtime.version} for linux-${runtime.arch}, the official binary as published on the npm registry`,
    purl: purl(runtime.package, runtime.version),
    // Node.js is MIT; its LICENSE file also carries the licenses of what it bundles (V8, OpenSSL, ICU, ...).
    licenses: [{ license: { id: 'MIT' } }],
    hashes: [{ alg: 'SHA-512', content: Buffer.from(runtime.integrity.replace(/^sha512-/, ''), 'base64').toString('hex') }],
  };
}

/**
 * The SBOM of one artifact file. `inputs`: the bundle's source files (packageAgent's inputs);
 * `runtime`: the Node.js runtime inside, for an executable (null for the .mjs bundle);
 * `workspace`: the package the artifact is (packages/agent by default; packages/collector for
 * the collector's package), whose package.json gives its description and license.
 */
export function artifactSbom({ file, name, version, inputs, runtime = null, workspace = 'packages/agent' }) {
  const agentManifest = join(root, workspace, 'package.json');
  const described = JSON.parse(readFileSync(agentManifest, 'utf8')).name;
  // The repository's root package ("dualstack") owns the packaging scripts' own entry files.
  const components = bundledComponents(inputs).filter((c) => c.name !== described && c.name !== 'dualstack');
  if (runtime) components.push(runtimeComponent(runtime));
  const self = `${purl(described, version)}#${name}`;
  return {
    bomFormat: 'CycloneDX',
    specVersion: '1.6',
    version: 1,
    metadata: {
      tools: { components: [{ type: 'application', name: 'dualstack scripts/package', version }] },
      component: {
        type: 'application',
        'bom-ref': self,
        name,
        version,
        description: JSON.parse(readFileSync(agentManifest, 'utf8')).description,
        licenses: licensesOf(JSON.parse(readFileSync(agentManifest, 'utf8'))),
        hashes: [{ alg: 'SHA-256', content: createHash('sha256').update(readFileSync(file)).digest('hex') }],
      },
    },
    components,
    dependencies: [{ ref: self, dependsOn: components.map((c) => c['bom-ref']) }],
  };
}
