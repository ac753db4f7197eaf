// The native module builds for linux-arm64 with Debian's cross compiler (the packages ship it
// per architecture), under the same -Wall -Wextra -Werror: arm64's unsigned char and alignment
// rules are where x86-only C breaks. Checks the ELF machine only; loading it under qemu-user
// needs an arm64 Node.js (the packages' runtime), outside this test. ~2 s.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { skipUnlessCommands } from '../helpers/requirements.js';
import { buildDir, nativeDir } from './build-module.js';

const EM_AARCH64 = 183;

test('sockdiag.node cross-builds for aarch64 with -Werror', { skip: skipUnlessCommands({ 'aarch64-linux-gnu-gcc': 'gcc-aarch64-linux-gnu' }) }, (t) => {
  const built = buildDir();
  t.after(() => built.remove());
  const out = join(built.dir, 'sockdiag.node');
  execFileSync(join(nativeDir, 'build.sh'), [out, 'aarch64-linux-gnu-gcc'], { stdio: 'pipe' });
  const elf = readFileSync(out);
  assert.equal(elf.subarray(0, 4).toString('latin1'), '\x7fELF');
  assert.equal(elf.readUInt16LE(18), EM_AARCH64, 'e_machine');
  assert.equal(elf.readUInt16LE(16), 3, 'a shared object (ET_DYN)');
});
