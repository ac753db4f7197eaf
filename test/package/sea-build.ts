// What the executable tests share: the build (once per test file, into a temp directory, with
// the code in scripts/package/ that `npm run package` uses), the comparable form of a report,
// and the stored golden report of the fixture both architectures scan.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
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
