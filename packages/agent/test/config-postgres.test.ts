// PostgreSQL: the postgresql.conf and pg_hba.conf parsers on Debian 12's cluster files (as
// pg_createcluster writes them) and on broken ones, each broken line one that postgres 15
// itself refuses (postgres -C, pg_hba_file_rules); the reader's clusters, includes, hba_file,
// loops and links out of the root.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parsePgHba, parsePostgresqlConf, readPostgres } from '../src/config/postgres.js';
import { EtcRoot } from '../src/config/etc-root.js';
import { ConfigParseError } from '../src/config-syntax.js';
import { etcTree } from './helpers/etc-tree.js';

const debian = fileURLToPath(new URL('../../../test/fixtures/config/debian12/postgresql/15/main/', import.meta.url));
const CONF = '/etc/postgresql/15/main/postgresql.conf';
const HBA = '/etc/postgresql/15/main/pg_hba.conf';

test("Debian 12's postgresql.conf: its settings with their lines, include_dir conf.d, listen_addresses left at its default (commented out)", () => {
  const parsed = parsePostgresqlConf(readFileSync(join(debian, 'postgresql.conf'), 'utf8'), CONF);
  const keys = parsed.items.map((d) => d.key);
  assert.deepEqual(keys.slice(0, 6), ['data_directory', 'hba_file', 'ident_file', 'external_pid_file', 'port', 'max_connections']);
  assert.ok(!keys.includes('listen_addresses'));
  const port = parsed.items.find((d) => d.key === 'port')!;
  assert.deepEqual([port.line, port.value, port.raw], [64, '5432', 'port = 5432\t\t\t\t# (change requires restart)']);
  assert.equal(parsed.items.find((d) => d.key === 'hba_file')!.value, "'/etc/postgresql/15/main/pg_hba.conf'");
  assert.deepEqual(parsed.includes, [{ pattern: 'conf.d/*.conf', at: parsed.items.length }]);
});

test("Debian 12's pg_hba.conf: seven records, local and host, each with its line", () => {
  const parsed = parsePgHba(readFileSync(join(debian, 'pg_hba.conf'), 'utf8'), HBA);
  assert.deepEqual(
    parsed.items.map((d) => `${d.line} ${d.key} ${d.value.split(/\s+/).join(' ')}`),
    ['90 local all postgres peer', '95 local all all peer', '97 host all all 127.0.0.1/32 scram-sha-256', '99 host all all ::1/128 scram-sha-256', '102 local replication all peer', '103 host replication all 127.0.0.1/32 scram-sha-256', '104 host replication all ::1/128 scram-sha-256'],
  );
  assert.deepEqual(parsed.includes, []);
});

test('postgresql.conf: = optional, quotes with doubled quotes, comments after the value, qualified names, numbers with units and signs', () => {
  const parsed = parsePostgresqlConf(
    ["listen_addresses 'localhost'", "listen_addresses='a''b'  # two", 'port=5433#x', 'my.opt = on', "shared_buffers = 128MB", 'port = +5432', "include_if_exists = 'extra.conf'", "include '/etc/postgresql/common.conf'", ''].join('\n'),
    CONF,
  );
  assert.deepEqual(parsed.items.map((d) => [d.line, d.key, d.value]), [
    [1, 'listen_addresses', "'localhost'"],
    [2, 'listen_addresses', "'a''b'"],
    [3, 'port', '5433'],
    [4, 'my.opt', 'on'],
    [5, 'shared_buffers', '128MB'],
    [6, 'port', '+5432'],
  ]);
  assert.deepEqual(parsed.includes, [
    { pattern: 'extra.conf', at: 6 },
    { pattern: '/etc/postgresql/common.conf', at: 6 },
  ]);
});

test('postgresql.conf lines postgres refuses ("syntax error in file ... line N"): a ConfigParseError naming file, line and setting, with the raw line', () => {
  for (const [text, line, field] of [
    ["port = 5432\nlisten_addresses = *\n", 2, 'listen_addresses'],
    ['listen_addresses = ::\n', 1, 'listen_addresses'],
    ['# ok\nlisten_addresses = 0.0.0.0\n', 2, 'listen_addresses'], // unquoted: "near token .0"
    ["listen_addresses = '0.0.0.0\n", 1, 'listen_addresses'],
    ['port = 5432 5433\n', 1, 'port'],
    ['\n= 5432\n', 2, 'name'],
    ['port =\n', 1, 'port'],
  ] as const) {
    assert.throws(
      () => parsePostgresqlConf(text, CONF),
      (e: unknown) => e instanceof ConfigParseError && e.file === CONF && e.line === line && e.field === field && e.message.includes(text.split('\n')[line - 1]!.trim()),
      JSON.stringify(text),
    );
  }
});

test('pg_hba.conf: continued records keep their first line, lists with blanks after commas, quotes, comments in a field', () => {
  const parsed = parsePgHba(
    ['# comment', 'host all all \\', '  2001:db8:1::/64 scram-sha-256', 'host db1, db2 "u1","u 2" 2001:db8:2::/64 md5 # office', 'hostssl all all 192.0.2.0 255.255.255.0 "scram-sha-256"', 'include_dir hba.d', ''].join('\n'),
    HBA,
  );
  assert.deepEqual(parsed.items.map((d) => [d.line, d.key, d.value]), [
    [2, 'host', 'all all   2001:db8:1::/64 scram-sha-256'],
    [4, 'host', 'db1, db2 "u1","u 2" 2001:db8:2::/64 md5 # office'],
    [5, 'hostssl', 'all all 192.0.2.0 255.255.255.0 "scram-sha-256"'],
  ]);
  assert.equal(parsed.items[0]!.raw, 'host all all \\', 'the raw text is the first line as written');
  assert.deepEqual(parsed.includes, [{ pattern: 'hba.d/*.conf', at: 3 }]);
});

test('pg_hba.conf records postgres refuses as a whole: a ConfigParseError naming file, line and field', () => {
  for (const [text, line, field] of [
    ['local all all peer\nhots all all 192.0.2.0/24 md5\n', 2, 'connection type'], // invalid connection type "hots"
    ['host all all\n', 1, 'address'],
    ['host all all 2001:db8:3::/64#c\n', 1, 'authentication method'], // the # starts a comment: "end-of-line before authentication method"
    ['\n\nlocal all\n', 3, 'user'],
  ] as const) {
    assert.throws(
      () => parsePgHba(text, HBA),
      (e: unknown) => e instanceof ConfigParseError && e.file === HBA && e.line === line && e.field === field && e.message.includes(text.split('\n')[line - 1]!.trim()),
      JSON.stringify(text),
    );
  }
});

test('the reader: every cluster under /etc/postgresql, includes in order, hba_file, only the directives the knowledge base reads, each with its cluster', (t) => {
  const root = etcTree(t, {
    'postgresql/15/main/postgresql.conf': "include_dir = 'conf.d'\nport = 5432\nshared_buffers = 128MB\ninclude_if_exists = 'local.conf'\n",
    'postgresql/15/main/conf.d/10-listen.conf': "listen_addresses = '0.0.0.0'\n",
    'postgresql/15/main/conf.d/README': "listen_addresses = 'not read'\n",
    'postgresql/15/main/local.conf': "listen_addresses = '*'\n",
    'postgresql/15/main/pg_hba.conf': 'local all all peer\nhost all all 192.0.2.0/24 md5\n',
    'postgresql/16/other/postgresql.conf': "port = 5433\nhba_file = '/etc/postgresql/shared/hba.conf'\n",
    'postgresql/16/other/pg_hba.conf': 'host all all 198.51.100.0/24 md5\n',
    'postgresql/shared/hba.conf': 'host all all 2001:db8::/32 md5\ninclude extra.conf\n',
    'postgresql/shared/extra.conf': 'hostssl all all 203.0.113.0/24 md5\n',
    'postgresql/16/no-cluster/README': 'no postgresql.conf here\n',
  });
  const config = readPostgres(new EtcRoot(root))!;
  assert.equal(config.daemon, 'postgres');
  assert.deepEqual(
    config.directives.map((d) => `${d.context} ${d.file}:${d.line} ${d.key} ${d.value}`),
    [
      "cluster 15/main /etc/postgresql/15/main/conf.d/10-listen.conf:1 listen_addresses '0.0.0.0'",
      'cluster 15/main /etc/postgresql/15/main/postgresql.conf:2 port 5432',
      "cluster 15/main /etc/postgresql/15/main/local.conf:1 listen_addresses '*'",
      'cluster 15/main /etc/postgresql/15/main/pg_hba.conf:2 host all all 192.0.2.0/24 md5',
      'cluster 16/other /etc/postgresql/16/other/postgresql.conf:1 port 5433',
      "cluster 16/other /etc/postgresql/16/other/postgresql.conf:2 hba_file '/etc/postgresql/shared/hba.conf'",
      'cluster 16/other /etc/postgresql/shared/hba.conf:1 host all all 2001:db8::/32 md5',
      'cluster 16/other /etc/postgresql/shared/extra.conf:1 hostssl all all 203.0.113.0/24 md5',
    ],
  );
  assert.deepEqual(config.files.map((f) => `${f.path} ${f.status}`), [
    '/etc/postgresql/15/main/postgresql.conf read',
    '/etc/postgresql/15/main/conf.d/10-listen.conf read',
    '/etc/postgresql/15/main/local.conf read',
    '/etc/postgresql/15/main/pg_hba.conf read',
    '/etc/postgresql/16/other/postgresql.conf read',
    '/etc/postgresql/shared/hba.conf read',
    '/etc/postgresql/shared/extra.conf read',
  ]);
});

test('no cluster: null; hba_file outside /etc, a broken pg_hba.conf, loops and links out of the root are reported per file', (t) => {
  assert.equal(readPostgres(new EtcRoot(etcTree(t, { 'postgresql-common/createcluster.conf': 'x\n' }))), null);
  const root = etcTree(t, {
    'postgresql/15/main/postgresql.conf': "include 'loop.conf'\ninclude 'out.conf'\nport = 5432\n",
    'postgresql/15/main/loop.conf': "include 'postgresql.conf'\nlisten_addresses = '0.0.0.0'\n",
    'postgresql/15/main/pg_hba.conf': 'host all all\n',
    'postgresql/15/other/postgresql.conf': "hba_file = '/var/lib/postgresql/15/other/pg_hba.conf'\n",
  });
  const outside = etcTree(t, { 'secret.conf': "listen_addresses = '203.0.113.9'\n" });
  symlinkSync(join(outside, 'secret.conf'), join(root, 'postgresql/15/main/out.conf'));
  const config = readPostgres(new EtcRoot(root))!;
  assert.deepEqual(config.files.map((f) => `${f.path} ${f.status}`), [
    '/etc/postgresql/15/main/postgresql.conf read',
    '/etc/postgresql/15/main/loop.conf read',
    '/etc/postgresql/15/main/postgresql.conf include-loop',
    '/etc/postgresql/15/main/out.conf outside-root',
    '/etc/postgresql/15/main/pg_hba.conf unparsable',
    '/etc/postgresql/15/other/postgresql.conf read',
    '/var/lib/postgresql/15/other/pg_hba.conf outside-root',
  ]);
  assert.match(config.files[4]!.detail!, /pg_hba\.conf line 1: bad address/);
  assert.deepEqual(config.directives.map((d) => `${d.key} ${d.value}`), ["listen_addresses '0.0.0.0'", 'port 5432', "hba_file '/var/lib/postgresql/15/other/pg_hba.conf'"], 'nothing from the file outside the root');
});
