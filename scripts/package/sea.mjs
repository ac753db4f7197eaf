#!/usr/bin/env node
// The self-contained agent executables: dualstack-agent-linux-x64 and -linux-arm64, each a
// Node.js single executable application (SEA) with the agent inside, so a server needs no node.
//   node scripts/package/sea.mjs [--out-dir DIR] [--arch x64,arm64] [--no-code-cache]
//   (importable: buildAgentExecutables({ outDir, arches, codeCache }))
//
// Steps, per architecture (https://nodejs.org/api/single-executable-applications.html):
// 1. the agent as ONE CommonJS file (scripts/package-agent.mjs, format 'cjs': Node 24 runs a
//    CommonJS main script only; the SEA's require() loads built-in modules only, which is all
//    a bundle with every dependency inside asks of it);
// 2. sea-config.json -> `node --experimental-sea-config` -> the preparation blob, made by the
//    runtime that will carry it (the blob must come from the same Node version);
// 3. that runtime's binary (scripts/package/node-runtime.mjs: from the npm registry, pinned
//    and checked) copied without its debug symbols (findStrip), the blob injected with postject
//    under the sentinel fuse, and the result's --version checked (checkExecutable).
//
// The code cache (V8's compiled code for the main script, in the blob) is on by default: without
// it V8 parses and compiles the 1.6 MB script at every start (test/bench/sea.bench.mjs prints
// the figures).
// V8 accepts a code cache only from the same V8 version, flags and CPU architecture, so the
// arm64 blob is made by the arm64 runtime itself, under qemu-user (see findQemu); where that is
// missing, the arm64 executable is built without a code cache
// and the build says so. The startup snapshot (useSnapshot) is not used: it would pay only by
// holding the scan side already evaluated, and a snapshot of it cannot be built (Node 24.22.3's
// --build-snapshot of a script that loads scan.ts, sources.ts and render.ts aborts: "global
// handle not serialized: [Foreign]", after warning that node:worker_threads, child_process,
// dgram and perf_hooks, which they load, are not verified in snapshots); --version and --help
// do not load that side (main.ts), so all a snapshot could hold for them is Node's own
// start-up, which Node already takes from its built-in snapshot.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { packageAgent } from '../package-agent.mjs';
import { ARCHES, nodeRuntime } from './node-runtime.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const DEFAULT_OUT_DIR = join(root, 'dist-artifacts');
/** The fuse postject flips so that Node looks for the injected blob (Node's SEA docs). */
export const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
const HOST_ARCH = process.arch;

/** The agent's version, from its one place: packages/agent/package.json. */
export function agentVersion() {
  return JSON.parse(readFileSync(join(root, 'packages/agent/package.json'), 'utf8')).version;
}

/** "dualstack-agent-linux-<arch>", the executable's file name. */
export const executableName = (arch) => `dualstack-agent-linux-${arch}`;

/**
 * qemu-user for `arch` on another host: the emulator and the C library tree the runtime (a
 * glibc program) loads from, or null when either is missing. Debian: qemu-user-static, and the
 * arch-independent cross packages libc6-arm64-cross, libstdc++6-arm64-cross,
 * libgcc-s1-arm64-cross (under /usr/aarch64-linux-gnu; no dpkg --add-architecture needed).
 */
export function findQemu(arch) {
  const [name, sysroot] = { arm64: ['qemu-aarch64-static', '/usr/aarch64-linux-gnu'], x64: ['qemu-x86_64-static', '/usr/x86_64-linux-gnu'] }[arch];
  const dirs = (process.env.PATH ?? '').split(delimiter).concat('/usr/bin');
  const qemu = dirs.map((dir) => join(dir || '.', name)).find((path) => existsSync(path));
  if (!qemu || !existsSync(join(sysroot, 'lib/libstdc++.so.6'))) return null;
  return { qemu, sysroot, command: [qemu, '-L', sysroot] };
}

/** The command prefix that runs a program built for `arch` here: none, or qemu-user; null if impossible. */
export function runnerFor(arch) {
  if (arch === HOST_ARCH) return [];
  return findQemu(arch)?.command ?? null;
}

/**
 * The published Node.js binaries keep their debug symbols (about a sixth of the file); the
 * executables drop them (strip --strip-all: the dynamic symbol table that native addons link
 * against stays). strip works on its own architecture's ELF files only: binutils' `strip` for
 * this host's, the cross binutils' for the other.
 */
const STRIP = { x64: ['x86_64-linux-gnu-strip'], arm64: ['aarch64-linux-gnu-strip'] };
STRIP[HOST_ARCH]?.push('strip');

export function findStrip(arch) {
  const dirs = (process.env.PATH ?? '').split(delimiter).concat('/usr/bin');
  for (const name of STRIP[arch] ?? []) {
    const found = dirs.map((dir) => join(dir || '.', name)).find((path) => existsSync(path));
    if (found) return found;
  }
  return null;
}

/**
 * Runs `<executable> --version` (under qemu-user for another architecture) and throws unless it
 * prints the agent's version: a runtime without the blob (or with a broken one) answers with
 * Node's own version or fails, and an agent whose AGENT_VERSION (packages/agent/src/version.ts)
 * no longer follows packages/agent/package.json prints the other number.
 */
export function checkExecutable(file, arch, expected = agentVersion()) {
  const runner = runnerFor(arch);
  if (runner === null) throw new Error(`sea: cannot run the ${arch} executable here to check it (see findQemu)`);
  const argv = [...runner, file, '--version'];
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', timeout: 120_000, env: {} });
  const printed = (r.stdout ?? '').trim();
  if (r.status !== 0 || printed !== expected) {
    const why = /^v\d+\.\d+\.\d+$/.test(printed) ? ' (that is Node.js answering: the agent was not injected into it)' : '';
    throw new Error(`sea: ${file} --version printed ${JSON.stringify(printed)}${why}, exit ${r.status ?? r.signal}, not the agent's version ${expected} (packages/agent/package.json)${r.stderr ? `; stderr: ${r.stderr.trim().slice(0, 300)}` : ''}`);
  }
}

/**
 * Builds one executable from an already built CommonJS bundle; resolves to its path and size.
 * codeCache: true (default) makes the blob with the target's own runtime (under qemu if need be).
 */
export async function buildExecutable({ arch, bundle, outfile, codeCache = true, log = () => {} }) {
  if (!ARCHES.includes(arch)) throw new Error(`sea: arch must be one of ${ARCHES.join(', ')}, not ${JSON.stringify(arch)}`);
  const runtime = nodeRuntime(arch);
  const work = mkdtempSync(join(tmpdir(), `dualstack-sea-${arch}-`));
  try {
    const runner = runnerFor(arch);
    let cache = codeCache;
    if (cache && runner === null) {
      log(`sea: ${arch}: no qemu-user to run its runtime here (Debian: qemu-user-static, libc6-arm64-cross, libstdc++6-arm64-cross, libgcc-s1-arm64-cross): built without a code cache`);
      cache = false;
    }
    // Without a code cache the blob is the same on every architecture: the host's runtime makes it.
    const maker = cache ? [...runner, runtime.node] : [nodeRuntime(HOST_ARCH).node];
    const blob = join(work, 'sea-prep.blob');
    const config = { main: bundle, output: blob, disableExperimentalSEAWarning: true, useSnapshot: false, useCodeCache: cache };
    writeFileSync(join(work, 'sea-config.json'), `${JSON.stringify(config, null, 2)}\n`);
    execFileSync(maker[0], [...maker.slice(1), '--experimental-sea-config', join(work, 'sea-config.json')], { cwd: work, stdio: ['ignore', 'ignore', 'pipe'] });
    mkdirSync(dirname(outfile), { recursive: true });
    const partial = `${outfile}.partial`;
    const strip = findStrip(arch);
    if (strip) execFileSync(strip, ['--strip-all', '-o', partial, runtime.node]);
    else {
      log(`sea: ${arch}: no ${STRIP[arch].join(' or ')} here (Debian: binutils, binutils-aarch64-linux-gnu): the runtime is not stripped`);
      copyFileSync(runtime.node, partial);
    }
    chmodSync(partial, 0o755);
    const { inject } = createRequire(import.meta.url)('postject');
    // postject logs through console.log/warn (LIEF's ELF notes warnings included): kept off stdout.
    const { log: consoleLog, warn: consoleWarn } = console;
    console.log = console.warn = () => {};
    try {
      await inject(partial, 'NODE_SEA_BLOB', readFileSync(blob), { sentinelFuse: SEA_FUSE });
    } finally {
      Object.assign(console, { log: consoleLog, warn: consoleWarn });
    }
    // Checked before it takes the artifact's name: where the executable cannot run here (arm64
    // with no qemu-user), the build says so and leaves it unchecked.
    if (runner === null) log(`sea: ${arch}: not checked (no qemu-user to run it here)`);
    else checkExecutable(partial, arch);
    renameSync(partial, outfile);
    return { arch, outfile, bytes: statSync(outfile).size, codeCache: cache, stripped: strip !== null, runtime };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Builds the CommonJS bundle once and an executable per architecture into outDir. */
export async function buildAgentExecutables({ outDir = DEFAULT_OUT_DIR, arches = [...ARCHES], codeCache = true, log = () => {} } = {}) {
  const work = mkdtempSync(join(tmpdir(), 'dualstack-sea-bundle-'));
  try {
    const { outfile: bundle, packages, inputs } = await packageAgent({ outfile: join(work, 'dualstack-agent.cjs'), format: 'cjs' });
    const built = [];
    for (const arch of arches) built.push(await buildExecutable({ arch, bundle, outfile: join(outDir, executableName(arch)), codeCache, log }));
    return { executables: built, packages, inputs };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({
    options: {
      'out-dir': { type: 'string' },
      arch: { type: 'string' },
      'no-code-cache': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(`Usage: node scripts/package/sea.mjs [--out-dir DIR] [--arch ${ARCHES.join(',')}] [--no-code-cache]\n` +
      'Builds dualstack-agent-linux-<arch>: the agent as a Node.js single executable application (no node needed on the server).\n');
    process.exit(0);
  }
  const arches = values.arch ? values.arch.split(',') : [...ARCHES];
  const { executables } = await buildAgentExecutables({
    outDir: resolve(values['out-dir'] ?? DEFAULT_OUT_DIR),
    arches,
    codeCache: !values['no-code-cache'],
    log: (line) => process.stderr.write(`${line}\n`),
  });
  for (const e of executables) {
    process.stdout.write(`wrote ${relative(process.cwd(), e.outfile) || e.outfile}: ${e.bytes} bytes (Node.js ${e.runtime.version}, ${e.codeCache ? 'with' : 'without'} code cache, ${e.stripped ? 'stripped' : 'not stripped'})\n`);
  }
}
