// The collector's database holds every host's listeners and the token hashes: the file and its
// -wal/-shm are created 0600 whatever the umask (issue 17), since better-sqlite3 leaves the
// mode to the umask and 022 would make them world-readable.
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { apiCall, fixtureReport, hostToken, startTestCollector } from './helpers/collector.js';

test('a new database and its -wal/-shm are 0600 under umask 022, after an ingest', async (t) => {
  const previous = process.umask(0o022);
  t.after(() => process.umask(previous));
  const c = await startTestCollector();
  t.after(() => c.close());
  const report = fixtureReport('dual-stack-services', 'modes-host');
  const res = await apiCall(c, 'POST', '/api/v1/reports', await hostToken(c, report.host.hostId), report);
  assert.equal(res.status, 202, JSON.stringify(res.body));
  for (const name of ['dualstack.db', 'dualstack.db-wal', 'dualstack.db-shm']) {
    assert.equal((statSync(join(c.dir, name)).mode & 0o777).toString(8), '600', name);
  }
});
