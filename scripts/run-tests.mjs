#!/usr/bin/env node
// Runs every test file of the monorepo in one node:test run, so there is one summary.
// Test files: packages/*/test/**/*.test.ts and test/**/*.test.ts (TypeScript through tsx).
// Usage: node scripts/run-tests.mjs [substring ...]   (only files whose path contains one)
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const skipDirs = new Set(['node_modules', 'dist', 'fixtures', 'bench', '.git', '.turbo']);

function collect(dir, out) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      if (!skipDirs.has(name)) collect(path, out);
    } else if (name.endsWith('.test.ts')) {
      out.push(relative(root, path));
    }
  }
  return out;
}

const files = [];
for (const pkg of readdirSync(join(root, 'packages'))) {
  const testDir = join(root, 'packages', pkg, 'test');
  try { collect(testDir, files); } catch { /* package without tests */ }
}
collect(join(root, 'test'), files);

const filters = process.argv.slice(2);
const selected = filters.length ? files.filter((f) => filters.some((s) => f.includes(s))) : files;
if (selected.length === 0) {
  console.error(`no test files match ${filters.join(' ')}`);
  process.exit(1);
}
// Three test files at a time: most of the suite waits on child processes, namespaces, real
// daemons, PostgreSQL clusters and browsers, not on the CPU. One at a time it took ~12 of the
// 15 minutes CI allows; two at a time grew to 15.6 with the PostgreSQL, packaging and
// systemd-nspawn tests. Each file runs in its own process (namespaces carry its pid, servers
// listen on port 0, clusters live in temp dirs).
const concurrency = process.env.DUALSTACK_TEST_CONCURRENCY ?? '3';
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...selected.sort()],
  { cwd: root, stdio: 'inherit' },
);
process.exit(result.status ?? 1);
