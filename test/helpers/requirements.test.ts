// The requirement gate (requirements.ts): locally a missing program or root skips the test and
// says why; under CI=true it fails, naming the Debian package. Checked on the functions, then
// end to end through node:test (a test file whose requirement is missing must fail the run
// under CI and be skipped otherwise), and through rootSkipReason() in a process without `ip`
// and in one that is not root.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { findOnPath, MissingRequirementError, skipUnlessAvailable, skipUnlessCommands, underCi } from './requirements.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const REQUIREMENTS = pathToFileURL(fileURLToPath(new URL('./requirements.ts', import.meta.url))).href;
const NETNS = pathToFileURL(fileURLToPath(new URL('./netns.ts', import.meta.url))).href;
const NO_SUCH = 'ds-no-such-program-7f3c';
const PATH = process.env.PATH ?? '';

test('under CI a missing program throws, naming it and its Debian package; locally it is the skip reason', () => {
  assert.equal(underCi({ CI: 'true' }), true);
  for (const ci of [undefined, '', 'false', '0']) assert.equal(underCi({ CI: ci }), false, `CI=${ci}`);

  const local = skipUnlessCommands({ [NO_SUCH]: 'ds-fake-package' }, { PATH });
  assert.equal(typeof local, 'string');
  assert.match(local as string, new RegExp(`${NO_SUCH} not found on PATH`));
  assert.match(local as string, /Debian package ds-fake-package \(apt-get install -y ds-fake-package/);

  assert.throws(
    () => skipUnlessCommands({ [NO_SUCH]: 'ds-fake-package' }, { PATH, CI: 'true' }),
    (e: unknown) =>
      e instanceof MissingRequirementError &&
      e.message.includes(NO_SUCH) &&
      e.message.includes('Debian package ds-fake-package') &&
      /fails the run instead of skipping/.test(e.message),
  );
  // Two missing programs of two packages: both named.
  assert.throws(() => skipUnlessCommands({ [NO_SUCH]: 'pkg-a', [`${NO_SUCH}-2`]: 'pkg-b' }, { PATH, CI: 'true' }), /Debian packages pkg-a pkg-b/);
  // Not a package: the remedy is said as given.
  assert.throws(() => skipUnlessAvailable('needs root', { how: 'run the tests as root' }, { CI: 'true' }), /needs root: run the tests as root/);
});

test('present requirements pass in both modes', () => {
  const node = process.execPath.split('/').pop()!;
  assert.equal(findOnPath(node, { PATH: dirname(process.execPath) }), process.execPath);
  assert.equal(findOnPath(NO_SUCH, { PATH }), null);
  assert.equal(findOnPath('sh', { PATH: '' }), null, 'an empty PATH finds nothing');
  for (const env of [{ PATH }, { PATH, CI: 'true' }]) {
    assert.equal(skipUnlessCommands({ sh: 'dash' }, env), false);
    assert.equal(skipUnlessAvailable(false, 'x', env), false);
    assert.equal(skipUnlessAvailable(null, 'x', env), false);
  }
});

/** Runs one throw-away test file through node:test (tsx), with env added to a PATH-only environment. */
function runTestFile(source: string, env: Record<string, string>): { status: number | null; out: string } {
  const dir = mkdtempSync(join(tmpdir(), 'dualstack-req-'));
  try {
    const file = join(dir, 'needs.test.ts');
    writeFileSync(file, source);
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', file], {
      cwd: REPO,
      encoding: 'utf8',
      env: { PATH, HOME: process.env.HOME ?? '/root', ...env },
      timeout: 60_000,
    });
    return { status: r.status, out: r.stdout + r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('end to end: a test needing a missing program is skipped locally and fails the run under CI=true', () => {
  const source = [
    `import { test } from 'node:test';`,
    `import { skipUnlessCommands } from ${JSON.stringify(REQUIREMENTS)};`,
    `test('needs ${NO_SUCH}', { skip: skipUnlessCommands({ '${NO_SUCH}': 'ds-fake-package' }) }, () => {});`,
  ].join('\n');
  const local = runTestFile(source, {});
  assert.equal(local.status, 0, local.out);
  assert.match(local.out, /# SKIP|skipped 1/);
  assert.match(local.out, /ds-fake-package/);

  const ci = runTestFile(source, { CI: 'true' });
  assert.notEqual(ci.status, 0, `CI=true must fail the run:\n${ci.out}`);
  assert.match(ci.out, /MissingRequirementError/);
  assert.match(ci.out, new RegExp(`${NO_SUCH} not found on PATH: install the Debian package ds-fake-package`));
  assert.doesNotMatch(ci.out, /skipped 1/);
});

/** rootSkipReason() in a fresh node process (netns.ts caches its answer per process). */
function rootSkipIn(env: Record<string, string>, prefix: string[] = []): { status: number | null; out: string } {
  const script = `import(${JSON.stringify(NETNS)}).then((m) => console.log('SKIP=' + m.rootSkipReason())).catch((e) => { console.error(e); process.exit(3); })`;
  const r = spawnSync(prefix[0] ?? process.execPath, [...prefix.slice(1), ...(prefix.length ? [process.execPath] : []), '--import', 'tsx', '-e', script], {
    cwd: REPO,
    encoding: 'utf8',
    env: { HOME: '/tmp', ...env },
    timeout: 60_000,
  });
  return { status: r.status, out: r.stdout + r.stderr };
}

test('rootSkipReason without ip on PATH: a skip reason locally, a failure naming iproute2 under CI', { skip: process.getuid?.() === 0 ? false : 'the check after root needs root' }, () => {
  const local = rootSkipIn({ PATH: '/nonexistent' });
  assert.equal(local.status, 0, local.out);
  assert.match(local.out, /SKIP=needs ip, not found on PATH: install the Debian package iproute2/);
  const ci = rootSkipIn({ PATH: '/nonexistent', CI: 'true' });
  assert.equal(ci.status, 3, ci.out);
  assert.match(ci.out, /MissingRequirementError: CI=true and a test requirement is missing: needs ip, not found on PATH: install the Debian package iproute2/);
});

test('rootSkipReason as a non-root user: a skip reason locally, a failure under CI', { skip: process.getuid?.() === 0 ? skipUnlessCommands({ setpriv: 'util-linux' }) : 'needs root to drop to another user' }, () => {
  const nobody = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'];
  const local = rootSkipIn({ PATH }, nobody);
  assert.equal(local.status, 0, local.out);
  assert.match(local.out, /SKIP=needs root \(network namespaces\): run the tests as root/);
  const ci = rootSkipIn({ PATH, CI: 'true' }, nobody);
  assert.equal(ci.status, 3, ci.out);
  assert.match(ci.out, /MissingRequirementError: CI=true and a test requirement is missing: needs root/);
});

test('rootSkipReason here: false exactly when this is root with ip, ss and python3 (and a working ip netns)', () => {
  const mine = skipUnlessCommands({ ip: 'iproute2', ss: 'iproute2', python3: 'python3' }, { PATH });
  const expectedFalse = process.platform === 'linux' && process.getuid?.() === 0 && mine === false;
  const r = rootSkipIn({ PATH });
  assert.equal(r.status, 0, r.out);
  if (expectedFalse) assert.match(r.out, /SKIP=false/);
  else assert.doesNotMatch(r.out, /SKIP=false/);
});
