#!/usr/bin/env node
// `npm run package`: every agent artifact into dist-artifacts/, each with its SBOM, and SHA256SUMS.
//   dualstack-agent.mjs                the single-file bundle, for hosts that run Node.js already
//   dualstack-agent-linux-x64          self-contained executables (Node.js 24 inside;
//   dualstack-agent-linux-arm64        scripts/package/sea.mjs)
//   <artifact>.cdx.json                CycloneDX SBOM of each (scripts/package/sbom.mjs)
//   dualstack-agent_<v>_amd64.deb      the Debian packages of the executables, with sockdiag.node
//   dualstack-agent_<v>_arm64.deb      where its compiler is here (scripts/package/deb.mjs)
//   dualstack-agent-<v>-1.x86_64.rpm   the RPM packages of the same files (scripts/package/rpm.mjs)
//   dualstack-agent-<v>-1.aarch64.rpm
//   dualstack-collector_<v>_amd64.deb  the collector with its own Node.js 24 and better-sqlite3
//   dualstack-collector_<v>_arm64.deb  module for that architecture (arm64's cross-compiled with
//                                      g++-aarch64-linux-gnu), each with its SBOM
//                                      (scripts/package/collector-deb.mjs)
//   SHA256SUMS                         `sha256sum -c SHA256SUMS` checks all of the above
// The version is packages/agent/package.json's, the one place it is kept: each executable's
// --version is checked against it while it is built (sea.mjs), and the .mjs bundle's here. The
// collector's package takes packages/collector/package.json's.
//
//   node scripts/package/build.mjs [--out-dir DIR] [--arch x64,arm64]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { packageAgent } from '../package-agent.mjs';
import { ARCHES } from './node-runtime.mjs';
import { buildDeb } from './deb.mjs';
import { buildRpm } from './rpm.mjs';
import { buildCollectorDeb, collectorVersion } from './collector-deb.mjs';
import { artifactSbom } from './sbom.mjs';
import { agentVersion, buildAgentExecutables, DEFAULT_OUT_DIR } from './sea.mjs';

/** "<sha256>  <name>\n" lines, as sha256sum prints and `sha256sum -c` reads them. */
export function sha256sums(files) {
  return files.map((f) => `${createHash('sha256').update(readFileSync(f)).digest('hex')}  ${basename(f)}\n`).join('');
}

/** The C compiler per architecture for packages/agent/native/build.sh (Debian: gcc, gcc-aarch64-linux-gnu). */
const NATIVE_CC = { x64: process.arch === 'x64' ? 'gcc' : 'x86_64-linux-gnu-gcc', arm64: process.arch === 'arm64' ? 'gcc' : 'aarch64-linux-gnu-gcc' };

/** sockdiag.node for `arch` into dir, or null (and why, logged) when its compiler is not here. */
function buildSockdiag(arch, dir, log) {
  const out = join(dir, arch, 'sockdiag.node');
  const script = join(dirname(fileURLToPath(import.meta.url)), '../../packages/agent/native/build.sh');
  const r = spawnSync(script, [out, NATIVE_CC[arch]], { encoding: 'utf8' });
  if (r.status === 0) return out;
  log(`package: ${arch}: sockdiag.node not built (${(r.stderr || r.error?.message || '').trim().split('\n').pop()}): the .deb goes without it, and the agent uses ss and nsenter`);
  return null;
}

export async function buildPackages({ outDir = DEFAULT_OUT_DIR, arches = [...ARCHES], log = () => {} } = {}) {
  mkdirSync(outDir, { recursive: true });
  const version = agentVersion();
  const bundle = await packageAgent({ outfile: join(outDir, 'dualstack-agent.mjs') });
  // The host's node runs the bundle here: it is the Node.js >= 20 build the bundle targets.
  const printed = spawnSync(process.execPath, [bundle.outfile, '--version'], { encoding: 'utf8' }).stdout.trim();
  if (printed !== version) throw new Error(`package: dualstack-agent.mjs --version printed ${JSON.stringify(printed)}, not ${version} (packages/agent/package.json): AGENT_VERSION in packages/agent/src/version.ts must follow it`);
  const { executables, inputs } = await buildAgentExecutables({ outDir, arches, log });
  const artifacts = [
    { file: bundle.outfile, inputs: bundle.inputs, runtime: null },
    ...executables.map((e) => ({ file: e.outfile, inputs, runtime: e.runtime })),
  ];
  const written = [];
  for (const a of artifacts) {
    const name = basename(a.file);
    const sbom = join(outDir, `${name}.cdx.json`);
    writeFileSync(sbom, `${JSON.stringify(artifactSbom({ file: a.file, name, version, inputs: a.inputs, runtime: a.runtime }), null, 2)}\n`);
    written.push(a.file, sbom);
  }
  const native = mkdtempSync(join(tmpdir(), 'dualstack-native-'));
  try {
    for (const e of executables) {
      const sockdiag = buildSockdiag(e.arch, native, log);
      const deb = buildDeb({ arch: e.arch, executable: e.outfile, sockdiag, version, outDir });
      log(`package: ${basename(deb.file)}: ${deb.bytes} bytes, ${deb.installedKiB} KiB installed`);
      const rpm = buildRpm({ arch: e.arch, executable: e.outfile, sockdiag, version, outDir });
      log(`package: ${basename(rpm.file)}: ${rpm.bytes} bytes`);
      written.push(deb.file, rpm.file);
    }
  } finally {
    rmSync(native, { recursive: true, force: true });
  }
  for (const arch of arches) {
    const collector = await buildCollectorDeb({ arch, version: collectorVersion(), outDir, log });
    const name = basename(collector.file);
    const sbom = join(outDir, `${name}.cdx.json`);
    writeFileSync(sbom, `${JSON.stringify(artifactSbom({ file: collector.file, name, version: collectorVersion(), inputs: collector.inputs, runtime: collector.runtime, workspace: 'packages/collector' }), null, 2)}\n`);
    log(`package: ${name}: ${collector.bytes} bytes, ${collector.installedKiB} KiB installed`);
    written.push(collector.file, sbom);
  }
  const sums = join(outDir, 'SHA256SUMS');
  writeFileSync(sums, sha256sums(written));
  return { version, files: [...written, sums], executables };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({ options: { 'out-dir': { type: 'string' }, arch: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    process.stdout.write(`Usage: npm run package [-- --out-dir DIR] [-- --arch ${ARCHES.join(',')}]\n` +
      'Builds dualstack-agent.mjs and the self-contained dualstack-agent-linux-<arch> executables into dist-artifacts/ (or DIR),\n' +
      'a CycloneDX SBOM (<artifact>.cdx.json) of each, the .deb and .rpm of each executable, the collector\'s .deb per architecture\n' +
      '(arm64: better-sqlite3 cross-compiled with g++-aarch64-linux-gnu, cached after the first build) with its SBOM,\n' +
      'and SHA256SUMS over them all.\n');
    process.exit(0);
  }
  const { version, files } = await buildPackages({
    outDir: resolve(values['out-dir'] ?? DEFAULT_OUT_DIR),
    arches: values.arch ? values.arch.split(',') : [...ARCHES],
    log: (line) => process.stderr.write(`${line}\n`),
  });
  process.stdout.write(`dualstack-agent ${version}:\n${files.map((f) => `  ${relative(process.cwd(), f) || f}\n`).join('')}`);
}
