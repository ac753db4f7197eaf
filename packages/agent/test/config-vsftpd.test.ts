// vsftpd.conf: the parser on Debian 12's packaged file and on lines vsftpd 3.0.3 refuses
// (each refusal checked on the real vsftpd: its "500 OOPS" message is in the reason); the reader.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseVsftpdConfig, readVsftpd } from '../src/config/vsftpd.js';
import { EtcRoot } from '../src/config/etc-root.js';
import { ConfigParseError } from '../src/config-syntax.js';
import { etcTree } from './helpers/etc-tree.js';

const debian = fileURLToPath(new URL('../../../test/fixtures/config/debian12/', import.meta.url));

test("Debian 12's packaged vsftpd.conf: listen=NO on line 14, listen_ipv6=YES on line 22, no tcp_wrappers line", () => {
  const parsed = parseVsftpdConfig(readFileSync(join(debian, 'vsftpd.conf'), 'utf8'), '/etc/vsftpd.conf');
  assert.deepEqual(parsed.includes, []);
  assert.deepEqual(
    parsed.items.map((d) => `${d.line} ${d.key}=${d.value}`),
    [
      '14 listen=NO',
      '22 listen_ipv6=YES',
      '25 anonymous_enable=NO',
      '28 local_enable=YES',
      '48 dirmessage_enable=YES',
      '54 use_localtime=YES',
      '57 xferlog_enable=YES',
      '60 connect_from_port_20=YES',
      '142 secure_chroot_dir=/var/run/vsftpd/empty',
      '145 pam_service_name=vsftpd',
      '149 rsa_cert_file=/etc/ssl/certs/ssl-cert-snakeoil.pem',
      '150 rsa_private_key_file=/etc/ssl/private/ssl-cert-snakeoil.key',
      '151 ssl_enable=NO',
    ],
  );
  const config = readVsftpd(new EtcRoot(join(debian)))!;
  assert.deepEqual(config.directives.map((d) => d.raw), ['listen=NO', 'listen_ipv6=YES']);
  assert.deepEqual(config.files, [{ path: '/etc/vsftpd.conf', status: 'read' }]);
});

test('option=value as vsftpd reads it: leading blanks dropped, the value to the end of the line, later lines kept in order', () => {
  const parsed = parseVsftpdConfig('\tlisten=yes\n\n   \nlisten_address6=2001:db8::1\nlisten=TRUE\n', '/etc/vsftpd.conf');
  assert.deepEqual(parsed.items.map((d) => [d.line, d.key, d.value, d.raw]), [
    [1, 'listen', 'yes', '\tlisten=yes'],
    [4, 'listen_address6', '2001:db8::1', 'listen_address6=2001:db8::1'],
    [5, 'listen', 'TRUE', 'listen=TRUE'],
  ]);
});

test('lines vsftpd refuses: a ConfigParseError naming file, line and option, with the raw line', () => {
  for (const [text, line, field, reason] of [
    ['listen_ipv6=YES\nlisten = YES\n', 2, 'listen', /unrecognised variable/],
    ['listen\n', 1, 'listen', /missing value/],
    ['  # an indented comment\n', 1, '# an indented comment', /missing value/],
    ['=YES\n', 1, 'option', /unrecognised variable/],
    ['listen=Y\n', 1, 'listen', /bad bool value/],
    ['listen=YES #standalone\n', 1, 'listen', /bad bool value/],
    ['anonymous_enable=NO\r\nlisten=YES\r\n', 2, 'listen', /bad bool value/],
    ['tcp_wrappers=on\n', 1, 'tcp_wrappers', /bad bool value/],
  ] as const) {
    assert.throws(
      () => parseVsftpdConfig(text, '/etc/vsftpd.conf'),
      (e: unknown) => e instanceof ConfigParseError && e.file === '/etc/vsftpd.conf' && e.line === line && e.field === field && reason.test(e.message) && e.message.includes(text.split('\n')[line - 1]!.replace(/\r$/, '').trim()),
      JSON.stringify(text),
    );
  }
  assert.doesNotThrow(() => parseVsftpdConfig('ftpd_banner=Welcome = hello\nlisten_port=abc\n', '/etc/vsftpd.conf'), 'values of other options are vsftpd\'s business');
});

test('the reader: null without vsftpd.conf; a refused file is one unparsable file; a link out of the root is refused', (t) => {
  assert.equal(readVsftpd(new EtcRoot(etcTree(t, { hostname: 'x\n' }))), null);
  const broken = readVsftpd(new EtcRoot(etcTree(t, { 'vsftpd.conf': 'listen=YES\nlisten_ipv6 = NO\n' })))!;
  assert.deepEqual(broken.files.map((f) => f.status), ['unparsable']);
  assert.match(broken.files[0]!.detail!, /vsftpd\.conf line 2/);
  assert.deepEqual(broken.directives, []);
  const root = etcTree(t, {});
  const outside = etcTree(t, { 'vsftpd.conf': 'listen=YES\n' });
  symlinkSync(join(outside, 'vsftpd.conf'), join(root, 'vsftpd.conf'));
  const linked = readVsftpd(new EtcRoot(root))!;
  assert.equal(linked.files[0]!.status, 'outside-root');
  assert.deepEqual(linked.directives, []);
});
