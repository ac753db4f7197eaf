// Builds the native sock_diag module (packages/agent/native/build.sh) and the sanitizer test
// driver into a temp directory, once per test file: gcc takes ~1 s, and the tests prove the
// C of this checkout, not a module left from an earlier build.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NativeSockdiag } from '../../packages/agent/src/sockdiag-native/load.js';

export const nativeDir = fileURLToPath(new URL('../../packages/agent/native/', import.meta.url));
const driverSource = fileURLToPath(new URL('./walk-driver.c', import.meta.url));

export interface Built {
  dir: string;
  remove(): void;
}

export function buildDir(): Built {
  const dir = mkdtempSync(join(tmpdir(), 'ds-native-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The module as the packages build it; its path. */
export function buildModule(dir: string): string {
  const out = join(dir, 'sockdiag.node');
  execFileSync(join(nativeDir, 'build.sh'), [out], { stdio: 'pipe' });
  return out;
}

/** Loads a built module the way the agent does (process.dlopen). */
export function loadModule(path: string): NativeSockdiag {
  const holder = { exports: {} as NativeSockdiag };
  process.dlopen(holder, path);
  return holder.exports;
}

/** The crafted-buffer and live driver, with AddressSanitizer and UndefinedBehaviorSanitizer. */
export function buildSanitizedDriver(dir: string): string {
  const out = join(dir, 'walk-driver');
  const sources = [driverSource, join(nativeDir, 'sockdiag-walk.c'), join(nativeDir, 'sockdiag-netns.c'), join(nativeDir, 'fd-sockets.c')];
  execFileSync('gcc', ['-std=gnu11', '-O1', '-g', '-Wall', '-Wextra', '-Werror', '-fsanitize=address,undefined', '-fno-sanitize-recover=all', '-fno-omit-frame-pointer', ...sources, '-o', out], { stdio: 'pipe' });
  return out;
}
