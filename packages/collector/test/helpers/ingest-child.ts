// Child process of the crash test: ingests reports into the given database file without end,
// 10 at a time, and prints each reportId on stdout once its ack resolved (after commit).
// stdout to a pipe is synchronous on Linux, so every printed id left the process.
//   node --import tsx ingest-child.ts <db-file>
import { SqliteStore } from '../../src/db/sqlite-store.js';
import { realisticReport } from './reports.js';

const file = process.argv[2];
if (!file) throw new Error('usage: ingest-child.ts <db-file>');
const store = new SqliteStore(file, { staleAfterSeconds: 900 });
const start = Date.now() - 24 * 3600_000;
let next = 0;

async function worker(): Promise<never> {
  for (;;) {
    const i = next++;
    const report = realisticReport({ hostId: `crash-${i % 40}`, collectedAt: new Date(start + i * 1000), round: Math.floor(i / 40) });
    const ack = await store.ingestReport(report, { receivedAt: new Date().toISOString(), tokenId: null, bytes: 31_000 });
    process.stdout.write(`${ack.reportId}\n`);
  }
}

process.stdout.write('READY\n');
await Promise.all(Array.from({ length: 10 }, () => worker()));
