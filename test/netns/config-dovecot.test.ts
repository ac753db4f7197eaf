// The daemon-config findings on a real Dovecot (Debian 12's 2.3.19) in a namespace: the agent
// reads the dovecot.conf tree Dovecot runs with (--etc-root), the finding names the line,
// doveconf -n judges the file, IMAP greetings and logins from the peer show what the finding
// predicts, and the printed fix, applied, changes it. Debian's own configuration gives no
// finding and two sockets, 0.0.0.0 and [::] with V6ONLY (Dovecot sets it itself).
//
// Run: node scripts/run-tests.mjs test/netns/config-dovecot   (root, dovecot-core and dovecot-imapd; skipped otherwise)
import assert from 'node:assert/strict';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { rootSkipReason, waitFor, type Netns } from '../helpers/netns.js';
import { HOST4, HOST6, twoHosts } from '../helpers/scenarios.js';
import { skipUnlessAvailable, skipUnlessCommands } from '../helpers/requirements.js';
import { applyConfigFixes, configFindings, only, scanEtc } from '../helpers/daemon-config.js';
import { greeting } from '../helpers/vsftpd.js';

const DOVECOT = '/usr/sbin/dovecot';
const skip =
  rootSkipReason() ||
  skipUnlessCommands({ dovecot: 'dovecot-core', doveconf: 'dovecot-core' }, { ...process.env, PATH: `${process.env.PATH}:/usr/sbin` }) ||
  skipUnlessAvailable(!existsSync('/usr/lib/dovecot/imap-login') && '/usr/lib/dovecot/imap-login not found', 'dovecot-imapd');
const READY = /^\* OK .*Dovecot/;
const debianTree = fileURLToPath(new URL('../fixtures/config/debian12/dovecot', import.meta.url));

interface Dovecot {
  etc: string;
  config: string;
  listening: boolean;
  log(): string;
  restart(): Promise<void>;
}

/**
 * An etc tree with dovecot/dovecot.conf (the given text; `tree` copies a whole dovecot/ folder
 * first), runtime paths in the temp tree added through dovecot/local.conf or at the end, and
 * Dovecot started on it in ns.
 */
async function startDovecot(t: TestContext, ns: Netns, text: string | null, opts: { tree?: string; local?: string[] } = {}): Promise<Dovecot> {
  const etc = mkdtempSync(join(tmpdir(), 'ds-dovecot-'));
  chmodSync(etc, 0o755); // the login processes (user dovenull) reach their sockets under base_dir
  t.after(() => rmSync(etc, { recursive: true, force: true }));
  const dir = join(etc, 'dovecot');
  if (opts.tree) cpSync(opts.tree, dir, { recursive: true });
  else mkdirSync(dir);
  const config = join(dir, 'dovecot.conf');
  const logFile = join(etc, 'dovecot.log');
  const runtime = [`base_dir = ${join(etc, 'run')}`, `state_dir = ${join(etc, 'state')}`, `log_path = ${logFile}`];
  if (text !== null) writeFileSync(config, [text, ...runtime, ''].join('\n'));
  else writeFileSync(join(dir, 'local.conf'), [...(opts.local ?? []), ...runtime, ''].join('\n'));
  let child: ChildProcess | null = null;
  const state = { listening: false };
  const port = 143;
  const start = async () => {
    const c = ns.spawn(DOVECOT, ['-F', '-c', config]);
    child = c;
    c.stdout!.resume();
    c.stderr!.resume();
    state.listening = await waitFor(
      async () => {
        if (c.exitCode !== null || c.signalCode !== null) return 'exited';
        const ss = await ns.exec('ss', ['-Hltn', `sport = :${port}`], { timeoutMs: 5000 });
        return ss.stdout.trim() !== '' ? 'listening' : null;
      },
      { timeoutMs: 10_000, message: 'dovecot neither listened nor exited' },
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
  return {
    etc,
    config,
    get listening() {
      return state.listening;
    },
    log: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''),
    restart: async () => {
      await stop();
      await start();
    },
  };
}

function doveconf(config: string): { ok: boolean; output: string } {
  const r = spawnSync('doveconf', ['-n', '-c', config], { encoding: 'utf8' });
  return { ok: r.status === 0, output: `${r.stderr}` };
}

const LOGIN_SCRIPT = `
const [host] = process.argv.slice(1);
const s = require('node:net').connect({ host, port: 143 });
let buf = '', sent = false;
const done = (r) => { process.stdout.write(JSON.stringify(r) + '\\n'); s.destroy(); process.exit(0); };
setTimeout(() => done({ reply: null, buf }), 5000);
s.on('data', (d) => {
  buf += d;
  if (!sent && buf.includes('\\r\\n')) { sent = true; s.write('a LOGIN user pw\\r\\n'); }
  const m = /\\r\\na (OK|NO|BAD)[^\\r]*/.exec(buf);
  if (m) done({ reply: m[0].trim() });
});
s.on('error', (e) => done({ reply: null, error: e.code }));
`;

/** The answer to a plaintext IMAP LOGIN from ns ("a OK ...", "a NO [PRIVACYREQUIRED] ..."). */
async function imapLogin(ns: Netns, address: string): Promise<string> {
  const r = await ns.exec(process.execPath, ['-e', LOGIN_SCRIPT, address], { timeoutMs: 15_000 });
  const result = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { reply: string | null; error?: string };
  return result.reply ?? `(${result.error ?? 'no reply'})`;
}

const MINIMAL = ['protocols = imap', 'passdb {', '  driver = static', '  args = password=pw', '}', 'userdb {', '  driver = static', '  args = uid=nobody gid=nogroup home=/nonexistent', '}'];

describe('dovecot.conf on a real Dovecot', { skip, concurrency: true }, () => {
  test('listen = *: config-ipv6-off names the line and tcp/143; the fix passes doveconf and Dovecot takes IPv6 on a V6ONLY socket', async (t) => {
    const { host, peer, destroy } = await twoHosts('cd1');
    t.after(destroy);
    const dovecot = await startDovecot(t, host, ['listen = *', 'ssl = no', ...MINIMAL].join('\n'));
    assert.equal(dovecot.listening, true, dovecot.log());
    assert.equal(doveconf(dovecot.config).ok, true);
    const [v4, v6, before] = await Promise.all([greeting(peer, HOST4, 143), greeting(peer, HOST6, 143), scanEtc(host, dovecot.etc)]);
    assert.match(v4, READY);
    assert.match(v6, /ECONNREFUSED/);
    const off = only(before, 'config-ipv6-off');
    assert.equal(off.subject, '/etc/dovecot/dovecot.conf:1');
    assert.match(off.message, /^tcp\/143 is IPv4-only because \/etc\/dovecot\/dovecot\.conf:1 says listen = \*/);

    applyConfigFixes(off, dovecot.etc);
    assert.match(readFileSync(dovecot.config, 'utf8'), /^listen = \*, ::$/m);
    const check = doveconf(dovecot.config);
    assert.equal(check.ok, true, check.output);
    await dovecot.restart();
    const [v6After, after] = await Promise.all([greeting(peer, HOST6, 143), scanEtc(host, dovecot.etc)]);
    assert.match(v6After, READY);
    const imap = after.services.find((s) => s.port === 143)!;
    assert.equal(imap.mode, 'dual-separate', 'two sockets: Dovecot sets V6ONLY on [::]');
    assert.ok(imap.bindings.some((b) => b.address === '::' && b.v6only === true));
    assert.deepEqual(after.findings.filter((f) => f.rule === 'config-ipv6-off' || f.rule === 'service-ipv4-only'), []);
  });

  test('login_trusted_networks names IPv4 only, ssl = no: acl-ipv4-only; plaintext logins from the IPv6 of that network are refused until the fix', async (t) => {
    const { host, peer, destroy } = await twoHosts('cd2');
    t.after(destroy);
    const dovecot = await startDovecot(t, host, ['login_trusted_networks = 192.0.2.0/24', 'ssl = no', ...MINIMAL].join('\n'));
    const [v4, v6, report] = await Promise.all([imapLogin(peer, HOST4), imapLogin(peer, HOST6), scanEtc(host, dovecot.etc)]);
    assert.match(v4, /^a OK .*Logged in/, 'trusted: plaintext allowed');
    assert.match(v6, /^a NO \[PRIVACYREQUIRED\] Plaintext authentication disallowed/, 'the same network over IPv6 is not trusted');
    const acl = only(report, 'acl-ipv4-only');
    assert.equal(acl.subject, '/etc/dovecot/dovecot.conf:1');
    assert.match(acl.message, /names IPv4 networks only \(192\.0\.2\.0\/24\); veth0 also has 2001:db8:1::\/64, so IPv6 clients of that network are locked out on tcp\/143/);
    applyConfigFixes(acl, dovecot.etc);
    assert.match(readFileSync(dovecot.config, 'utf8'), /^login_trusted_networks = 192\.0\.2\.0\/24 2001:db8:1::\/64$/m);
    assert.equal(doveconf(dovecot.config).ok, true);
    await dovecot.restart();
    const [v6After, after] = await Promise.all([imapLogin(peer, HOST6), scanEtc(host, dovecot.etc)]);
    assert.match(v6After, /^a OK .*Logged in/);
    assert.deepEqual(configFindings(after), []);
  });

  test('listen = 2001:db8:1::2/64: config-address-syntax (critical); doveconf only warns, Dovecot cannot start; the bare address listens', async (t) => {
    const { host, peer, destroy } = await twoHosts('cd3');
    t.after(destroy);
    const dovecot = await startDovecot(t, host, [`listen = ${HOST6}/64`, 'ssl = no', ...MINIMAL].join('\n'));
    assert.equal(dovecot.listening, false);
    assert.match(dovecot.log(), /Fatal: service\(imap-login\) Can't resolve address 2001:db8:1::/);
    const check = doveconf(dovecot.config);
    assert.equal(check.ok, true, 'doveconf accepts it');
    assert.match(check.output, /Obsolete setting .*listen=\.\.:port/, 'read as an address with a port');
    const syntax = only(await scanEtc(host, dovecot.etc), 'config-address-syntax');
    assert.equal(syntax.severity, 'critical');
    applyConfigFixes(syntax, dovecot.etc);
    assert.match(readFileSync(dovecot.config, 'utf8'), new RegExp(`^listen = ${HOST6}$`, 'm'));
    assert.doesNotMatch(doveconf(dovecot.config).output, /Obsolete/);
    await dovecot.restart();
    assert.equal(dovecot.listening, true, dovecot.log());
    assert.match(await greeting(peer, HOST6, 143), READY);
  });

  test("Debian 12's own configuration: no config finding, 0.0.0.0 and [::] V6ONLY for IMAP", async (t) => {
    const { host, peer, destroy } = await twoHosts('cd4');
    t.after(destroy);
    // Debian's files as packaged, but for the snakeoil certificate lines (made at install by
    // ssl-cert; Dovecot reads them while parsing) commented out in place and ssl = no in local.conf.
    const tree = mkdtempSync(join(tmpdir(), 'ds-dovecot-debian-'));
    t.after(() => rmSync(tree, { recursive: true, force: true }));
    cpSync(debianTree, tree, { recursive: true });
    const ssl = join(tree, 'conf.d/10-ssl.conf');
    writeFileSync(ssl, readFileSync(ssl, 'utf8').replace(/^(ssl_(?:cert|key) = <)/gm, '#$1'));
    const dovecot = await startDovecot(t, host, null, { tree, local: ['ssl = no'] });
    assert.equal(dovecot.listening, true, dovecot.log());
    assert.equal(doveconf(dovecot.config).ok, true);
    const [v4, v6, report] = await Promise.all([greeting(peer, HOST4, 143), greeting(peer, HOST6, 143), scanEtc(host, dovecot.etc)]);
    assert.match(v4, READY);
    assert.match(v6, READY);
    assert.deepEqual(configFindings(report), []);
    assert.ok(report.configs?.some((c) => c.daemon === 'dovecot' && c.files.length > 10));
    assert.equal(report.services.find((s) => s.port === 143)?.mode, 'dual-separate');
  });
});
