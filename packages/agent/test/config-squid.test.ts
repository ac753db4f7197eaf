// squid.conf: the parser on Debian 12's packaged squid.conf and conf.d/debian.conf and on broken
// lines; the reader's include globs, loops and links out of the root.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseSquidConf, readSquid } from '../src/config/squid.js';
import { EtcRoot } from '../src/config/etc-root.js';
import { ConfigParseError } from '../src/config-syntax.js';
import { etcTree } from './helpers/etc-tree.js';

const debian = fileURLToPath(new URL('../../../test/fixtures/config/debian12/', import.meta.url));

test("Debian 12's packaged squid.conf: the localnet lines (with fc00::/7 and fe80::/10), http_access, the conf.d include, http_port 3128", () => {
  const text = readFileSync(join(debian, 'squid/squid.conf'), 'utf8');
  const parsed = parseSquidConf(text, '/etc/squid/squid.conf');
  const at = parsed.items.findIndex((d) => d.key === 'http_access' && d.value === 'allow localhost');
  assert.deepEqual(parsed.includes, [{ pattern: '/etc/squid/conf.d/*.conf', at }]);
  const localnet = parsed.items.filter((d) => d.key === 'acl' && d.value.startsWith('localnet src'));
  assert.equal(localnet.length, 8);
  assert.deepEqual(localnet.slice(-2).map((d) => [d.line, d.value]), [
    [1339, 'localnet src fc00::/7       \t# RFC 4193 local private network range'],
    [1340, 'localnet src fe80::/10      \t# RFC 4291 link-local (directly plugged) machines'],
  ]);
  assert.deepEqual(
    parsed.items.filter((d) => d.key === 'http_access' || d.key === 'http_port').map((d) => `${d.line} ${d.key} ${d.value}`),
    ['1529 http_access deny !Safe_ports', '1532 http_access deny CONNECT !SSL_ports', '1535 http_access allow localhost manager', '1536 http_access deny manager', '1552 http_access allow localhost', '1555 http_access deny all', '2106 http_port 3128'],
  );
  const conf = parseSquidConf(readFileSync(join(debian, 'squid/conf.d/debian.conf'), 'utf8'), '/etc/squid/conf.d/debian.conf');
  assert.deepEqual(conf.items.map((d) => `${d.line} ${d.key} ${d.value}`), ['6 logfile_rotate 0'], 'its http_access allow localnet is commented out');
});

test('continued lines are one directive on the line it starts; if/else/endif give a context; a # word ends the arguments', () => {
  const parsed = parseSquidConf(
    ['acl office src 192.0.2.0/24 \\', '    2001:db8:1::/64', 'if ${process_number} = 1', 'http_port 3128 # first worker', 'else', 'http_port 3129', 'endif', 'http_access allow office', ''].join('\n'),
    '/etc/squid/squid.conf',
  );
  assert.deepEqual(
    parsed.items.map((d) => [d.line, d.key, d.value, d.context ?? null]),
    [
      [1, 'acl', 'office src 192.0.2.0/24 2001:db8:1::/64', null],
      [4, 'http_port', '3128 # first worker', 'if ${process_number} = 1'],
      [6, 'http_port', '3129', 'else of if ${process_number} = 1'],
      [8, 'http_access', 'allow office', null],
    ],
  );
  assert.equal(parsed.items[0]!.raw, 'acl office src 192.0.2.0/24 \\');
});

test('broken lines: a ConfigParseError naming file, line and directive, with the raw line (what squid -k parse refuses)', () => {
  for (const [text, line, field] of [
    ['http_port 3128\nhttp_port\n', 2, 'http_port'],
    ['acl office\n', 1, 'acl'],
    ['http_port 3128\n  http_access   # nothing\n', 2, 'http_access'],
    ['http_port 3128\nendif\n', 2, 'endif'],
    ['if ${process_number} = 1\nhttp_port 3128\n', 1, 'if'],
    ['include\n', 1, 'include'],
  ] as const) {
    assert.throws(
      () => parseSquidConf(text, '/etc/squid/squid.conf'),
      (e: unknown) => e instanceof ConfigParseError && e.line === line && e.field === field && e.file === '/etc/squid/squid.conf' && e.message.includes(text.split('\n')[line - 1]!.trim()),
      JSON.stringify(text),
    );
  }
});

test("the reader follows Debian's conf.d include in place, keeps only the directives the knowledge reads", (t) => {
  const root = etcTree(t, {
    'squid/squid.conf': 'acl office src 192.0.2.0/24\ninclude /etc/squid/conf.d/*.conf\nhttp_access deny all\nhttp_port 3128\ncache deny all\n',
    'squid/conf.d/10-office.conf': 'http_access allow office\n',
    'squid/conf.d/20-out.conf': 'tcp_outgoing_address 2001:db8:1::2\n',
    'squid/conf.d/README': 'http_port 1\n',
  });
  const config = readSquid(new EtcRoot(root))!;
  assert.equal(config.daemon, 'squid');
  assert.deepEqual(config.directives.map((d) => `${d.file}:${d.line} ${d.key}`), [
    '/etc/squid/squid.conf:1 acl',
    '/etc/squid/conf.d/10-office.conf:1 http_access',
    '/etc/squid/conf.d/20-out.conf:1 tcp_outgoing_address',
    '/etc/squid/squid.conf:3 http_access',
    '/etc/squid/squid.conf:4 http_port',
  ]);
  assert.deepEqual(config.files.map((f) => `${f.path} ${f.status}`), ['/etc/squid/squid.conf read', '/etc/squid/conf.d/10-office.conf read', '/etc/squid/conf.d/20-out.conf read']);
});

test('no squid.conf: null; a broken include is one unparsable file; loops and links out of the root are reported per file', (t) => {
  assert.equal(readSquid(new EtcRoot(etcTree(t, { hostname: 'x\n' }))), null);
  const root = etcTree(t, {
    'squid/squid.conf': 'include /etc/squid/bad.conf\ninclude /etc/squid/loop.conf\ninclude /etc/squid/out.conf\nhttp_port 3128\n',
    'squid/bad.conf': 'acl office\n',
    'squid/loop.conf': 'include /etc/squid/squid.conf\nacl office src 192.0.2.0/24\n',
  });
  const outside = etcTree(t, { 'secret.conf': 'http_port 203.0.113.9:3128\n' });
  symlinkSync(join(outside, 'secret.conf'), join(root, 'squid/out.conf'));
  const config = readSquid(new EtcRoot(root))!;
  assert.deepEqual(config.files.map((f) => `${f.path} ${f.status}`), [
    '/etc/squid/squid.conf read',
    '/etc/squid/bad.conf unparsable',
    '/etc/squid/loop.conf read',
    '/etc/squid/squid.conf include-loop',
    '/etc/squid/out.conf outside-root',
  ]);
  assert.match(config.files[1]!.detail!, /bad\.conf line 1: bad acl/);
  assert.deepEqual(config.directives.map((d) => `${d.key} ${d.value}`), ['acl office src 192.0.2.0/24', 'http_port 3128'], 'nothing from the file outside the root');
});
