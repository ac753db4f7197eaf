// memcached: the parser on Debian 12's packaged /etc/memcached.conf, read as Debian's
// systemd-memcached-wrapper reads it, and on options memcached refuses; the reader's instance
// files (/etc/memcached_NAME.conf).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseMemcachedConf, readMemcached } from '../src/config/memcached.js';
import { EtcRoot } from '../src/config/etc-root.js';
import { ConfigParseError } from '../src/config-syntax.js';
import { etcTree } from './helpers/etc-tree.js';

const debian = fileURLToPath(new URL('../../../test/fixtures/config/debian12/memcached.conf', import.meta.url));
const CONF = '/etc/memcached.conf';

test("Debian 12's memcached.conf: the options the wrapper passes (not -d, not logfile), each with its line", () => {
  const parsed = parseMemcachedConf(readFileSync(debian, 'utf8'), CONF);
  assert.deepEqual(parsed.items.map((d) => `${d.line} ${d.key} ${d.value}`), ['23 -m 64', '26 -p 11211', '30 -u memcache', '35 -l 127.0.0.1', '50 -P /var/run/memcached/memcached.pid']);
});

test('several options a line, attached values, long options, comments as the wrapper strips them', () => {
  const parsed = parseMemcachedConf(['-l 127.0.0.1,[::1] -p 11212 # two', '-l192.0.2.2', '--listen=[2001:db8::2]:11213', '--udp-port 0', 'logfile /var/log/x.log', '-d', '  -v', ''].join('\n'), CONF);
  assert.deepEqual(parsed.items.map((d) => [d.line, d.key, d.value]), [
    [1, '-l', '127.0.0.1,[::1]'],
    [1, '-p', '11212'],
    [2, '-l', '192.0.2.2'],
    [3, '--listen', '[2001:db8::2]:11213'],
    [4, '--udp-port', '0'],
    [7, '-v', ''],
  ]);
});

test('an address option without its value (memcached: "option requires an argument"): a ConfigParseError naming file, line and option', () => {
  for (const [text, line, field] of [
    ['-m 64\n-l\n', 2, '-l'],
    ['-p 11211 -U\n', 1, '-U'],
    ['--listen=\n', 1, '--listen'],
  ] as const) {
    assert.throws(
      () => parseMemcachedConf(text, CONF),
      (e: unknown) => e instanceof ConfigParseError && e.file === CONF && e.line === line && e.field === field && e.message.includes(text.split('\n')[line - 1]!),
      JSON.stringify(text),
    );
  }
});

test('the reader: /etc/memcached.conf and each instance file, with the instance as context; none: null', (t) => {
  assert.equal(readMemcached(new EtcRoot(etcTree(t, { 'hostname': 'x\n' }))), null);
  const root = etcTree(t, { 'memcached.conf': '-m 64\n-l 127.0.0.1\n', 'memcached_sessions.conf': '-p 11212\n-l 0.0.0.0\n', 'memcached_broken.conf': '-l\n' });
  const config = readMemcached(new EtcRoot(root))!;
  assert.equal(config.daemon, 'memcached');
  assert.deepEqual(config.files.map((f) => `${f.path} ${f.status}`), ['/etc/memcached.conf read', '/etc/memcached_broken.conf unparsable', '/etc/memcached_sessions.conf read']);
  assert.deepEqual(config.directives.map((d) => `${d.context ?? '-'} ${d.file}:${d.line} ${d.key} ${d.value}`), ['- /etc/memcached.conf:2 -l 127.0.0.1', 'instance sessions /etc/memcached_sessions.conf:1 -p 11212', 'instance sessions /etc/memcached_sessions.conf:2 -l 0.0.0.0']);
});
