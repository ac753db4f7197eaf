// Apache httpd: the parser on Debian 12's packaged files and on broken ones; the reader's
// Include/IncludeOptional (globs, relative to ServerRoot /etc/apache2, inside sections), loops
// and links out of the root; and the config rules on what the reader gives them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, lstatSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rules, type DaemonConfig, type Finding, type HostAddress, type Rule, type Service } from '@dualstack/core';
import { parseApacheConfig, readApache } from '../src/config/apache.js';
import { EtcRoot } from '../src/config/etc-root.js';
import { ConfigParseError } from '../src/config-syntax.js';
import { etcTree } from './helpers/etc-tree.js';

const debian = fileURLToPath(new URL('../../../test/fixtures/config/debian12/apache2/', import.meta.url));

/** The Debian tree (its enabled-* symlinks are relative, inside the tree) under a temp etc root. */
function debianTree(t: { after(fn: () => void): void }): string {
  const root = mkdtempSync(join(tmpdir(), 'ds-etc-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  cpSync(debian, join(root, 'apache2'), { recursive: true, verbatimSymlinks: true });
  return root;
}

const listFiles = (dir: string): string[] =>
  readdirSync(dir).flatMap((n) => {
    const stat = lstatSync(join(dir, n));
    return stat.isDirectory() ? listFiles(join(dir, n)) : stat.isFile() ? [join(dir, n)] : [];
  });

test("Debian 12's packaged apache2.conf: its Include lines in order, sections as contexts", () => {
  const parsed = parseApacheConfig(readFileSync(join(debian, 'apache2.conf'), 'utf8'), '/etc/apache2/apache2.conf');
  assert.deepEqual(
    parsed.includes.map((i) => [i.pattern, parsed.items[i.at - 1]!.line]),
    [
      ['mods-enabled/*.load', 146],
      ['mods-enabled/*.conf', 147],
      ['ports.conf', 150],
      ['conf-enabled/*.conf', 222],
      ['sites-enabled/*.conf', 225],
    ],
  );
  const at = (line: number) => parsed.items.find((d) => d.line === line)!;
  assert.deepEqual([at(159).key, at(159).value, at(159).context], ['Directory', '/', undefined]);
  assert.deepEqual([at(162).key, at(162).value, at(162).context], ['Require', 'all denied', 'Directory / (/etc/apache2/apache2.conf:159)']);
  assert.deepEqual([at(196).key, at(196).context], ['Require', 'FilesMatch "^\\.ht" (/etc/apache2/apache2.conf:195)']);
  assert.equal(at(162).raw, '\tRequire all denied');
});

test("every configuration file of Debian 12's apache2 parses", () => {
  for (const path of listFiles(debian)) {
    if (path.endsWith('/envvars')) continue; // a shell script, sourced by apache2ctl
    const file = `/etc/apache2/${relative(debian, path)}`;
    assert.doesNotThrow(() => parseApacheConfig(readFileSync(path, 'utf8'), file), file);
  }
  const ports = parseApacheConfig(readFileSync(join(debian, 'ports.conf'), 'utf8'), '/etc/apache2/ports.conf');
  assert.deepEqual(ports.items.map((d) => [d.line, d.key, d.value, d.context ?? null]), [
    [5, 'Listen', '80', null],
    [7, 'IfModule', 'ssl_module', null],
    [8, 'Listen', '443', 'IfModule ssl_module (/etc/apache2/ports.conf:7)'],
    [11, 'IfModule', 'mod_gnutls.c', null],
    [12, 'Listen', '443', 'IfModule mod_gnutls.c (/etc/apache2/ports.conf:11)'],
  ]);
});

test('syntax: continued lines, names in any case, nested sections, # only at the start of a line', () => {
  const parsed = parseApacheConfig(
    [
      'listen 8080',
      '<virtualhost [2001:db8::1]:8080 192.0.2.2:8080>',
      '  <Location "/admin">',
      '    Require ip 192.0.2.0/24 \\',
      '               2001:db8::/32',
      '    # a comment',
      '    Require host example.net # not a comment to httpd',
      '  </location>',
      '</VirtualHost>',
      '',
    ].join('\n'),
    '/etc/apache2/apache2.conf',
  );
  const vhost = 'virtualhost [2001:db8::1]:8080 192.0.2.2:8080 (/etc/apache2/apache2.conf:2)';
  assert.deepEqual(parsed.items.map((d) => [d.line, d.key, d.value, d.context ?? null]), [
    [1, 'listen', '8080', null],
    [2, 'virtualhost', '[2001:db8::1]:8080 192.0.2.2:8080', null],
    [3, 'Location', '"/admin"', vhost],
    [4, 'Require', 'ip 192.0.2.0/24                2001:db8::/32', `${vhost} > Location "/admin" (/etc/apache2/apache2.conf:3)`],
    [7, 'Require', 'host example.net # not a comment to httpd', `${vhost} > Location "/admin" (/etc/apache2/apache2.conf:3)`],
  ]);
  assert.equal(parsed.items[3]!.raw, '    Require ip 192.0.2.0/24 \\');
});

test('broken files: a ConfigParseError naming file, line and section or directive, with the raw line', () => {
  for (const [text, line, field] of [
    ['<VirtualHost *:80>\n  Require all granted\n', 1, 'VirtualHost'],
    ['Listen 80\n</VirtualHost>\n', 2, 'VirtualHost'],
    ['<VirtualHost *:80>\n<Location />\n</VirtualHost>\n', 3, 'VirtualHost'],
    ['<VirtualHost *:80\n</VirtualHost>\n', 1, 'VirtualHost'],
    ['Include a.conf b.conf\n', 1, 'Include'],
  ] as const) {
    assert.throws(
      () => parseApacheConfig(text, '/etc/apache2/apache2.conf'),
      (e: unknown) => e instanceof ConfigParseError && e.file === '/etc/apache2/apache2.conf' && e.line === line && e.field === field && e.raw === text.split('\n')[line - 1],
      JSON.stringify(text),
    );
  }
});

test('the reader: Include and IncludeOptional relative to /etc/apache2 from any file, in glob order, inside the sections that hold them', (t) => {
  const root = etcTree(t, {
    'apache2/apache2.conf': 'Include ports.conf\nIncludeOptional sites-enabled/*.conf\nIncludeOptional conf-enabled/*.conf\n',
    'apache2/ports.conf': 'Listen 80\n',
    'apache2/sites-enabled/b.conf': '<VirtualHost *:80>\n  Include snippets/admin.conf\n</VirtualHost>\n',
    'apache2/sites-enabled/a.conf': 'Listen 8080\n',
    'apache2/sites-enabled/a.conf.bak': 'Listen 9999\n',
    'apache2/snippets/admin.conf': '<Location /admin>\n  Require ip 192.0.2.0/24\n</Location>\n',
  });
  const config = readApache(new EtcRoot(root))!;
  assert.deepEqual(
    config.directives.map((d) => [`${d.file.replace('/etc/apache2/', '')}:${d.line}`, d.key, d.value, d.context ?? null]),
    [
      ['ports.conf:1', 'Listen', '80', null],
      ['sites-enabled/a.conf:1', 'Listen', '8080', null],
      ['sites-enabled/b.conf:1', 'VirtualHost', '*:80', null],
      ['snippets/admin.conf:2', 'Require', 'ip 192.0.2.0/24', 'VirtualHost *:80 (/etc/apache2/sites-enabled/b.conf:1) > Location /admin (/etc/apache2/snippets/admin.conf:1)'],
    ],
  );
  assert.deepEqual(config.files.map((f) => `${f.path.replace('/etc/apache2/', '')} ${f.status}`), [
    'apache2.conf read',
    'ports.conf read',
    'sites-enabled/a.conf read',
    'sites-enabled/b.conf read',
    'snippets/admin.conf read',
  ]);
});

test('no apache2.conf: null; a broken file is one unparsable file; loops and links out of the root are reported per file', (t) => {
  assert.equal(readApache(new EtcRoot(etcTree(t, { hostname: 'x\n' }))), null);
  const root = etcTree(t, {
    'apache2/apache2.conf': 'Include loop.conf\nInclude out.conf\nInclude broken.conf\nListen 80\n',
    'apache2/loop.conf': 'Include apache2.conf\nListen 81\n',
    'apache2/broken.conf': '<VirtualHost *:82>\n',
  });
  const outside = etcTree(t, { 'secret.conf': 'Listen 203.0.113.9:80\n' });
  symlinkSync(join(outside, 'secret.conf'), join(root, 'apache2/out.conf'));
  const config = readApache(new EtcRoot(root))!;
  assert.deepEqual(config.files.map((f) => `${f.path} ${f.status}`), [
    '/etc/apache2/apache2.conf read',
    '/etc/apache2/loop.conf read',
    '/etc/apache2/apache2.conf include-loop',
    '/etc/apache2/out.conf outside-root',
    '/etc/apache2/broken.conf unparsable',
  ]);
  assert.match(config.files[4]!.detail!, /broken\.conf line 1: bad VirtualHost \(<VirtualHost> is not closed/);
  assert.deepEqual(config.directives.map((d) => `${d.key} ${d.value}`), ['Listen 81', 'Listen 80']);
});

test("the reader on Debian 12's packaged tree: Listen 80, the IfModule Listen 443 lines, the default site and the Require lines", (t) => {
  const config = readApache(new EtcRoot(debianTree(t)))!;
  assert.ok(config.files.every((f) => f.status === 'read'), JSON.stringify(config.files.filter((f) => f.status !== 'read')));
  assert.ok(config.files.some((f) => f.path === '/etc/apache2/sites-enabled/000-default.conf'));
  assert.deepEqual(
    config.directives.filter((d) => d.key === 'Listen' || d.key === 'VirtualHost').map((d) => `${d.file}:${d.line} ${d.key} ${d.value}`),
    ['/etc/apache2/ports.conf:5 Listen 80', '/etc/apache2/ports.conf:8 Listen 443', '/etc/apache2/ports.conf:12 Listen 443', '/etc/apache2/sites-enabled/000-default.conf:1 VirtualHost *:80'],
  );
  assert.ok(config.directives.some((d) => d.key === 'Require' && d.value === 'local' && d.file === '/etc/apache2/mods-enabled/status.conf'));
});

// ------------------------------------------------------------------ the rules on what the reader gives

const hostAddresses: HostAddress[] = [
  { family: 4, address: '192.0.2.2', prefixLength: 24, interface: 'veth0', scope: 'global', flags: ['permanent'] },
  { family: 6, address: '2001:db8:1::2', prefixLength: 64, interface: 'veth0', scope: 'global', flags: ['permanent'] },
];

function facts(config: DaemonConfig, services: Array<Partial<Service> & { port: number }>) {
  return {
    addresses: hostAddresses,
    services: services.map((s) => ({ proto: 'tcp', process: 'apache2', mode: 'dual-mapped', ipv4: 'any', ipv6: 'any', ...s })),
    configs: [config],
  } as never;
}

const rule = (id: string): Rule => rules.find((r) => r.id === id)!;
const configIpv6Off = rule('config-ipv6-off');
const configAddressSyntax = rule('config-address-syntax');
const aclIpv4Only = rule('acl-ipv4-only');
const run = (r: Rule, root: string, services: Array<Partial<Service> & { port: number }> = [{ port: 80 }]) => r.check(facts(readApache(new EtcRoot(root))!, services)) as Finding[];
const conf = (t: { after(fn: () => void): void }, text: string) => etcTree(t, { 'apache2/apache2.conf': text });

test('config-ipv6-off: Listen 0.0.0.0:80 alone, not beside [::]:80; none for Debian\'s default', (t) => {
  const [off, ...more] = run(configIpv6Off, conf(t, 'Listen 0.0.0.0:80\nListen 0.0.0.0:443 https\nListen [::]:443 https\n'), [{ port: 80, mode: 'ipv4-only', ipv6: 'none' }]);
  assert.deepEqual(more, [], 'httpd keeps one [::]:443 socket for 0.0.0.0:443 and [::]:443');
  assert.equal(off!.subject, '/etc/apache2/apache2.conf:1');
  assert.match(off!.message, /^tcp\/80 is IPv4-only because \/etc\/apache2\/apache2\.conf:1 says Listen 0\.0\.0\.0:80: Listen 0\.0\.0\.0:80 opens an IPv4 socket only/);
  assert.deepEqual(off!.fix.commands, ['# /etc/apache2/apache2.conf, line 1:', '#   Listen 80', "apache2ctl -t   # the daemon's own syntax check, after editing /etc/apache2/apache2.conf"]);
  const root = debianTree(t);
  for (const r of [configIpv6Off, configAddressSyntax, aclIpv4Only]) assert.deepEqual(run(r, root, [{ port: 80 }, { port: 443 }]), [], r.id);
});

test('acl-ipv4-only: Require ip lines of a section together, Require all granted, Allow from with Order', (t) => {
  const root = conf(
    t,
    [
      'Listen 80',
      '<VirtualHost *:80>',
      '  <Location /admin>', // 3
      '    Require ip 192.0.2.0/24', // 4
      '    Require ip 198.51.100.0/24', // 5: the section's last Require ip line
      '  </Location>',
      '  <Location /both>',
      '    Require ip 192.0.2.0/24', // 8
      '    Require ip 2001:db8:1::/64',
      '  </Location>',
      '  <Location /open>',
      '    Require ip 192.0.2.0/24', // 12
      '    Require all granted',
      '  </Location>',
      '  <Location /old>',
      '    Order deny,allow',
      '    Deny from all',
      '    Allow from 192.0.2.0/24', // 18
      '  </Location>',
      '  <Location /old-open>',
      '    Allow from 192.0.2.0/24', // 21: Order deny,allow by default and no Deny from all
      '  </Location>',
      '</VirtualHost>',
      '',
    ].join('\n'),
  );
  const found = run(aclIpv4Only, root);
  assert.deepEqual(found.map((f) => f.subject), ['/etc/apache2/apache2.conf:5', '/etc/apache2/apache2.conf:18']);
  assert.match(found[0]!.message, /names IPv4 networks only \(192\.0\.2\.0\/24, 198\.51\.100\.0\/24\); veth0 also has 2001:db8:1::\/64, so IPv6 clients of that network are locked out on tcp\/80/);
  assert.equal(found[0]!.fix.commands[1], '#   Require ip 198.51.100.0/24 2001:db8:1::/64');
  assert.equal(found[1]!.fix.commands[1], '#   Allow from 192.0.2.0/24 2001:db8:1::/64');
});

test('config-address-syntax: brackets in Require ip and Allow from, a bare address in <VirtualHost>; what APR reads as meant is left alone', (t) => {
  const root = conf(
    t,
    [
      'Listen 2001:db8:1::2:8080', // 1: APR splits at the last colon: [2001:db8:1::2]:8080
      'Listen [fe80::1%veth0]:8081', // 2: a zone is fine here
      '<VirtualHost 2001:db8:1::2>', // 3: cut into "2001:db8:1:" and port 2: ignored
      '  Require ip [2001:db8:1::]/64', // 4
      '  Allow from [2001:db8:1::]/64', // 5
      '  Require ip 2001:db8:1::', // 6: one address
      '  Require ip ::ffff:192.0.2.0/120', // 7: refused at start; mapped peers are matched as IPv4
      '</VirtualHost>',
      '<VirtualHost [2001:db8:1::2]:8080 2001:db8:1::2:8081>',
      '</VirtualHost>',
      '',
    ].join('\n'),
  );
  assert.deepEqual(
    run(configAddressSyntax, root).map((f) => [f.subject, f.severity, f.fix.commands[1] ?? null]),
    [
      ['/etc/apache2/apache2.conf:3', 'critical', '#   <VirtualHost [2001:db8:1::2]>'],
      ['/etc/apache2/apache2.conf:4', 'critical', '#   Require ip 2001:db8:1::/64'],
      ['/etc/apache2/apache2.conf:5', 'critical', '#   Allow from 2001:db8:1::/64'],
      ['/etc/apache2/apache2.conf:6', 'warning', '#   Require ip 2001:db8:1::/64'],
      ['/etc/apache2/apache2.conf:7', 'warning', '#   Require ip 192.0.2.0/24'],
    ],
  );
});
