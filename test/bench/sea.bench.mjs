#!/usr/bin/env node
// Start-up of the self-contained agent executables (scripts/package/sea.mjs, issue 13), with and
// without the SEA code cache, beside the .mjs bundle run by the same Node.js 24 runtime, in the
// same run: `--version` (start-up alone) and `scan --json --proc-root <fixture>` (start-up plus
// a whole scan of test/fixtures/dual-stack-services). Also prints each file's size, and gzip's.
//
//   node test/bench/sea.bench.mjs [--reps 15] [--arm64]
//
// --arm64 also times the arm64 executables under qemu-user (emulated: only the ratio between
// with and without code cache means anything there). Also times an executable whose main script
// only prints a version (the floor: what the SEA itself costs, none of it the agent's), and
// prints issue 13's aim, `--version` no slower than `node -e 0` + 30 ms, met or missed. Builds
// everything into a temp directory first (about a minute). Prints medians and ratios, asserts
// nothing; not part of `npm test`.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { packageAgent } from '../../scripts/package-agent.mjs';
import { agentVersion, buildExecutable, runnerFor } from '../../scripts/package/sea.mjs';
import { nodeRuntime } from '../../scripts/package/node-runtime.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const { values: opts } = parseArgs({ options: { reps: { type: 'string', default: '15' }, arm64: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
if (opts.help) {
  process.stdout.write('Usage: node test/bench/sea.bench.mjs [--reps N] [--arm64]\nStart-up of the SEA executables (code cache on/off) beside the .mjs bundle on the same Node 24. Prints figures, asserts nothing.\n');
  process.exit(0);
}
const reps = Number(opts.reps);
const proc = join(root, 'test/fixtures/dual-stack-services/proc');
const dir = mkdtempSync(join(tmpdir(), 'dualstack-sea-bench-'));

try {
  const node24 = nodeRuntime(process.arch);
  const mjs = (await packageAgent({ outfile: join(dir, 'dualstack-agent.mjs') })).outfile;
  const cjs = (await packageAgent({ outfile: join(dir, 'dualstack-agent.cjs'), format: 'cjs' })).outfile;
  const arches = opts.arm64 ? [process.arch, 'arm64'] : [process.arch];
  const exe = {};
  for (const arch of arches) {
    for (const codeCache of [false, true]) {
      exe[`${arch}-${codeCache ? 'cache' : 'plain'}`] = (await buildExecutable({ arch, bundle: cjs, outfile: join(dir, `agent-${arch}-${codeCache ? 'cache' : 'plain'}`), codeCache })).outfile;
    }
  }

  const emptyMain = join(dir, 'empty-main.cjs');
  // The agent's version, which the build's check of the executable asks for.
  writeFileSync(emptyMain, `process.stdout.write(${JSON.stringify(`${agentVersion()}\n`)});\n`);
  exe[`${process.arch}-empty`] = (await buildExecutable({ arch: process.arch, bundle: emptyMain, outfile: join(dir, `agent-${process.arch}-empty`) })).outfile;

  const candidates = [
    ['node24 -e 0', [node24.node, '-e', '0'], false],
    ['node24 bundle.mjs', [node24.node, mjs], true],
    ['node24 bundle.cjs', [node24.node, cjs], true],
    ...arches.flatMap((arch) => ['plain', 'cache'].map((kind) => [`SEA ${arch} ${kind === 'cache' ? 'code cache' : 'no cache'}`, [...runnerFor(arch), exe[`${arch}-${kind}`]], true])),
    [`SEA ${process.arch} empty main`, [exe[`${process.arch}-empty`]], false],
  ];
  const workloads = [['--version', ['--version']], ['scan --json (fixture)', ['scan', '--json', '--proc-root', proc]]];

  // CPU time as well as wall time: on a busy machine the wall time of a start-up is mostly
  // waiting for a core, its CPU time (user + sys, what this process's reaped children used:
  // /proc/self/stat cutime + cstime, in USER_HZ = 100 ticks a second) much less so.
  const childTicks = () => {
    const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
    return Number(fields[13]) + Number(fields[14]);
  };
  const time = (argv, run) => {
    const c0 = childTicks();
    const t0 = process.hrtime.bigint();
    const r = spawnSync(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
    if (r.status !== 0) throw new Error(`${argv.join(' ')}: exit ${r.status}: ${r.stderr}`);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (run) {
      run.ms.push(ms);
      run.cpuTicks += childTicks() - c0;
    }
  };
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

  console.log(`Node.js ${node24.version} (${process.arch}); ${reps} interleaved reps after one warm-up; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  for (const [label, args] of workloads) {
    const runs = candidates.filter(([, , takesArgs]) => takesArgs || label === '--version').map(([name, argv, takesArgs]) => ({ name, argv: takesArgs ? [...argv, ...args] : argv, ms: [], cpuTicks: 0 }));
    for (const r of runs) time(r.argv);
    for (let i = 0; i < reps; i++) for (const r of runs) time(r.argv, r);
    const cpuMs = (r) => (r.cpuTicks * 10) / reps;
    const base = median(runs.find((r) => r.name === 'node24 bundle.mjs').ms);
    console.log(`\n${label}: wall median ms (ratio to node24 bundle.mjs), CPU ms (user + sys, mean)`);
    for (const r of runs) console.log(`  ${r.name.padEnd(28)} ${median(r.ms).toFixed(1).padStart(8)}  ${(median(r.ms) / base).toFixed(2)}x  ${cpuMs(r).toFixed(1).padStart(8)}`);
    if (label === '--version') {
      const node = runs.find((r) => r.name === 'node24 -e 0');
      const agent = runs.find((r) => r.name === `SEA ${process.arch} code cache`);
      const wall = median(agent.ms) - median(node.ms);
      const cpu = cpuMs(agent) - cpuMs(node);
      const verdict = (over) => (over <= 30 ? 'met' : 'missed');
      console.log(`  aim (issue 13): SEA ${process.arch} --version no slower than node24 -e 0 + 30 ms: wall ${wall.toFixed(1)} ms over (${verdict(wall)}), CPU ${cpu.toFixed(1)} ms over (${verdict(cpu)})`);
    }
  }
  console.log('\nsizes: bytes, gzip -6 bytes');
  for (const [name, file] of [['bundle.mjs', mjs], ['bundle.cjs', cjs], ...Object.entries(exe).map(([k, f]) => [`SEA ${k}`, f])]) {
    console.log(`  ${name.padEnd(28)} ${String(statSync(file).size).padStart(10)} ${String(gzipSync(readFileSync(file)).length).padStart(10)}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
