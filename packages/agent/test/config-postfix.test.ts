// Postfix main.cf and master.cf: the parsers on Debian 12's packaged files and on broken ones;
// the reader (what it keeps, missing, unparsable, binary and out-of-root files); and the
// config rules on what the reader gives them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rules, type DaemonConfig, type Finding, type HostAddress, type Rule, type Service } from '@dualstack/core';
import { parsePostfixMainCf, parsePostfixMasterCf, readPostfix } from '../src/config/postfix.js';
import { EtcRoot } from '../src/config/etc-root.js';
import { ConfigParseError } from '../src/config-syntax.js';
import { etcTree } from './helpers/etc-tree.js';

const debian = fileURLToPath(new URL('../../../test/fixtures/config/debian12/postfix/', import.meta.url));
const MAIN = '/etc/postfix/main.cf';
const MASTER = '/etc/postfix/master.cf';

test("Debian 12's main.cf (postinst, Internet Site): every parameter with its line, values as written", () => {
  const { items, includes } = parsePostfixMainCf(readFileSync(join(debian, 'main.cf'), 'utf8'), MAIN);
  assert.deepEqual(includes, []);
  assert.deepEqual(
    items.map((d) => d.key),
    ['smtpd_banner', 'biff', 'append_dot_mydomain', 'readme_directory', 'compatibility_level', 'smtpd_relay_restrictions', 'myhostname', 'alias_maps', 'alias_database', 'myorigin', 'mydestination', 'relayhost', 'mynetworks', 'mailbox_size_limit', 'recipient_delimiter', 'inet_interfaces', 'inet_protocols'],
  );
  const at = (key: string) => items.find((d) => d.key === key)!;
  assert.deepEqual(at('mynetworks'), { file: MAIN, line: 32, key: 'mynetworks', value: '127.0.0.0/8 [::ffff:127.0.0.0]/104 [::1]/128', raw: 'mynetworks = 127.0.0.0/8 [::ffff:127.0.0.0]/104 [::1]/128' });
  assert.equal(at('smtpd_banner').value, '$myhostname ESMTP $mail_name (Debian/GNU)', '$name expansions kept');
  assert.equal(at('relayhost').value, '', 'an empty value (the line ends in a blank)');
  assert.deepEqual([at('inet_interfaces').line, at('inet_protocols').line], [35, 36]);
  assert.ok(items.every((d) => d.context === undefined));
});

test("Debian 12's master.cf: every service with its fields, -o overrides with their service; continuation arguments are not services", () => {
  const { items } = parsePostfixMasterCf(readFileSync(join(debian, 'master.cf'), 'utf8'), MASTER);
  const services = items.filter((d) => d.context === undefined);
  assert.equal(services.length, 31);
  assert.deepEqual(services[0], { file: MASTER, line: 12, key: 'smtp', value: 'inet n - y - - smtpd', raw: 'smtp      inet  n       -       y       -       -       smtpd' });
  assert.deepEqual(services.filter((d) => d.value.startsWith('inet ')).map((d) => d.key), ['smtp'], 'the one inet service (submission and friends are commented out)');
  assert.deepEqual(items.filter((d) => d.context !== undefined), [{ file: MASTER, line: 68, key: 'syslog_name', value: 'postfix/$service_name', raw: '        -o syslog_name=postfix/$service_name', context: 'relay unix service' }]);
  const maildrop = services.find((d) => d.key === 'maildrop')!;
  assert.equal(maildrop.value, 'unix - n n - - pipe flags=DRXhu user=vmail argv=/usr/bin/maildrop -d ${recipient}', 'the continuation line is part of its service');
});

test('main.cf: continuation lines (across blank and comment lines) are directives of their own with the context of their parameter; # inside a value is text', () => {
  const { items } = parsePostfixMainCf(
    ['  orphan = ignored, as postconf does', 'mynetworks = 192.0.2.0/24,', '', '  # a comment inside the list', '\t[2001:db8:1::]/64', 'inet_protocols=ipv4 # not a comment', 'inet_interfaces =', '    all', ''].join('\n'),
    MAIN,
  );
  assert.deepEqual(
    items.map((d) => [d.line, d.key, d.value, d.context ?? null]),
    [
      [2, 'mynetworks', '192.0.2.0/24,', null],
      [5, 'mynetworks', '[2001:db8:1::]/64', 'mynetworks from line 2'],
      [6, 'inet_protocols', 'ipv4 # not a comment', null],
      [7, 'inet_interfaces', '', null],
      [8, 'inet_interfaces', 'all', 'inet_interfaces from line 7'],
    ],
  );
  assert.equal(items[1]!.raw, '\t[2001:db8:1::]/64');
});

test('master.cf: host:port names, -o name=value, -oname=value and -o { name = value } (over lines), and options after the command', () => {
  const { items } = parsePostfixMasterCf(
    [
      '[2001:db8::1]:submission inet n - y - - smtpd',
      '  -o mynetworks=192.0.2.0/24,[2001:db8::]/64 -o smtpd_tls_security_level=encrypt',
      '  -osyslog_name=postfix/sub',
      '192.0.2.2:2525 inet n - y - - smtpd -o { mynetworks = 192.0.2.0/24',
      '      198.51.100.0/24 } -v',
      '2001:db8::1:smtp inet n - y - - smtpd -o',
      '',
    ].join('\n'),
    MASTER,
  );
  assert.deepEqual(
    items.map((d) => [d.line, d.key, d.value, d.context ?? null]),
    [
      [1, '[2001:db8::1]:submission', 'inet n - y - - smtpd -o mynetworks=192.0.2.0/24,[2001:db8::]/64 -o smtpd_tls_security_level=encrypt -osyslog_name=postfix/sub', null],
      [2, 'mynetworks', '192.0.2.0/24,[2001:db8::]/64', '[2001:db8::1]:submission inet service'],
      [2, 'smtpd_tls_security_level', 'encrypt', '[2001:db8::1]:submission inet service'],
      [3, 'syslog_name', 'postfix/sub', '[2001:db8::1]:submission inet service'],
      [4, '192.0.2.2:2525', 'inet n - y - - smtpd -o { mynetworks = 192.0.2.0/24\n      198.51.100.0/24 } -v', null],
      [4, 'mynetworks', '192.0.2.0/24\n      198.51.100.0/24', '192.0.2.2:2525 inet service'],
      [6, '2001:db8::1:smtp', 'inet n - y - - smtpd -o', null],
    ],
  );
});

test('broken lines: a ConfigParseError naming file, line and field, with the raw line (what postconf refuses)', () => {
  const cases: Array<[typeof parsePostfixMainCf, string, string, number, string]> = [
    [parsePostfixMainCf, MAIN, 'biff = no\nmynetworks 192.0.2.0/24\n', 2, 'mynetworks'],
    [parsePostfixMainCf, MAIN, '# x\n= 192.0.2.0/24\n', 2, 'parameter'],
    [parsePostfixMainCf, MAIN, 'my networks = 192.0.2.0/24\n', 1, 'my'],
    [parsePostfixMasterCf, MASTER, 'smtp inet n - y - - smtpd\nsubmission inet n - y -\n', 2, 'maxproc'],
    [parsePostfixMasterCf, MASTER, 'smtp\n', 1, 'type'],
    [parsePostfixMasterCf, MASTER, '#\nsmtp tcp n - y - - smtpd\n', 2, 'type'],
  ];
  for (const [parse, file, text, line, field] of cases) {
    assert.throws(
      () => parse(text, file),
      (e: unknown) => e instanceof ConfigParseError && e.file === file && e.line === line && e.field === field && e.message.includes(text.split('\n')[line - 1]!),
      JSON.stringify(text),
    );
  }
});

test('the reader: main.cf then master.cf, only the listed parameters, inet services and their overrides; null without main.cf', (t) => {
  assert.equal(readPostfix(new EtcRoot(etcTree(t, { 'postfix/master.cf': 'smtp inet n - y - - smtpd\n' }))), null, 'no main.cf: Postfix is not set up');
  const root = etcTree(t, {
    'postfix/main.cf': 'biff = no\nmynetworks = 192.0.2.0/24\n  198.51.100.0/24\ninet_protocols = ipv4\n',
    'postfix/master.cf': 'smtp inet n - y - - smtpd\n  -o mynetworks=192.0.2.0/24 -o syslog_name=x\npickup unix n - y 60 1 pickup\n  -o mynetworks=203.0.113.0/24\n',
  });
  const config = readPostfix(new EtcRoot(root))!;
  assert.equal(config.daemon, 'postfix');
  assert.deepEqual(config.files, [{ path: MAIN, status: 'read' }, { path: MASTER, status: 'read' }]);
  assert.deepEqual(
    config.directives.map((d) => `${d.file}:${d.line} ${d.key}${d.context ? ` (${d.context})` : ''}`),
    [
      '/etc/postfix/main.cf:2 mynetworks',
      '/etc/postfix/main.cf:3 mynetworks (mynetworks from line 2)',
      '/etc/postfix/main.cf:4 inet_protocols',
      '/etc/postfix/master.cf:1 smtp',
      '/etc/postfix/master.cf:2 mynetworks (smtp inet service)',
      '/etc/postfix/master.cf:4 mynetworks (pickup unix service)',
    ],
  );
});

test('a missing master.cf, a broken one, a binary one and a main.cf that links out of the root are reported per file', (t) => {
  const missing = readPostfix(new EtcRoot(etcTree(t, { 'postfix/main.cf': 'inet_protocols = ipv4\n' })))!;
  assert.deepEqual(missing.files.map((f) => f.status), ['read', 'missing']);
  assert.deepEqual(missing.directives.map((d) => d.key), ['inet_protocols']);

  const broken = readPostfix(new EtcRoot(etcTree(t, { 'postfix/main.cf': 'inet_protocols = ipv4\n', 'postfix/master.cf': 'smtp inet n -\n' })))!;
  assert.deepEqual(broken.files.map((f) => f.status), ['read', 'unparsable']);
  assert.match(broken.files[1]!.detail!, /master\.cf line 1: bad chroot \(bad field count/);
  assert.deepEqual(broken.directives.map((d) => d.key), ['inet_protocols'], 'main.cf is still read');

  const binary = readPostfix(new EtcRoot(etcTree(t, { 'postfix/main.cf': 'inet_protocols = all\n', 'postfix/master.cf': 'smtp inet n - y - - smtpd\u0000\n' })))!;
  assert.deepEqual(binary.files.map((f) => f.status), ['read', 'binary']);

  const root = etcTree(t, { 'postfix/master.cf': 'smtp inet n - y - - smtpd\n' });
  const outside = etcTree(t, { 'main.cf': 'inet_protocols = ipv4\n' });
  symlinkSync(join(outside, 'main.cf'), join(root, 'postfix/main.cf'));
  const out = readPostfix(new EtcRoot(root))!;
  assert.deepEqual(out.files.map((f) => `${f.path} ${f.status}`), ['/etc/postfix/main.cf outside-root', '/etc/postfix/master.cf read']);
  assert.deepEqual(out.directives.map((d) => d.key), ['smtp'], 'nothing from the file outside the root');
});

// ------------------------------------------------------------------ the rules on what the reader gives

const hostAddresses: HostAddress[] = [
  { family: 4, address: '192.0.2.2', prefixLength: 24, interface: 'veth0', scope: 'global', flags: ['permanent'] },
  { family: 6, address: '2001:db8:1::2', prefixLength: 64, interface: 'veth0', scope: 'global', flags: ['permanent'] },
];

function facts(config: DaemonConfig, services: Array<Partial<Service> & { port: number }>) {
  return {
    addresses: hostAddresses,
    services: services.map((s) => ({ proto: 'tcp', process: 'master', mode: 'dual-separate', ipv4: 'any', ipv6: 'any', ...s })),
    configs: [config],
  } as never;
}

const rule = (id: string): Rule => rules.find((r) => r.id === id)!;
const run = (id: string, root: string, services: Array<Partial<Service> & { port: number }> = [{ port: 25 }]) => rule(id).check(facts(readPostfix(new EtcRoot(root))!, services)) as Finding[];

test("Debian 12's main.cf and master.cf: no finding from the config rules", (t) => {
  const root = etcTree(t, {});
  cpSync(debian, join(root, 'postfix'), { recursive: true });
  for (const id of ['config-address-syntax', 'config-ipv6-off', 'acl-ipv4-only']) assert.deepEqual(run(id, root), [], id);
});

test('config-ipv6-off: the last inet_protocols decides; the fix is that line with all; the ports are the inet services without a host', (t) => {
  const root = etcTree(t, {
    'postfix/main.cf': 'inet_protocols = all\nbiff = no\ninet_protocols = ipv4\n',
    'postfix/master.cf': 'smtp inet n - y - - smtpd\nsubmission inet n - y - - smtpd\n127.0.0.1:2525 inet n - y - - smtpd\n',
  });
  const found = run('config-ipv6-off', root, [{ port: 25, mode: 'ipv4-only', ipv6: 'none' }, { port: 587, mode: 'ipv4-only', ipv6: 'none' }]);
  assert.deepEqual(found.map((f) => f.subject), ['/etc/postfix/main.cf:3']);
  assert.match(found[0]!.message, /^tcp\/25, tcp\/587 are IPv4-only because \/etc\/postfix\/main\.cf:3 says inet_protocols = ipv4: inet_protocols = ipv4 makes Postfix listen and connect over IPv4 only/);
  assert.deepEqual(found[0]!.fix.commands, ['# /etc/postfix/main.cf, line 3:', '#   inet_protocols = all', "postfix -c /etc/postfix check   # the daemon's own syntax check, after editing /etc/postfix/main.cf"]);
  const overridden = etcTree(t, { 'postfix/main.cf': 'inet_protocols = ipv4\ninet_protocols = ipv4, ipv6\n' });
  assert.deepEqual(run('config-ipv6-off', overridden), [], 'an earlier line Postfix no longer reads');
  for (const value of ['all', 'ipv6', 'ipv4,ipv6', '$my_protocols']) assert.deepEqual(run('config-ipv6-off', etcTree(t, { 'postfix/main.cf': `inet_protocols = ${value}\n` })), [], value);
});

test('config-address-syntax: a bare IPv6 network in mynetworks (main.cf and -o) is critical and the fix brackets it; bare and bracketed inet_interfaces and master.cf hosts are fine', (t) => {
  const root = etcTree(t, {
    'postfix/main.cf': 'mynetworks = 127.0.0.0/8 [::1]/128\n    2001:db8:1::/64 !2001:db8:1::9\ninet_interfaces = 192.0.2.2, 2001:db8:1::2 [2001:db8:1::3]\n',
    'postfix/master.cf': 'smtp inet n - y - - smtpd\n2001:db8:1::2:2525 inet n - y - - smtpd\n[2001:db8:1::2]:2526 inet n - y - - smtpd\n  -o mynetworks=192.0.2.0/24,2001:db8:1::/64\n',
  });
  const found = run('config-address-syntax', root);
  assert.deepEqual(
    found.map((f) => [f.subject, f.severity, f.fix.commands[1]]),
    [
      ['/etc/postfix/main.cf:2', 'critical', '#   2001:db8:1::/64 !2001:db8:1::9'.replace('2001:db8:1::/64', '[2001:db8:1::]/64')],
      ['/etc/postfix/main.cf:2', 'critical', '#   2001:db8:1::/64 !2001:db8:1::9'.replace('2001:db8:1::9', '[2001:db8:1::9]')],
      ['/etc/postfix/master.cf:4', 'critical', '#   -o mynetworks=192.0.2.0/24,[2001:db8:1::]/64'],
    ],
  );
  assert.deepEqual(found[0]!.fix.commands[0], '# /etc/postfix/main.cf, line 2:', 'the continuation line that holds the token');
  assert.match(found[0]!.evidence[0]!, /main\.cf:2: 2001:db8:1::\/64 !2001:db8:1::9 {3}\(in mynetworks from line 1\)/);
});

test('config-address-syntax: inet_interfaces with a port or a prefix, master.cf hosts with a prefix or a zone (all fatal to Postfix)', (t) => {
  const root = etcTree(t, {
    'postfix/main.cf': 'inet_interfaces = [2001:db8:1::2]:25 2001:db8:1::3/64\n',
    'postfix/master.cf': '[2001:db8:1::]/64:2529 inet n - y - - smtpd\n[fe80::1%veth0]:2526 inet n - y - - smtpd\n',
  });
  assert.deepEqual(
    run('config-address-syntax', root).map((f) => [f.subject, f.severity, f.fix.commands[1]]),
    [
      ['/etc/postfix/main.cf:1', 'critical', '#   inet_interfaces = [2001:db8:1::2] 2001:db8:1::3/64'],
      ['/etc/postfix/main.cf:1', 'critical', '#   inet_interfaces = [2001:db8:1::2]:25 2001:db8:1::3'],
      ['/etc/postfix/master.cf:1', 'critical', '#   [2001:db8:1::]:2529 inet n - y - - smtpd'],
      ['/etc/postfix/master.cf:2', 'critical', '#   [fe80::1]:2526 inet n - y - - smtpd'],
    ],
  );
});

test('acl-ipv4-only: mynetworks with loopback and the LAN over IPv4 only; the fix adds the bracketed IPv6 prefix (main.cf, -o short and long forms)', (t) => {
  const root = etcTree(t, {
    'postfix/main.cf': 'mynetworks = 127.0.0.0/8 [::ffff:127.0.0.0]/104 [::1]/128 192.0.2.0/24\n',
    'postfix/master.cf': 'smtp inet n - y - - smtpd\nsubmission inet n - y - - smtpd -o mynetworks=192.0.2.0/24\n2525 inet n - y - - smtpd\n  -o { mynetworks = 192.0.2.0/24 }\n',
  });
  const found = run('acl-ipv4-only', root, [{ port: 25 }, { port: 587 }, { port: 2525 }]);
  assert.deepEqual(
    found.map((f) => [f.subject, f.fix.commands[1]]),
    [
      ['/etc/postfix/main.cf:1', '#   mynetworks = 127.0.0.0/8 [::ffff:127.0.0.0]/104 [::1]/128 192.0.2.0/24 [2001:db8:1::]/64'],
      ['/etc/postfix/master.cf:2', '#   submission inet n - y - - smtpd -o mynetworks=192.0.2.0/24,[2001:db8:1::]/64'],
      ['/etc/postfix/master.cf:4', '#   -o { mynetworks = 192.0.2.0/24 [2001:db8:1::]/64 }'],
    ],
  );
  assert.match(found[0]!.message, /names IPv4 networks only \(192\.0\.2\.0\/24\); veth0 also has 2001:db8:1::\/64, so IPv6 clients of that network are locked out on tcp\/25\.$/);
  assert.match(found[1]!.message, /locked out on tcp\/587\.$/);

  const table = etcTree(t, { 'postfix/main.cf': 'mynetworks = 192.0.2.0/24, cidr:/etc/postfix/network_table.cidr\n' });
  assert.deepEqual(run('acl-ipv4-only', table), [], 'a table may hold the IPv6 networks: only the operator knows');
  const v6 = etcTree(t, { 'postfix/main.cf': 'mynetworks = 192.0.2.0/24 [2001:db8:1::]/64\n' });
  assert.deepEqual(run('acl-ipv4-only', v6), []);
  const commas = etcTree(t, { 'postfix/main.cf': 'mynetworks = 127.0.0.0/8, 192.0.2.0/24\n' });
  assert.equal(run('acl-ipv4-only', commas)[0]!.fix.commands[1], '#   mynetworks = 127.0.0.0/8, 192.0.2.0/24, [2001:db8:1::]/64', 'in the separator the line uses');
});
