// `npx dualstack-agent` and `npx dualstack-collector` from the repository root after
// `npm ci && npm run build`. npm links a workspace's bin at install time only if its file exists
// then, and dist/ exists only after the build: a bin pointing into dist/ was never linked. So each
// package's bin is a shim kept in the source tree (packages/*/bin/*.js) that runs ../dist/cli.js,
// or, before a build, says on one line to run `npm run build` and exits 1.
// Needs `npx turbo run build` first (the shims run the built CLIs).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, normalize } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const BINS = [
  { pkg: 'agent', name: 'dualstack-agent', usage: /^dualstack-agent .*\n\nUsage: dualstack-agent </ },
  { pkg: 'collector', name: 'dualstack-collector', usage: /^dualstack-collector .*\n\nUsage: dualstack-collector </ },
];

function binOf(pkgDir: string, name: string): string {
  const manifest = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { bin?: Record<string, string>; files?: string[] };
  const bin = manifest.bin?.[name];
  assert.ok(bin, `${pkgDir}/package.json has no bin ${name}`);
  return normalize(bin);
}

for (const { pkg, name, usage } of BINS) {
  const pkgDir = join(REPO, 'packages', pkg);

  test(`${name}: the package.json bin is an executable file of the source tree, not a build output`, () => {
    const bin = binOf(pkgDir, name);
    assert.ok(!bin.startsWith('dist/'), `bin ${bin} is built by npm run build: npm ci (run before it) does not link it`);
    const file = join(pkgDir, bin);
    assert.ok(existsSync(file), `${file} is missing`);
    assert.ok(statSync(file).mode & 0o100, `${file} is not executable`);
    assert.match(readFileSync(file, 'utf8'), /^#!\/usr\/bin\/env node\n/);
    const files = (JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { files?: string[] }).files ?? [];
    assert.ok(files.some((f) => bin === f || bin.startsWith(`${normalize(f)}/`)), `package.json files (${files.join(', ')}) leaves out ${bin}`);
    const lock = JSON.parse(readFileSync(join(REPO, 'package-lock.json'), 'utf8')) as { packages: Record<string, { bin?: Record<string, string> }> };
    assert.equal(normalize(lock.packages[`packages/${pkg}`]?.bin?.[name] ?? ''), bin, 'package-lock.json records the same bin');
  });

  test(`${name}: the bin runs the built CLI (--help, exit 0), started through its shebang`, () => {
    const file = join(pkgDir, binOf(pkgDir, name));
    const r = spawnSync(file, ['--help'], { cwd: REPO, encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, usage);
    assert.equal(r.stderr, '');
  });

  test(`${name}: before any build the bin says to run npm run build, on one line, exit 1`, (t) => {
    const copy = mkdtempSync(join(tmpdir(), `dualstack-bin-${pkg}-`));
    t.after(() => rmSync(copy, { recursive: true, force: true }));
    const bin = binOf(pkgDir, name);
    cpSync(join(pkgDir, 'package.json'), join(copy, 'package.json'));
    cpSync(join(pkgDir, bin), join(copy, bin), { recursive: true });
    assert.ok(!existsSync(join(copy, 'dist')));
    const r = spawnSync(process.execPath, [join(copy, bin), '--help'], { cwd: copy, encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 1, r.stderr);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, new RegExp(`^${name}: not built yet \\(.*dist/cli\\.js is missing\\): run \`npm run build\` at the repository root first\\n$`));
  });
}
