// dovecot.conf: the parser on Debian 12's packaged files (the pristine copies under
// /usr/share/dovecot) and on broken ones (Dovecot's own messages in the reason); the reader
// with !include / !include_try globs relative to the including file, loops and links.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDovecotConfig, readDovecot } from '../src/config/dovecot.js';
import { EtcRoot } from '../src/config/etc-root.js';
import { ConfigParseError } from '../src/config-syntax.js';
import { etcTree } from './helpers/etc-tree.js';

const debian = fileURLToPath(new URL('../../../test/fixtures/config/debian12/', import.meta.url));

test("Debian 12's dovecot.conf: three includes, listen left at its default, one dict section", () => {
  const parsed = parseDovecotConfig(readFileSync(join(debian, 'dovecot/dovecot.conf'), 'utf8'), '/etc/dovecot/dovecot.conf');
  assert.deepEqual(parsed.includes, [
    { pattern: '/usr/share/dovecot/protocols.d/*.protocol', at: 0 },
    { pattern: 'conf.d/*.conf', at: 1 },
    { pattern: 'local.conf', at: 1 },
  ]);
  assert.deepEqual(parsed.items.map((d) => [d.line, d.key, d.value, d.context ?? null]), [[90, 'dict', '', null]]);
});

test("Debian 12's tree: conf.d read in order with auth-system.conf.ext; the listeners and settings the knowledge reads", () => {
  const config = readDovecot(new EtcRoot(debian))!;
  assert.deepEqual(config.files.map((f) => `${f.path.replace('/etc/dovecot/', '')} ${f.status}`), [
    'dovecot.conf read',
    'conf.d/10-auth.conf read',
    'conf.d/auth-system.conf.ext read',
    'conf.d/10-director.conf read',
    'conf.d/10-logging.conf read',
    'conf.d/10-mail.conf read',
    'conf.d/10-master.conf read',
    'conf.d/10-ssl.conf read',
    'conf.d/10-tcpwrapper.conf read',
    'conf.d/15-lda.conf read',
    'conf.d/15-mailboxes.conf read',
    'conf.d/20-imap.conf read',
    'conf.d/90-acl.conf read',
    'conf.d/90-plugin.conf read',
    'conf.d/90-quota.conf read',
    'local.conf missing',
  ]);
  assert.deepEqual(config.directives.map((d) => `${d.file.replace('/etc/dovecot/', '')}:${d.line} [${d.context ?? ''}] ${d.key} ${d.value}`), [
    'conf.d/10-auth.conf:100 [] auth_mechanisms plain',
    'conf.d/10-director.conf:40 [service director] inet_listener ',
    'conf.d/10-master.conf:18 [service imap-login] inet_listener imap',
    'conf.d/10-master.conf:21 [service imap-login] inet_listener imaps',
    'conf.d/10-master.conf:39 [service pop3-login] inet_listener pop3',
    'conf.d/10-master.conf:42 [service pop3-login] inet_listener pop3s',
    'conf.d/10-master.conf:49 [service submission-login] inet_listener submission',
    'conf.d/10-ssl.conf:6 [] ssl yes',
  ]);
});

test('settings, sections with their context, comments after values, quotes, continued lines', () => {
  const text = [
    'listen = *  # every IPv4 address',
    'login_trusted_networks = 192.0.2.0/24 \\',
    '   [2001:db8:1::]/64',
    'service imap-login {',
    '  inet_listener imap {',
    '    address=[2001:db8:1::2]',
    '    port = 143',
    '  }',
    '  inet_listener "imaps" {',
    '  }',
    '}',
    'ssl_cert = </etc/dovecot/private/dovecot.pem',
    'mail_location = "maildir:~/Mail#x"',
    '',
  ].join('\n');
  const parsed = parseDovecotConfig(text, '/etc/dovecot/dovecot.conf');
  assert.deepEqual(parsed.items.map((d) => [d.line, d.key, d.value, d.context ?? null]), [
    [1, 'listen', '*', null],
    [2, 'login_trusted_networks', '192.0.2.0/24 [2001:db8:1::]/64', null],
    [4, 'service', 'imap-login', null],
    [5, 'inet_listener', 'imap', 'service imap-login'],
    [6, 'address', '[2001:db8:1::2]', 'service imap-login > inet_listener imap'],
    [7, 'port', '143', 'service imap-login > inet_listener imap'],
    [9, 'inet_listener', 'imaps', 'service imap-login'],
    [12, 'ssl_cert', '</etc/dovecot/private/dovecot.pem', null],
    [13, 'mail_location', 'maildir:~/Mail#x', null],
  ]);
  assert.equal(parsed.items[1]!.raw, 'login_trusted_networks = 192.0.2.0/24 \\\n   [2001:db8:1::]/64');
});

test("broken files: Dovecot's own refusals as a ConfigParseError naming file, line and field, with the raw line", () => {
  for (const [text, line, field, reason] of [
    ['listen *\n', 1, 'listen', /Expecting '\{'/],
    ['service imap-login {\n}\n}\n', 3, '}', /Unexpected '\}'/],
    ['protocols = imap\nservice imap-login {\n  inet_listener imap {\n  }\n', 2, 'service imap-login', /Missing '\}'/],
    ['service imap-login { port = 143 }\n', 1, 'service', /Garbage after '\{'/],
    ['= 143\n', 1, 'setting', /without a setting name/],
  ] as const) {
    assert.throws(
      () => parseDovecotConfig(text, '/etc/dovecot/dovecot.conf'),
      (e: unknown) => e instanceof ConfigParseError && e.file === '/etc/dovecot/dovecot.conf' && e.line === line && e.field === field && reason.test(e.message) && e.message.includes(text.split('\n')[line - 1]!),
      JSON.stringify(text),
    );
  }
});

test('the reader: includes relative to the including file, in glob order; loops and links out of the root per file; null without dovecot.conf', (t) => {
  const root = etcTree(t, {
    'dovecot/dovecot.conf': '!include conf.d/*.conf\nlisten = *\n!include_try /etc/dovecot/local.conf\n',
    'dovecot/conf.d/20-b.conf': 'login_trusted_networks = 192.0.2.0/24\n',
    'dovecot/conf.d/10-a.conf': '!include_try a.ext\n',
    'dovecot/conf.d/a.ext': 'listen = *, ::\n!include ../dovecot.conf\n',
    'dovecot/conf.d/README': 'listen = ignored\n',
  });
  const outside = etcTree(t, { 'local.conf': 'listen = 203.0.113.9\n' });
  symlinkSync(join(outside, 'local.conf'), join(root, 'dovecot/local.conf'));
  const config = readDovecot(new EtcRoot(root))!;
  assert.deepEqual(config.files.map((f) => `${f.path} ${f.status}`), [
    '/etc/dovecot/dovecot.conf read',
    '/etc/dovecot/conf.d/10-a.conf read',
    '/etc/dovecot/conf.d/a.ext read',
    '/etc/dovecot/dovecot.conf include-loop',
    '/etc/dovecot/conf.d/20-b.conf read',
    '/etc/dovecot/local.conf outside-root',
  ]);
  assert.deepEqual(config.directives.map((d) => `${d.file}:${d.line} ${d.key} = ${d.value}`), [
    '/etc/dovecot/conf.d/a.ext:1 listen = *, ::',
    '/etc/dovecot/conf.d/20-b.conf:1 login_trusted_networks = 192.0.2.0/24',
    '/etc/dovecot/dovecot.conf:2 listen = *',
  ]);
  assert.equal(readDovecot(new EtcRoot(etcTree(t, { hostname: 'x\n' }))), null);
});
