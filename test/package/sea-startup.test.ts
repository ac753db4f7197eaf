// What the executables' start-up loads (issue 13's aim: `--version` no slower than `node -e 0`
// + 30 ms; test/bench/sea.bench.mjs times it). The timing is the bench's; this file checks its
// cause, untimed: `--version` and `--help` of the CommonJS bundle the executables carry, of the
// .mjs bundle (both built here, ~3 s each) and of the unbundled CLI evaluate none of the scan
// side, whose built-in modules
// (child_process, dgram, perf_hooks, crypto) stand for it: evaluating it at every start cost
// ~80 ms of CPU (201.7 against 119.8 ms a --version, test/bench/README.md) and missed the aim.
// A scanning command loads them, which shows the check sees them.
// What was loaded is Node's process.moduleLoadList (undocumented, in every Node since 0.x),
// printed at exit by a preload (-r): an executable takes no options of node's, the bundle run
// by the same Node.js 24 runtime does.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { FIXTURE_PROC, nodeRuntime, packageAgent, REPO } from './sea-build.js';

const SCAN_SIDE = ['child_process', 'dgram', 'perf_hooks', 'crypto'];

let dir = '';
let cjs = '';
let mjs = '';
let preload = '';

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dualstack-sea-startup-'));
  cjs = (await packageAgent({ outfile: join(dir, 'dualstack-agent.cjs'), format: 'cjs' })).outfile;
  mjs = (await packageAgent({ outfile: join(dir, 'dualstack-agent.mjs') })).outfile;
  preload = join(dir, 'loaded.cjs');
  writeFileSync(preload, "process.on('exit', () => require('node:fs').writeSync(2, `\\nloaded: ${JSON.stringify(process.moduleLoadList)}\\n`));\n");
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** The public built-in modules `node -r preload <file> ...args` loaded, by name. */
function builtinsLoaded(node: string, file: string, args: string[]): string[] {
  const r = spawnSync(node, ['-r', preload, file, ...args], { encoding: 'utf8', env: {}, timeout: 60_000, maxBuffer: 64 * 1024 * 1024 });
  assert.equal(r.status, 0, r.stderr);
  const line = /\nloaded: (.*)\n/.exec(r.stderr);
  assert.ok(line, r.stderr);
  return (JSON.parse(line[1]!) as string[]).filter((m) => m.startsWith('NativeModule ') && !m.includes('internal/')).map((m) => m.slice('NativeModule '.length));
}

test('--version and --help of the executables\' CommonJS bundle, of the .mjs bundle and of the unbundled CLI load none of the scan side', () => {
  const node24 = nodeRuntime(process.arch).node;
  for (const [node, file] of [[node24, cjs], [node24, mjs], [process.execPath, join(REPO, 'packages/agent/dist/cli.js')]] as const) {
    for (const args of [['--version'], ['--help'], ['scan', '--help']]) {
      const loaded = builtinsLoaded(node, file, args);
      assert.deepEqual(SCAN_SIDE.filter((m) => loaded.includes(m)), [], `${file} ${args.join(' ')} loaded ${loaded.join(', ')}`);
    }
  }
});

test('a scan loads the scan side (the check above sees those modules when they are there)', () => {
  for (const file of [cjs, mjs]) {
    const loaded = builtinsLoaded(nodeRuntime(process.arch).node, file, ['scan', '--json', '--proc-root', FIXTURE_PROC]);
    assert.deepEqual(SCAN_SIDE.filter((m) => !loaded.includes(m)), [], file);
  }
});
