// The daemon-config findings on a real PostgreSQL 15 in a namespace: the agent reads the
// cluster's postgresql.conf and pg_hba.conf that postgres runs with (--etc-root), the finding
// names the file and line, postgres' own checks (the pg_hba_file_rules and pg_file_settings
// views the fix prints, and postgres -C) judge the files as the finding says, psql from the
// peer reads the server's own refusal, and the printed fix, applied as printed, changes it.
//
// postgres runs as the postgres user with -D ETC/postgresql/15/main, as Debian's pg_ctlcluster
// runs it: postgresql.conf and pg_hba.conf are read from that folder, data_directory points at
// one data folder made once by initdb for the whole file (the tests run one after the other).
//
// Run: node scripts/run-tests.mjs test/netns/config-postgres   (root, postgresql-15 and its client; skipped otherwise)
import assert from 'node:assert/strict';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { PG_CHECKER } from '../../packages/core/src/index.js';
import { probeConnect, rootSkipReason, waitFor, type Netns } from '../helpers/netns.js';
import { HOST4, HOST6, twoHosts } from '../helpers/scenarios.js';
import { skipUnlessCommands } from '../helpers/requirements.js';
import { applyConfigFixes as applyConfigFix, only, scanEtc as scan } from '../helpers/daemon-config.js';

const BIN = '/usr/lib/postgresql/15/bin';
const skip =
  rootSkipReason() ||
  skipUnlessCommands({ postgres: 'postgresql-15', initdb: 'postgresql-15', psql: 'postgresql-client-15', setpriv: 'util-linux', runuser: 'util-linux' }, { ...process.env, PATH: `${process.env.PATH}:${BIN}` });
const PASSWORD = 'dualstack-test';

let work = '';
let data = '';
const pgUser = () => ({ uid: Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' })), gid: Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' })) });

before(() => {
  if (skip) return;
  work = mkdtempSync(join(tmpdir(), 'ds-pg-'));
  chmodSync(work, 0o755);
  const { uid, gid } = pgUser();
  data = join(work, 'data');
  mkdirSync(data, { mode: 0o700 });
  chownSync(data, uid, gid);
  writeFileSync(join(work, 'pw'), `${PASSWORD}\n`);
  chownSync(join(work, 'pw'), uid, gid);
  // -N: no fsync, a throw-away cluster. The data folder's own pg_hba.conf is never read.
  execFileSync('runuser', ['-u', 'postgres', '--', `${BIN}/initdb`, '-N', '-D', data, '-U', 'postgres', '-A', 'scram-sha-256', `--pwfile=${join(work, 'pw')}`], { stdio: 'pipe' });
});
after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

interface Pg {
  etc: string;
  /** ETC/postgresql/15/main/FILE */
  path(file: string): string;
  log(): string;
  reload(): Promise<void>;
  restart(): Promise<void>;
  /** The checker the fix prints, run as printed on this cluster (psql through the Unix socket of the test). */
  check(): Promise<string>;
  /** postgres -C listen_addresses -D ETC/postgresql/15/main: the value the next start uses, or the file's errors. */
  showListen(): Promise<{ ok: boolean; output: string }>;
}

/** An etc tree with postgresql/15/main/{postgresql.conf,pg_hba.conf}, and postgres running on it in `ns`. */
async function startPostgres(t: TestContext, ns: Netns, conf: string[], hba: string[]): Promise<Pg> {
  const dir = mkdtempSync(join(work, 'run-'));
  chmodSync(dir, 0o755);
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { uid, gid } = pgUser();
  chownSync(dir, uid, gid); // the Unix socket and lock file go here
  const etc = join(dir, 'etc');
  const main = join(etc, 'postgresql/15/main');
  mkdirSync(join(main, 'conf.d'), { recursive: true }); // Debian's include_dir, empty
  const settings = [`data_directory = '${data}'`, `unix_socket_directories = '${dir}'`, "ident_file = '/dev/null'"];
  writeFileSync(join(main, 'postgresql.conf'), [...conf, ...settings, ''].join('\n'));
  writeFileSync(join(main, 'pg_hba.conf'), [...hba, ''].join('\n'));
  let child: ChildProcess | null = null;
  let log = '';
  const start = async () => {
    log = '';
    // setpriv execs postgres itself, so child.pid is the postmaster's.
    child = ns.spawn('setpriv', ['--reuid', String(uid), '--regid', String(gid), '--init-groups', `${BIN}/postgres`, '-D', main, '-c', 'log_connections=on']);
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (log += d));
    child.stdout!.resume();
    await waitFor(() => /ready to accept connections|FATAL/.test(log) || null, { timeoutMs: 20_000, message: `postgres did not start: ${log}` });
    assert.doesNotMatch(log, /FATAL/, log);
  };
  const stop = async () => {
    const c = child as ChildProcess | null;
    if (c && c.exitCode === null && c.signalCode === null && c.pid !== undefined) {
      const exited = new Promise((resolve) => c.once('exit', resolve));
      process.kill(c.pid, 'SIGINT'); // fast shutdown
      await exited;
    }
  };
  t.after(stop);
  await start();
  return {
    etc,
    path: (file) => join(main, file),
    log: () => log,
    reload: async () => {
      const at = log.length;
      process.kill((child as ChildProcess | null)!.pid!, 'SIGHUP');
      await waitFor(() => /received SIGHUP, reloading configuration files/.test(log.slice(at)) || null, { timeoutMs: 10_000, message: `no reload: ${log.slice(at)}` });
      await new Promise((resolve) => setTimeout(resolve, 300)); // the log lines that follow the reload
    },
    restart: async () => {
      await stop();
      await start();
    },
    check: async () => {
      const queries = [...PG_CHECKER.matchAll(/-c "((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!.replace(/\\'/g, "'"));
      assert.equal(queries.length, 2, PG_CHECKER);
      const r = await ns.exec('runuser', ['-u', 'postgres', '--', 'psql', '-h', dir, '-XAt', ...queries.flatMap((q) => ['-c', q])], { timeoutMs: 15_000 });
      assert.equal(r.code, 0, r.stderr);
      return r.stdout.trim();
    },
    showListen: async () => {
      const r = await ns.exec('setpriv', ['--reuid', String(uid), '--regid', String(gid), '--init-groups', `${BIN}/postgres`, '-C', 'listen_addresses', '-D', main], { timeoutMs: 15_000 });
      return { ok: r.code === 0, output: `${r.stdout}${r.stderr}`.trim() };
    },
  };
}

/** psql from `ns` to the database over TCP: the server's answer (the client address it saw, or its error). */
async function psql(ns: Netns, address: string): Promise<{ ok: boolean; output: string }> {
  const r = await ns.exec('psql', [`host=${address} port=5432 user=postgres dbname=postgres password=${PASSWORD} sslmode=disable connect_timeout=5`, '-XAtc', 'SELECT inet_client_addr()'], { timeoutMs: 15_000 });
  return { ok: r.code === 0, output: `${r.stdout}${r.stderr}`.trim() };
}

const LOCAL = 'local all postgres peer';

test('pg_hba.conf names the IPv4 network only: acl-ipv4-only; postgres has no entry for the IPv6 client of that network until the printed fix', { skip }, async (t) => {
  const { host, peer, destroy } = await twoHosts('cp1');
  t.after(destroy);
  const pg = await startPostgres(t, host, ["listen_addresses = '*'"], [LOCAL, 'host    all    all    192.0.2.0/24    scram-sha-256']);
  assert.equal(await pg.check(), '', 'the file reads cleanly');
  assert.deepEqual(await psql(peer, HOST4), { ok: true, output: '192.0.2.1' });
  const refused = await psql(peer, HOST6);
  assert.equal(refused.ok, false);
  assert.match(refused.output, /no pg_hba\.conf entry for host "2001:db8:1::1", user "postgres", database "postgres"/);

  const report = await scan(host, pg.etc);
  const acl = only(report, 'acl-ipv4-only');
  assert.equal(acl.subject, '/etc/postgresql/15/main/pg_hba.conf:2');
  assert.match(acl.message, /\(postgres\) names IPv4 networks only \(192\.0\.2\.0\/24\); veth0 also has 2001:db8:1::\/64, so IPv6 clients of that network are locked out on tcp\/5432/);
  assert.deepEqual(acl.fix.commands.slice(0, 2), ['# /etc/postgresql/15/main/pg_hba.conf, line 2:', '#   host    all    all    192.0.2.0/24    scram-sha-256\n#   host    all    all    2001:db8:1::/64 scram-sha-256']);
  assert.equal(acl.fix.commands[2], `${PG_CHECKER}   # the daemon's own syntax check, after editing /etc/postgresql/15/main/pg_hba.conf`);

  applyConfigFix(acl, pg.etc);
  assert.equal(await pg.check(), '', 'pg_hba_file_rules reads the fixed file without an error');
  await pg.reload();
  assert.deepEqual(await psql(peer, HOST6), { ok: true, output: '2001:db8:1::1' }, 'after the fix and a reload the IPv6 client is let in');
  assert.deepEqual((await scan(host, pg.etc)).findings.filter((f) => f.rule === 'acl-ipv4-only'), []);
});

test("listen_addresses = '0.0.0.0': config-ipv6-off names the line and the IPv4-only service; the fix gives postgres its IPv6 socket", { skip }, async (t) => {
  const { host, peer, destroy } = await twoHosts('cp2');
  t.after(destroy);
  const pg = await startPostgres(t, host, ["listen_addresses = '0.0.0.0'   # all IPv4", 'port = 5432'], [LOCAL, 'host all all 192.0.2.0/24 scram-sha-256', 'host all all 2001:db8:1::/64 scram-sha-256']);
  assert.deepEqual(await pg.showListen(), { ok: true, output: '0.0.0.0' });
  assert.equal((await psql(peer, HOST4)).ok, true);
  assert.equal((await probeConnect(peer, 'tcp', HOST6, 5432)).error, 'ECONNREFUSED', '0.0.0.0 opens no IPv6 socket');

  const report = await scan(host, pg.etc);
  const off = only(report, 'config-ipv6-off');
  assert.equal(off.subject, '/etc/postgresql/15/main/postgresql.conf:1');
  assert.match(off.message, /^tcp\/5432 is IPv4-only because \/etc\/postgresql\/15\/main\/postgresql\.conf:1 says listen_addresses = '0\.0\.0\.0'   # all IPv4: 0\.0\.0\.0 is every IPv4 address and nothing else/);
  assert.ok(report.findings.some((f) => f.rule === 'service-ipv4-only' && f.subject === 'tcp/5432'), 'the service finding it explains');

  applyConfigFix(off, pg.etc);
  assert.match(readFileSync(pg.path('postgresql.conf'), 'utf8'), /^listen_addresses = '0\.0\.0\.0, ::'   # all IPv4$/m);
  assert.deepEqual(await pg.showListen(), { ok: true, output: '0.0.0.0, ::' });
  assert.equal(await pg.check(), '', 'pg_file_settings: no error but the restart listen_addresses waits for');
  await pg.restart();
  assert.match(pg.log(), /listening on IPv6 address "::", port 5432/);
  const ss = await host.exec('ss', ['-Hlnte', 'sport = 5432'], { timeoutMs: 10_000 });
  assert.match(ss.stdout, /\[::\]:5432 .* v6only:1/, 'the postmaster sets IPV6_V6ONLY on its :: socket');
  assert.deepEqual(await psql(peer, HOST6), { ok: true, output: '2001:db8:1::1' });
  const after = await scan(host, pg.etc);
  assert.deepEqual(after.findings.filter((f) => f.rule === 'config-ipv6-off' || f.rule === 'service-ipv4-only'), []);
});

test('pg_hba.conf [2001:db8:1::]/64: config-address-syntax (critical); pg_hba_file_rules names the error, a reload keeps the old rules; the printed fix lets the client in', { skip }, async (t) => {
  const { host, peer, destroy } = await twoHosts('cp3');
  t.after(destroy);
  const pg = await startPostgres(t, host, ["listen_addresses = '*'"], [LOCAL, 'host all all 192.0.2.0/24 scram-sha-256']);
  writeFileSync(pg.path('pg_hba.conf'), [LOCAL, 'host all all 192.0.2.0/24 scram-sha-256', 'host all all [2001:db8:1::]/64 scram-sha-256', ''].join('\n'));
  assert.equal(await pg.check(), '3|specifying both host name and CIDR mask is invalid: "[2001:db8:1::]/64"');
  await pg.reload();
  assert.match(pg.log(), /pg_hba\.conf was not reloaded/);
  assert.equal((await psql(peer, HOST6)).ok, false);

  const report = await scan(host, pg.etc);
  const syntax = only(report, 'config-address-syntax');
  assert.equal(syntax.severity, 'critical');
  assert.equal(syntax.subject, '/etc/postgresql/15/main/pg_hba.conf:3');
  assert.deepEqual(syntax.fix.commands.slice(0, 2), ['# /etc/postgresql/15/main/pg_hba.conf, line 3:', '#   host all all 2001:db8:1::/64 scram-sha-256']);
  assert.equal(report.findings.filter((f) => f.rule === 'acl-ipv4-only').length, 0, 'the IPv6 line is there, only misspelt');

  applyConfigFix(syntax, pg.etc);
  assert.equal(await pg.check(), '');
  await pg.reload();
  assert.deepEqual(await psql(peer, HOST6), { ok: true, output: '2001:db8:1::1' });
  assert.deepEqual((await scan(host, pg.etc)).findings.filter((f) => f.rule === 'config-address-syntax'), []);
});

test("Debian 12's cluster configuration (postgresql.conf and pg_hba.conf as pg_createcluster writes them) gives no finding from the config rules", { skip }, async (t) => {
  const { host, destroy } = await twoHosts('cp4');
  t.after(destroy);
  const fixture = (file: string) => readFileSync(fileURLToPath(new URL(`../fixtures/config/debian12/postgresql/15/main/${file}`, import.meta.url)), 'utf8');
  // The lines naming Debian's own folders are the test's (settings appended by startPostgres);
  // pg_hba.conf is the one beside postgresql.conf, as hba_file names it on Debian.
  const conf = fixture('postgresql.conf').replace(/^(data_directory|hba_file|ident_file|external_pid_file|unix_socket_directories) = .*$/gm, '#$&');
  const pg = await startPostgres(t, host, conf.split('\n'), fixture('pg_hba.conf').split('\n'));
  assert.deepEqual(await pg.showListen(), { ok: true, output: 'localhost' });
  assert.equal(await pg.check(), '');
  const report = await scan(host, pg.etc);
  assert.deepEqual(report.findings.filter((f) => f.rule.startsWith('config-') || f.rule.startsWith('acl-')), []);
  const config = report.configs?.find((c) => c.daemon === 'postgres');
  assert.deepEqual(config?.files.map((f) => `${f.path} ${f.status}`), ['/etc/postgresql/15/main/postgresql.conf read', '/etc/postgresql/15/main/pg_hba.conf read']);
  assert.equal(config?.directives.filter((d) => d.key === 'host').length, 4);
});
