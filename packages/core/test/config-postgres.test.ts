// PostgreSQL knowledge: how pg_hba.conf fields and postgresql.conf values read (as postgres 15
// reads them: hba.c next_field_expand(), GUC_scanstr()), which listen_addresses make the server
// IPv4-only, which pg_hba.conf records leave IPv6 clients of their network without an entry,
// and the address checker on both files' syntax (the real files: packages/agent/test/config-postgres,
// the real server: test/netns/config-postgres).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkAddressSyntax, pgConfValue, pgHbaFields, postgresConfigKnowledge as pg, type AclUse } from '../src/knowledge/config/index.js';
import type { ConfigDirective, HostAddress } from '../src/report.js';

const CTX = 'cluster 15/main';
const conf = (line: number, key: string, value: string, context = CTX): ConfigDirective => ({ file: '/etc/postgresql/15/main/postgresql.conf', line, key, value, raw: `${key} = ${value}\t# comment`, context });
const hba = (line: number, raw: string, context = CTX): ConfigDirective => {
  const key = raw.trim().split(/\s+/)[0]!;
  return { file: '/etc/postgresql/15/main/pg_hba.conf', line, key, value: raw.trim().slice(key.length).trim(), raw, context };
};
// PostgreSQL's acl() reads the directives only (the host's services are other daemons' business).
const aclOf = (d: ConfigDirective, all: ConfigDirective[]) => (pg.acl as (d: ConfigDirective, all: ConfigDirective[]) => AclUse | null)(d, all);
const host: HostAddress[] = [
  { family: 6, address: '2001:db8:1::2', prefixLength: 64, interface: 'veth0', scope: 'global', flags: ['permanent'] },
  { family: 4, address: '192.0.2.2', prefixLength: 24, interface: 'veth0', scope: 'global', flags: ['permanent'] },
];

test('pg_hba fields: blanks separate fields, commas lists (blanks after a comma continue the list), "quotes" group, # ends the record', () => {
  const texts = (record: string) => pgHbaFields(record).map((f) => f.map((t) => (t.quoted ? `"${t.text}"` : t.text)).join(','));
  assert.deepEqual(texts('host db1, db2 "u1","u 2" 2001:db8::/64 md5 # office'), ['host', 'db1,db2', '"u1","u 2"', '2001:db8::/64', 'md5']);
  assert.deepEqual(texts('host all all 2001:db8::/64#c'), ['host', 'all', 'all', '2001:db8::/64']);
  assert.deepEqual(texts('host "all" "a""b" samenet trust'), ['host', '"all"', '"a"b"', 'samenet', 'trust']);
  assert.deepEqual(texts('# only a comment'), []);
});

test("postgresql.conf values: quotes removed, '' and \\' are quotes, escapes as postgres reads them", () => {
  assert.equal(pgConfValue("'0.0.0.0, ::'"), '0.0.0.0, ::');
  assert.equal(pgConfValue("'a''b'"), "a'b");
  assert.equal(pgConfValue("'a\\'b\\tc\\101'"), "a'b\tcA");
  assert.equal(pgConfValue('5432'), '5432');
});

test('listen_addresses: 0.0.0.0 without :: is IPv4-only (the fix adds ::); *, ::, localhost, names, IPv4 loopback and specific addresses are not judged', () => {
  const off = (value: string, all: ConfigDirective[] = []) => {
    const d = conf(5, 'listen_addresses', value);
    return pg.ipv6Off(d, [...all, d]);
  };
  const any = off("'0.0.0.0'")!;
  assert.equal(any.fix, "listen_addresses = '0.0.0.0, ::'\t# comment");
  assert.deepEqual(any.ports, [5432]);
  assert.match(any.why, /^0\.0\.0\.0 is every IPv4 address and nothing else: PostgreSQL listens on port 5432 over IPv4 only/);
  assert.equal(off("'127.0.0.1,0.0.0.0'")!.fix, "listen_addresses = '127.0.0.1,0.0.0.0,::'\t# comment", 'the list keeps its separator');
  for (const value of ["'*'", "'0.0.0.0, ::'", "'localhost'", "'db.example'", "'192.0.2.2'", "''", "'::1'", "'127.0.0.1'"]) assert.equal(off(value), null, value);
  assert.deepEqual(off("'0.0.0.0'", [conf(1, 'port', "'5433'")])!.ports, [5433], 'the cluster\'s port');
  assert.deepEqual(off("'0.0.0.0'", [conf(1, 'port', '5433', 'cluster 16/other')])!.ports, [5432], 'another cluster\'s port is not this one\'s');
  const first = conf(2, 'listen_addresses', "'0.0.0.0'");
  const last = conf(9, 'listen_addresses', "'*'");
  assert.equal(pg.ipv6Off(first, [first, last]), null, 'a later line wins');
});

test('addresses: listen_addresses entries and the pg_hba ADDRESS, for the checker', () => {
  const tokens = (d: ConfigDirective) => pg.addresses(d, [d]).map((u) => `${u.role} ${u.token} ${u.syntax.brackets} prefix=${u.syntax.prefix}`);
  assert.deepEqual(tokens(conf(1, 'listen_addresses', "'*, [::1], 2001:db8::2/64, localhost'")), ['listen [::1] forbidden prefix=false', 'listen 2001:db8::2/64 forbidden prefix=false', 'listen localhost forbidden prefix=false']);
  assert.deepEqual(tokens(hba(3, 'host all all [2001:db8:1::]/64 md5')), ['acl [2001:db8:1::]/64 forbidden prefix=true']);
  assert.deepEqual(tokens(hba(3, 'host all all 2001:db8:1:: ffff:ffff:ffff:ffff:: md5')), ['acl 2001:db8:1:: forbidden prefix=false'], 'the netmask column gives the length');
  assert.deepEqual(tokens(hba(3, 'host all all samenet md5')), []);
  assert.deepEqual(tokens(hba(3, 'host all all db.example md5')), []);
  assert.deepEqual(tokens(hba(3, 'local all all peer')), []);
  const check = (d: ConfigDirective) => pg.addresses(d, [d]).map((u) => checkAddressSyntax(u, host, pg.convertsMappedPeers));
  assert.deepEqual(check(hba(3, 'host all all [2001:db8:1::]/64 md5')).map((p) => [p?.severity, p?.corrected]), [['critical', '2001:db8:1::/64']]);
  assert.deepEqual(check(hba(3, 'host all all [2001:db8:1::1] md5')), [], 'a name to postgres that never matches, but the bare form needs /128: not offered');
  assert.deepEqual(check(hba(3, 'host all all 2001:db8:1::/64 md5')), [null]);
  assert.deepEqual(check(hba(3, 'host all all 2001:db8:1:: ffff:ffff:ffff:ffff:: md5')), [null], 'a network with its netmask column');
  assert.deepEqual(check(hba(3, 'host all all fe80::%veth0/64 md5')), [null], 'postgres takes a zone on a link-local address');
  assert.deepEqual(check(conf(1, 'listen_addresses', "'[::1], 2001:db8:1::2/64'")).map((p) => p?.corrected), ['::1', '2001:db8:1::2']);
});

test('pg_hba.conf: an IPv4 record with no IPv6 record for the same databases and users is an IPv4-only list; the fix adds the record for each IPv6 network', () => {
  const v4 = hba(2, 'host    all    all    192.0.2.0/24    scram-sha-256');
  const acl = aclOf(v4, [v4])!;
  assert.deepEqual(acl.networks, ['192.0.2.0/24']);
  assert.equal(acl.otherwise, 'denied');
  assert.deepEqual(acl.ports, [5432]);
  assert.equal(acl.withIpv6(['2001:db8:1::/64', '2001:db8:2::/64']), 'host    all    all    192.0.2.0/24    scram-sha-256\n#   host    all    all    2001:db8:1::/64 scram-sha-256\n#   host    all    all    2001:db8:2::/64 scram-sha-256');
  const masked = hba(4, 'hostssl app web 192.0.2.0 255.255.255.0 md5');
  assert.deepEqual(aclOf(masked, [masked])!.networks, ['192.0.2.0/24']);
  assert.equal(aclOf(masked, [masked])!.withIpv6(['2001:db8:1::/64']), 'hostssl app web 192.0.2.0 255.255.255.0 md5\n#   hostssl app web 2001:db8:1::/64 md5');

  const listed = (...others: string[]) => aclOf(v4, [v4, ...others.map((o, i) => hba(10 + i, o))]);
  assert.equal(listed('host all all 2001:db8:1::/64 scram-sha-256'), null, 'an IPv6 record for everyone');
  assert.equal(listed('host all all samenet md5'), null, 'samenet takes IPv6 subnets too');
  assert.equal(listed('host all all db.example md5'), null, 'a host name may resolve to IPv6');
  assert.equal(listed('host all all [2001:db8:1::]/64 md5'), null, 'an IPv6 record meant, misspelt: config-address-syntax has it');
  assert.notEqual(listed('host all all ::1/128 md5'), null, 'loopback is not the network');
  assert.notEqual(listed('host all all fe80::/10 md5'), null, 'nor link-local');
  assert.notEqual(listed('host app all 2001:db8:1::/64 md5'), null, 'another database only');
  assert.notEqual(aclOf(v4, [v4, hba(9, 'host all all 2001:db8:1::/64 md5', 'cluster 16/other')]), null, 'the IPv6 record of another cluster');
  const replication = hba(3, 'host replication all 192.0.2.0/24 md5');
  assert.notEqual(aclOf(replication, [replication, hba(9, 'host all all 2001:db8:1::/64 md5')]), null, '"all" does not match replication');

  for (const raw of ['host all all 192.0.2.0/24 reject', 'host all all 2001:db8:1::/64 md5', 'host all all samenet md5', 'local all all peer', 'host all all \\']) {
    const d = hba(2, raw);
    assert.equal(aclOf(d, [d]), null, raw);
  }
});

test('the checker the fixes print reads both files on disk through postgres itself', () => {
  assert.match(typeof pg.checker === 'string' ? pg.checker : '', /^runuser -u postgres -- psql -XAt -c "SELECT line_number, error FROM pg_hba_file_rules WHERE error IS NOT NULL" -c "SELECT sourcefile, sourceline, error FROM pg_file_settings WHERE error IS NOT NULL/);
  assert.equal(pg.convertsMappedPeers, null, 'the postmaster sets IPV6_V6ONLY: no mapped peers');
});
