// TCP wrappers on a real vsftpd (tcp_wrappers=YES) in a namespace, libwrap reading the temp
// hosts.allow/hosts.deny the agent scans (bind-mounted over /etc's in a private mount
// namespace, test/helpers/vsftpd.ts). The FTP greeting tells libwrap's answer: `220` let in,
// `421 Service not available.` refused. tcpdmatch/tcpdchk, libwrap's own tools, judge the same
// files (run in the peer namespace, which has no route to a name server).
//
// The mapped question: vsftpd's one [::] socket hands IPv4 clients over as ::ffff:192.0.2.1.
// libwrap converts them: its IPv4 entries match them and ::ffff: entries match nobody. So no
// separate mapped-client rule exists for it; acl-ipv4-only covers the IPv6 clients.
//
// Run: node scripts/run-tests.mjs test/netns/config-tcpwrappers   (root, vsftpd and tcpd; skipped otherwise)
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { rootSkipReason, type Netns } from '../helpers/netns.js';
import { HOST4, HOST6, PEER4, PEER6, twoHosts } from '../helpers/scenarios.js';
import { skipUnlessCommands } from '../helpers/requirements.js';
import { applyConfigFixes, configFindings, only, scanEtc } from '../helpers/daemon-config.js';
import { greeting, startVsftpd } from '../helpers/vsftpd.js';

const skip =
  rootSkipReason() || skipUnlessCommands({ vsftpd: 'vsftpd', unshare: 'util-linux', tcpdchk: 'tcpd', tcpdmatch: 'tcpd' }, { ...process.env, PATH: `${process.env.PATH}:/usr/sbin` });
const LET_IN = /^220 /;
const REFUSED = /^421 Service not available\.$/;
const fixture = (name: string) => readFileSync(fileURLToPath(new URL(`../fixtures/config/debian12/${name}`, import.meta.url)), 'utf8');

/** tcpdmatch's verdict for daemon and client on the files in etc ("granted" / "denied"). */
async function tcpdmatch(ns: Netns, etc: string, daemon: string, client: string): Promise<string> {
  const r = await ns.exec('sh', ['-c', 'cd "$1" && exec tcpdmatch -d "$2" "$3"', 'sh', etc, daemon, client], { timeoutMs: 15_000 });
  return /access:\s+(\S+)/.exec(r.stdout)?.[1] ?? `(${r.stdout}${r.stderr})`;
}

/** How tcpdchk -v reads the rules (its warnings go to syslog only; -v prints each rule as read). */
async function tcpdchkClients(ns: Netns, etc: string): Promise<string[]> {
  const r = await ns.exec('sh', ['-c', 'cd "$1" && exec tcpdchk -d -v', 'sh', etc], { timeoutMs: 15_000 });
  return [...r.stdout.matchAll(/^clients:\s+(.*)$/gm)].map((m) => m[1]!.trim());
}

describe('hosts.allow and hosts.deny on a real vsftpd with tcp_wrappers=YES', { skip, concurrency: true }, () => {
  test('mapped IPv4 clients match the IPv4 entry (libwrap converts); IPv6 clients of the network are refused until acl-ipv4-only\'s fix', async (t) => {
    const { host, peer, destroy } = await twoHosts('cw1');
    t.after(destroy);
    const vsftpd = await startVsftpd(t, host, ['listen_ipv6=YES', 'tcp_wrappers=YES'], { allow: 'vsftpd: 192.0.2.0/255.255.255.0\n', deny: 'vsftpd: ALL\n' });
    assert.equal(vsftpd.listening, true, vsftpd.oops());
    const [v4, v6, report, mapped, v6match] = await Promise.all([
      greeting(peer, HOST4),
      greeting(peer, HOST6),
      scanEtc(host, vsftpd.etc),
      tcpdmatch(peer, vsftpd.etc, 'vsftpd', `::ffff:${PEER4}`),
      tcpdmatch(peer, vsftpd.etc, 'vsftpd', PEER6),
    ]);
    assert.match(v4, LET_IN, 'the IPv4 client, arriving as ::ffff:192.0.2.1 on the [::] socket, matches 192.0.2.0/255.255.255.0');
    assert.match(vsftpd.log(), new RegExp(`CONNECT: Client "::ffff:${PEER4}"`), 'vsftpd saw it mapped');
    assert.equal(mapped, 'granted');
    assert.match(v6, REFUSED);
    assert.equal(v6match, 'denied');
    assert.equal(report.services.find((s) => s.port === 21)?.mode, 'dual-mapped');

    const acl = only(report, 'acl-ipv4-only');
    assert.equal(acl.subject, '/etc/hosts.allow:1');
    assert.match(acl.message, /\(tcpwrappers\) names IPv4 networks only \(192\.0\.2\.0\/24\); veth0 also has 2001:db8:1::\/64, so IPv6 clients of that network are locked out on tcp\/21\./);
    assert.deepEqual(configFindings(report), ['acl-ipv4-only /etc/hosts.allow:1'], 'nothing about mapped clients: libwrap converts them');

    applyConfigFixes(acl, vsftpd.etc);
    assert.equal(readFileSync(join(vsftpd.etc, 'hosts.allow'), 'utf8'), 'vsftpd: 192.0.2.0/255.255.255.0 [2001:db8:1::]/64\n');
    const [clients, v6After, v4After, v6matchAfter, after] = await Promise.all([
      tcpdchkClients(peer, vsftpd.etc),
      greeting(peer, HOST6),
      greeting(peer, HOST4),
      tcpdmatch(peer, vsftpd.etc, 'vsftpd', PEER6),
      scanEtc(host, vsftpd.etc),
    ]);
    assert.deepEqual(clients, ['192.0.2.0/255.255.255.0 [2001:db8:1::]/64', 'ALL'], 'tcpdchk reads the fixed rule as one client list');
    assert.equal(v6matchAfter, 'granted');
    assert.match(v6After, LET_IN, 'libwrap reads hosts.allow per connection: no restart');
    assert.match(v4After, LET_IN);
    assert.deepEqual(configFindings(after), []);
  });

  test('[::ffff:192.0.2.0]/120 lets nobody in (libwrap converts mapped peers): config-address-syntax gives the IPv4 entry', async (t) => {
    const { host, peer, destroy } = await twoHosts('cw2');
    t.after(destroy);
    const vsftpd = await startVsftpd(t, host, ['listen_ipv6=YES', 'tcp_wrappers=YES'], { allow: 'vsftpd: [::ffff:192.0.2.0]/120\n', deny: 'ALL: ALL\n' });
    const [v4, report] = await Promise.all([greeting(peer, HOST4), scanEtc(host, vsftpd.etc)]);
    assert.match(v4, REFUSED, 'the IPv4 client arrives as ::ffff:192.0.2.1 and still does not match');
    const syntax = only(report, 'config-address-syntax');
    assert.equal(syntax.severity, 'warning');
    assert.equal(syntax.subject, '/etc/hosts.allow:1');
    assert.match(syntax.message, /converts IPv4-mapped peers to plain IPv4 before matching/);
    applyConfigFixes(syntax, vsftpd.etc);
    assert.equal(readFileSync(join(vsftpd.etc, 'hosts.allow'), 'utf8'), 'vsftpd: 192.0.2.0/24\n');
    assert.match(await greeting(peer, HOST4), LET_IN);
  });

  test('a bare IPv6 network: config-address-syntax (critical); libwrap reads client "2001"; the bracketed fix lets the IPv6 client in', async (t) => {
    const { host, peer, destroy } = await twoHosts('cw3');
    t.after(destroy);
    const vsftpd = await startVsftpd(t, host, ['listen_ipv6=YES', 'tcp_wrappers=YES'], { allow: 'vsftpd: 2001:db8:1::/64\n', deny: 'ALL: ALL\n' });
    const [v6, clients, report] = await Promise.all([greeting(peer, HOST6), tcpdchkClients(peer, vsftpd.etc), scanEtc(host, vsftpd.etc)]);
    assert.match(v6, REFUSED);
    assert.deepEqual(clients, ['2001', 'ALL'], 'cut at the first colon: the rest is read as options');
    const syntax = only(report, 'config-address-syntax');
    assert.equal(syntax.severity, 'critical');
    assert.match(syntax.fix.commands.join('\n'), /^# \/etc\/hosts\.allow, line 1:\n#   vsftpd: \[2001:db8:1::\]\/64\ntcpdchk -v; journalctl -t tcpdchk -n 20 --no-pager/m);
    applyConfigFixes(syntax, vsftpd.etc);
    const [v6After, clientsAfter] = await Promise.all([greeting(peer, HOST6), tcpdchkClients(peer, vsftpd.etc)]);
    assert.match(v6After, LET_IN);
    assert.deepEqual(clientsAfter, ['[2001:db8:1::]/64', 'ALL']);
  });

  test("without tcp_wrappers=YES vsftpd never reads the files: no acl finding; Debian's own hosts files give none either", async (t) => {
    const { host, peer, destroy } = await twoHosts('cw4');
    t.after(destroy);
    const vsftpd = await startVsftpd(t, host, ['listen_ipv6=YES'], { allow: 'vsftpd: 192.0.2.0/24\n', deny: 'vsftpd: ALL\n' });
    const [v6, report] = await Promise.all([greeting(peer, HOST6), scanEtc(host, vsftpd.etc)]);
    assert.match(v6, LET_IN, 'tcp_wrappers defaults to NO');
    assert.deepEqual(configFindings(report), []);
    writeFileSync(join(vsftpd.etc, 'hosts.allow'), fixture('hosts.allow'));
    writeFileSync(join(vsftpd.etc, 'hosts.deny'), fixture('hosts.deny'));
    writeFileSync(vsftpd.config, `tcp_wrappers=YES\n${readFileSync(vsftpd.config, 'utf8')}`);
    await vsftpd.restart();
    const [v6Debian, v4Debian, debian] = await Promise.all([greeting(peer, HOST6), greeting(peer, HOST4), scanEtc(host, vsftpd.etc)]);
    assert.deepEqual([v6Debian, v4Debian].map((g) => LET_IN.test(g)), [true, true]);
    assert.deepEqual(configFindings(debian), []);
    assert.deepEqual(debian.configs?.find((c) => c.daemon === 'tcpwrappers')?.directives.map((d) => d.key), ['tcp_wrappers']);
  });
});
