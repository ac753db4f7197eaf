#!/usr/bin/env node
// Start-up of the self-contained agent executables (scripts/package/sea.mjs, issue 13), with and
// without the SEA code cache, beside the .mjs bundle run by the same Node.js 24 runtime, in the
// same run: `--version` (start-up alone) and `scan --json --proc-root <fixture>` (start-up plus
// a whole scan of test/fixtures/dual-stack-services). Also prints each file's size, and gzip's.
//
//   node test/bench/sea.bench.mjs [--reps 15] [--arm64]
//
// --arm64 also times the arm64 executables under qemu-user (emulated: only the ratio between
// with and without code cache means anything there). Builds everything into a temp directory
// first (about a minute). Prints medians and ratios, asserts nothing; not part of `npm test`.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { packageAgent } from '../../scripts/package-agent.mjs';
import { buildExecutable, runnerFor } from '../../scripts/package/sea.mjs';
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

  const candidates = [
    ['node24 -e 0', [node24.node, '-e', '0'], false],
    ['node24 bundle.mjs', [node24.node, mjs], true],
    ['node24 bundle.cjs', [node24.node, cjs], true],
    ...arches.flatMap((arch) => ['plain', 'cache'].map((kind) => [`SEA ${arch} ${kind === 'cache' ? 'code cache' : 'no cache'}`, [...runnerFor(arch), exe[`${arch}-${kind}`]], true])),
  ];
  const workloads = [['--version', ['--version']], ['scan --json (fixture)', ['scan', '--json', '--proc-root', proc]]];

  const time = (argv) => {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
    if (r.status !== 0) throw new Error(`${argv.join(' ')}: exit ${r.status}: ${r.stderr}`);
    return Number(process.hrtime.bigint() - t0) / 1e6;
  };
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

  console.log(`Node.js ${node24.version} (${process.arch}); ${reps} interleaved reps after one warm-up; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  for (const [label, args] of workloads) {
    const runs = candidates.filter(([, , takesArgs]) => takesArgs || label === '--version').map(([name, argv, takesArgs]) => ({ name, argv: takesArgs ? [...argv, ...args] : argv, ms: [] }));
    for (const r of runs) time(r.argv);
    for (let i = 0; i < reps; i++) for (const r of runs) r.ms.push(time(r.argv));
    const base = median(runs.find((r) => r.name === 'node24 bundle.mjs').ms);
    console.log(`\n${label}: median ms (ratio to node24 bundle.mjs)`);
    for (const r of runs) console.log(`  ${r.name.padEnd(28)} ${median(r.ms).toFixed(1).padStart(8)}  ${(median(r.ms) / base).toFixed(2)}x`);
  }
  console.log('\nsizes: bytes, gzip -6 bytes');
  for (const [name, file] of [['bundle.mjs', mjs], ['bundle.cjs', cjs], ...Object.entries(exe).map(([k, f]) => [`SEA ${k}`, f])]) {
    console.log(`  ${name.padEnd(28)} ${String(statSync(file).size).padStart(10)} ${String(gzipSync(readFileSync(file)).length).padStart(10)}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
