// The PostgreSQL store's group commit (db/postgres/ingest-batch.ts) on its own, with a write
// function whose transactions this test ends one by one: which reports go in which batch, and
// when a second transaction starts beside one in flight. The store's own tests write through
// PostgreSQL (postgres-ingest-batch.test.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PreparedReport, WriteResult } from '../src/db/ingest-rows.js';
import { IngestBatcher, SECOND_WRITER_BACKLOG } from '../src/db/postgres/ingest-batch.js';
import type { BatchOutcome } from '../src/db/postgres/ingest.js';

/** A batcher whose every transaction waits until the test ends it; the batches are recorded. */
function controlled(writers: number) {
  const batches: string[][] = [];
  const ends: Array<() => void> = [];
  const batcher = new IngestBatcher(
    (reports) =>
      new Promise<BatchOutcome[]>((resolve) => {
        batches.push(reports.map((r) => r.hostId));
        ends.push(() => resolve(reports.map((r) => ({ ok: { ack: { reportId: r.hostId }, duplicate: false, applied: true, servicesRewritten: false } as unknown as WriteResult }))));
      }),
    { writers, maxBatch: 64 },
  );
  const submit = (hostId: string) => batcher.submit({ hostId } as PreparedReport);
  const settle = () => new Promise((resolve) => setImmediate(resolve));
  return { batches, ends, submit, settle };
}

test('beside a transaction in flight, a second starts only once SECOND_WRITER_BACKLOG reports wait; fewer go in the next batch together', async () => {
  assert.equal(SECOND_WRITER_BACKLOG, 8);
  const { batches, ends, submit, settle } = controlled(2);
  const acks: Array<Promise<WriteResult>> = [submit('h0')];
  assert.deepEqual(batches, [['h0']], 'an idle batcher writes at once');
  for (let i = 1; i < SECOND_WRITER_BACKLOG; i++) acks.push(submit(`h${i}`));
  assert.deepEqual(batches, [['h0']], 'seven waiting: no second transaction');
  acks.push(submit('h8'));
  assert.deepEqual(batches, [['h0'], ['h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'h7', 'h8']], 'the eighth starts the second, with all eight');
  acks.push(submit('h9'));
  ends[0]!();
  await settle();
  assert.equal(batches.length, 2, 'one waiting report does not start a transaction beside the one still in flight');
  ends[1]!();
  await settle();
  assert.deepEqual(batches[2], ['h9'], 'once nothing is in flight, it is written');
  ends[2]!();
  const written = await Promise.all(acks);
  assert.deepEqual(
    written.map((w) => w.ack.reportId),
    Array.from({ length: 10 }, (_, i) => `h${i}`),
  );
});

test('one writer: what waited during a commit goes in the next batch, one report per host; a host\'s second report in the batch after', async () => {
  const { batches, ends, submit, settle } = controlled(1);
  const acks = ['a', 'b', 'a', 'c', 'b'].map(submit);
  assert.deepEqual(batches, [['a']]);
  ends[0]!();
  await settle();
  assert.deepEqual(batches[1], ['b', 'a', 'c']);
  ends[1]!();
  await settle();
  assert.deepEqual(batches[2], ['b']);
  ends[2]!();
  assert.equal((await Promise.all(acks)).length, 5);
});
