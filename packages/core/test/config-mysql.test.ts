// MariaDB / MySQL knowledge: option names and values as mariadbd reads them, which bind-address
// makes the server IPv4-only (and which it does not), and the address checker on bind-address
// (the real files: packages/agent/test/config-mariadb; the real server: test/netns/config-mariadb).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkAddressSyntax, isServerGroup, mysqlConfigKnowledge as my, mysqlOptionName, mysqlOptionValue } from '../src/knowledge/config/index.js';
import type { ConfigDirective } from '../src/report.js';

const opt = (line: number, key: string, value: string, group = 'mysqld'): ConfigDirective => ({ file: '/etc/mysql/mariadb.conf.d/50-server.cnf', line, key, value, raw: `${key}${value === '' ? '' : `            = ${value}`}`, context: `[${group}]` });

test('option names: _ and - alike, case and loose- dropped; values: whole-value quotes and escapes; the server groups', () => {
  assert.equal(mysqlOptionName('Loose_Bind_Address'), 'bind-address');
  assert.equal(mysqlOptionValue('"0.0.0.0"'), '0.0.0.0');
  assert.equal(mysqlOptionValue("'a'b"), "'a'b", 'quotes only around the whole value');
  assert.equal(mysqlOptionValue('a\\sb\\\\c'), 'a b\\c');
  for (const g of ['mysqld', 'server', 'MYSQLD', 'mariadb', 'mariadbd', 'mariadb-10.11', 'mysqld-8.0', 'client-server', 'galera']) assert.equal(isServerGroup(g), true, g);
  for (const g of ['client', 'mysql', 'mysqld_safe', 'mysqldump', 'embedded', ' mysqld']) assert.equal(isServerGroup(g), false, g);
});

test('bind-address 0.0.0.0: IPv4-only, the fix is * (a list gets ::); loopback, specific addresses, *, ::, lists with IPv6 and client groups are not judged', () => {
  const off = (value: string, others: ConfigDirective[] = [], group = 'mysqld') => {
    const d = opt(5, 'bind-address', value, group);
    return my.ipv6Off(d, [...others, d]);
  };
  const any = off('0.0.0.0')!;
  assert.equal(any.fix, 'bind-address            = *');
  assert.deepEqual(any.ports, [3306]);
  assert.match(any.why, /^0\.0\.0\.0 is every IPv4 address and nothing else: the server listens on port 3306 over IPv4 only/);
  assert.equal(off('"0.0.0.0"')!.fix, 'bind-address            = *');
  assert.equal(off('127.0.0.1,0.0.0.0')!.fix, 'bind-address            = 127.0.0.1,0.0.0.0,::');
  assert.deepEqual(off('0.0.0.0', [opt(2, 'port', '3307', 'mariadb')])!.ports, [3307]);
  for (const value of ['127.0.0.1', '192.0.2.2', '*', '::', '0.0.0.0,::', 'db.example', '']) assert.equal(off(value), null, value);
  assert.equal(off('0.0.0.0', [], 'client'), null, 'a client group');
  assert.equal(off('0.0.0.0', [opt(9, 'skip-networking', '')]), null, 'skip-networking: no TCP at all');
  assert.notEqual(off('0.0.0.0', [opt(9, 'skip_networking', 'OFF')]), null, 'skip-networking off');
  const first = opt(2, 'bind-address', '0.0.0.0');
  assert.equal(my.ipv6Off(first, [first, opt(9, 'bind_address', '*', 'mariadb')]), null, 'a later line wins');
});

test('bind-address entries for the checker: bare IPv6, no brackets, no prefix length, zone taken', () => {
  const check = (value: string) => my.addresses(opt(4, 'bind-address', value), []).map((u) => [u.token, checkAddressSyntax(u, [], my.convertsMappedPeers)?.corrected ?? null]);
  assert.deepEqual(check('127.0.0.1,[::1]'), [['127.0.0.1', null], ['[::1]', '::1']]);
  assert.deepEqual(check('2001:db8:1::2/64'), [['2001:db8:1::2/64', '2001:db8:1::2']]);
  assert.deepEqual(check('*'), []);
  assert.deepEqual(check('fe80::1%veth0'), [['fe80::1%veth0', null]]);
  assert.deepEqual(my.addresses(opt(4, 'bind-address', '[::1]', 'client'), []), [], 'the client\'s group');
  const acl = my.acl as (d: ConfigDirective, all: ConfigDirective[]) => unknown;
  assert.equal(acl(opt(4, 'bind-address', '0.0.0.0'), []), null, 'grants live in the database');
});
