// Issue 12, proven in namespaces: published endpoints behind a real dnsmasq, a real haproxy
// and real nginx/sshd backends (test/helpers/endpoint-topology.ts), seen from a dual-stack and
// an IPv6-only vantage point. First the topology itself is checked with the oracle (dig, nc,
// curl, openssl s_client in each prober namespace): every scenario really does what its table
// row says, for each family. Then the real collector and agents run in it, and the findings of
// GET /api/v1/endpoints/:name are the scenario's, agreeing with the oracle.
//
// Run: node scripts/run-tests.mjs test/netns/endpoints   (root, dnsmasq-base, haproxy, nginx,
// openssh-server, curl, netcat-openbsd, bind9-dnsutils; skipped otherwise, failed under CI)
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { rootSkipReason, type Netns } from '../helpers/netns.js';
import { skipUnlessCommands } from '../helpers/requirements.js';
import { ENDPOINT_COMMANDS, SBIN_PATH } from '../helpers/endpoint-daemons.js';
import { SCENARIOS, SSH_OTHER_ADDENDUM, endpointTopology, type AddressTruth, type EndpointScenario, type EndpointTopology } from '../helpers/endpoint-topology.js';
import { banner, certificateFacts, curlStatus, dig, peerCertificate, tcpReach, type Reach } from '../helpers/endpoint-oracle.js';

const skip = rootSkipReason() || skipUnlessCommands(ENDPOINT_COMMANDS, SBIN_PATH);

/** What the oracle saw at one address. */
interface Seen {
  reach: Reach;
  /** HTTPS: curl's status and the certificate's fingerprint; SSH: the banner. */
  status?: number | null;
  fingerprint?: string;
  banner?: string | null;
}

async function see(ns: Netns, topo: EndpointTopology, s: EndpointScenario, address: string): Promise<Seen> {
  const reach = await tcpReach(ns, address, s.port);
  if (reach !== 'ok') return { reach };
  if (s.url.startsWith('ssh:')) return { reach, banner: await banner(ns, address, s.port) };
  const curl = await curlStatus(ns, s.host, address, s.port, topo.certs.caFile);
  assert.equal(curl.exit, 0, `curl ${s.url} at ${address} from ${ns.name}: ${curl.error}`);
  const cert = await peerCertificate(ns, s.host, address, s.port, topo.certs.caFile);
  assert.equal(cert?.verify, 0, `openssl s_client ${address}: the certificate verifies for ${s.host}`);
  return { reach, status: curl.status, fingerprint: cert!.fingerprint256 };
}

describe('published endpoints in namespaces (issue 12)', { skip }, () => {
  let topo: EndpointTopology;
  before(async () => {
    topo = await endpointTopology();
  });
  after(async () => {
    await topo?.destroy();
  });

  test('the topology does what each scenario says, per family and vantage point (dig, nc, curl, openssl s_client)', async () => {
    const main = certificateFacts(topo.certs.main.cert).fingerprint256;
    const other = certificateFacts(topo.certs.other.cert).fingerprint256;
    assert.notEqual(main, other);
    const expectSeen = (s: EndpointScenario, truth: AddressTruth, routed: boolean): Partial<Seen> => {
      if (!routed) return { reach: 'unreachable' };
      if (truth === 'refused') return { reach: 'refused' };
      if (truth === 'blackhole') return { reach: 'timeout' };
      if (s.url.startsWith('ssh:')) return { reach: 'ok' };
      return { reach: 'ok', status: 200, fingerprint: truth === 'main' ? main : other };
    };
    for (const [ns, hasV4] of [[topo.pd, true], [topo.p6, false]] as const) {
      for (const s of SCENARIOS) {
        const a = await dig(ns, 'A', s.host);
        const aaaa = await dig(ns, 'AAAA', s.host);
        const where = `${s.id} from ${ns.name}`;
        assert.equal(a.rcode, s.id === 'unresolvable' ? 'NXDOMAIN' : 'NOERROR', where);
        assert.equal(aaaa.rcode, a.rcode, where);
        assert.deepEqual(a.addresses, Object.keys(s.a).sort(), `${where}: A`);
        assert.deepEqual(aaaa.addresses, Object.keys(s.aaaa).sort(), `${where}: AAAA`);
        assert.deepEqual(aaaa.cnames, s.cnameTo ? [s.cnameTo] : [], `${where}: CNAME`);
        for (const [family, records, routed] of [[4, s.a, hasV4], [6, s.aaaa, true]] as const) {
          for (const [address, truth] of Object.entries(records)) {
            const seen = await see(ns, topo, s, address);
            const expected = expectSeen(s, truth, routed);
            assert.deepEqual(Object.fromEntries(Object.keys(expected).map((k) => [k, seen[k as keyof Seen]])), expected, `${where}: IPv${family} ${address} (${truth})`);
            if (seen.banner !== undefined) {
              assert.match(seen.banner ?? '', /^SSH-2\.0-OpenSSH_/, `${where}: ${address} greets as SSH`);
              assert.equal(seen.banner?.endsWith(` ${SSH_OTHER_ADDENDUM}`), truth === 'other', `${where}: ${address} banner ${seen.banner}`);
            }
          }
        }
      }
    }
  });
});
