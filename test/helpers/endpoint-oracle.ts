// The oracle of the published-endpoint tests: what a client in a prober namespace really gets,
// asked of the standard tools rather than of the code under test. dig resolves through the
// namespace's resolv.conf, nc connects, curl fetches over HTTPS and openssl s_client shows the
// certificate, each to one address at a time (curl --resolve pins the address, so a name with
// two AAAA is judged per address, not through curl's own fallback).
import { execFileSync } from 'node:child_process';
import type { Netns } from './netns.js';

export type DnsRcode = 'NOERROR' | 'NXDOMAIN' | 'SERVFAIL' | 'REFUSED' | string;

export interface DigAnswer {
  rcode: DnsRcode;
  /** A or AAAA addresses of the answer, sorted. */
  addresses: string[];
  /** CNAME targets in the answer, in order, without the trailing dot. */
  cnames: string[];
}

/** `dig TYPE name` with the namespace's resolver. */
export async function dig(ns: Netns, type: 'A' | 'AAAA', name: string): Promise<DigAnswer> {
  const r = await ns.exec('dig', ['+noall', '+comments', '+answer', '+time=1', '+tries=2', type, name], { timeoutMs: 10_000 });
  const rcode = /status: ([A-Z]+)/.exec(r.stdout)?.[1];
  if (!rcode) throw new Error(`dig ${type} ${name} in ${ns.name}: no answer (${r.code}): ${r.stdout}${r.stderr}`);
  const answers = r.stdout.split('\n').filter((l) => l && !l.startsWith(';')).map((l) => l.split(/\s+/));
  return {
    rcode,
    addresses: answers.filter((f) => f[3] === type).map((f) => f[4]!).sort(),
    cnames: answers.filter((f) => f[3] === 'CNAME').map((f) => f[4]!.replace(/\.$/, '')),
  };
}

export type Reach = 'ok' | 'refused' | 'timeout' | 'unreachable';

/** `nc -z -v -w 2`: does a TCP handshake with address:port complete, and if not, why. */
export async function tcpReach(ns: Netns, address: string, port: number): Promise<Reach> {
  const r = await ns.exec('nc', ['-z', '-v', '-n', '-w', '2', address, String(port)], { timeoutMs: 10_000 });
  if (r.code === 0) return 'ok';
  if (/refused/i.test(r.stderr)) return 'refused';
  if (/unreachable/i.test(r.stderr)) return 'unreachable';
  if (/timed out|in progress/i.test(r.stderr)) return 'timeout';
  throw new Error(`nc -z ${address} ${port} in ${ns.name}: unclassified (${r.code}): ${r.stderr}`);
}

/** `curl https://host:port/` pinned to address: the HTTP status, or curl's exit code and error. */
export async function curlStatus(ns: Netns, host: string, address: string, port: number, caFile: string): Promise<{ status: number | null; exit: number; error: string }> {
  const pinned = address.includes(':') ? `[${address}]` : address;
  const r = await ns.exec('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '--connect-timeout', '2', '--max-time', '5', '--cacert', caFile,
    '--resolve', `${host}:${port}:${pinned}`, `https://${host}:${port}/`], { timeoutMs: 15_000 });
  return { status: r.code === 0 ? Number(r.stdout) : null, exit: r.code, error: r.stderr.trim() };
}

export interface PeerCertificate {
  /** openssl's verification of the chain and of `host` (0 = ok). */
  verify: number;
  /** SHA-256 fingerprint, upper-case hex with colons (as `openssl x509 -fingerprint` prints it). */
  fingerprint256: string;
  issuer: string;
}

/** The certificate `openssl s_client` gets from address:port with SNI `host`; null when no handshake. */
export async function peerCertificate(ns: Netns, host: string, address: string, port: number, caFile: string): Promise<PeerCertificate | null> {
  const target = address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
  const r = await ns.exec('openssl', ['s_client', '-connect', target, '-servername', host, '-verify_hostname', host, '-CAfile', caFile], { timeoutMs: 10_000 });
  const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(r.stdout)?.[0];
  if (!pem) return null;
  const verify = Number(/Verify return code: (\d+)/.exec(r.stdout)?.[1] ?? -1);
  return { verify, ...certificateFacts(pem) };
}

/** Fingerprint and issuer of a PEM certificate (the text of one, or a file). */
export function certificateFacts(pemOrFile: string): { fingerprint256: string; issuer: string } {
  const input = pemOrFile.startsWith('-----') ? pemOrFile : undefined;
  const args = ['x509', '-noout', '-fingerprint', '-sha256', '-issuer', ...(input ? [] : ['-in', pemOrFile])];
  const out = execFileSync('openssl', args, { input, encoding: 'utf8' });
  return {
    fingerprint256: /Fingerprint=([0-9A-F:]+)/.exec(out)![1]!,
    issuer: /issuer=(.*)/.exec(out)![1]!.trim(),
  };
}

/** The first line a server sends (SSH, SMTP …), read with nc; null when it sends none. */
export async function banner(ns: Netns, address: string, port: number): Promise<string | null> {
  // -w 1: nc ends one idle second after the banner (an SSH server then waits for ours).
  const r = await ns.exec('nc', ['-n', '-w', '1', address, String(port)], { timeoutMs: 10_000 });
  const line = r.stdout.split(/\r?\n/)[0];
  return line ? line : null;
}

// ------------------------------------------------------------------ one scenario, seen from one namespace

/** What the oracle saw at one address. */
export interface Seen {
  reach: Reach;
  /** HTTPS: curl's status and the certificate's SHA-256 fingerprint; SSH: the banner. */
  status?: number | null;
  fingerprint?: string;
  banner?: string | null;
}

/** Everything the oracle saw of one endpoint from one namespace: both lookups and every address they gave. */
export interface Observed {
  a: DigAnswer;
  aaaa: DigAnswer;
  seen: Map<string, Seen>;
}

/** The endpoint as the oracle needs it (a scenario of endpoint-topology.ts). */
export interface OracleEndpoint {
  url: string;
  host: string;
  port: number;
}

async function see(ns: Netns, e: OracleEndpoint, address: string, caFile: string): Promise<Seen> {
  const reach = await tcpReach(ns, address, e.port);
  if (reach !== 'ok') return { reach };
  if (e.url.startsWith('ssh:')) return { reach, banner: await banner(ns, address, e.port) };
  const curl = await curlStatus(ns, e.host, address, e.port, caFile);
  if (curl.exit !== 0) throw new Error(`curl ${e.url} at ${address} from ${ns.name}: exit ${curl.exit}: ${curl.error}`);
  const cert = await peerCertificate(ns, e.host, address, e.port, caFile);
  if (cert?.verify !== 0) throw new Error(`openssl s_client ${address} from ${ns.name}: the certificate does not verify for ${e.host} (${cert?.verify})`);
  return { reach, status: curl.status, fingerprint: cert.fingerprint256 };
}

/** dig A and AAAA, then every address they gave, from ns. */
export async function observe(ns: Netns, e: OracleEndpoint, caFile: string): Promise<Observed> {
  const [a, aaaa] = await Promise.all([dig(ns, 'A', e.host), dig(ns, 'AAAA', e.host)]);
  const seen = new Map<string, Seen>();
  await Promise.all([...a.addresses, ...aaaa.addresses].map(async (address) => seen.set(address, await see(ns, e, address, caFile))));
  return { a, aaaa, seen };
}

/** One vantage point as the oracle judges it: what it observed, and whether it has an IPv4 route. */
export interface OracleVantage {
  observed: Observed;
  ipv4: boolean;
}

/**
 * The rule ids of issue 12 as the issue words them (and endpoint-down: nothing answers over
 * either family, anywhere), judged from the oracle's observations
 * alone (not from the code under test): an address answers when the TCP handshake completes
 * and curl got a status below 500 (HTTPS) or a banner came (SSH). `backendServesIpv6`: the
 * oracle reached the declared backend over IPv6 directly.
 */
export function findingsByOracle(vantages: OracleVantage[], backendServesIpv6: boolean): string[] {
  const answers = (s: Seen | undefined) => s?.reach === 'ok' && (s.status === undefined || (s.status !== null && s.status < 500)) && s.banner !== null;
  const family = (v: OracleVantage, f: 4 | 6) => {
    const addresses = (f === 4 ? v.observed.a : v.observed.aaaa).addresses;
    const routed = f === 6 || v.ipv4;
    const answering = addresses.filter((a) => answers(v.observed.seen.get(a)));
    return { routed, total: addresses.length, answering };
  };
  const ids = new Set<string>();
  if (vantages.every((v) => v.observed.a.addresses.length === 0 && v.observed.aaaa.addresses.length === 0)) ids.add('endpoint-unresolvable');
  for (const [f, o] of [[6, 4], [4, 6]] as const) {
    const broken = vantages.some((v) => family(v, f).routed && family(v, f).total > 0 && family(v, f).answering.length === 0);
    const otherWorks = vantages.some((v) => family(v, o).routed && family(v, o).answering.length > 0);
    if (broken && otherWorks) ids.add(`endpoint-ipv${f}-broken`);
  }
  // Addresses to try, tried from a vantage point with the route, and none of them answers anywhere.
  const tested = vantages.flatMap((v) => [family(v, 4), family(v, 6)]).filter((x) => x.routed && x.total > 0);
  if (tested.length > 0 && tested.every((x) => x.answering.length === 0)) ids.add('endpoint-down');
  const noAaaa = vantages.every((v) => v.observed.aaaa.rcode === 'NOERROR' && v.observed.aaaa.addresses.length === 0);
  if (noAaaa && backendServesIpv6 && vantages.some((v) => family(v, 4).routed && family(v, 4).answering.length > 0)) ids.add('endpoint-no-aaaa');
  for (const v of vantages) {
    for (const f of [4, 6] as const) {
      const x = family(v, f);
      if (x.routed && x.answering.length > 0 && x.answering.length < x.total) ids.add('endpoint-partial');
    }
    // What an answering address presented: its certificate and status (HTTPS) or banner (SSH).
    const presented = (a: string) => {
      const s = v.observed.seen.get(a)!;
      return `${s.fingerprint ?? ''} ${s.status ?? ''} ${s.banner ?? ''}`;
    };
    const shown = (f: 4 | 6) => new Set(family(v, f).answering.map(presented));
    const [s4, s6] = [shown(4), shown(6)];
    if (family(v, 4).routed && s4.size > 0 && s6.size > 0 && ![...s4].some((x) => s6.has(x))) ids.add('endpoint-family-differs');
  }
  return [...ids].sort();
}
