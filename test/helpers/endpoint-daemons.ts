// The real servers behind the published-endpoint topology (test/helpers/endpoint-topology.ts):
// dnsmasq answering for example.net, haproxy as the load balancer, nginx (HTTPS) and sshd as
// backends, and the certificates nginx presents, made by openssl. Each daemon runs in the
// foreground as a child of `ip netns exec` (so its pid is the daemon's own) with its files in a
// temp directory, and is ended by that pid.
import { execFileSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pidAlive, waitFor, type Netns } from './netns.js';

/** Debian's daemons live in /usr/sbin, which is not always on a test's PATH. */
export const SBIN_PATH = { ...process.env, PATH: `${process.env.PATH}:/usr/sbin` };

/** The programs the topology runs, with the Debian package of each (for skipUnlessCommands). */
export const ENDPOINT_COMMANDS: Readonly<Record<string, string>> = {
  dnsmasq: 'dnsmasq-base',
  haproxy: 'haproxy',
  nginx: 'nginx',
  sshd: 'openssh-server',
  'ssh-keygen': 'openssh-client',
  openssl: 'openssl',
  curl: 'curl',
  nc: 'netcat-openbsd',
  dig: 'bind9-dnsutils',
};

export interface Daemon {
  name: string;
  pid: number;
  /** stdout and stderr so far. */
  log(): string;
  /** SIGTERM (SIGKILL after 3 s) by pid; resolves when it has exited. */
  stop(): Promise<void>;
}

/** Starts cmd in ns and waits until `ready()` holds; an early exit or a timeout throws with its output. */
async function startDaemon(ns: Netns, name: string, cmd: string, args: string[], ready: (log: string) => boolean | Promise<boolean>): Promise<Daemon> {
  const child: ChildProcess = ns.spawn(cmd, args);
  let log = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (log += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (log += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const pid = child.pid!;
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    process.kill(pid, 'SIGTERM');
    const hard = setTimeout(() => pidAlive(pid) && process.kill(pid, 'SIGKILL'), 3000);
    await exited;
    clearTimeout(hard);
  };
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`exited (${child.exitCode ?? child.signalCode})`);
        return ready(log);
      },
      { timeoutMs: 15_000, intervalMs: 50, message: `${name} in ${ns.name} did not start` },
    );
  } catch (error) {
    await stop();
    throw new Error(`${(error as Error).message}\n${name} ${args.join(' ')}\n${log}`);
  }
  return { name, pid, log: () => log, stop };
}

// ------------------------------------------------------------------ certificates

export interface Certificates {
  /** Both CAs, concatenated: NODE_EXTRA_CA_CERTS for the agent, --cacert / -CAfile for the oracle. */
  caFile: string;
  /** Signed by the first CA: what every healthy address presents. */
  main: { cert: string; key: string };
  /** Signed by the second CA, valid for the same names: the "other certificate" of a middlebox configured per family. */
  other: { cert: string; key: string };
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Two test CAs and one certificate from each for *.example.net (P-256, valid two days). */
export function makeCertificates(dir: string): Certificates {
  const pem = (name: string) => join(dir, name);
  const issue = (ca: string, leaf: string) => {
    openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', `/CN=${ca}`,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign', '-keyout', pem(`${ca}.key`), '-out', pem(`${ca}.pem`)]);
    openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', `/CN=${leaf}`,
      '-addext', 'subjectAltName=DNS:*.example.net,DNS:example.net', '-keyout', pem(`${leaf}.key`), '-out', pem(`${leaf}.csr`)]);
    openssl(['x509', '-req', '-in', pem(`${leaf}.csr`), '-CA', pem(`${ca}.pem`), '-CAkey', pem(`${ca}.key`), '-CAcreateserial', '-days', '2',
      '-copy_extensions', 'copy', '-out', pem(`${leaf}.pem`)]);
    return { cert: pem(`${leaf}.pem`), key: pem(`${leaf}.key`) };
  };
  const main = issue('dualstack-test-ca', 'www.example.net');
  const other = issue('other-test-ca', 'other.example.net');
  writeFileSync(pem('cas.pem'), readFileSync(pem('dualstack-test-ca.pem'), 'utf8') + readFileSync(pem('other-test-ca.pem'), 'utf8'));
  return { caFile: pem('cas.pem'), main, other };
}

// ------------------------------------------------------------------ dnsmasq

export interface DnsRecords {
  /** name -> addresses (IPv4 and IPv6 mixed), each published as A or AAAA. */
  hosts: Record<string, string[]>;
  /** alias -> target (a name of `hosts`). */
  cnames?: Record<string, string>;
}

/**
 * dnsmasq authoritative-only for example.net (--local: a name it does not hold is NXDOMAIN,
 * a name without the asked type NODATA, nothing is forwarded anywhere), TTL 300.
 */
export async function startDnsmasq(ns: Netns, listen: string[], records: DnsRecords, ready: () => Promise<boolean>): Promise<Daemon> {
  const args = ['--no-daemon', '--no-resolv', '--no-hosts', '--conf-file=/dev/null', '--pid-file=', '--bind-interfaces', '--log-facility=-', '--log-queries', '--local=/example.net/', '--local-ttl=300'];
  for (const address of listen) args.push(`--listen-address=${address}`);
  for (const [name, addresses] of Object.entries(records.hosts)) {
    // One --host-record per address: dnsmasq adds them up, so a name can have two AAAA.
    for (const address of addresses) args.push(`--host-record=${name},${address}`);
  }
  for (const [alias, target] of Object.entries(records.cnames ?? {})) args.push(`--cname=${alias},${target}`);
  return startDaemon(ns, 'dnsmasq', 'dnsmasq', args, ready);
}

// ------------------------------------------------------------------ haproxy

export interface Frontend {
  /** VIP (IPv4 or IPv6) and port the load balancer listens on. */
  address: string;
  port: number;
  /** Backend server, host:port ([v6]:port). */
  server: string;
}

/** haproxy in TCP mode (TLS passes through to the backend), one frontend per VIP; `haproxy -c` first. */
export async function startHaproxy(ns: Netns, dir: string, frontends: Frontend[]): Promise<Daemon> {
  const lines = ['global', '  maxconn 512', 'defaults', '  mode tcp', '  timeout connect 2s', '  timeout client 10s', '  timeout server 10s'];
  frontends.forEach((f, i) => {
    const bind = f.address.includes(':') ? `[${f.address}]:${f.port}` : `${f.address}:${f.port}`;
    lines.push(`frontend vip${i}`, `  bind ${bind}`, `  default_backend be${i}`, `backend be${i}`, `  server s${i} ${f.server}`);
  });
  const config = join(dir, 'haproxy.cfg');
  writeFileSync(config, `${lines.join('\n')}\n`);
  const check = await ns.exec('haproxy', ['-c', '-f', config], { timeoutMs: 15_000 });
  if (check.code !== 0) throw new Error(`haproxy -c -f ${config} refused it: ${check.stdout}${check.stderr}`);
  return startDaemon(ns, 'haproxy', 'haproxy', ['-db', '-f', config], async () => {
    const r = await ns.exec('ss', ['-Htln'], { timeoutMs: 10_000 });
    return frontends.every((f) => r.stdout.includes(f.address.includes(':') ? `[${f.address}]:${f.port}` : `${f.address}:${f.port}`));
  });
}

// ------------------------------------------------------------------ nginx

export interface NginxSite {
  port: number;
  cert: { cert: string; key: string };
  /** What every request gets. */
  status: number;
  body: string;
}

/** nginx serving HTTPS sites on [::] and 0.0.0.0 (separate sockets), its files under dir. */
export async function startNginx(ns: Netns, dir: string, sites: NginxSite[]): Promise<Daemon> {
  const root = join(dir, 'nginx');
  mkdirSync(root, { recursive: true });
  const http = sites.flatMap((s) => [
    '  server {',
    `    listen ${s.port} ssl; listen [::]:${s.port} ssl;`,
    `    ssl_certificate ${s.cert.cert}; ssl_certificate_key ${s.cert.key};`,
    `    return ${s.status} "${s.body}\\n";`,
    '  }',
  ]);
  const config = join(root, 'nginx.conf');
  writeFileSync(config, ['events {}', 'http {', `  access_log ${join(root, 'access.log')};`, ...http, '}', ''].join('\n'));
  const pidFile = join(root, 'nginx.pid');
  const args = ['-c', config, '-e', join(root, 'error.log'), '-g', `pid ${pidFile}; daemon off;`];
  const check = await ns.exec('nginx', ['-t', ...args], { timeoutMs: 15_000 });
  if (check.code !== 0) throw new Error(`nginx -t refused ${config}: ${check.stderr}`);
  // nginx writes its pid into the file once every listen socket is bound; `nginx -t` above
  // leaves the file there empty, so only a pid in it says the daemon is listening.
  return startDaemon(ns, 'nginx', 'nginx', args, () => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== '');
}

// ------------------------------------------------------------------ sshd

/** sshd on each port (both families), with `VersionAddendum` when given, so its banner can differ. */
export async function startSshd(ns: Netns, dir: string, port: number, addendum?: string): Promise<Daemon> {
  const root = join(dir, `sshd-${port}`);
  mkdirSync(root, { recursive: true });
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(root, 'hostkey')]);
  const config = join(root, 'sshd_config');
  const lines = [`Port ${port}`, 'ListenAddress 0.0.0.0', 'ListenAddress ::', `HostKey ${join(root, 'hostkey')}`, 'PidFile none', 'UsePAM no'];
  if (addendum) lines.push(`VersionAddendum ${addendum}`);
  writeFileSync(config, `${lines.join('\n')}\n`);
  // sshd's privilege separation directory, made by the package's service on a normal boot.
  if (!existsSync('/run/sshd')) mkdirSync('/run/sshd', { mode: 0o755 });
  chmodSync(root, 0o700);
  return startDaemon(ns, `sshd:${port}`, '/usr/sbin/sshd', ['-D', '-e', '-f', config], (log) => (log.match(/Server listening on/g) ?? []).length >= 2);
}
