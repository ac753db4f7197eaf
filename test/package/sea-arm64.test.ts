// The arm64 self-contained agent executable (scripts/package/sea.mjs), run on this x64 machine
// under qemu-user (Debian: qemu-user-static, with the arm64 C library of libc6-arm64-cross,
// libstdc++6-arm64-cross and libgcc-s1-arm64-cross; see findQemu): `--version` prints the
// agent's version, and `scan --json --proc-root <fixture>` gives the stored golden report, the
// one the x64 executable gives (test/package/sea-x64.test.ts). Built once for the file, its code
// cache made by the arm64 runtime itself under qemu (~20 s; the emulated scan takes a few more).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { skipUnlessAvailable } from '../helpers/requirements.js';
import { FIXTURE_PROC, golden, packageAgent, sea, stable } from './sea-build.js';

const skip = skipUnlessAvailable(sea.findQemu('arm64') ? false : 'qemu-aarch64-static with an arm64 C library (/usr/aarch64-linux-gnu)', 'qemu-user-static libc6-arm64-cross libstdc++6-arm64-cross libgcc-s1-arm64-cross');

let dir = '';
let exe = '';
let codeCache = false;
let stripped = false;

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'dualstack-sea-arm64-'));
  const cjs = (await packageAgent({ outfile: join(dir, 'dualstack-agent.cjs'), format: 'cjs' })).outfile;
  ({ outfile: exe, codeCache, stripped } = await sea.buildExecutable({ arch: 'arm64', bundle: cjs, outfile: join(dir, 'dualstack-agent-linux-arm64') }));
});
after(() => dir && rmSync(dir, { recursive: true, force: true }));

/** The arm64 executable under qemu-user, in an empty environment. */
function arm64(args: string[]) {
  const [qemu, ...qemuArgs] = sea.runnerFor('arm64')!;
  return spawnSync(qemu!, [...qemuArgs, exe, ...args], { encoding: 'utf8', env: {}, timeout: 120_000 });
}

test('the executable is an aarch64 ELF, built with its code cache and stripped (aarch64-linux-gnu-strip)', { skip }, () => {
  const file = spawnSync('od', ['-An', '-tx1', '-j18', '-N2', exe], { encoding: 'utf8' });
  assert.equal(file.stdout.trim(), 'b7 00', 'e_machine of an aarch64 ELF is 0xb7 (EM_AARCH64)');
  assert.equal(codeCache, true);
  assert.equal(stripped, true);
});

test('under qemu-user, --version prints the agent\'s version (packages/agent/package.json)', { skip }, () => {
  const r = arm64(['--version']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, `${sea.agentVersion()}\n`);
});

test('under qemu-user, scan --json --proc-root <fixture> gives the stored golden report, as the x64 executable does', { skip }, () => {
  const r = arm64(['scan', '--json', '--proc-root', FIXTURE_PROC]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '', 'nothing on stderr: no warning, no experimental-feature notice');
  assert.deepEqual(stable(r.stdout), golden());
});
