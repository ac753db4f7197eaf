// The daemon-config findings on a real MariaDB 10.11 in a namespace: the agent reads the
// option file mariadbd runs with (--etc-root), the finding names the file and line, mariadbd's
// own check (the one the fix prints: --help --verbose reads every option file) judges the file,
// connects from the peer and mariadbd's own log show what the finding predicts, and the printed
// fix, applied as printed, changes it.
//
// mariadbd runs with --defaults-file=ETC/mysql/my.cnf (only the test's lines); the data folder
// (made once by mariadb-install-db), socket and pid file are given on its command line.
//
// Run: node scripts/run-tests.mjs test/netns/config-mariadb   (root and mariadb-server; skipped otherwise)
import assert from 'node:assert/strict';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { mysqlConfigKnowledge } from '../../packages/core/src/index.js';
import { probeConnect, rootSkipReason, stopChild, waitFor, type Netns } from '../helpers/netns.js';
import { HOST4, HOST6, twoHosts } from '../helpers/scenarios.js';
import { skipUnlessCommands } from '../helpers/requirements.js';
import { applyConfigFixes as applyConfigFix, only, scanEtc as scan } from '../helpers/daemon-config.js';

const MARIADBD = '/usr/sbin/mariadbd';
const skip = rootSkipReason() || skipUnlessCommands({ mariadbd: 'mariadb-server', 'mariadb-install-db': 'mariadb-server' }, { ...process.env, PATH: `${process.env.PATH}:/usr/sbin` });

let work = '';
before(() => {
  if (skip) return;
  work = mkdtempSync(join(tmpdir(), 'ds-mariadb-'));
  chmodSync(work, 0o755);
  const data = join(work, 'data');
  mkdirSync(data);
  chownSync(data, Number(execFileSync('id', ['-u', 'mysql'], { encoding: 'utf8' })), Number(execFileSync('id', ['-g', 'mysql'], { encoding: 'utf8' })));
  execFileSync('mariadb-install-db', ['--no-defaults', `--datadir=${data}`, '--user=mysql', '--skip-test-db', '--auth-root-authentication-method=normal'], { stdio: 'pipe' });
});
after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

interface Mariadb {
  etc: string;
  config: string;
  log(): string;
  /** true when mariadbd is up, false when it stopped itself (its log says why). */
  up: boolean;
  restart(): Promise<void>;
}

/** An etc tree with the given files (and a copy of `opts.copy` as mysql/), and mariadbd started on `opts.defaults` (mysql/my.cnf) in `ns`. */
async function startMariadb(t: TestContext, ns: Netns, files: Record<string, string>, opts: { defaults?: string; copy?: string } = {}): Promise<Mariadb> {
  const dir = mkdtempSync(join(work, 'run-'));
  chmodSync(dir, 0o755);
  chownSync(dir, Number(execFileSync('id', ['-u', 'mysql'], { encoding: 'utf8' })), Number(execFileSync('id', ['-g', 'mysql'], { encoding: 'utf8' })));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const etc = join(dir, 'etc');
  if (opts.copy) cpSync(opts.copy, join(etc, 'mysql'), { recursive: true });
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(join(etc, rel, '..'), { recursive: true });
    writeFileSync(join(etc, rel), text);
  }
  const config = join(etc, opts.defaults ?? 'mysql/my.cnf');
  let child: ChildProcess | null = null;
  let log = '';
  const server: Mariadb = { etc, config, log: () => log, up: false, restart: async () => {} };
  const start = async () => {
    log = '';
    // Command-line options come after the file's, so these win over Debian's own paths.
    child = ns.spawn(MARIADBD, [`--defaults-file=${config}`, '--user=mysql', `--datadir=${join(work, 'data')}`, `--socket=${join(dir, 'mysqld.sock')}`, `--pid-file=${join(dir, 'mysqld.pid')}`, '--innodb-buffer-pool-size=16M', '--skip-log-bin']);
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (log += d));
    child.stdout!.resume();
    await waitFor(() => /ready for connections|Aborting/.test(log) || null, { timeoutMs: 30_000, message: `mariadbd did not start: ${log}` });
    server.up = !/Aborting/.test(log);
  };
  const stop = () => stopChild(child);
  t.after(stop);
  await start();
  server.restart = async () => {
    await stop();
    await start();
  };
  return server;
}

/** The checker the fix prints, run as printed on the test's option file (--defaults-file added to both commands). */
async function mariadbCheck(ns: Netns, config: string): Promise<{ ok: boolean; output: string }> {
  const [help, print] = mysqlConfigKnowledge.checker.split(' && ');
  assert.equal(help, 'mariadbd --help --verbose > /dev/null');
  assert.equal(print, 'mariadbd --print-defaults');
  const r = await ns.exec(MARIADBD, [`--defaults-file=${config}`, '--help', '--verbose'], { timeoutMs: 30_000 });
  if (r.code !== 0) return { ok: false, output: r.stderr };
  const p = await ns.exec(MARIADBD, [`--defaults-file=${config}`, '--print-defaults'], { timeoutMs: 30_000 });
  return { ok: p.code === 0, output: p.stdout };
}

const listening = async (ns: Netns) => (await ns.exec('ss', ['-Hlnte', 'sport = 3306'], { timeoutMs: 10_000 })).stdout;

test('bind-address = 0.0.0.0: config-ipv6-off names the line and the IPv4-only service; the printed fix (*) passes mariadbd\'s check and gives both families a socket', { skip }, async (t) => {
  const { host, peer, destroy } = await twoHosts('cm1');
  t.after(destroy);
  const db = await startMariadb(t, host, { 'mysql/my.cnf': '[mysqld]\nbind-address            = 0.0.0.0   # all IPv4\n' });
  assert.equal(db.up, true, db.log());
  assert.equal((await mariadbCheck(host, db.config)).ok, true);
  assert.equal((await probeConnect(peer, 'tcp', HOST4, 3306)).ok, true);
  assert.equal((await probeConnect(peer, 'tcp', HOST6, 3306)).error, 'ECONNREFUSED', '0.0.0.0 opens no IPv6 socket');

  const report = await scan(host, db.etc);
  const off = only(report, 'config-ipv6-off');
  assert.equal(off.subject, '/etc/mysql/my.cnf:2');
  assert.match(off.message, /^tcp\/3306 is IPv4-only because \/etc\/mysql\/my\.cnf:2 says bind-address {12}= 0\.0\.0\.0 {3}# all IPv4: 0\.0\.0\.0 is every IPv4 address and nothing else/);
  assert.ok(report.findings.some((f) => f.rule === 'service-ipv4-only' && f.subject === 'tcp/3306'), 'the service finding it explains');

  applyConfigFix(off, db.etc);
  assert.match(readFileSync(db.config, 'utf8'), /^bind-address {12}= \* {3}# all IPv4$/m);
  const check = await mariadbCheck(host, db.config);
  assert.equal(check.ok, true, check.output);
  assert.match(check.output, /--bind-address=\*/);
  await db.restart();
  assert.match(await listening(host), /0\.0\.0\.0:3306[\s\S]*\[::\]:3306 .* v6only:1/);
  assert.equal((await probeConnect(peer, 'tcp', HOST6, 3306)).ok, true, 'after the fix mariadbd takes IPv6');
  assert.equal((await probeConnect(peer, 'tcp', HOST4, 3306)).ok, true, 'and still IPv4');
  assert.deepEqual((await scan(host, db.etc)).findings.filter((f) => f.rule === 'config-ipv6-off' || f.rule === 'service-ipv4-only'), []);
});

test('bind-address = [::1]: config-address-syntax (critical); mariadbd\'s check lets it pass but the server stops ("Can\'t create IP socket"); the printed fix listens on ::1', { skip }, async (t) => {
  const { host, destroy } = await twoHosts('cm2');
  t.after(destroy);
  const db = await startMariadb(t, host, { 'mysql/my.cnf': '[client-server]\n\n[mysqld]\nbind-address = 127.0.0.1,[::1]\n' });
  assert.equal((await mariadbCheck(host, db.config)).ok, true, 'a string to the option parser');
  assert.equal(db.up, false);
  assert.match(db.log(), /Can't create IP socket: Name or service not known/);

  const report = await scan(host, db.etc);
  const syntax = only(report, 'config-address-syntax');
  assert.equal(syntax.severity, 'critical');
  assert.equal(syntax.subject, '/etc/mysql/my.cnf:4');
  assert.deepEqual(syntax.fix.commands.slice(0, 2), ['# /etc/mysql/my.cnf, line 4:', '#   bind-address = 127.0.0.1,::1']);
  applyConfigFix(syntax, db.etc);
  assert.equal((await mariadbCheck(host, db.config)).ok, true);
  await db.restart();
  assert.equal(db.up, true, db.log());
  assert.match(await listening(host), /127\.0\.0\.1:3306[\s\S]*\[::1\]:3306/);
  assert.deepEqual((await scan(host, db.etc)).findings.filter((f) => f.rule === 'config-address-syntax'), []);
});

test('bind-address = :: is IPv6 only on MariaDB 10.11 (V6ONLY set by mariadbd); a mapped address cannot be bound', { skip }, async (t) => {
  const { host, peer, destroy } = await twoHosts('cm3');
  t.after(destroy);
  assert.equal(await host.sysctl('net.ipv6.bindv6only'), '0');
  const db = await startMariadb(t, host, { 'mysql/my.cnf': '[mysqld]\nbind-address = ::\n' });
  assert.equal(db.up, true, db.log());
  assert.match(await listening(host), /\[::\]:3306 .* v6only:1/);
  assert.equal((await probeConnect(peer, 'tcp', HOST4, 3306)).error, 'ECONNREFUSED');
  assert.equal((await probeConnect(peer, 'tcp', HOST6, 3306)).ok, true);
  writeFileSync(db.config, '[mysqld]\nbind-address = ::ffff:192.0.2.2\n');
  await db.restart();
  assert.equal(db.up, false);
  assert.match(db.log(), /Bind on TCP\/IP port\. Got error: 22: Invalid argument/);
});

test("Debian 12's /etc/mysql (my.cnf, conf.d, mariadb.conf.d) gives no finding from the config rules; mariadbd listens on 127.0.0.1 only", { skip }, async (t) => {
  const { host, destroy } = await twoHosts('cm4');
  t.after(destroy);
  const fixture = fileURLToPath(new URL('../fixtures/config/debian12/mysql/', import.meta.url));
  // mariadbd runs on the server's own file (its includedir lines name the live /etc/mysql);
  // the agent reads the whole tree as it is installed.
  const db = await startMariadb(t, host, {}, { defaults: 'mysql/mariadb.conf.d/50-server.cnf', copy: fixture });
  assert.equal(db.up, true, db.log());
  assert.equal((await mariadbCheck(host, db.config)).ok, true);
  assert.match(await listening(host), /^LISTEN .*127\.0\.0\.1:3306 /);
  const report = await scan(host, db.etc);
  assert.deepEqual(report.findings.filter((f) => f.rule.startsWith('config-') || f.rule.startsWith('acl-')), []);
  const config = report.configs?.find((c) => c.daemon === 'mysql');
  assert.deepEqual(config?.directives.map((d) => `${d.file}:${d.line} ${d.key} ${d.value}`), ['/etc/mysql/mariadb.conf.d/50-server.cnf:27 bind-address 127.0.0.1']);
});
