// The native sock_diag reader's C under AddressSanitizer and UndefinedBehaviorSanitizer (issue
// 14): crafted netlink buffers (truncated at every byte, oversized and zero lengths, unknown
// attributes and message types, kernel errors) through the attribute walk, each with the result
// it must give; then live dumps, in this namespace and entering one made here and a path that
// does not exist, through the code the module runs. Any finding aborts the driver (no recover).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { Netns, rootSkipReason } from '../helpers/netns.js';
import { skipUnlessCommands } from '../helpers/requirements.js';
import { buildDir, buildSanitizedDriver } from './build-module.js';

test('the attribute walk and the live dumps run clean under ASan and UBSan', { skip: skipUnlessCommands({ gcc: 'gcc' }) || rootSkipReason() }, async (t) => {
  const built = buildDir();
  t.after(() => built.remove());
  const driver = buildSanitizedDriver(built.dir);
  const ns = await Netns.create('sanitize');
  t.after(() => ns.destroy());
  await ns.ip('link', 'add', 'd0', 'type', 'veth', 'peer', 'name', 'd1');
  const r = spawnSync(driver, [`/run/netns/${ns.name}`, '/nonexistent/ns/net'], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=0', UBSAN_OPTIONS: 'print_stacktrace=1' } });
  t.diagnostic(r.stdout.trim());
  assert.equal(r.status, 0, `driver failed (${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /^ok \d+$/m);
  assert.match(r.stdout, new RegExp(`entered /run/netns/${ns.name}: 0 records, \\d+ sysctl bytes, error 0`));
  assert.match(r.stdout, /entered \/nonexistent\/ns\/net: 0 records, 0 sysctl bytes, error -2 \(open\)/);
  assert.equal(r.stderr, '', 'no sanitizer report');
});
