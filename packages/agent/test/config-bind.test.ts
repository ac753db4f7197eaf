// named.conf: the parser on Debian 12's packaged files and on broken ones (each error as
// named-checkconf reports it: the line and what is missing); the reader's includes (inside
// options and views, globs, relative ones from /), loops, links out of the root, key files,
// /etc/default/named; and the config rules on what the reader gives them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rules, type DaemonConfig, type Finding, type HostAddress, type Rule, type Service } from '@dualstack/core';
import { parseBindConfig, readBind } from '../src/config/bind.js';
import { EtcRoot } from '../src/config/etc-root.js';
import { ConfigParseError } from '../src/config-syntax.js';
import { etcTree } from './helpers/etc-tree.js';

const debian = fileURLToPath(new URL('../../../test/fixtures/config/debian12/', import.meta.url));

const brief = (items: Array<{ line: number; key: string; value: string; context?: string }>) => items.map((d) => [d.line, d.key, d.value, d.context ?? null]);

test("Debian 12's packaged named.conf: three includes and no statement of its own", () => {
  const parsed = parseBindConfig(readFileSync(join(debian, 'bind/named.conf'), 'utf8'), '/etc/bind/named.conf');
  assert.deepEqual(parsed.items, []);
  assert.deepEqual(parsed.includes, [
    { pattern: '/etc/bind/named.conf.options', at: 0, context: [] },
    { pattern: '/etc/bind/named.conf.local', at: 0, context: [] },
    { pattern: '/etc/bind/named.conf.default-zones', at: 0, context: [] },
  ]);
});

test("Debian 12's named.conf.options and default zones: statements of options and of each zone, comments left out", () => {
  const options = parseBindConfig(readFileSync(join(debian, 'bind/named.conf.options'), 'utf8'), '/etc/bind/named.conf.options');
  assert.deepEqual(brief(options.items), [
    [2, 'directory', '"/var/cache/bind"', 'options'],
    [21, 'dnssec-validation', 'auto', 'options'],
    [23, 'listen-on-v6', '{ any; }', 'options'],
  ]);
  assert.equal(options.items[2]!.raw, '\tlisten-on-v6 { any; };');
  const zones = parseBindConfig(readFileSync(join(debian, 'bind/named.conf.default-zones'), 'utf8'), '/etc/bind/named.conf.default-zones');
  assert.deepEqual(
    zones.items.filter((d) => d.key === 'type').map((d) => `${d.context} ${d.value}`),
    ['zone "." hint', 'zone "localhost" master', 'zone "127.in-addr.arpa" master', 'zone "0.in-addr.arpa" master', 'zone "255.in-addr.arpa" master'],
  );
  assert.deepEqual(parseBindConfig(readFileSync(join(debian, 'bind/named.conf.local'), 'utf8'), '/etc/bind/named.conf.local').items, [], 'comments only (its include is commented out)');
  const rfc1918 = parseBindConfig(readFileSync(join(debian, 'bind/zones.rfc1918'), 'utf8'), '/etc/bind/zones.rfc1918');
  assert.equal(rfc1918.items.filter((d) => d.key === 'file').length, 18);
});

test('syntax: the three comment styles, strings over lines with escapes, several statements on a line, keys in any case', () => {
  // named-checkconf -p reads this text as written here.
  const text = [
    'acl "lab\\"s" { 192.0.2.0/24; }; # shell comment',
    'ACL b { 198.51.100.0/24;# comment after a ;',
    ' 203.0.113.0/24//c++ comment',
    '; /* a C comment',
    ' over lines */ };',
    'options { Allow-Query { b; }; version "BIND',
    '9"; };',
  ].join('\n');
  const parsed = parseBindConfig(text, '/etc/bind/named.conf');
  assert.deepEqual(brief(parsed.items), [
    [1, 'acl', '"lab\\"s" { 192.0.2.0/24; }', null],
    [2, 'ACL', 'b { 198.51.100.0/24;\n203.0.113.0/24\n;\n}', null],
    [3, 'ACL', '203.0.113.0/24', 'ACL from line 2'],
    [6, 'Allow-Query', '{ b; }', 'options'],
    [6, 'version', '"BIND\n9"', 'options'],
  ]);
  assert.equal(parsed.items[2]!.raw, ' 203.0.113.0/24//c++ comment');
});

test('a list over several lines: the statement on its key line, one item per further line with an element on it', () => {
  const parsed = parseBindConfig(['options {', '  allow-query', '  {', '    192.0.2.0/24;  // lab', '', '    !192.0.2.5; 2001:db8::/32;', '  };', '};'].join('\n'), '/etc/bind/named.conf.options');
  assert.deepEqual(brief(parsed.items), [
    [2, 'allow-query', '\n{\n192.0.2.0/24;\n\n!192.0.2.5; 2001:db8::/32;\n}', 'options'],
    [4, 'allow-query', '192.0.2.0/24;', 'options > allow-query from line 2'],
    [6, 'allow-query', '!192.0.2.5; 2001:db8::/32;', 'options > allow-query from line 2'],
  ]);
  assert.deepEqual(parsed.items.map((d) => d.raw), ['  allow-query', '    192.0.2.0/24;  // lab', '    !192.0.2.5; 2001:db8::/32;']);
});

test('views and zones give the context; include may stand inside options or a view', () => {
  const parsed = parseBindConfig(
    ['view "internal" IN {', '  match-clients { 192.0.2.0/24; };', '  include "/etc/bind/named.conf.default-zones";', '  zone "example.test" {', '    type primary;', '    allow-transfer port 53 { none; };', '  };', '};'].join('\n'),
    '/etc/bind/named.conf.local',
  );
  assert.deepEqual(brief(parsed.items), [
    [2, 'match-clients', '{ 192.0.2.0/24; }', 'view "internal" IN'],
    [5, 'type', 'primary', 'view "internal" IN > zone "example.test"'],
    [6, 'allow-transfer', 'port 53 { none; }', 'view "internal" IN > zone "example.test"'],
  ]);
  assert.deepEqual(parsed.includes, [{ pattern: '/etc/bind/named.conf.default-zones', at: 1, context: ['view "internal" IN'] }]);
  assert.deepEqual(brief(parseBindConfig('listen-on { any; };\n', '/etc/bind/inc.conf', ['options']).items), [[1, 'listen-on', '{ any; }', 'options']], 'an included file inside options');
});

test('broken files: a ConfigParseError naming file, line and statement, with the raw line, where named-checkconf fails too', () => {
  // Each case was given to named-checkconf (9.18, Debian 12): it refuses every one, with the
  // same words and line, except at the end of the file, where it names the line after the
  // last; here it is the line of the statement, block, string or comment left open.
  const cases: Array<[string, number, string, RegExp]> = [
    ['options { allow-query { 192.0.2.0/24 }; };\n', 1, 'allow-query', /missing ';' before '}'/],
    ['options {\n  allow-query { 192.0.2.0/24; }\n  listen-on { any; };\n};\n', 3, 'allow-query', /missing ';' before 'listen-on'/],
    ['options { allow-query ; };\n', 1, 'allow-query', /'\{' expected/],
    ['options {\n  listen-on-v6 { any; };\n', 1, 'options', /'\}' expected before end of file/],
    ['options { listen-on-v6 { any; }; };\nzone "x" { type hint; }\n', 2, 'zone', /missing ';' before end of file/],
    ['acl a { 192.0.2.0/24; };\nacl b { 198.51.100.0/24; }\n', 2, 'acl', /missing ';' before end of file/],
    ['include /etc/bind/x.conf;\n', 1, 'include', /expected quoted string/],
    ['options { };\n};\n', 2, 'statement', /unexpected '\}'/],
    ['options { ; };\n', 1, 'options', /must start with a keyword, not ';'/],
    ['acl a { 192.0.2.0/24; /* open\n};\n', 1, 'comment', /not closed/],
    ['acl "a { 192.0.2.0/24; };\n', 1, 'string', /not closed/],
  ];
  for (const [text, line, field, reason] of cases) {
    assert.throws(
      () => parseBindConfig(text, '/etc/bind/named.conf'),
      (e: unknown) => e instanceof ConfigParseError && e.file === '/etc/bind/named.conf' && e.line === line && e.field === field && reason.test(e.message) && e.raw === text.split('\n')[line - 1],
      JSON.stringify(text),
    );
  }
});

test("the reader on Debian 12's packaged tree: listen-on-v6 { any; } from named.conf.options and OPTIONS from /etc/default/named", (t) => {
  const root = mkdtempSync(join(tmpdir(), 'ds-etc-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  cpSync(join(debian, 'bind'), join(root, 'bind'), { recursive: true });
  cpSync(join(debian, 'default'), join(root, 'default'), { recursive: true });
  const config = readBind(new EtcRoot(root))!;
  assert.equal(config.daemon, 'named');
  assert.deepEqual(config.files.map((f) => `${f.path} ${f.status}`), [
    '/etc/bind/named.conf read',
    '/etc/bind/named.conf.options read',
    '/etc/bind/named.conf.local read',
    '/etc/bind/named.conf.default-zones read',
    '/etc/default/named read',
  ]);
  assert.deepEqual(config.directives.map((d) => `${d.file}:${d.line} ${d.key} ${d.value}`), ['/etc/bind/named.conf.options:23 listen-on-v6 { any; }', '/etc/default/named:6 OPTIONS -u bind']);
});

test('the reader: includes inside options and views get that context, globs in order, relative paths from /, key files not read', (t) => {
  const root = etcTree(t, {
    'bind/named.conf': ['acl lab { 192.0.2.0/24; };', 'options {', '  include "/etc/bind/options.d/*.conf";', '};', 'include "/etc/bind/rndc.key";', 'include "etc/bind/views.conf";', 'include "named.conf.local";', ''].join('\n'),
    'bind/options.d/10-listen.conf': 'listen-on-v6 { none; };\n',
    'bind/options.d/20-query.conf': 'allow-query { lab; };\n',
    'bind/options.d/README': 'not a .conf file\n',
    'bind/rndc.key': 'key "rndc-key" { algorithm hmac-sha256; secret "c2VjcmV0"; };\n',
    'bind/views.conf': 'view "inside" {\n  include "/etc/bind/zones.conf";\n};\n',
    'bind/zones.conf': 'zone "example.test" { type primary; file "/etc/bind/db.example.test"; allow-update { 192.0.2.10; }; };\n',
    'bind/named.conf.local': 'acl unread { 198.51.100.0/24; };\n',
  });
  const config = readBind(new EtcRoot(root))!;
  assert.deepEqual(
    config.directives.map((d) => `${d.file}:${d.line} ${d.key} ${d.context ?? '-'}`),
    [
      '/etc/bind/named.conf:1 acl -',
      '/etc/bind/options.d/10-listen.conf:1 listen-on-v6 options',
      '/etc/bind/options.d/20-query.conf:1 allow-query options',
      '/etc/bind/zones.conf:1 allow-update view "inside" > zone "example.test"',
    ],
  );
  assert.deepEqual(config.files.map((f) => `${f.path} ${f.status}`), [
    '/etc/bind/named.conf read',
    '/etc/bind/options.d/10-listen.conf read',
    '/etc/bind/options.d/20-query.conf read',
    '/etc/bind/views.conf read',
    '/etc/bind/zones.conf read',
  ], 'rndc.key is not read; named.conf.local is relative to /, not to /etc/bind');
});

test('no named.conf: null (BIND is not installed); a broken file is one unparsable file, not a failure', (t) => {
  assert.equal(readBind(new EtcRoot(etcTree(t, { 'default/named': 'OPTIONS="-u bind"\n' }))), null);
  const config = readBind(new EtcRoot(etcTree(t, { 'bind/named.conf': 'include "/etc/bind/a.conf";\noptions { listen-on-v6 { any; }; };\n', 'bind/a.conf': 'options { allow-query { 192.0.2.0/24 }; };\n' })))!;
  assert.deepEqual(config.files.map((f) => f.status), ['read', 'unparsable']);
  assert.match(config.files[1]!.detail!, /a\.conf line 1: bad allow-query \(missing ';' before '}'\)/);
  assert.deepEqual(config.directives.map((d) => d.key), ['listen-on-v6']);
});

test('include loops, links out of the root and binary files are reported per file', (t) => {
  const root = etcTree(t, {
    'bind/named.conf': 'include "/etc/bind/loop.conf";\ninclude "/etc/bind/out.conf";\ninclude "/etc/bind/bin.conf";\noptions { listen-on { any; }; };\n',
    'bind/loop.conf': 'include "/etc/bind/named.conf";\nacl a { 192.0.2.0/24; };\n',
    'bind/bin.conf': 'acl b { 192.0.2.0/24\u0000; };\n',
  });
  const outside = etcTree(t, { 'secret.conf': 'acl c { 203.0.113.0/24; };\n' });
  symlinkSync(join(outside, 'secret.conf'), join(root, 'bind/out.conf'));
  const config = readBind(new EtcRoot(root))!;
  assert.deepEqual(config.files.map((f) => `${f.path} ${f.status}`), [
    '/etc/bind/named.conf read',
    '/etc/bind/loop.conf read',
    '/etc/bind/named.conf include-loop',
    '/etc/bind/out.conf outside-root',
    '/etc/bind/bin.conf binary',
  ]);
  assert.deepEqual(config.directives.map((d) => `${d.key} ${d.value}`), ['acl a { 192.0.2.0/24; }', 'listen-on { any; }'], 'nothing from the file outside the root');
});

// ------------------------------------------------------------------ the rules on what the reader gives

const hostAddresses: HostAddress[] = [
  { family: 4, address: '192.0.2.2', prefixLength: 24, interface: 'veth0', scope: 'global', flags: ['permanent'] },
  { family: 6, address: '2001:db8:1::2', prefixLength: 64, interface: 'veth0', scope: 'global', flags: ['permanent'] },
];

const dns = (mode: Service['mode'], ipv6: Service['ipv6']): Array<Partial<Service> & { port: number }> =>
  (['udp', 'tcp'] as const).map((proto) => ({ proto, port: 53, mode, ipv6 }));

function facts(config: DaemonConfig, services: Array<Partial<Service> & { port: number }>) {
  return {
    addresses: hostAddresses,
    services: services.map((s) => ({ proto: 'udp', process: 'named', mode: 'dual-separate', ipv4: 'addresses', ipv6: 'addresses', ...s })),
    configs: [config],
  } as never;
}

const rule = (id: string): Rule => rules.find((r) => r.id === id)!;
const configIpv6Off = rule('config-ipv6-off');
const configAddressSyntax = rule('config-address-syntax');
const aclIpv4Only = rule('acl-ipv4-only');

const run = (rule: Rule, root: string, services = dns('dual-separate', 'addresses')) => rule.check(facts(readBind(new EtcRoot(root))!, services)) as Finding[];
const fixLine = (f: Finding) => f.fix.commands[f.fix.commands.findIndex((c) => /^# \/etc\/\S+, line \d+:$/.test(c)) + 1]!.replace(/^#   /, '');

/** Applies each finding's fix as printed: its line replaces line N of FILE (test/netns/config-bind does the same on a running named). */
function applyFixes(root: string, found: Finding[]): void {
  for (const f of found) {
    const [, file, line] = /^# (\/etc\/\S+), line (\d+):$/.exec(f.fix.commands.find((c) => /^# \/etc\//.test(c))!)!;
    const path = join(root, file!.replace(/^\/etc\//, ''));
    const lines = readFileSync(path, 'utf8').split('\n');
    lines[Number(line) - 1] = fixLine(f);
    writeFileSync(path, lines.join('\n'));
  }
}

test("config-ipv6-off: listen-on-v6 { none; } and named -4 in /etc/default/named, linked to the IPv4-only port 53; none for Debian's defaults", (t) => {
  const root = etcTree(t, {
    'bind/named.conf': 'options {\n\tdirectory "/var/cache/bind";\n\tlisten-on-v6 { none; };\n};\n',
    'default/named': '# startup options for the server\nOPTIONS="-u bind -4"\n',
  });
  const found = run(configIpv6Off, root, dns('ipv4-only', 'none'));
  assert.deepEqual(found.map((f) => f.subject), ['/etc/bind/named.conf:3', '/etc/default/named:2']);
  assert.match(found[0]!.message, /^udp\/53, tcp\/53 are IPv4-only because \/etc\/bind\/named\.conf:3 says listen-on-v6 \{ none; \};: its list matches no address, so named listens on no IPv6 address for port 53\.$/);
  assert.equal(fixLine(found[0]!), '\tlisten-on-v6 { any; };'.trim());
  assert.match(found[1]!.message, /named -4 uses IPv4 only/);
  assert.equal(fixLine(found[1]!), 'OPTIONS="-u bind"');
  assert.ok(found[0]!.fix.commands.includes("named-checkconf /etc/bind/named.conf   # the daemon's own syntax check, after editing /etc/bind/named.conf"));
  applyFixes(root, found);
  assert.deepEqual(run(configIpv6Off, root, dns('ipv4-only', 'none')), [], 'the fixed files');

  const other = etcTree(t, { 'bind/named.conf': 'options {\n  listen-on-v6 { none; };\n  listen-on-v6 { ::1; };\n};\n' });
  assert.deepEqual(run(configIpv6Off, other), [], 'another listen-on-v6 for the same port listens on ::1');
  const ports = etcTree(t, { 'bind/named.conf': 'options {\n  port 5300;\n  listen-on-v6 { none; };\n  listen-on-v6 tls ephemeral {\n    !any;\n  };\n};\n' });
  const multi = run(configIpv6Off, ports, []);
  assert.deepEqual(multi.map((f) => [f.subject, f.message.match(/port (\d+)/)![1], fixLine(f)]), [
    ['/etc/bind/named.conf:3', '5300', 'listen-on-v6 { any; };'],
    ['/etc/bind/named.conf:4', '853', 'listen-on-v6 tls ephemeral { any;'],
  ], 'options port sets the default; tls listens on 853; over lines, any goes first in the list');
  applyFixes(ports, multi);
  assert.deepEqual(run(configIpv6Off, ports, []), [], 'the fixed file');

  const shipped = mkdtempSync(join(tmpdir(), 'ds-etc-'));
  t.after(() => rmSync(shipped, { recursive: true, force: true }));
  cpSync(join(debian, 'bind'), join(shipped, 'bind'), { recursive: true });
  cpSync(join(debian, 'default'), join(shipped, 'default'), { recursive: true });
  for (const r of [configIpv6Off, configAddressSyntax, aclIpv4Only]) assert.deepEqual(run(r, shipped), [], r.id);
});

test('acl-ipv4-only: allow-query naming the IPv4 network directly or through a named acl; the fix adds the IPv6 prefix in the list', (t) => {
  const root = etcTree(t, {
    'bind/named.conf': [
      'acl "Internal" { 192.0.2.0/24; !192.0.2.66; };',
      'acl both { 192.0.2.0/24; 2001:db8:1::/64; };',
      'options {',
      '  allow-query { internal; localhost; };', // 4: through the acl, case-insensitive
      '  allow-recursion { localnets; };', // 5: localnets covers both families
      '  allow-transfer port 53 { both; };', // 6: names IPv6 too
      '};',
      'zone "example.test" {',
      '  type primary;',
      '  allow-update {', // 10: over lines
      '    192.0.2.0/24;',
      '  };',
      '  allow-query { 198.51.100.0/24; };', // 13: a network the host is not on
      '};',
      '',
    ].join('\n'),
  });
  const found = run(aclIpv4Only, root);
  assert.deepEqual(found.map((f) => f.subject), ['/etc/bind/named.conf:4', '/etc/bind/named.conf:10']);
  assert.match(found[0]!.message, /names IPv4 networks only \(192\.0\.2\.0\/24\); veth0 also has 2001:db8:1::\/64, so IPv6 clients of that network are locked out on udp\/53, tcp\/53\./);
  assert.equal(fixLine(found[0]!), 'allow-query { internal; localhost; 2001:db8:1::/64; };');
  assert.equal(fixLine(found[1]!), 'allow-update { 2001:db8:1::/64;');
  assert.deepEqual(run(aclIpv4Only, root, dns('ipv4-only', 'none')), [], 'a named that takes no IPv6 client locks none out');
  applyFixes(root, found);
  assert.deepEqual(run(aclIpv4Only, root), [], 'the fixed file');
});

test('config-address-syntax: brackets in a list (critical, named-checkconf refuses them), each on its own line, the corrected line', (t) => {
  const root = etcTree(t, {
    'bind/named.conf': [
      'acl v6 {',
      '  [2001:db8::]/32;', // 2
      '  2001:db8:1::;', // 3: a network without its length
      '};',
      'options { listen-on-v6 { [2001:db8:1::2]; fe80::1%lo; }; allow-query { v6; ::ffff:192.0.2.0/120; }; };', // 5
      '',
    ].join('\n'),
  });
  const found = run(configAddressSyntax, root);
  assert.deepEqual(found.map((f) => [f.subject, f.severity, fixLine(f)]), [
    ['/etc/bind/named.conf:2', 'critical', '2001:db8::/32;'],
    ['/etc/bind/named.conf:3', 'warning', '2001:db8:1::/64;'],
    ['/etc/bind/named.conf:5', 'critical', 'options { listen-on-v6 { 2001:db8:1::2; fe80::1%lo; }; allow-query { v6; ::ffff:192.0.2.0/120; }; };'],
  ]);
  assert.equal(found.length, 3, 'a zone index is taken, a ::ffff: entry is left alone (named never sees mapped peers)');
  applyFixes(root, found);
  assert.deepEqual(run(configAddressSyntax, root), [], 'the fixed file');
});
