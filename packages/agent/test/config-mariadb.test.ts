// MariaDB option files: the parser on Debian 12's packaged files (/etc/mysql: my.cnf, the
// alternatives link to mariadb.cnf, and its !includedir folders) and on lines mariadbd refuses
// (my_print_defaults: "Wrong group definition", "Found option without preceding group"); the
// reader's includes, groups, loops and links out of the root.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseMyCnf, readMariadb } from '../src/config/mariadb.js';
import { EtcRoot } from '../src/config/etc-root.js';
import { ConfigParseError } from '../src/config-syntax.js';
import { etcTree } from './helpers/etc-tree.js';

const debian = fileURLToPath(new URL('../../../test/fixtures/config/debian12/mysql/', import.meta.url));

test("Debian 12's my.cnf and 50-server.cnf: groups, options with their lines, the two !includedir lines", () => {
  const top = parseMyCnf(readFileSync(join(debian, 'my.cnf'), 'utf8'), '/etc/mysql/my.cnf');
  assert.deepEqual(top.items.map((d) => `${d.line} ${d.context} ${d.key}=${d.value}`), ['25 [client-server] socket=/run/mysqld/mysqld.sock']);
  assert.deepEqual(top.includes, [
    { pattern: '/etc/mysql/conf.d/*.cnf', at: 1 },
    { pattern: '/etc/mysql/mariadb.conf.d/*.cnf', at: 1 },
  ]);
  const server = parseMyCnf(readFileSync(join(debian, 'mariadb.conf.d/50-server.cnf'), 'utf8'), '/etc/mysql/mariadb.conf.d/50-server.cnf');
  const bind = server.items.find((d) => d.key === 'bind-address')!;
  assert.deepEqual([bind.line, bind.value, bind.context, bind.raw], [27, '127.0.0.1', '[mysqld]', 'bind-address            = 127.0.0.1']);
  assert.deepEqual([...new Set(server.items.map((d) => d.context))], ['[mysqld]']);
});

test('option lines: = optional, end comments outside quotes only, ; only at the start, group names with trailing blanks dropped', () => {
  const parsed = parseMyCnf(['; comment', '[mysqld] # c', 'bind-address = "0.0.0.0"  # trailing', "bind_address\t=\t'a#b' ; kept", 'skip-networking', '[mariadb-10.11 ]', 'port=3307', ''].join('\n'), '/etc/my.cnf');
  assert.deepEqual(parsed.items.map((d) => [d.line, d.context, d.key, d.value]), [
    [3, '[mysqld]', 'bind-address', '"0.0.0.0"'],
    [4, '[mysqld]', 'bind_address', "'a#b' ; kept"],
    [5, '[mysqld]', 'skip-networking', ''],
    [7, '[mariadb-10.11]', 'port', '3307'],
  ]);
});

test('lines mariadbd refuses ("Fatal error in defaults handling"): a ConfigParseError naming file, line and field', () => {
  for (const [text, line] of [
    ['bind-address = ::\n[mysqld]\n', 1], // Found option without preceding group
    ['[mysqld]\nport=1\n[mysqld\n', 3], // Wrong group definition
  ] as const) {
    assert.throws(
      () => parseMyCnf(text, '/etc/mysql/my.cnf'),
      (e: unknown) => e instanceof ConfigParseError && e.file === '/etc/mysql/my.cnf' && e.line === line && e.field === 'group' && e.message.includes(text.split('\n')[line - 1]!),
      JSON.stringify(text),
    );
  }
});

test("the reader on Debian 12's /etc/mysql: every file read in mariadbd's order, the server's bind-address kept", (t) => {
  const root = etcTree(t, {});
  const copy = (rel: string) => {
    mkdirSync(join(root, 'mysql', rel, '..'), { recursive: true });
    writeFileSync(join(root, 'mysql', rel), readFileSync(join(debian, rel)));
  };
  for (const rel of ['mariadb.cnf', 'conf.d/mysql.cnf', 'conf.d/mysqldump.cnf', 'mariadb.conf.d/50-client.cnf', 'mariadb.conf.d/50-mysql-clients.cnf', 'mariadb.conf.d/50-mysqld_safe.cnf', 'mariadb.conf.d/50-server.cnf', 'mariadb.conf.d/60-galera.cnf']) copy(rel);
  symlinkSync('mariadb.cnf', join(root, 'mysql/my.cnf')); // as update-alternatives leaves it (through /etc/alternatives)
  const config = readMariadb(new EtcRoot(root))!;
  assert.equal(config.daemon, 'mysql');
  assert.deepEqual(config.files.map((f) => `${f.path} ${f.status}`), [
    '/etc/mysql/my.cnf read',
    '/etc/mysql/conf.d/mysql.cnf read',
    '/etc/mysql/conf.d/mysqldump.cnf read',
    '/etc/mysql/mariadb.conf.d/50-client.cnf read',
    '/etc/mysql/mariadb.conf.d/50-mysql-clients.cnf read',
    '/etc/mysql/mariadb.conf.d/50-mysqld_safe.cnf read',
    '/etc/mysql/mariadb.conf.d/50-server.cnf read',
    '/etc/mysql/mariadb.conf.d/60-galera.cnf read',
  ]);
  assert.deepEqual(config.directives.map((d) => `${d.file}:${d.line} ${d.context} ${d.key} ${d.value}`), ['/etc/mysql/mariadb.conf.d/50-server.cnf:27 [mysqld] bind-address 127.0.0.1']);
});

test('the reader: /etc/my.cnf first, client groups and other options left out, loops, links out of the root and broken files per file; none: null', (t) => {
  assert.equal(readMariadb(new EtcRoot(etcTree(t, { 'hostname': 'x\n' }))), null);
  const root = etcTree(t, {
    'my.cnf': '[mysqld]\nport = 3307\n!include /etc/mysql/extra.cnf\n',
    'mysql/my.cnf': '[client]\nbind-address = 192.0.2.9\n[server]\nloose_bind_address = 0.0.0.0\nmax_connections = 10\n!includedir /etc/mysql/conf.d\n!include relative.cnf\n',
    'mysql/extra.cnf': '[mariadbd]\nskip-networking\n!include /etc/my.cnf\n',
    'mysql/conf.d/a.cnf': 'port=1\n',
    'mysql/conf.d/b.ini': '[mysqld]\nport=2\n',
  });
  const outside = etcTree(t, { 'secret.cnf': '[mysqld]\nbind-address = 203.0.113.9\n' });
  symlinkSync(join(outside, 'secret.cnf'), join(root, 'mysql/conf.d/z.cnf'));
  const config = readMariadb(new EtcRoot(root))!;
  assert.deepEqual(config.files.map((f) => `${f.path} ${f.status}`), [
    '/etc/my.cnf read',
    '/etc/mysql/extra.cnf read',
    '/etc/my.cnf include-loop',
    '/etc/mysql/my.cnf read',
    '/etc/mysql/conf.d/a.cnf unparsable',
    '/etc/mysql/conf.d/z.cnf outside-root',
  ]);
  assert.match(config.files[4]!.detail!, /a\.cnf line 1: bad group \(Found option without preceding group\)/);
  assert.deepEqual(config.directives.map((d) => `${d.context} ${d.key} ${d.value}`), ['[mysqld] port 3307', '[mariadbd] skip-networking ', '[server] loose_bind_address 0.0.0.0']);
});
