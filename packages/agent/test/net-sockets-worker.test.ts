// The worker-thread reader must be indistinguishable from reading on the main thread: the
// same summary, and the same error class and fields for a broken table. fallback: false, so
// a worker that does not run fails the test instead of being read here silently.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readSocketTable } from '../src/proc/net-sockets.js';
import { readSocketTableOnWorker } from '../src/proc/net-sockets-worker.js';
import { inuseOf } from '../src/proc/sockstat.js';
import { ProcParseError } from '../src/proc/errors.js';
import { fixtureProc } from './helpers/proc-fixtures.js';

test('a table read on a worker equals the one read here', async () => {
  for (const root of [fixtureProc('dual-stack-services'), fixtureProc('bindv6only')]) {
    for (const file of ['tcp', 'tcp6', 'udp6'] as const) {
      assert.deepEqual(await readSocketTableOnWorker(root, file, { fallback: false }), readSocketTable(root, file), `${root.path} ${file}`);
    }
  }
  assert.equal(await readSocketTableOnWorker(fixtureProc('ipv6-off'), 'tcp6', { fallback: false }), null, 'a missing table is null there too');
});

test('a broken table rejects with the same ProcParseError fields from the worker', async () => {
  const root = fixtureProc('broken/tcp-bad-hex');
  let here: unknown;
  try {
    readSocketTable(root, 'tcp');
  } catch (error) {
    here = error;
  }
  await assert.rejects(readSocketTableOnWorker(root, 'tcp', { fallback: false }), (error: unknown) => {
    assert.ok(error instanceof ProcParseError);
    const expected = here as ProcParseError;
    assert.deepEqual([error.file, error.line, error.field, error.raw, error.message], [expected.file, expected.line, expected.field, expected.raw, expected.message]);
    return true;
  });
});

test('sockstat counts: TCP inuse per namespace, null when absent or garbled', () => {
  const text = 'sockets: used 120\nTCP: inuse 42 orphan 0 tw 3 alloc 50 mem 4\nUDP: inuse 5 mem 2\n';
  assert.equal(inuseOf(text, 'TCP'), 42);
  assert.equal(inuseOf(text, 'UDP'), 5);
  assert.equal(inuseOf(text, 'TCP6'), null);
  assert.equal(inuseOf(null, 'TCP'), null);
  assert.equal(inuseOf('TCP: inuse many\n', 'TCP'), null);
});
