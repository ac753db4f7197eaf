// What the executable tests share: the build (once per test file, into a temp directory, with
// the code in scripts/package/ that `npm run package` uses), the comparable form of a report,
// and the stored golden report of the fixture both architectures scan.
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const FIXTURE_PROC = join(REPO, 'test/fixtures/dual-stack-services/proc');
/** scan --json of FIXTURE_PROC as test/golden/scan-golden.test.ts stores it (volatile fields dropped). */
export const FIXTURE_GOLDEN = join(REPO, 'test/golden/dual-stack-services.json');

interface Runtime { arch: string; version: string; node: string; package: string; integrity: string }
interface Executable { arch: string; outfile: string; bytes: number; codeCache: boolean; stripped: boolean; runtime: Runtime }

export interface Sea {
  ARCHES: readonly string[];
  SEA_FUSE: string;
  agentVersion(): string;
  runnerFor(arch: string): string[] | null;
  findQemu(arch: string): { qemu: string; sysroot: string; command: string[] } | null;
  checkExecutable(file: string, arch: string, expected?: string): void;
  buildExecutable(o: { arch: string; bundle: string; outfile: string; codeCache?: boolean; log?: (line: string) => void }): Promise<Executable>;
}

export const sea = (await import(join(REPO, 'scripts/package/sea.mjs'))) as Sea;
export const { nodeRuntime } = (await import(join(REPO, 'scripts/package/node-runtime.mjs'))) as { nodeRuntime(arch: string): Runtime };
export const { packageAgent } = (await import(join(REPO, 'scripts/package-agent.mjs'))) as {
  packageAgent(o: { outfile: string; format?: 'esm' | 'cjs' }): Promise<{ outfile: string; bytes: number; packages: string[]; inputs: string[] }>;
};

/** The report without what differs between two runs (as the golden and bundle tests drop it). */
export function stable(json: string): unknown {
  const report = JSON.parse(json) as Record<string, unknown> & { sources: Array<Record<string, unknown>> };
  delete report.reportId;
  delete report.collectedAt;
  for (const source of report.sources) delete source.durationMs;
  return report;
}

export function golden(): unknown {
  return JSON.parse(readFileSync(FIXTURE_GOLDEN, 'utf8'));
}

/** Where sharedExecutable keeps its builds (beside the Node.js runtimes node-runtime.mjs caches). */
export const SHARED_SEA_CACHE = join(REPO, 'node_modules/.cache/dualstack-sea-test');

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM'; }
}

/** The shared executable and how buildExecutable made it (what sea-x64.test.ts checks). */
export interface SharedBuild { outfile: string; codeCache: boolean; stripped: boolean }

/** sharedBuild's executable, its path alone (what the package tests need). */
export async function sharedExecutable(arch = 'x64'): Promise<string> {
  return (await sharedBuild(arch)).outfile;
}

/**
 * The executable for `arch` (code cache on, as `npm run package` builds it), built once for the
 * test files that package or run it (sea-x64, deb, rpm, collector-deb), not once per file:
 * ~15-20 s of the two shared cores each. Kept under SHARED_SEA_CACHE/<digest of the CommonJS bundle, sea.mjs and the runtime>,
 * so a changed agent builds anew. A test file that comes while another builds the same digest
 * waits for that build (a lock directory holding the builder's pid; a dead builder's lock is
 * taken over). Builds older than 15 minutes of other digests are removed when one is written
 * (not sooner: another engineer's test may still be reading one). Beside the executable,
 * build.json holds how it was built, written last: a build counts as done once it is there.
 */
export async function sharedBuild(arch = 'x64'): Promise<SharedBuild> {
  const work = mkdtempSync(join(tmpdir(), 'dualstack-shared-sea-'));
  try {
    const cjs = (await packageAgent({ outfile: join(work, 'dualstack-agent.cjs'), format: 'cjs' })).outfile;
    const digest = createHash('sha256').update(readFileSync(cjs)).update(readFileSync(join(REPO, 'scripts/package/sea.mjs')))
      .update(JSON.stringify(nodeRuntime(arch))).update(arch).digest('hex').slice(0, 32);
    const dir = join(SHARED_SEA_CACHE, digest);
    const exe = join(dir, `dualstack-agent-linux-${arch}`);
    const done = join(dir, 'build.json');
    const lock = `${dir}.lock`;
    mkdirSync(SHARED_SEA_CACHE, { recursive: true });
    for (;;) {
      if (existsFile(done)) {
        const { codeCache, stripped } = JSON.parse(readFileSync(done, 'utf8')) as Omit<SharedBuild, 'outfile'>;
        return { outfile: exe, codeCache, stripped };
      }
      try {
        mkdirSync(lock);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        let pid = 0;
        try { pid = Number(readFileSync(join(lock, 'pid'), 'utf8')); } catch { /* just made: its pid comes next */ }
        // Dead, or a minute without writing its pid: the builder is gone, its lock is taken over.
        const orphan = pid ? !alive(pid) : Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now()) > 60_000;
        if (orphan) rmSync(lock, { recursive: true, force: true });
        else await sleep(250);
        continue;
      }
      try {
        writeFileSync(join(lock, 'pid'), String(process.pid));
        // buildExecutable writes <exe>.partial and renames it: a waiter never sees half a file.
        const { codeCache, stripped } = await sea.buildExecutable({ arch, bundle: cjs, outfile: exe });
        writeFileSync(`${done}.partial`, JSON.stringify({ codeCache, stripped }));
        renameSync(`${done}.partial`, done);
        for (const name of readdirSync(SHARED_SEA_CACHE)) {
          const old = join(SHARED_SEA_CACHE, name);
          if (name !== digest && !name.endsWith('.lock') && Date.now() - statSync(old).mtimeMs > 15 * 60_000) rmSync(old, { recursive: true, force: true });
        }
      } finally {
        rmSync(lock, { recursive: true, force: true });
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function existsFile(path: string): boolean {
  try { return statSync(path).isFile(); } catch { return false; }
}
