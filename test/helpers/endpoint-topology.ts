// "Service is not server" in namespaces (issue 12): published endpoints under example.net, a
// real DNS server answering for them, a real load balancer in front of real backends, and two
// vantage points, one dual-stack and one IPv6-only, whose resolver is that DNS server.
//
//                     router (forwards both families; routes the VIPs to lb)
//     ┌──────────┬──────────┼──────────┬──────────┬──────────┐
//    dns         lb        web         ssh        pd          p6
//  dnsmasq    haproxy     nginx       sshd     dual-stack   IPv6-only
//             VIPs on lo  :443 :8443  :22 :2222  prober      prober (no IPv4 address, no route)
//
// Every scenario of SCENARIOS is one endpoint with its own name and VIPs in this one topology,
// so a test builds it once (~5 s) and checks them all. Documentation prefixes only:
// links in 198.51.100.0/24, 192.0.2.0/24 and 2001:db8:e::/48, VIPs 203.0.113.N and
// 2001:db8:e:100::N. Each prober's /etc/netns/NAME/resolv.conf (bind-mounted by `ip netns exec`
// over /etc/resolv.conf) names dnsmasq; destroy() removes those directories, ends every daemon
// by pid and deletes every namespace, also when building failed half way (and at process exit).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addAddress, linkVeth, Netns } from './netns.js';
import { makeCertificates, startDnsmasq, startHaproxy, startNginx, startSshd, type Certificates, type Daemon, type Frontend } from './endpoint-daemons.js';

export const DNS4 = '198.51.100.2';
export const DNS6 = '2001:db8:e:53::53';
/** The router's address on each prober's link: where a collector in the router namespace is reached. */
export const ROUTER_ON_PD = { 4: '198.51.100.17', 6: '2001:db8:e:1::1' } as const;
export const ROUTER_ON_P6 = '2001:db8:e:2::1';
export const ROUTER_ON_WEB = { 4: '192.0.2.1', 6: '2001:db8:e:20::1' } as const;
export const PD_ADDRESSES = { 4: '198.51.100.18', 6: '2001:db8:e:1::2' } as const;
export const P6_ADDRESS = '2001:db8:e:2::2';
const WEB4 = '192.0.2.2';
/** The web backend's own IPv6 address (not published: the no-aaaa scenario's backend serves it). */
export const WEB6 = '2001:db8:e:20::2';
const SSH4 = '192.0.2.18';

/** Backend ports: nginx presents the main certificate on 443, the other CA's on 8443; sshd's banner differs on 2222. */
export const WEB_MAIN = `${WEB4}:443`;
export const WEB_OTHER = `${WEB4}:8443`;
export const SSH_MAIN = `${SSH4}:22`;
export const SSH_OTHER = `${SSH4}:2222`;
export const SSH_OTHER_ADDENDUM = 'other-pool';
/** The hostname the web backend's agent reports under (an endpoint's `backends:` names it). */
export const WEB_BACKEND_HOSTNAME = 'web-backend';

/** Routed to a blackhole in the router: packets to it vanish, nothing answers, not even an ICMP error. */
export const BLACKHOLE6 = '2001:db8:e:100::99';

const v4 = (n: number) => `203.0.113.${n}`;
const v6 = (n: number) => `2001:db8:e:100::${n}`;

export type ScenarioId = 'healthy' | 'ipv6-broken' | 'ipv4-broken' | 'no-aaaa' | 'family-differs' | 'partial' | 'unresolvable' | 'down' | 'blackhole' | 'ssh-healthy' | 'ssh-banner-differs';

/** What a published address really does (checked by the oracle in each prober namespace). */
export type AddressTruth = 'main' | 'other' | 'refused' | 'blackhole';

export interface EndpointScenario {
  id: ScenarioId;
  /** The endpoint's name in the collector's `endpoints:`. */
  name: string;
  url: string;
  host: string;
  port: number;
  /** The published addresses and what each one does: main = the main backend answers, other = the other backend (other certificate or banner). */
  a: Record<string, AddressTruth>;
  aaaa: Record<string, AddressTruth>;
  /** `host` is a CNAME to this name, which holds the addresses. */
  cnameTo?: string;
  backends?: string[];
  /** The rule ids the collector must report for this endpoint (both vantage points probing it). */
  findings: string[];
}

export const SCENARIOS: readonly EndpointScenario[] = [
  { id: 'healthy', name: 'www', url: 'https://www.example.net/', host: 'www.example.net', port: 443, cnameTo: 'lb-www.example.net',
    a: { [v4(1)]: 'main' }, aaaa: { [v6(1)]: 'main' }, findings: [] },
  { id: 'ipv6-broken', name: 'v6broken', url: 'https://v6broken.example.net/', host: 'v6broken.example.net', port: 443,
    a: { [v4(2)]: 'main' }, aaaa: { [v6(2)]: 'refused' }, findings: ['endpoint-ipv6-broken'] },
  { id: 'ipv4-broken', name: 'v4broken', url: 'https://v4broken.example.net/', host: 'v4broken.example.net', port: 443,
    a: { [v4(3)]: 'refused' }, aaaa: { [v6(3)]: 'main' }, findings: ['endpoint-ipv4-broken'] },
  { id: 'no-aaaa', name: 'noaaaa', url: 'https://noaaaa.example.net/', host: 'noaaaa.example.net', port: 443,
    a: { [v4(4)]: 'main' }, aaaa: {}, backends: [WEB_BACKEND_HOSTNAME], findings: ['endpoint-no-aaaa'] },
  { id: 'family-differs', name: 'differs', url: 'https://differs.example.net/', host: 'differs.example.net', port: 443,
    a: { [v4(5)]: 'main' }, aaaa: { [v6(5)]: 'other' }, findings: ['endpoint-family-differs'] },
  { id: 'partial', name: 'partial', url: 'https://partial.example.net/', host: 'partial.example.net', port: 443,
    a: { [v4(6)]: 'main' }, aaaa: { [v6(6)]: 'main', [v6(7)]: 'refused' }, findings: ['endpoint-partial'] },
  { id: 'unresolvable', name: 'unresolvable', url: 'https://unresolvable.example.net/', host: 'unresolvable.example.net', port: 443,
    a: {}, aaaa: {}, findings: ['endpoint-unresolvable'] },
  { id: 'down', name: 'down', url: 'https://down.example.net/', host: 'down.example.net', port: 443,
    a: { [v4(11)]: 'refused' }, aaaa: { [v6(11)]: 'refused' }, findings: ['endpoint-down'] },
  { id: 'blackhole', name: 'blackhole', url: 'https://blackhole.example.net/', host: 'blackhole.example.net', port: 443,
    a: { [v4(8)]: 'main' }, aaaa: { [BLACKHOLE6]: 'blackhole' }, findings: ['endpoint-ipv6-broken'] },
  { id: 'ssh-healthy', name: 'ssh', url: 'ssh://ssh.example.net', host: 'ssh.example.net', port: 22,
    a: { [v4(9)]: 'main' }, aaaa: { [v6(9)]: 'main' }, findings: [] },
  { id: 'ssh-banner-differs', name: 'ssh-differs', url: 'ssh://ssh-differs.example.net', host: 'ssh-differs.example.net', port: 22,
    a: { [v4(10)]: 'main' }, aaaa: { [v6(10)]: 'other' }, findings: ['endpoint-family-differs'] },
];

export function scenario(id: ScenarioId): EndpointScenario {
  const s = SCENARIOS.find((x) => x.id === id);
  if (!s) throw new Error(`no endpoint scenario ${id}`);
  return s;
}

export interface EndpointTopology {
  router: Netns;
  dns: Netns;
  lb: Netns;
  web: Netns;
  ssh: Netns;
  /** The dual-stack vantage point. */
  pd: Netns;
  /** The IPv6-only vantage point: no IPv4 address, no IPv4 route. */
  p6: Netns;
  certs: Certificates;
  daemons: Daemon[];
  /** Temp directory holding the certificates and the daemons' files. */
  dir: string;
  destroy(): Promise<void>;
}

// /etc/netns/NAME directories made here and not yet removed, removed at exit too.
const resolvDirs = new Set<string>();
process.on('exit', () => {
  for (const d of resolvDirs) rmSync(d, { recursive: true, force: true });
});

function pointResolver(ns: Netns, nameservers: string[]): void {
  const d = join('/etc/netns', ns.name);
  mkdirSync(d, { recursive: true });
  resolvDirs.add(d);
  // attempts/timeout: a lost query is retried quickly rather than after glibc's 5 s.
  writeFileSync(join(d, 'resolv.conf'), `${nameservers.map((n) => `nameserver ${n}`).join('\n')}\noptions timeout:1 attempts:2\n`);
}

/** One link from the router: /29 (or /64) with the router at .1 (::1) and the far end given. */
async function attach(router: Netns, routerIf: string, ns: Netns, cidrs: { router: string; far: string }[]): Promise<void> {
  await linkVeth(router, routerIf, ns, 'eth0');
  for (const c of cidrs) {
    await addAddress(router, routerIf, c.router);
    await addAddress(ns, 'eth0', c.far);
  }
}

/** The frontends haproxy needs: every published address whose truth is main or other. */
function frontends(): Frontend[] {
  const out: Frontend[] = [];
  for (const s of SCENARIOS) {
    for (const [address, truth] of [...Object.entries(s.a), ...Object.entries(s.aaaa)]) {
      if (truth !== 'main' && truth !== 'other') continue;
      const server = s.port === 22 ? (truth === 'main' ? SSH_MAIN : SSH_OTHER) : truth === 'main' ? WEB_MAIN : WEB_OTHER;
      out.push({ address, port: s.port, server });
    }
  }
  return out;
}

/** Builds the whole topology with its daemons running; on any failure tears down what exists and throws. */
export async function endpointTopology(): Promise<EndpointTopology> {
  const dir = mkdtempSync(join(tmpdir(), 'ds-endpoints-'));
  const made: Netns[] = [];
  const daemons: Daemon[] = [];
  const destroy = async (): Promise<void> => {
    await Promise.allSettled(daemons.map((d) => d.stop()));
    await Promise.allSettled(made.map((ns) => ns.destroy()));
    for (const ns of made) {
      const d = join('/etc/netns', ns.name);
      rmSync(d, { recursive: true, force: true });
      resolvDirs.delete(d);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const create = async (prefix: string) => {
    const ns = await Netns.create(prefix);
    made.push(ns);
    return ns;
  };
  try {
    const router = await create('epr');
    const [dns, lb, web, ssh, pd, p6] = [await create('epdns'), await create('eplb'), await create('epweb'), await create('epssh'), await create('eppd'), await create('epp6')];
    await router.sysctl('net.ipv4.ip_forward', '1');
    await router.sysctl('net.ipv6.conf.all.forwarding', '1');
    await attach(router, 'r-dns', dns, [{ router: '198.51.100.1/29', far: `${DNS4}/29` }, { router: '2001:db8:e:53::1/64', far: `${DNS6}/64` }]);
    await attach(router, 'r-lb', lb, [{ router: '198.51.100.9/29', far: '198.51.100.10/29' }, { router: '2001:db8:e:10::1/64', far: '2001:db8:e:10::10/64' }]);
    await attach(router, 'r-pd', pd, [{ router: `${ROUTER_ON_PD[4]}/29`, far: `${PD_ADDRESSES[4]}/29` }, { router: `${ROUTER_ON_PD[6]}/64`, far: `${PD_ADDRESSES[6]}/64` }]);
    await attach(router, 'r-p6', p6, [{ router: `${ROUTER_ON_P6}/64`, far: `${P6_ADDRESS}/64` }]);
    await attach(router, 'r-web', web, [{ router: `${ROUTER_ON_WEB[4]}/28`, far: `${WEB4}/28` }, { router: `${ROUTER_ON_WEB[6]}/64`, far: `${WEB6}/64` }]);
    await attach(router, 'r-ssh', ssh, [{ router: '192.0.2.17/28', far: `${SSH4}/28` }, { router: '2001:db8:e:21::1/64', far: '2001:db8:e:21::2/64' }]);
    for (const [ns, gw4, gw6] of [[dns, '198.51.100.1', '2001:db8:e:53::1'], [lb, '198.51.100.9', '2001:db8:e:10::1'], [pd, ROUTER_ON_PD[4], ROUTER_ON_PD[6]],
      [web, ROUTER_ON_WEB[4], ROUTER_ON_WEB[6]], [ssh, '192.0.2.17', '2001:db8:e:21::1']] as const) {
      await ns.ip('route', 'add', 'default', 'via', gw4);
      await ns.ip('-6', 'route', 'add', 'default', 'via', gw6);
    }
    await p6.ip('-6', 'route', 'add', 'default', 'via', ROUTER_ON_P6);

    // Every published address except the blackholed one is on the load balancer: those without
    // a frontend answer with a reset (refused), as a VIP with no listener for that family does.
    await router.ip('route', 'add', '203.0.113.0/24', 'via', '198.51.100.10');
    await router.ip('-6', 'route', 'add', '2001:db8:e:100::/64', 'via', '2001:db8:e:10::10');
    await router.ip('-6', 'route', 'add', 'blackhole', `${BLACKHOLE6}/128`);
    const vips = new Set(SCENARIOS.flatMap((s) => [...Object.entries(s.a), ...Object.entries(s.aaaa)]).filter(([, t]) => t !== 'blackhole').map(([a]) => a));
    for (const vip of vips) await addAddress(lb, 'lo', vip.includes(':') ? `${vip}/128` : `${vip}/32`);

    pointResolver(pd, [DNS4, DNS6]);
    pointResolver(p6, [DNS6]);

    const certs = makeCertificates(dir);
    daemons.push(
      await startNginx(web, dir, [
        { port: 443, cert: certs.main, status: 200, body: 'main' },
        { port: 8443, cert: certs.other, status: 200, body: 'other' },
      ]),
    );
    daemons.push(await startSshd(ssh, dir, 22));
    daemons.push(await startSshd(ssh, dir, 2222, SSH_OTHER_ADDENDUM));
    daemons.push(await startHaproxy(lb, dir, frontends()));
    const hosts: Record<string, string[]> = {};
    for (const s of SCENARIOS) {
      const addresses = [...Object.keys(s.a), ...Object.keys(s.aaaa)];
      if (addresses.length) hosts[s.cnameTo ?? s.host] = addresses;
    }
    const cnames = Object.fromEntries(SCENARIOS.filter((s) => s.cnameTo).map((s) => [s.host, s.cnameTo!]));
    daemons.push(
      await startDnsmasq(dns, [DNS4, DNS6], { hosts, cnames }, async () => {
        // Ready when the IPv6-only prober gets an answer through its own resolv.conf.
        const r = await p6.exec('dig', ['+short', '+time=1', '+tries=1', 'AAAA', 'www.example.net'], { timeoutMs: 5000 });
        return r.stdout.includes('2001:db8:e:100::1');
      }),
    );
    return { router, dns, lb, web, ssh, pd, p6, certs, daemons, dir, destroy };
  } catch (error) {
    await destroy();
    throw error;
  }
}
