// A SQLite fleet for the copy tests, written through the SQLite store's own code paths (ingest,
// tokens, enrollment, endpoints, probe batches, the alert service), so every table holds rows
// the collector itself wrote, never rows typed in SQL that could disagree with the schema.
//   host-NNNNN       one report each from the golden captures (1 in 10 dual-stack-services,
//                    most ipv6-off: small bodies); every 50th with a pod namespace; every 100th
//                    with an older report too (history); every 7th (i % 7 = 3) two hours stale
//   host-00000/1     enrolled with the enroll secret 'fleet-secret'
//   www              a published endpoint probed by two vantage points
//   alerts           the default rules evaluated twice (stale hosts, findings, readiness), and a
//                    test send to a closed port (failed delivery attempts)
import { resolveAlerts } from '../../src/alerts/config.js';
import { AlertService } from '../../src/alerts/service.js';
import { SqliteAlertStore } from '../../src/db/sqlite-alert-store.js';
import { SqliteStore } from '../../src/db/sqlite-store.js';
import { ENROLL_SECRET_PREFIX, generateToken, hashToken } from '../../src/tokens.js';
import { attempt, endpointProbe, probeBatch } from './probes.js';
import { podNamespace, reportFrom, withNamespaces, type GoldenName } from './reports.js';

/** Dual-stack services, a pod namespace, two reports, an enrolled key. */
export const DETAIL_HOST = 'host-00000';

const FIXTURES: GoldenName[] = ['dual-stack-services', 'bindv6only', 'no-ipv6-default', 'ipv6-off', 'ipv6-off', 'ipv6-off', 'ipv6-off', 'ipv6-off', 'ipv6-off', 'ipv6-off'];
const IN_FLIGHT = 100;

export async function seedCopyFleet(file: string, hosts: number, now: Date): Promise<void> {
  const store = new SqliteStore(file, { staleAfterSeconds: 900 });
  try {
    const agent = await store.createToken({ name: 'agent-1', role: 'agent', hash: hashToken(generateToken()) });
    await store.createToken({ name: 'reader-1', role: 'reader', hash: hashToken(generateToken()) });
    const secret = await store.createToken({ name: 'fleet-secret', role: 'enroll', hash: hashToken(generateToken(ENROLL_SECRET_PREFIX)), maxHosts: 100 });
    for (const hostId of [DETAIL_HOST, 'host-00001']) {
      await store.enrollHost({ secretId: secret.id, hostId, hostname: `${hostId}.example`, facts: { os: 'debian' }, peer: '192.0.2.10', hash: hashToken(generateToken()) });
    }
    const ingest = async (i: number, ageMs: number) => {
      const hostId = `host-${String(i).padStart(5, '0')}`;
      let report = reportFrom(FIXTURES[i % FIXTURES.length]!, { hostId, collectedAt: new Date(now.getTime() - ageMs - 1000) });
      if (i % 50 === 0) report = withNamespaces(report, [podNamespace(report)]);
      await store.ingestReport(report, { receivedAt: new Date(now.getTime() - ageMs).toISOString(), tokenId: agent.id, bytes: 9000 });
    };
    const age = (i: number) => (i % 7 === 3 ? 2 * 3600_000 : 60_000);
    // As agents send them: many at once, so the writer thread commits them in groups.
    for (let start = 0; start < hosts; start += IN_FLIGHT) {
      const batch = Array.from({ length: Math.min(IN_FLIGHT, hosts - start) }, (_, k) => start + k);
      await Promise.all(batch.map((i) => ingest(i, age(i) + (i % 100 === 0 ? 600_000 : 0))));
    }
    const withHistory = Array.from({ length: Math.ceil(hosts / 100) }, (_, k) => k * 100);
    await Promise.all(withHistory.map((i) => ingest(i, age(i))));

    await store.addEndpoint({ name: 'www', url: 'https://www.example.net' });
    for (const hostId of ['host-00002', 'host-00004']) {
      const batch = probeBatch({ hostId, ipv4: true, ipv6: true }, [
        endpointProbe({ name: 'www', url: 'https://www.example.net', a: ['192.0.2.80'], aaaa: ['2001:db8::80'], attempts: [attempt('192.0.2.80', 443, 'ok'), attempt('2001:db8::80', 443, 'timeout')] }),
      ]);
      await store.ingestProbeBatch(batch, { receivedAt: now.toISOString(), tokenId: agent.id });
    }

    const alerts = new AlertService({
      store: new SqliteAlertStore(store.database),
      settings: resolveAlerts({ receivers: [{ name: 'ops', type: 'webhook', url: 'http://127.0.0.1:9/hook' }] }),
      clock: () => now,
      staleAfterMs: 900_000,
    });
    try {
      await alerts.evaluate(new Date(now.getTime() - 60_000));
      await alerts.evaluate(now);
      await alerts.sendTest('ops', 1);
    } finally {
      await alerts.stop();
    }
  } finally {
    await store.close();
  }
}
