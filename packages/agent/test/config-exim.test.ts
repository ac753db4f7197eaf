// Exim 4: the parser on Debian 12's packaged exim4.conf.template and conf.d files and on broken
// ones; the reader's choice of files (exim4.conf wins; Debian's update-exim4.conf.conf with the
// unsplit template or conf.d; RHEL's exim.conf), includes, loops, links out of the root, and
// what the knowledge makes of the lines read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { eximConfigKnowledge } from '@dualstack/core';
import { parseEximConfig, readExim } from '../src/config/exim.js';
import { EtcRoot } from '../src/config/etc-root.js';
import { ConfigParseError } from '../src/config-syntax.js';
import { etcTree } from './helpers/etc-tree.js';

const debian = fileURLToPath(new URL('../../../test/fixtures/config/debian12/', import.meta.url));
const UE4CC = (extra: Record<string, string>) =>
  Object.entries({ dc_eximconfig_configtype: 'local', dc_local_interfaces: '127.0.0.1 ; ::1', dc_relay_nets: '', dc_use_split_config: 'false', ...extra })
    .map(([k, v]) => `${k}='${v}'`)
    .join('\n') + '\n';
const debianTree = (t: { after(fn: () => void): void }, files: Record<string, string> = {}) => {
  const dir = etcTree(t, files);
  cpSync(join(debian, 'exim4'), join(dir, 'exim4'), { recursive: true, force: false, errorOnExist: false });
  return dir;
};
const summary = (dir: string) => readExim(new EtcRoot(dir))!.directives.map((d) => `${d.file}:${d.line} ${d.key} = ${d.value}`);

test("Debian 12's exim4.conf.template: relay_from_hosts and local_interfaces through the dc_ macros, the ACL host conditions", () => {
  const text = readFileSync(join(debian, 'exim4/exim4.conf.template'), 'utf8');
  const parsed = parseEximConfig(text, '/etc/exim4/exim4.conf.template');
  const kept = parsed.items.filter((d) => ['hostlist', 'local_interfaces', 'hosts', 'disable_ipv6'].includes(d.key));
  assert.deepEqual(
    kept.map((d) => [d.line, d.key, d.value, d.context ?? null]),
    [
      [50, 'hostlist', 'relay_from_hosts = MAIN_RELAY_NETS', null],
      [68, 'local_interfaces', 'MAIN_LOCAL_INTERFACES', '.ifdef MAIN_LOCAL_INTERFACES'],
      [467, 'hosts', '${if exists{CONFDIR/host_local_deny_exceptions}{CONFDIR/host_local_deny_exceptions}{}}', 'begin acl / acl_local_deny_exceptions / accept'],
      [475, 'hosts', '${if exists{CONFDIR/local_host_whitelist}{CONFDIR/local_host_whitelist}{}}', 'begin acl / acl_local_deny_exceptions / accept'],
      [544, 'hosts', ':', 'begin acl / acl_check_rcpt / accept'],
      [702, 'hosts', '+relay_from_hosts', 'begin acl / acl_check_rcpt / accept'],
      [770, 'hosts', '${if exists{CONFDIR/local_host_blacklist}{CONFDIR/local_host_blacklist}{}}', 'begin acl / acl_check_rcpt / deny'],
    ],
  );
  assert.deepEqual(parsed.includes, [], 'the .include lines name macros, not files');
  assert.equal(parsed.section, 'authenticators');
});

test('options, booleans, hide, continuation lines, macros and sections', () => {
  const parsed = parseEximConfig(
    ['MY_NETS = 192.0.2.0/24', 'hide disable_ipv6', 'no_foo_bar', 'local_interfaces = <; 127.0.0.1 ; \\', '   ::1', 'daemon_smtp_ports = 25 : 587', 'begin acl', 'rcpt:', '  accept hosts = 192.0.2.0/24', '    !hosts = ::::1', 'begin routers', 'r1:', '  driver = accept', ''].join('\n'),
    '/etc/exim/exim.conf',
  );
  assert.deepEqual(
    parsed.items.map((d) => [d.line, d.key, d.value, d.context ?? null]),
    [
      [1, 'MY_NETS', '192.0.2.0/24', null],
      [2, 'disable_ipv6', 'true', null],
      [3, 'foo_bar', 'false', null],
      [4, 'local_interfaces', '<; 127.0.0.1 ; ::1', null],
      [6, 'daemon_smtp_ports', '25 : 587', null],
      [9, 'hosts', '192.0.2.0/24', 'begin acl / rcpt / accept'],
      [10, 'hosts', '::::1', 'begin acl / rcpt / accept'],
    ],
  );
});

test('broken lines: a ConfigParseError naming file, line and field, with the raw line', () => {
  for (const [text, line, field] of [
    ['primary_hostname = a\nbegin nonsense\n', 2, 'begin'],
    ['local_interfaces 127.0.0.1\n', 1, 'local_interfaces'],
    ['.ifdef X\nlocal_interfaces = 0.0.0.0\n', 1, '.ifdef'],
    ['a = b\n.endif\n', 2, '.endif'],
    ['.include\n', 1, '.include'],
    ['.frobnicate x\n', 1, '.frobnicate'],
  ] as const) {
    assert.throws(
      () => parseEximConfig(text, '/etc/exim4/exim4.conf'),
      (e: unknown) => e instanceof ConfigParseError && e.line === line && e.field === field && e.file === '/etc/exim4/exim4.conf' && e.message.includes(text.split('\n')[line - 1]!.trim()),
      JSON.stringify(text),
    );
  }
});

test("Debian's unsplit tree: update-exim4.conf.conf's dc_ lines, then localmacros and the template; default: no finding material", (t) => {
  const dir = debianTree(t, { 'exim4/update-exim4.conf.conf': readFileSync(join(debian, 'exim4/update-exim4.conf.conf'), 'utf8'), 'exim4/exim4.conf.localmacros': 'MAIN_RELAY_NETS = 198.51.100.0/24\n' });
  const config = readExim(new EtcRoot(dir))!;
  assert.deepEqual(config.files.map((f) => `${f.path} ${f.status}`), ['/etc/exim4/update-exim4.conf.conf read', '/etc/exim4/exim4.conf.localmacros read', '/etc/exim4/exim4.conf.template read']);
  assert.deepEqual(summary(dir).slice(0, 4), [
    "/etc/exim4/update-exim4.conf.conf:21 dc_local_interfaces = 127.0.0.1 ; ::1",
    '/etc/exim4/update-exim4.conf.conf:25 dc_relay_nets = ',
    '/etc/exim4/exim4.conf.localmacros:1 MAIN_RELAY_NETS = 198.51.100.0/24',
    '/etc/exim4/exim4.conf.template:50 hostlist = relay_from_hosts = MAIN_RELAY_NETS',
  ]);
  const all = config.directives;
  // The localmacros definition wins over dc_relay_nets (the generated macro is .ifndef guarded).
  assert.equal(eximConfigKnowledge.acl(all[1]!, all), null);
  assert.deepEqual(eximConfigKnowledge.acl(all[2]!, all)?.networks, ['198.51.100.0/24']);
  assert.deepEqual(all.flatMap((d) => eximConfigKnowledge.addresses(d, all)).map((u) => u.token), ['127.0.0.1', '::1', '198.51.100.0/24']);
  assert.ok(all.every((d) => eximConfigKnowledge.ipv6Off(d, all) === null));
});

test("split config: conf.d's sections in update-exim4.conf's order, names as its run_parts takes them", (t) => {
  const dir = debianTree(t, {
    'exim4/update-exim4.conf.conf': UE4CC({ dc_use_split_config: 'true', dc_local_interfaces: '0.0.0.0' }),
    'exim4/conf.d/main/00_local': 'disable_ipv6 = true\n',
    'exim4/conf.d/main/00_local.dpkg-old': 'disable_ipv6 = false\n',
  });
  const config = readExim(new EtcRoot(dir))!;
  const paths = config.files.map((f) => f.path);
  assert.equal(paths[0], '/etc/exim4/update-exim4.conf.conf');
  assert.equal(paths[1], '/etc/exim4/conf.d/main/00_local');
  assert.ok(!paths.includes('/etc/exim4/conf.d/main/00_local.dpkg-old'));
  assert.ok(paths.indexOf('/etc/exim4/conf.d/acl/30_exim4-config_check_rcpt') > paths.indexOf('/etc/exim4/conf.d/main/90_exim4-config_log_selector'));
  assert.ok(!paths.includes('/etc/exim4/exim4.conf.template'));
  const all = config.directives;
  const hosts = all.find((d) => d.key === 'hosts' && d.value === '+relay_from_hosts')!;
  assert.equal(hosts.context, 'begin acl / acl_check_rcpt / accept', 'the acl section runs on across conf.d files');
  const off = all.map((d) => eximConfigKnowledge.ipv6Off(d, all)).filter((o) => o !== null);
  assert.deepEqual(off.map((o) => o.fix), ["dc_local_interfaces='0.0.0.0 ; ::0'", 'disable_ipv6 = false']);
});

test('exim4.conf wins over the generated configuration; RHEL exim.conf; no Exim: null', (t) => {
  const dir = debianTree(t, { 'exim4/update-exim4.conf.conf': UE4CC({}), 'exim4/exim4.conf': 'local_interfaces = 0.0.0.0\n.include /etc/exim4/more.conf\n', 'exim4/more.conf': 'hostlist relay_from_hosts = 192.0.2.0/24\n' });
  assert.deepEqual(summary(dir), ['/etc/exim4/exim4.conf:1 local_interfaces = 0.0.0.0', '/etc/exim4/more.conf:1 hostlist = relay_from_hosts = 192.0.2.0/24']);
  const rhel = etcTree(t, { 'exim/exim.conf': 'hostlist relay_from_hosts = 192.0.2.0/24 : 2001:db8::/32\n' });
  assert.deepEqual(summary(rhel), ['/etc/exim/exim.conf:1 hostlist = relay_from_hosts = 192.0.2.0/24 : 2001:db8::/32']);
  assert.equal(readExim(new EtcRoot(etcTree(t, { 'hosts': '' }))), null);
});

test('include loops and links out of the root are reported per file', (t) => {
  const dir = etcTree(t, { 'exim4/exim4.conf': 'disable_ipv6 = true\n.include /etc/exim4/a.conf\n.include_if_exists /etc/exim4/out.conf\n', 'exim4/a.conf': '.include /etc/exim4/exim4.conf\n' });
  symlinkSync('/etc/../../tmp/elsewhere', join(dir, 'exim4/out.conf'));
  const config = readExim(new EtcRoot(dir))!;
  assert.deepEqual(config.files.map((f) => `${f.path} ${f.status}`), ['/etc/exim4/exim4.conf read', '/etc/exim4/a.conf read', '/etc/exim4/exim4.conf include-loop', '/etc/exim4/out.conf outside-root']);
  assert.deepEqual(config.directives.map((d) => d.key), ['disable_ipv6']);
});
