// sshd_config: the parser on Debian 12's packaged file and on broken ones; the reader's
// includes, loops, links out of the root, binary and oversized files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseSshdConfig, readSshd } from '../src/config/sshd.js';
import { EtcRoot, MAX_CONFIG_BYTES } from '../src/config/etc-root.js';
import { ConfigParseError } from '../src/config-syntax.js';
import { etcTree } from './helpers/etc-tree.js';

const debian = fileURLToPath(new URL('../../../test/fixtures/config/debian12/', import.meta.url));

test("Debian 12's packaged sshd_config: only the Include and a few settings, no address directive", () => {
  const text = readFileSync(join(debian, 'ssh/sshd_config'), 'utf8');
  const parsed = parseSshdConfig(text, '/etc/ssh/sshd_config');
  assert.deepEqual(parsed.includes, [{ pattern: '/etc/ssh/sshd_config.d/*.conf', at: 0 }]);
  assert.deepEqual(
    parsed.items.map((d) => d.key),
    ['KbdInteractiveAuthentication', 'UsePAM', 'X11Forwarding', 'PrintMotd', 'AcceptEnv', 'Subsystem'],
  );
  assert.ok(parsed.items.every((d) => d.context === undefined));
});

test('keywords with = or spaces, quoted arguments, Match blocks give the context of what follows', () => {
  const parsed = parseSshdConfig(
    ['Port 2222', 'ListenAddress=[2001:db8::1]:2222', '  AllowUsers "admin@192.0.2.0/24" ops', 'Match Address 192.0.2.0/24,2001:db8::/32', '  PasswordAuthentication yes', 'Match all', 'AddressFamily inet', ''].join('\n'),
    '/etc/ssh/sshd_config',
  );
  assert.deepEqual(
    parsed.items.map((d) => [d.line, d.key, d.value, d.context ?? null]),
    [
      [1, 'Port', '2222', null],
      [2, 'ListenAddress', '[2001:db8::1]:2222', null],
      [3, 'AllowUsers', '"admin@192.0.2.0/24" ops', null],
      [4, 'Match', 'Address 192.0.2.0/24,2001:db8::/32', null],
      [5, 'PasswordAuthentication', 'yes', 'Match Address 192.0.2.0/24,2001:db8::/32'],
      [6, 'Match', 'all', null],
      [7, 'AddressFamily', 'inet', null],
    ],
  );
  assert.equal(parsed.items[2]!.raw, '  AllowUsers "admin@192.0.2.0/24" ops');
});

test('broken lines: a ConfigParseError naming file, line and keyword, with the raw line', () => {
  for (const [text, line, field] of [
    ['Port 22\n=oops\n', 2, 'keyword'],
    ['Port 22\nListenAddress\n', 2, 'ListenAddress'],
    ['# ok\n\n  AddressFamily   \n', 3, 'AddressFamily'],
  ] as const) {
    assert.throws(
      () => parseSshdConfig(text, '/etc/ssh/sshd_config'),
      (e: unknown) => e instanceof ConfigParseError && e.line === line && e.field === field && e.file === '/etc/ssh/sshd_config' && e.message.includes(text.split('\n')[line - 1]!.trim() || field),
      `${JSON.stringify(text)}`,
    );
  }
});

test('the reader follows Include globs in order (relative ones from /etc/ssh), keeps only address directives', (t) => {
  const root = etcTree(t, {
    'ssh/sshd_config': 'Include /etc/ssh/sshd_config.d/*.conf\nPort 22\nInclude extra.conf\nPasswordAuthentication no\n',
    'ssh/sshd_config.d/10-listen.conf': 'ListenAddress 192.0.2.2\n',
    'ssh/sshd_config.d/20-family.conf': 'AddressFamily inet\n',
    'ssh/sshd_config.d/README': 'not a .conf file\n',
    'ssh/extra.conf': 'AllowUsers admin@192.0.2.0/24\n',
  });
  const config = readSshd(new EtcRoot(root))!;
  assert.deepEqual(
    config.directives.map((d) => `${d.file}:${d.line} ${d.key}`),
    ['/etc/ssh/sshd_config.d/10-listen.conf:1 ListenAddress', '/etc/ssh/sshd_config.d/20-family.conf:1 AddressFamily', '/etc/ssh/sshd_config:2 Port', '/etc/ssh/extra.conf:1 AllowUsers'],
  );
  assert.deepEqual(config.files.map((f) => `${f.path} ${f.status}`), [
    '/etc/ssh/sshd_config read',
    '/etc/ssh/sshd_config.d/10-listen.conf read',
    '/etc/ssh/sshd_config.d/20-family.conf read',
    '/etc/ssh/extra.conf read',
  ]);
});

test('no sshd_config: null (sshd is not installed); a broken file is one unparsable file, not a failure', (t) => {
  assert.equal(readSshd(new EtcRoot(etcTree(t, { 'hostname': 'x\n' }))), null);
  const config = readSshd(new EtcRoot(etcTree(t, { 'ssh/sshd_config': 'Include a.conf\nPort 22\n', 'ssh/a.conf': 'ListenAddress\n' })))!;
  assert.deepEqual(config.files.map((f) => f.status), ['read', 'unparsable']);
  assert.match(config.files[1]!.detail!, /a\.conf line 1: bad ListenAddress/);
  assert.deepEqual(config.directives.map((d) => d.key), ['Port']);
});

test('include loops, links out of the root, binary and oversized files are reported per file', (t) => {
  const root = etcTree(t, {
    'ssh/sshd_config': 'Include loop.conf\nInclude out.conf\nInclude bin.conf\nInclude big.conf\nPort 22\n',
    'ssh/loop.conf': 'Include sshd_config\nListenAddress 192.0.2.2\n',
    'ssh/bin.conf': 'Port 2\u0000\n',
  });
  writeFileSync(join(root, 'ssh/big.conf'), Buffer.alloc(MAX_CONFIG_BYTES + 1, 0x23));
  const outside = etcTree(t, { 'secret.conf': 'ListenAddress 203.0.113.9\n' });
  symlinkSync(join(outside, 'secret.conf'), join(root, 'ssh/out.conf'));
  const config = readSshd(new EtcRoot(root))!;
  assert.deepEqual(config.files.map((f) => `${f.path} ${f.status}`), [
    '/etc/ssh/sshd_config read',
    '/etc/ssh/loop.conf read',
    '/etc/ssh/sshd_config include-loop',
    '/etc/ssh/out.conf outside-root',
    '/etc/ssh/bin.conf binary',
    '/etc/ssh/big.conf too-large',
  ]);
  assert.deepEqual(config.directives.map((d) => `${d.key} ${d.value}`), ['ListenAddress 192.0.2.2', 'Port 22'], 'nothing from the file outside the root');
});

test('links into package data are read only where allowed (the live /etc), never from a capture', (t) => {
  const data = etcTree(t, { 'share/sshd-extra.conf': 'ListenAddress 192.0.2.9\n' });
  const root = etcTree(t, { 'ssh/sshd_config': 'Include extra.conf\nPort 22\n' });
  symlinkSync(join(data, 'share/sshd-extra.conf'), join(root, 'ssh/extra.conf'));
  const refused = readSshd(new EtcRoot(root))!;
  assert.deepEqual(refused.files.map((f) => f.status), ['read', 'outside-root']);
  const allowed = readSshd(new EtcRoot(root, [join(data, 'share') + '/']))!;
  assert.deepEqual(allowed.files.map((f) => f.status), ['read', 'read']);
  assert.deepEqual(allowed.directives.map((d) => `${d.file} ${d.value}`), ['/etc/ssh/extra.conf 192.0.2.9', '/etc/ssh/sshd_config 22']);
});

test('an absolute link to /etc/... leads to that file under the root (as on the host it came from), not to this machine\'s /etc', (t) => {
  const root = etcTree(t, { 'ssh/sshd_config': 'Include enabled.conf\n', 'ssh/available/listen.conf': 'ListenAddress 192.0.2.7\n' });
  // As Debian's sites-enabled links are made: an absolute target under /etc.
  symlinkSync('/etc/ssh/available/listen.conf', join(root, 'ssh/enabled.conf'));
  const config = readSshd(new EtcRoot(root))!;
  assert.deepEqual(config.files.map((f) => `${f.path} ${f.status}`), ['/etc/ssh/sshd_config read', '/etc/ssh/enabled.conf read']);
  assert.deepEqual(config.directives.map((d) => d.value), ['192.0.2.7']);
  symlinkSync('/etc/../../tmp/x.conf', join(root, 'ssh/climb.conf'));
  writeFileSync(join(root, 'ssh/sshd_config'), 'Include climb.conf\n');
  assert.deepEqual(readSshd(new EtcRoot(root))!.files.map((f) => f.status), ['read', 'outside-root']);
});

test('one snippet included from two places is read twice (no loop); a file including itself is a loop', (t) => {
  const root = etcTree(t, { 'ssh/sshd_config': 'Include a.conf\nInclude b.conf\n', 'ssh/a.conf': 'Include common.conf\n', 'ssh/b.conf': 'Include common.conf\n', 'ssh/common.conf': 'Port 2222\n' });
  const config = readSshd(new EtcRoot(root))!;
  assert.deepEqual(config.files.map((f) => f.status), ['read', 'read', 'read', 'read', 'read']);
  assert.deepEqual(config.directives.map((d) => `${d.file}:${d.line}`), ['/etc/ssh/common.conf:1', '/etc/ssh/common.conf:1']);
  writeFileSync(join(root, 'ssh/common.conf'), 'Include a.conf\nPort 2222\n');
  const looped = readSshd(new EtcRoot(root))!;
  assert.ok(looped.files.some((f) => f.status === 'include-loop' && /includes itself through \/etc\/ssh\/sshd_config -> \/etc\/ssh\/a\.conf -> \/etc\/ssh\/common\.conf/.test(f.detail ?? '')), JSON.stringify(looped.files));
});
