// The yielding reader (the scan's main thread) must give exactly what the one-go reader gives,
// on small captured tables and on a table of many read chunks, and must really return to the
// event loop between chunks (child processes' pipes are drained meanwhile).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSocketTable, readSocketTableYielding } from '../src/proc/net-sockets.js';
import { procRoot } from '../src/proc/root.js';
import { ProcParseError } from '../src/proc/errors.js';
import { fixtureProc, fixtureProcText } from './helpers/proc-fixtures.js';

test('the same summary as readSocketTable on every captured table', async () => {
  for (const name of ['dual-stack-services', 'bindv6only', 'ipv6-off']) {
    for (const file of ['tcp', 'tcp6', 'udp', 'udp6'] as const) {
      assert.deepEqual(await readSocketTableYielding(fixtureProc(name), file), readSocketTable(fixtureProc(name), file), `${name} ${file}`);
    }
  }
});

test('a table of many chunks: same summary, and the event loop runs between chunks', async (t) => {
  // A captured tcp6 table grown to ~2 MB (8 read chunks): its listeners once, then its
  // established lines repeated, as a busy host prints them.
  const lines = fixtureProcText('dual-stack-services', 'net/tcp6').split('\n').filter((l) => l.trim() !== '');
  const [header, ...rows] = lines;
  const established = rows.filter((l) => l.split(/\s+/)[4] === '01');
  assert.ok(established.length > 0, 'the fixture has established sockets');
  const big = [header, ...rows];
  while (big.length < 12_000) big.push(...established);
  const dir = mkdtempSync(join(tmpdir(), 'dualstack-yield-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'net'));
  writeFileSync(join(dir, 'net', 'tcp6'), `${big.join('\n')}\n`);
  const root = procRoot(dir);

  let immediates = 0;
  const count = () => {
    immediates++;
    if (immediates < 1000) setImmediate(count);
  };
  setImmediate(count);
  const yielded = await readSocketTableYielding(root, 'tcp6');
  const seenDuringRead = immediates;
  assert.deepEqual(yielded, readSocketTable(root, 'tcp6'));
  assert.ok(seenDuringRead >= 4, `other callbacks ran during the read (${seenDuringRead} immediates)`);
  assert.equal(yielded!.lines, big.length - 1);
});

test('a broken line fails the yielding read with the same ProcParseError', async () => {
  const root = fixtureProc('broken/tcp-bad-hex');
  let expected: ProcParseError | undefined;
  try {
    readSocketTable(root, 'tcp');
  } catch (error) {
    expected = error as ProcParseError;
  }
  assert.ok(expected instanceof ProcParseError);
  await assert.rejects(readSocketTableYielding(root, 'tcp'), (error: unknown) => {
    assert.ok(error instanceof ProcParseError);
    assert.deepEqual([error.file, error.line, error.field, error.message], [expected!.file, expected!.line, expected!.field, expected!.message]);
    return true;
  });
  assert.equal(await readSocketTableYielding(fixtureProc('ipv6-off'), 'tcp6'), null, 'a missing table: null');
});
