// PostgreSQL group commit (postgres/ingest-batch.ts, ingest.ts's writeBatch): what batching adds
// to the contract suite's guarantees. Reports that queue up while a batch commits share one
// transaction; a bad report in a batch answers its own error while the others are stored; a
// report two collectors' batches carry at once is stored once and both answer the same ack.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { prepareReport, ReportRejectedError, type PreparedReport } from '../src/db/ingest-rows.js';
import { writeBatch, type BatchOutcome } from '../src/db/postgres/ingest.js';
import { PostgresStore } from '../src/db/postgres/store.js';
import { reportFrom } from './helpers/reports.js';
import { meta, minutesAgo } from './store-contract/reports.js';
import { skipUnlessPostgres, startPostgresCluster, type PostgresCluster } from '../../../test/helpers/postgres.js';

const prepared = (hostId: string, minutes: number, tokenId: string | null = null): PreparedReport =>
  prepareReport(reportFrom('bindv6only', { hostId, collectedAt: minutesAgo(minutes) }), { ...meta(), tokenId });

const ok = (outcome: BatchOutcome | undefined) => {
  assert.ok(outcome && 'ok' in outcome, `expected a stored report, got ${outcome && 'error' in outcome ? String(outcome.error) : outcome}`);
  return outcome.ok;
};

describe('PostgreSQL ingest batches', { skip: skipUnlessPostgres() }, () => {
  let cluster: PostgresCluster;
  const stores: PostgresStore[] = [];
  const open = async (url: string): Promise<PostgresStore> => {
    const store = await PostgresStore.open(url, { staleAfterSeconds: 900 });
    stores.push(store);
    return store;
  };
  before(async () => {
    cluster = await startPostgresCluster();
  });
  after(async () => {
    for (const store of stores) await store.close();
    await cluster?.stop();
  });

  test('reports arriving while a batch commits share the next transaction, each acked after it', async () => {
    const store = await open(await cluster.createDatabase());
    // Submitted at once: the first writer takes the first report, the second starts once eight
    // wait (SECOND_WRITER_BACKLOG) and takes them together, the last goes in a third.
    const reports = Array.from({ length: 10 }, (_, i) => reportFrom('bindv6only', { hostId: `group-${i}`, collectedAt: minutesAgo(1) }));
    const acks = await Promise.all(reports.map((r) => store.ingestReport(r, meta())));
    assert.deepEqual(
      acks.map((a) => [a.hostId, a.duplicate]),
      reports.map((r) => [r.host.hostId, false]),
    );
    assert.deepEqual(store.ingestBatches(), { transactions: 3, reports: 10 });
    assert.equal((await store.counts()).reports, 10);
  });

  test('one bad report in a batch: the others are stored and acked, the bad one answers its own error, a resend its stored ack', async () => {
    const store = await open(await cluster.createDatabase());
    const stored = prepared('bad-0', 5);
    const first = ok((await writeBatch(store.pool, [stored]))[0]);
    const batch = [prepared('bad-1', 1), prepared('bad-2', 1, 'no-such-token'), { ...stored }, prepared('bad-3', 1)];
    const outcomes = await writeBatch(store.pool, batch);
    assert.equal(ok(outcomes[0]).duplicate, false);
    const rejected = outcomes[1]!;
    assert.ok('error' in rejected && rejected.error instanceof ReportRejectedError, `expected the bad report's own rejection, got ${JSON.stringify(rejected)}`);
    assert.match(rejected.error.message, /token/);
    assert.deepEqual(ok(outcomes[2]).ack, { ...first.ack, duplicate: true });
    assert.equal(ok(outcomes[3]).duplicate, false);
    const rows = await cluster.query<{ host_id: string }>('SELECT host_id FROM reports ORDER BY host_id', [], new URL(store.url).pathname.slice(1));
    assert.deepEqual(
      rows.rows.map((r) => r.host_id),
      ['bad-0', 'bad-1', 'bad-3'],
    );
  });

  test('unchanged reports in one batch: the newer is applied, a late one (received before what its host shows) is history only', async () => {
    const store = await open(await cluster.createDatabase());
    const database = new URL(store.url).pathname.slice(1);
    const at = (minutes: number) => new Date(Date.now() - minutes * 60_000);
    const unchanged = (hostId: string, collected: number, received: number): PreparedReport =>
      prepareReport(reportFrom('bindv6only', { hostId, collectedAt: minutesAgo(collected) }), meta(at(received)));
    // Each host's first report: the full path, setting what the host shows.
    const firsts = [unchanged('u-late', 20, 2), unchanged('u-new', 20, 20)];
    for (const outcome of await writeBatch(store.pool, firsts)) ok(outcome);
    // Same services and findings as the hosts have: both take the one-statement path.
    const late = unchanged('u-late', 15, 10);
    const newer = unchanged('u-new', 15, 1);
    const [lateOutcome, newerOutcome] = await writeBatch(store.pool, [late, newer]);
    assert.deepEqual([ok(lateOutcome).applied, ok(newerOutcome).applied], [false, true]);
    const openFindings = firsts[0]!.critical + firsts[0]!.warning + firsts[0]!.info;
    assert.deepEqual(ok(lateOutcome).ack, { reportId: late.reportId, hostId: 'u-late', duplicate: false, receivedAt: late.receivedAt, findings: { open: openFindings, opened: 0, resolved: 0 } });
    const history = await cluster.query<{ report_id: string; applied: number; ack_open: number }>(
      'SELECT report_id, applied, ack_open FROM reports WHERE report_id = ANY($1::text[]) ORDER BY host_id',
      [[late.reportId, newer.reportId]],
      database,
    );
    assert.deepEqual(history.rows, [
      { report_id: late.reportId, applied: 0, ack_open: openFindings },
      { report_id: newer.reportId, applied: 1, ack_open: newer.critical + newer.warning + newer.info },
    ]);
    const hosts = await cluster.query<{ host_id: string; last_report_id: string; last_seen: string; latest: string }>(
      'SELECT h.host_id, h.last_report_id, h.last_seen, l.report_id AS latest FROM hosts h JOIN latest_reports l USING (host_id) ORDER BY host_id',
      [],
      database,
    );
    assert.deepEqual(hosts.rows, [
      { host_id: 'u-late', last_report_id: firsts[0]!.reportId, last_seen: firsts[0]!.receivedAt, latest: firsts[0]!.reportId },
      { host_id: 'u-new', last_report_id: newer.reportId, last_seen: newer.receivedAt, latest: newer.reportId },
    ]);
    assert.equal((await store.counts()).reports, 4);
  });

  test("an unchanged report whose host changes between the batch's look and its write is written alone, services and all", async () => {
    const store = await open(await cluster.createDatabase());
    const database = new URL(store.url).pathname.slice(1);
    ok((await writeBatch(store.pool, [prepared('moving', 10)]))[0]);
    const next = prepared('moving', 5);
    // Another collector's transaction changes the host's services (as a changed report would)
    // and commits only once this batch's look has seen the old state and its write waits.
    const other = await store.pool.connect();
    try {
      await other.query('BEGIN');
      await other.query(`UPDATE hosts SET services_hash = 'changed-elsewhere' WHERE host_id = 'moving'`);
      const write = writeBatch(store.pool, [next]);
      for (;;) {
        const waiting = await cluster.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'`, [database]);
        if (waiting.rows[0]!.n >= 1) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await other.query('COMMIT');
      const result = ok((await write)[0]);
      assert.deepEqual([result.applied, result.servicesRewritten], [true, true], 'the full path: its services written again');
    } finally {
      other.release();
    }
    const host = await cluster.query<{ services_hash: string; last_report_id: string }>(`SELECT services_hash, last_report_id FROM hosts WHERE host_id = 'moving'`, [], database);
    assert.deepEqual(host.rows[0], { services_hash: next.servicesHash, last_report_id: next.reportId });
  });

  test('two collectors whose batches carry the same reportId at once: one row, both acks equal', async () => {
    const url = await cluster.createDatabase();
    const database = new URL(url).pathname.slice(1);
    const [a, b] = [await open(url), await open(url)];
    ok((await writeBatch(a.pool, [prepared('twin', 10)]))[0]);
    const twin = prepared('twin', 1);
    // Hold the host's row so both batches get past their look for a stored copy and wait on
    // the row lock: then the reports constraint, not the look, decides which one stores it.
    const holder = await a.pool.connect();
    try {
      await holder.query('BEGIN');
      await holder.query(`SELECT 1 FROM hosts WHERE host_id = 'twin' FOR UPDATE`);
      const writes = [writeBatch(a.pool, [{ ...twin }, prepared('only-a', 1)]), writeBatch(b.pool, [prepared('only-b', 1), { ...twin }])];
      for (;;) {
        const waiting = await cluster.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'`, [database]);
        if (waiting.rows[0]!.n >= 2) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await holder.query('COMMIT');
      const [fromA, fromB] = await Promise.all(writes);
      const ackA = ok(fromA![0]).ack;
      const ackB = ok(fromB![1]).ack;
      assert.deepEqual([ackA.duplicate, ackB.duplicate].sort(), [false, true]);
      assert.deepEqual({ ...ackA, duplicate: false }, { ...ackB, duplicate: false });
      assert.equal(ok(fromA![1]).duplicate, false);
      assert.equal(ok(fromB![0]).duplicate, false);
    } finally {
      holder.release();
    }
    const rows = await cluster.query<{ report_id: string }>('SELECT report_id FROM reports WHERE report_id = $1', [twin.reportId], database);
    assert.equal(rows.rows.length, 1);
    assert.equal((await a.counts()).reports, 4);
  });
});
