// HAProxy: the haproxy.cfg parser on Debian 12's packaged file and on lines `haproxy -c`
// refuses (an unmatched quote, a statement out of any section, a lone .endif, an unterminated
// .if, a last line without LF); the reader: CONFIG= and EXTRAOPTS=-f from /etc/default/haproxy
// as Debian's haproxy.service passes them, a -f directory's *.cfg files, links out of the root.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { haproxyWords, parseHaproxyConfig, readHaproxy } from '../src/config/haproxy.js';
import { EtcRoot } from '../src/config/etc-root.js';
import { ConfigParseError } from '../src/config-syntax.js';
import { etcTree } from './helpers/etc-tree.js';

const fixtures = fileURLToPath(new URL('../../../test/fixtures/config/debian12/', import.meta.url));
const CFG = '/etc/haproxy/haproxy.cfg';

test("Debian 12's haproxy.cfg: global and defaults sections only, no bind; its /etc/default/haproxy sets nothing", () => {
  const parsed = parseHaproxyConfig(readFileSync(join(fixtures, 'haproxy/haproxy.cfg'), 'utf8'), CFG);
  assert.deepEqual(parsed.items.filter((d) => d.context === undefined).map((d) => `${d.line} ${d.key}`), ['1 global', '20 defaults']);
  assert.deepEqual(parsed.items.filter((d) => d.key === 'bind'), []);
  const stats = parsed.items.find((d) => d.key === 'stats')!;
  assert.deepEqual([stats.line, stats.value, stats.context], [5, 'socket /run/haproxy/admin.sock mode 660 level admin', 'global']);
  assert.equal(parsed.items.find((d) => d.line === 22)?.value, 'http'); // mode http, in defaults
  assert.equal(parsed.items.length, 29);
});

test("words as parse_line() splits them: quotes, escapes, comments; ${VAR} expanded only inside double quotes", () => {
  assert.deepEqual(haproxyWords('bind :80,:::80 v6only # both'), { words: ['bind', ':80,:::80', 'v6only'] });
  assert.deepEqual(haproxyWords(`acl a src "192.0.2.0/24" '2001:db8::/32' \\#x`), { words: ['acl', 'a', 'src', '192.0.2.0/24', '2001:db8::/32', '#x'] });
  assert.deepEqual(haproxyWords('bind "${ADDR}:80" ${X}'), { words: ['bind', '${ADDR}:80', '${X}'] });
  assert.deepEqual(haproxyWords('bind ":80'), { error: 'unmatched quote', at: 5 });
  assert.deepEqual(haproxyWords('bind "${ADDR:80"'), { error: 'unmatched brace in environment variable name', at: 7 });
});

test('sections give their statements a context; .if blocks and scopes are read through', () => {
  const parsed = parseHaproxyConfig(['global', '  daemon', '[scope]', 'frontend web', '  bind :80 # IPv4', '.if defined(X)', '  acl lan src 192.0.2.0/24', '.endif', 'listen l2', '  bind "192.0.2.2:81"', ''].join('\n'), CFG);
  assert.deepEqual(parsed.items.map((d) => [d.line, d.key, d.value, d.context ?? null]), [
    [1, 'global', '', null],
    [2, 'daemon', '', 'global'],
    [4, 'frontend', 'web', null],
    [5, 'bind', ':80', 'frontend web'],
    [7, 'acl', 'lan src 192.0.2.0/24', 'frontend web'],
    [9, 'listen', 'l2', null],
    [10, 'bind', '192.0.2.2:81', 'listen l2'],
  ]);
  assert.equal(parsed.items[3]!.raw, '  bind :80 # IPv4');
  assert.deepEqual(parsed.includes, []);
});

test('lines haproxy -c refuses: a ConfigParseError naming file, line and statement, with the raw line', () => {
  for (const [text, line, field] of [
    ['frontend f\n  bind ":80\n', 2, 'bind'], // unmatched quote at position 8
    ['bind :80\n', 1, 'bind'], // unknown keyword 'bind' out of section
    ['frontend f\n  bind :80\n.endif\n', 3, '.endif'], // lone '.endif' with no matching '.if'
    ['frontend f\n.if defined(X)\n  bind :80\n', 2, '.if'], // non-terminated '.if' block
    ['frontend f\n  bind :80', 2, 'bind'], // Missing LF on last line
    ['frontend f\n  .include x\n', 2, '.include'], // unknown directive
  ] as const) {
    assert.throws(
      () => parseHaproxyConfig(text, CFG),
      (e: unknown) => e instanceof ConfigParseError && e.file === CFG && e.line === line && e.field === field && e.raw === text.split('\n')[line - 1],
      JSON.stringify(text),
    );
  }
});

test('the reader: the packaged files give no statement it keeps; no haproxy.cfg: null', (t) => {
  assert.equal(readHaproxy(new EtcRoot(etcTree(t, { hostname: 'x\n' }))), null);
  const root = etcTree(t, {
    'haproxy/haproxy.cfg': readFileSync(join(fixtures, 'haproxy/haproxy.cfg'), 'utf8'),
    'default/haproxy': readFileSync(join(fixtures, 'default/haproxy'), 'utf8'),
  });
  const config = readHaproxy(new EtcRoot(root))!;
  assert.equal(config.daemon, 'haproxy');
  assert.deepEqual(config.files.map((f) => `${f.path} ${f.status}`), ['/etc/default/haproxy read', '/etc/haproxy/haproxy.cfg read']);
  assert.deepEqual(config.directives, []);
});

test('the reader: CONFIG= a directory (its *.cfg in name order), EXTRAOPTS -f files, a broken file and a link out of the root per file', (t) => {
  const root = etcTree(t, {
    'default/haproxy': 'CONFIG="/etc/haproxy/conf.d"\nEXTRAOPTS="-f /etc/haproxy/extra.cfg -f /etc/haproxy/gone.cfg -S /run/haproxy-master.sock"\n',
    'haproxy/haproxy.cfg': 'frontend unused\n  bind :1\n',
    'haproxy/conf.d/20-web.cfg': 'frontend web\n  bind :80\n  acl lan src 192.0.2.0/24\n  http-request deny unless lan\n  mode http\n',
    'haproxy/conf.d/10-broken.cfg': 'frontend x\n  bind "\n',
    'haproxy/conf.d/.hidden.cfg': 'frontend h\n  bind :2\n',
    'haproxy/conf.d/notes.txt': 'frontend n\n  bind :3\n',
    'haproxy/extra.cfg': 'listen stats\n  bind :::8404 v6only\n',
  });
  const outside = etcTree(t, { 'secret.cfg': 'frontend s\n  bind 203.0.113.9:80\n' });
  symlinkSync(join(outside, 'secret.cfg'), join(root, 'haproxy/conf.d/30-out.cfg'));
  const config = readHaproxy(new EtcRoot(root))!;
  assert.deepEqual(config.files.map((f) => `${f.path} ${f.status}`), [
    '/etc/default/haproxy read',
    '/etc/haproxy/conf.d/10-broken.cfg unparsable',
    '/etc/haproxy/conf.d/20-web.cfg read',
    '/etc/haproxy/conf.d/30-out.cfg outside-root',
    '/etc/haproxy/extra.cfg read',
    '/etc/haproxy/gone.cfg missing',
  ]);
  assert.deepEqual(config.directives.map((d) => `${d.file}:${d.line} ${d.key} ${d.value} (${d.context})`), [
    '/etc/haproxy/conf.d/20-web.cfg:2 bind :80 (frontend web)',
    '/etc/haproxy/conf.d/20-web.cfg:3 acl lan src 192.0.2.0/24 (frontend web)',
    '/etc/haproxy/conf.d/20-web.cfg:4 http-request deny unless lan (frontend web)',
    '/etc/haproxy/extra.cfg:2 bind :::8404 v6only (listen stats)',
  ]);
});
