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
