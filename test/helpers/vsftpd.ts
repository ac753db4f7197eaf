// A real vsftpd in a network namespace for the daemon-config tests (config-vsftpd,
// config-tcpwrappers; config-dovecot uses greeting; the scan and fix helpers are in daemon-config.ts): its
// vsftpd.conf, hosts.allow and hosts.deny live in a temp etc tree,
// the very tree the agent scans with --etc-root. libwrap reads /etc/hosts.allow and
// /etc/hosts.deny by their compiled-in paths, so vsftpd runs in a private mount namespace with
// the temp files bind-mounted over those two (nothing changes outside that namespace).
// vsftpd writes its "500 OOPS" refusals to descriptor 0, which is opened read-write on a file.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { waitFor, type Netns } from './netns.js';

export const VSFTPD = '/usr/sbin/vsftpd';

export interface Vsftpd {
  etc: string;
  /** The vsftpd.conf path inside the temp tree. */
  config: string;
  /** Whether the last start listened (false: vsftpd refused the file and exited). */
  listening: boolean;
  /** What vsftpd wrote to its descriptor 0 ("500 OOPS: ..."). */
  oops(): string;
  /** vsftpd's own log (CONNECT lines name the client as vsftpd sees it). */
  log(): string;
  restart(): Promise<void>;
}

/**
 * An etc tree with vsftpd.conf (the given lines, then a chroot dir, PAM service and a log of
 * its own), hosts.allow and hosts.deny (empty unless given), and vsftpd started on it in ns.
 */
export async function startVsftpd(t: TestContext, ns: Netns, lines: string[], hosts: { allow?: string; deny?: string } = {}): Promise<Vsftpd> {
  for (const file of ['/etc/hosts.allow', '/etc/hosts.deny']) assert.ok(existsSync(file), `${file} must exist to be bind-mounted over (libwrap0 writes it when installed)`);
  const etc = mkdtempSync(join(tmpdir(), 'ds-vsftpd-'));
  t.after(() => rmSync(etc, { recursive: true, force: true }));
  const empty = join(etc, 'empty');
  mkdirSync(empty, { mode: 0o755 });
  const config = join(etc, 'vsftpd.conf');
  const logFile = join(etc, 'vsftpd.log');
  const oopsFile = join(etc, 'oops');
  writeFileSync(config, [...lines, `secure_chroot_dir=${empty}`, 'pam_service_name=vsftpd', `vsftpd_log_file=${logFile}`, 'xferlog_enable=YES', 'xferlog_std_format=NO', ''].join('\n'));
  writeFileSync(join(etc, 'hosts.allow'), hosts.allow ?? '');
  writeFileSync(join(etc, 'hosts.deny'), hosts.deny ?? '');
  let child: ChildProcess | null = null;
  const script = 'mount --bind "$1/hosts.allow" /etc/hosts.allow && mount --bind "$1/hosts.deny" /etc/hosts.deny && exec /usr/sbin/vsftpd "$1/vsftpd.conf" 0<>"$1/oops"';
  const state = { listening: false };
  const start = async () => {
    writeFileSync(oopsFile, '');
    const c = ns.spawn('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', etc]);
    child = c;
    c.stdout!.resume();
    c.stderr!.resume();
    const port = Number(/^listen_port=(\d+)$/m.exec(readFileSync(config, 'utf8'))?.[1] ?? 21);
    state.listening = await waitFor(
      async () => {
        if (c.exitCode !== null || c.signalCode !== null) return 'exited';
        const ss = await ns.exec('ss', ['-Hltn', `sport = :${port}`], { timeoutMs: 5000 });
        return ss.stdout.trim() !== '' ? 'listening' : null;
      },
      { timeoutMs: 10_000, message: `vsftpd neither listened nor exited: ${readFileSync(oopsFile, 'utf8')}` },
    ).then((s) => s === 'listening');
  };
  const stop = async () => {
    const c = child as ChildProcess | null;
    if (c && c.exitCode === null && c.signalCode === null && c.pid !== undefined) {
      const exited = new Promise((resolve) => c.once('exit', resolve));
      process.kill(c.pid, 'SIGTERM');
      await exited;
    }
  };
  t.after(stop);
  await start();
  const handle: Vsftpd = {
    etc,
    config,
    get listening() {
      return state.listening;
    },
    oops: () => readFileSync(oopsFile, 'utf8').replace(/\r/g, ''),
    log: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''),
    restart: async () => {
      await stop();
      await start();
    },
  };
  return handle;
}

const GREETING_SCRIPT = `
const [host, port] = process.argv.slice(1);
const s = require('node:net').connect({ host, port: Number(port) });
let buf = '';
const done = (r) => { process.stdout.write(JSON.stringify(r) + '\\n'); s.destroy(); process.exit(0); };
setTimeout(() => done({ greeting: null, why: 'timeout' }), 4000);
s.on('data', (d) => { buf += d; const i = buf.indexOf('\\r\\n'); if (i >= 0) done({ greeting: buf.slice(0, i) }); });
s.on('close', () => done({ greeting: null, why: 'closed' }));
s.on('error', (e) => done({ greeting: null, why: e.code || e.message }));
`;

/** The first line a server sends a client in `ns` (the FTP greeting), or why there was none. */
export async function greeting(ns: Netns, address: string, port = 21): Promise<string> {
  const r = await ns.exec(process.execPath, ['-e', GREETING_SCRIPT, address, String(port)], { timeoutMs: 15_000 });
  const result = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { greeting: string | null; why?: string };
  return result.greeting ?? `(${result.why})`;
}




