// hosts.allow / hosts.deny: the parser on Debian 12's files (comments only) and on rules as
// libwrap reads them (brackets keep IPv6 colons, `\` continues a line, a last line without a
// newline is ignored by libwrap), broken ones; the reader (hosts.allow then hosts.deny, and
// vsftpd's tcp_wrappers switch).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseHostsAccess, readTcpWrappers } from '../src/config/tcpwrappers.js';
import { EtcRoot } from '../src/config/etc-root.js';
import { ConfigParseError } from '../src/config-syntax.js';
import { etcTree } from './helpers/etc-tree.js';

const debian = fileURLToPath(new URL('../../../test/fixtures/config/debian12/', import.meta.url));

test("Debian 12's hosts.allow and hosts.deny (written by libwrap0's postinst): comments only, no rule", () => {
  for (const name of ['hosts.allow', 'hosts.deny']) {
    const parsed = parseHostsAccess(readFileSync(join(debian, name), 'utf8'), `/etc/${name}`);
    assert.deepEqual(parsed, { items: [], includes: [] }, name);
  }
  const config = readTcpWrappers(new EtcRoot(debian))!;
  assert.deepEqual(config.files.map((f) => `${f.path} ${f.status}`), ['/etc/hosts.allow read', '/etc/hosts.deny read', '/etc/vsftpd.conf read']);
  assert.deepEqual(config.directives, [], 'and Debian\'s vsftpd.conf has no tcp_wrappers line');
});

test('rules: the daemon list ends at the first colon outside brackets; continued lines; options kept in the value', () => {
  const text = [
    '# comment',
    '',
    'vsftpd, sshd: 192.0.2.0/255.255.255.0 [2001:db8:1::]/64 : spawn /bin/true',
    '  # an indented comment without a colon (libwrap skips it as a rule without one)',
    'vsftpd@[2001:db8:1::2]: ALL EXCEPT [2001:db8:1::7]',
    'ALL: 192.0.2.1 \\',
    '  [2001:db8:1::1]',
    'in.tftpd: LOCAL\r',
    '',
  ].join('\n');
  const parsed = parseHostsAccess(text, '/etc/hosts.allow');
  assert.deepEqual(parsed.items.map((d) => [d.line, d.key, d.value, d.raw]), [
    [3, 'vsftpd, sshd', '192.0.2.0/255.255.255.0 [2001:db8:1::]/64 : spawn /bin/true', 'vsftpd, sshd: 192.0.2.0/255.255.255.0 [2001:db8:1::]/64 : spawn /bin/true'],
    [5, 'vsftpd@[2001:db8:1::2]', 'ALL EXCEPT [2001:db8:1::7]', 'vsftpd@[2001:db8:1::2]: ALL EXCEPT [2001:db8:1::7]'],
    [6, 'ALL', '192.0.2.1   [2001:db8:1::1]', 'ALL: 192.0.2.1 \\\n  [2001:db8:1::1]'],
    [8, 'in.tftpd', 'LOCAL', 'in.tftpd: LOCAL'],
  ]);
  assert.deepEqual(parseHostsAccess('vsftpd: 2001:db8:1::/64\n', '/etc/hosts.allow').items.map((d) => [d.key, d.value]), [['vsftpd', '2001:db8:1::/64']], 'a bare IPv6 stays in the value, for the knowledge to find');
});

test('broken files: a ConfigParseError naming file, line and field, with the raw line', () => {
  for (const [text, line, field, reason] of [
    ['vsftpd: 192.0.2.0/24\nvsftpd 192.0.2.1\n', 2, 'daemon_list', /missing \\":\\" separator/],
    [': 192.0.2.1\n', 1, 'daemon_list', /empty daemon list/],
    ['vsftpd: ALL\nsshd: 192.0.2.0/24', 2, 'newline', /libwrap ignores it/],
  ] as const) {
    assert.throws(
      () => parseHostsAccess(text, '/etc/hosts.allow'),
      (e: unknown) => e instanceof ConfigParseError && e.file === '/etc/hosts.allow' && e.line === line && e.field === field && reason.test(e.message) && e.message.includes(text.split('\n')[line - 1]!),
      JSON.stringify(text),
    );
  }
  assert.deepEqual(parseHostsAccess('vsftpd: ALL\n# no newline after this comment', '/etc/hosts.deny').items.length, 1);
});

test('the reader: hosts.allow then hosts.deny, vsftpd\'s tcp_wrappers switch, a missing file is an empty one, null with neither', (t) => {
  const root = etcTree(t, {
    'hosts.deny': 'ALL: ALL\n',
    'hosts.allow': 'vsftpd: 192.0.2.0/24\n',
    'vsftpd.conf': 'listen_ipv6=YES\ntcp_wrappers=YES\n',
  });
  const config = readTcpWrappers(new EtcRoot(root))!;
  assert.equal(config.daemon, 'tcpwrappers');
  assert.deepEqual(config.directives.map((d) => `${d.file}:${d.line} ${d.key}`), ['/etc/hosts.allow:1 vsftpd', '/etc/hosts.deny:1 ALL', '/etc/vsftpd.conf:2 tcp_wrappers']);
  const denyOnly = readTcpWrappers(new EtcRoot(etcTree(t, { 'hosts.deny': 'sshd: 198.51.100.0/24\n' })))!;
  assert.deepEqual(denyOnly.files.map((f) => `${f.path} ${f.status}`), ['/etc/hosts.deny read']);
  assert.equal(readTcpWrappers(new EtcRoot(etcTree(t, { hostname: 'x\n' }))), null);
});

test('a broken hosts.allow is one unparsable file, hosts.deny still read; a link out of the root is refused', (t) => {
  const root = etcTree(t, { 'hosts.allow': 'vsftpd 192.0.2.1\n' });
  const outside = etcTree(t, { 'hosts.deny': 'ALL: ALL\n' });
  symlinkSync(join(outside, 'hosts.deny'), join(root, 'hosts.deny'));
  const config = readTcpWrappers(new EtcRoot(root))!;
  assert.deepEqual(config.files.map((f) => `${f.path} ${f.status}`), ['/etc/hosts.allow unparsable', '/etc/hosts.deny outside-root']);
  assert.match(config.files[0]!.detail!, /hosts\.allow line 1/);
  assert.deepEqual(config.directives, []);
});
