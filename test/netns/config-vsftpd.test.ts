// The daemon-config findings on a real vsftpd (Debian 12's 3.0.3) in a namespace: the agent
// reads the vsftpd.conf vsftpd runs with (--etc-root), the finding names the line, vsftpd itself
// accepts or refuses the file as the finding says (it has no syntax check: starting is the
// check, a refusal is "500 OOPS" and exit status 2), FTP greetings from the peer show what the
// finding predicts, and the printed fix, applied, changes it. Debian's own vsftpd.conf gives no
// finding and one [::] socket that takes IPv4 as mapped, logged as ::ffff:192.0.2.1.
//
// Run: node scripts/run-tests.mjs test/netns/config-vsftpd   (root and vsftpd; skipped otherwise)
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { rootSkipReason } from '../helpers/netns.js';
import { HOST4, HOST6, PEER4, twoHosts } from '../helpers/scenarios.js';
import { skipUnlessCommands } from '../helpers/requirements.js';
import { applyConfigFixes, configFindings, only, scanEtc } from '../helpers/daemon-config.js';
import { greeting, startVsftpd } from '../helpers/vsftpd.js';

const skip = rootSkipReason() || skipUnlessCommands({ vsftpd: 'vsftpd', unshare: 'util-linux' }, { ...process.env, PATH: `${process.env.PATH}:/usr/sbin` });
const READY = /^220 /;

// The four cases are independent (a namespace pair each): run side by side, the file takes as
// long as its longest case.
describe('vsftpd.conf on a real vsftpd', { skip, concurrency: true }, () => {
  test('listen=YES with listen_ipv6=NO: config-ipv6-off names the line and tcp/21; the two-line fix starts vsftpd on [::] for both families', async (t) => {
    const { host, peer, destroy } = await twoHosts('cv1');
    t.after(destroy);
    const vsftpd = await startVsftpd(t, host, ['listen_ipv6=NO', 'listen=YES']);
    assert.equal(vsftpd.listening, true, vsftpd.oops());
    const [v4, v6, before] = await Promise.all([greeting(peer, HOST4), greeting(peer, HOST6), scanEtc(host, vsftpd.etc)]);
    assert.match(v4, READY);
    assert.match(v6, /ECONNREFUSED/, 'vsftpd with listen=YES takes no IPv6');

    const off = only(before, 'config-ipv6-off');
    assert.equal(off.subject, '/etc/vsftpd.conf:2');
    assert.match(off.message, /^tcp\/21 is IPv4-only because \/etc\/vsftpd\.conf:2 says listen=YES/);
    assert.ok(before.findings.some((f) => f.rule === 'service-ipv4-only' && f.subject === 'tcp/21'), 'the service finding it explains');

    assert.deepEqual(applyConfigFixes(off, vsftpd.etc), ['/etc/vsftpd.conf', '/etc/vsftpd.conf']);
    assert.match(readFileSync(vsftpd.config, 'utf8'), /^listen_ipv6=YES\nlisten=NO\n/);
    await vsftpd.restart();
    assert.equal(vsftpd.listening, true, `vsftpd refused the fixed file: ${vsftpd.oops()}`);
    const [v6After, v4After, after] = await Promise.all([greeting(peer, HOST6), greeting(peer, HOST4), scanEtc(host, vsftpd.etc)]);
    assert.match(v6After, READY, 'after the fix vsftpd takes IPv6');
    assert.match(v4After, READY, 'and IPv4, on the same socket');
    assert.match(vsftpd.log(), new RegExp(`CONNECT: Client "::ffff:${PEER4}"`), 'vsftpd sees the IPv4 client as mapped (it does not convert)');
    assert.deepEqual(after.findings.filter((f) => f.rule === 'config-ipv6-off' || f.rule === 'service-ipv4-only'), []);
  });

  test('listen=YES alone: the line becomes listen_ipv6=YES; applied without it, vsftpd refuses both switches on', async (t) => {
    const { host, peer, destroy } = await twoHosts('cv2');
    t.after(destroy);
    const vsftpd = await startVsftpd(t, host, ['listen=YES', 'listen_port=2121']);
    const off = only(await scanEtc(host, vsftpd.etc), 'config-ipv6-off');
    assert.deepEqual(off.fix.commands.slice(0, 2), ['# /etc/vsftpd.conf, line 1:', '#   listen_ipv6=YES']);
    assert.match(off.message, /^tcp\/2121 is IPv4-only/);

    // What the fix avoids: listen_ipv6=YES added while listen=YES stays.
    const config = readFileSync(vsftpd.config, 'utf8');
    writeFileSync(vsftpd.config, `listen_ipv6=YES\n${config}`);
    await vsftpd.restart();
    assert.equal(vsftpd.listening, false);
    assert.match(vsftpd.oops(), /500 OOPS: run two copies of vsftpd for IPv4 and IPv6/);

    writeFileSync(vsftpd.config, config);
    applyConfigFixes(off, vsftpd.etc);
    await vsftpd.restart();
    assert.equal(vsftpd.listening, true, vsftpd.oops());
    assert.deepEqual((await Promise.all([greeting(peer, HOST6, 2121), greeting(peer, HOST4, 2121)])).map((g) => READY.test(g)), [true, true]);
  });

  test('listen_address6=[2001:db8:1::2]: config-address-syntax (critical); vsftpd refuses it; the bare address listens', async (t) => {
    const { host, peer, destroy } = await twoHosts('cv3');
    t.after(destroy);
    const vsftpd = await startVsftpd(t, host, ['listen_ipv6=YES', `listen_address6=[${HOST6}]`]);
    assert.equal(vsftpd.listening, false);
    assert.match(vsftpd.oops(), new RegExp(`500 OOPS: bad listen_address6: \\[${HOST6}\\]`));
    const syntax = only(await scanEtc(host, vsftpd.etc), 'config-address-syntax');
    assert.equal(syntax.severity, 'critical');
    assert.equal(syntax.subject, '/etc/vsftpd.conf:2');
    applyConfigFixes(syntax, vsftpd.etc);
    assert.match(readFileSync(vsftpd.config, 'utf8'), new RegExp(`^listen_address6=${HOST6}$`, 'm'));
    await vsftpd.restart();
    assert.equal(vsftpd.listening, true, vsftpd.oops());
    const [v6, report] = await Promise.all([greeting(peer, HOST6), scanEtc(host, vsftpd.etc)]);
    assert.match(v6, READY);
    assert.deepEqual(configFindings(report), []);
  });

  test("Debian 12's own vsftpd.conf: no config finding, one [::] socket (dual-mapped) greeting both families", async (t) => {
    const { host, peer, destroy } = await twoHosts('cv4');
    t.after(destroy);
    const debian = readFileSync(fileURLToPath(new URL('../fixtures/config/debian12/vsftpd.conf', import.meta.url)), 'utf8');
    const vsftpd = await startVsftpd(t, host, [debian.replace(/^secure_chroot_dir=.*$/m, '')]);
    assert.equal(vsftpd.listening, true, vsftpd.oops());
    const [v4, v6, report] = await Promise.all([greeting(peer, HOST4), greeting(peer, HOST6), scanEtc(host, vsftpd.etc)]);
    assert.match(v4, READY);
    assert.match(v6, READY);
    assert.deepEqual(configFindings(report), []);
    assert.ok(report.configs?.some((c) => c.daemon === 'vsftpd'));
    const ftp = report.services.find((s) => s.port === 21);
    assert.equal(ftp?.process, 'vsftpd');
    assert.equal(ftp?.mode, 'dual-mapped');
  });
});
