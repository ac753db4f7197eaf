// A seeded fleet for the dashboard tests: 20 hosts replayed from the captured fixtures, so
// every count on the page is known from the fixtures themselves.
//   web-01..08    dual-stack-services  (every service mode; ipv4-only, ipv6-only, loopback findings)
//   edge-01..05   no-ipv6-default      (ipv6-unroutable, critical)
//   app-01..04    bindv6only           (bindv6only-set)
//   legacy-01..03 ipv6-off             (ipv6-disabled; no IPv6 reachability answer)
// web-08 and legacy-03 last reported two hours ago: stale. legacy-03's host name and one of
// web-07's process names are markup, which the page must show as text.
import type { Report, Service } from '@dualstack/core';
import type { Store } from '../../src/store.js';
import { golden, reportFrom, type GoldenName } from './reports.js';

export const XSS_HOSTNAME = 'legacy-03 <img src=x onerror="window.__xss=1">';
export const XSS_PROCESS = '<script>window.__xss=2</script>';

export interface SeededHost {
  hostId: string;
  hostname: string;
  fixture: GoldenName;
  stale: boolean;
  report: Report;
}

const PLAN: Array<[prefix: string, count: number, fixture: GoldenName]> = [
  ['web', 8, 'dual-stack-services'],
  ['edge', 5, 'no-ipv6-default'],
  ['app', 4, 'bindv6only'],
  ['legacy', 3, 'ipv6-off'],
];
const STALE = new Set(['web-08', 'legacy-03']);

export async function seedFleet(store: Store, now = new Date()): Promise<SeededHost[]> {
  const hosts: SeededHost[] = [];
  for (const [prefix, count, fixture] of PLAN) {
    for (let i = 1; i <= count; i++) {
      const hostId = `${prefix}-${String(i).padStart(2, '0')}`;
      const stale = STALE.has(hostId);
      const hostname = hostId === 'legacy-03' ? XSS_HOSTNAME : `${hostId}.example.net`;
      let services: Service[] | undefined;
      if (hostId === 'web-07') {
        services = golden(fixture).services.map((s) => (s.port === 8443 ? { ...s, process: XSS_PROCESS } : s));
      }
      const at = new Date(now.getTime() - (stale ? 2 * 3600_000 : 60_000));
      // Two reports per host (history), the latest one a minute (or two hours) ago.
      for (const [n, t] of [[0, new Date(at.getTime() - 300_000)], [1, at]] as const) {
        const report = reportFrom(fixture, { hostId, hostname, collectedAt: t, ...(services ? { services } : {}) });
        await store.ingestReport(report, { receivedAt: t.toISOString(), tokenId: null, bytes: 30_000 });
        if (n === 1) hosts.push({ hostId, hostname, fixture, stale, report });
      }
    }
  }
  return hosts;
}
