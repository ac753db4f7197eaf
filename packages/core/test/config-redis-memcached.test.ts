// Redis and memcached knowledge: which bind / -l lines make the server IPv4-only (and which do
// not: Debian's loopback defaults, port 0, IPv6 entries), the fixes, and the address checker on
// their syntax (the real files: packages/agent/test/config-redis, config-memcached; the real
// servers: test/netns/config-redis, config-memcached).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkAddressSyntax, memcachedConfigKnowledge as mc, redisArgs, redisConfigKnowledge as redis } from '../src/knowledge/config/index.js';
import type { ConfigDirective, HostAddress } from '../src/report.js';

const rd = (line: number, key: string, value: string): ConfigDirective => ({ file: '/etc/redis/redis.conf', line, key, value, raw: `${key} ${value}`, context: undefined } as ConfigDirective);
const mcd = (line: number, key: string, value: string, context?: string): ConfigDirective => ({ file: '/etc/memcached.conf', line, key, value, raw: `${key} ${value}`, ...(context ? { context } : {}) });
const host: HostAddress[] = [{ family: 6, address: '2001:db8:1::2', prefixLength: 64, interface: 'veth0', scope: 'global', flags: ['permanent'] }];

test('redis arguments as sdssplitargs splits them; unbalanced quotes: null', () => {
  assert.deepEqual(redisArgs('bind "127.0.0.1" -::1'), ['bind', '127.0.0.1', '-::1']);
  assert.deepEqual(redisArgs("x 'a\\'b' \"c\\x41\\n\""), ['x', "a'b", 'cA\n']);
  assert.equal(redisArgs('bind "127.0.0.1'), null);
  assert.equal(redisArgs('bind "a"b'), null);
});

test('redis bind: 0.0.0.0 or * alone is IPv4-only (the fix adds -::*); loopback, IPv6 entries, port 0 and earlier lines are not judged', () => {
  const off = (value: string, others: ConfigDirective[] = []) => {
    const d = rd(87, 'bind', value);
    return redis.ipv6Off(d, [d, ...others]);
  };
  assert.deepEqual(off('0.0.0.0'), { why: off('0.0.0.0')!.why, fix: 'bind 0.0.0.0 -::*', ports: [6379] });
  assert.match(off('*')!.why, /^\* is every IPv4 address and nothing else: Redis listens on port 6379 over IPv4 only/);
  assert.deepEqual(off('* 127.0.0.1', [rd(138, 'port', '6380')])!.ports, [6380]);
  for (const value of ['127.0.0.1', '127.0.0.1 -::1', '* -::*', '::', '192.0.2.2', '0.0.0.0 ::1']) assert.equal(off(value), null, value);
  assert.equal(off('0.0.0.0', [rd(138, 'port', '0')]), null, 'port 0: no TCP');
  const first = rd(80, 'bind', '0.0.0.0');
  assert.equal(redis.ipv6Off(first, [first, rd(90, 'BIND', '* -::*')]), null, 'a later bind wins');
});

test('redis bind addresses for the checker: bare IPv6, the - prefix dropped, brackets and lengths refused', () => {
  const check = (value: string) => redis.addresses(rd(87, 'bind', value), []).map((u) => [u.token, checkAddressSyntax(u, host, redis.convertsMappedPeers)?.corrected ?? null]);
  assert.deepEqual(check('127.0.0.1 -[::1]'), [['127.0.0.1', null], ['[::1]', '::1']]);
  assert.deepEqual(check('* -::*'), []);
  assert.deepEqual(check('2001:db8:1::2/64'), [['2001:db8:1::2/64', '2001:db8:1::2']]);
  assert.deepEqual(check('-::1 fe80::1%veth0'), [['::1', null], ['fe80::1%veth0', null]]);
});

test('memcached -l: 0.0.0.0 with no IPv6 entry on any -l line is IPv4-only (the fix adds [::]); loopback, IPv6 entries, other instances', () => {
  const off = (d: ConfigDirective, all: ConfigDirective[]) => mc.ipv6Off(d, all);
  const l = mcd(35, '-l', '0.0.0.0');
  assert.deepEqual(off(l, [l]), { why: off(l, [l])!.why, fix: '-l 0.0.0.0,[::]', ports: [11211] });
  assert.match(off(l, [l])!.why, /^0\.0\.0\.0 is every IPv4 address and nothing else: memcached listens on port 11211 over IPv4 only/);
  assert.deepEqual(off(l, [mcd(26, '-p', '11212'), mcd(27, '-U', '11212'), l])!.ports, [11212, 11212]);
  assert.equal(off(l, [l, mcd(36, '-l', '[::1]')]), null, 'several -l add up');
  assert.equal(off(l, [l, mcd(36, '--listen', '2001:db8::2')]), null, 'a bare IPv6 address too');
  assert.notEqual(off(l, [l, mcd(36, '-l', '::1', 'instance x')]), null, 'another instance\'s -l is not this one\'s');
  for (const value of ['127.0.0.1', '0.0.0.0,::', '192.0.2.2', '0.0.0.0,[::]:11211']) {
    const d = mcd(35, '-l', value);
    assert.equal(off(d, [d]), null, value);
  }
  const a = mcd(35, '-l', '0.0.0.0');
  const b = mcd(36, '-l', '0.0.0.0:11212');
  assert.equal(off(a, [a, b]), null, 'one finding, on the last line with 0.0.0.0');
  assert.notEqual(off(b, [a, b]), null);
});

test('memcached -l addresses for the checker: bare IPv6 taken alone, brackets before a port', () => {
  const check = (value: string) => mc.addresses(mcd(35, '-l', value), []).map((u) => checkAddressSyntax(u, host, mc.convertsMappedPeers));
  assert.deepEqual(check('127.0.0.1,::1,[::1],[2001:db8:1::2]:11212'), [null, null, null, null]);
  const d = mcd(35, '-l', '2001:db8:1::2:11212');
  const [use] = mc.addresses(d, []);
  const refused = checkAddressSyntax(use!, host, null)!;
  assert.equal(refused.severity, 'critical', 'no IPv6 address as a whole (five digits): memcached exits');
  assert.equal(d.raw.replace(use!.token, refused.corrected!), '-l [2001:db8:1::2]:11212');
  const p = check('2001:db8:1::2:2222')[0]!;
  assert.equal(p.corrected, '[2001:db8:1::2]:2222');
  assert.match(p.problem, /one IPv6 address, not 2001:db8:1::2 port 2222/);
  assert.equal(check('[2001:db8:1::2]/64')[0]!.severity, 'critical');
});

test('no access lists; the checkers the fixes print', () => {
  const acl = (k: typeof mc) => (k.acl as (d: ConfigDirective, all: ConfigDirective[]) => unknown)(mcd(1, '-l', '0.0.0.0'), []);
  assert.equal(acl(mc), null);
  assert.equal(acl(redis), null);
  assert.equal(redis.checker, "redis-server /etc/redis/redis.conf --port 0 --unixsocket '' --daemonize no --logfile '' 2>&1 | tail -n 4");
  assert.equal(mc.checker, "systemctl restart memcached && ss -Hltn 'sport = :11211'");
  assert.equal(redis.convertsMappedPeers, null);
  assert.equal(mc.convertsMappedPeers, null);
});
