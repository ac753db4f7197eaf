// Redis: the redis.conf parser on Debian 12's packaged file and on lines redis-server refuses
// ("FATAL CONFIG FILE ERROR": unbalanced quotes, bind without an address); the reader's
// includes (globs, as Redis 7.0 takes them), loops and links out of the root.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseRedisConf, readRedis } from '../src/config/redis.js';
import { EtcRoot } from '../src/config/etc-root.js';
import { ConfigParseError } from '../src/config-syntax.js';
import { etcTree } from './helpers/etc-tree.js';

const debian = fileURLToPath(new URL('../../../test/fixtures/config/debian12/redis/redis.conf', import.meta.url));
const CONF = '/etc/redis/redis.conf';

test("Debian 12's redis.conf: bind 127.0.0.1 -::1 on line 87, port 6379 on line 138, no include", () => {
  const parsed = parseRedisConf(readFileSync(debian, 'utf8'), CONF);
  const pick = (key: string) => parsed.items.filter((d) => d.key === key).map((d) => `${d.line} ${d.value}`);
  assert.deepEqual(pick('bind'), ['87 127.0.0.1 -::1']);
  assert.deepEqual(pick('port'), ['138 6379']);
  assert.deepEqual(parsed.includes, []);
  assert.ok(parsed.items.length > 40);
});

test('directives in any case, quoted arguments, include lines', () => {
  const parsed = parseRedisConf(['  BIND "127.0.0.1" -::1', "port '6380'", 'include /etc/redis/conf.d/*.conf', 'save ""', ''].join('\n'), CONF);
  assert.deepEqual(parsed.items.map((d) => [d.line, d.key, d.value]), [
    [1, 'BIND', '"127.0.0.1" -::1'],
    [2, 'port', "'6380'"],
    [4, 'save', '""'],
  ]);
  assert.deepEqual(parsed.includes, [{ pattern: '/etc/redis/conf.d/*.conf', at: 2 }]);
});

test('lines redis-server refuses: a ConfigParseError naming file, line and directive, with the raw line', () => {
  for (const [text, line, field] of [
    ['port 6379\nbind "127.0.0.1\n', 2, 'bind'], // Unbalanced quotes in configuration line
    ['bind "127.0.0.1"x\n', 1, 'bind'],
    ['# ok\nbind\n', 2, 'bind'], // wrong number of arguments
    ['include a.conf b.conf\n', 1, 'include'],
  ] as const) {
    assert.throws(
      () => parseRedisConf(text, CONF),
      (e: unknown) => e instanceof ConfigParseError && e.file === CONF && e.line === line && e.field === field && e.raw === text.split('\n')[line - 1],
      JSON.stringify(text),
    );
  }
});

test('the reader: includes in place (globs), only bind and port kept, loops, links out of the root and broken files per file; no redis.conf: null', (t) => {
  assert.equal(readRedis(new EtcRoot(etcTree(t, { 'hostname': 'x\n' }))), null);
  const root = etcTree(t, {
    'redis/redis.conf': 'bind 127.0.0.1 -::1\ninclude /etc/redis/conf.d/*.conf\nport 6379\ninclude /etc/redis/redis.conf\ninclude relative.conf\n',
    'redis/conf.d/10-bind.conf': 'bind 0.0.0.0\nmaxmemory 1gb\n',
    'redis/conf.d/20-broken.conf': 'bind "x\n',
  });
  const outside = etcTree(t, { 'secret.conf': 'bind 203.0.113.9\n' });
  symlinkSync(join(outside, 'secret.conf'), join(root, 'redis/conf.d/30-out.conf'));
  const config = readRedis(new EtcRoot(root))!;
  assert.equal(config.daemon, 'redis');
  assert.deepEqual(config.files.map((f) => `${f.path} ${f.status}`), [
    '/etc/redis/redis.conf read',
    '/etc/redis/conf.d/10-bind.conf read',
    '/etc/redis/conf.d/20-broken.conf unparsable',
    '/etc/redis/conf.d/30-out.conf outside-root',
    '/etc/redis/redis.conf include-loop',
  ]);
  assert.deepEqual(config.directives.map((d) => `${d.file}:${d.line} ${d.key} ${d.value}`), ['/etc/redis/redis.conf:1 bind 127.0.0.1 -::1', '/etc/redis/conf.d/10-bind.conf:1 bind 0.0.0.0', '/etc/redis/redis.conf:3 port 6379']);
});
