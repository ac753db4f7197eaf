// nginx.conf: the parser on Debian 12's packaged files and on broken ones; the reader's
// includes (globs, relative to /etc/nginx, inside blocks), loops and links out of the root;
// and the config rules on what the reader gives them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rules, type DaemonConfig, type Finding, type HostAddress, type Rule, type Service } from '@dualstack/core';
import { parseNginxConfig, readNginx } from '../src/config/nginx.js';
import { EtcRoot } from '../src/config/etc-root.js';
import { ConfigParseError } from '../src/config-syntax.js';
import { etcTree } from './helpers/etc-tree.js';

const debian = fileURLToPath(new URL('../../../test/fixtures/config/debian12/nginx/', import.meta.url));

const listFiles = (dir: string): string[] =>
  readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? listFiles(join(dir, n)) : [join(dir, n)]));

test("Debian 12's packaged nginx.conf: its includes in order, events and http blocks as contexts", () => {
  const parsed = parseNginxConfig(readFileSync(join(debian, 'nginx.conf'), 'utf8'), '/etc/nginx/nginx.conf');
  assert.deepEqual(
    parsed.includes.map((i) => [i.pattern, parsed.items[i.at - 1]!.line]),
    [
      ['/etc/nginx/modules-enabled/*.conf', 5],
      ['/etc/nginx/mime.types', 26],
      ['/etc/nginx/conf.d/*.conf', 59],
      ['/etc/nginx/sites-enabled/*', 60],
    ],
    'each include at the index right after its own line',
  );
  const at = (line: number) => parsed.items.find((d) => d.line === line)!;
  assert.deepEqual([at(8).key, at(8).value, at(8).context], ['worker_connections', '768', 'events']);
  assert.deepEqual([at(33).key, at(33).value, at(33).context], ['ssl_protocols', 'TLSv1 TLSv1.1 TLSv1.2 TLSv1.3', 'http'], 'the trailing comment is not an argument');
  assert.equal(at(33).raw, '\tssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3; # Dropping SSLv3, ref: POODLE');
  assert.equal(at(1).context, undefined);
  assert.ok(!parsed.items.some((d) => d.key === 'mail' || d.key === '#mail'), 'the commented-out mail block is a comment');
});

test("every file of Debian 12's nginx-common parses: types and charset_map blocks, regexes, $variables", () => {
  for (const path of listFiles(debian)) {
    const file = `/etc/nginx/${relative(debian, path)}`;
    assert.doesNotThrow(() => parseNginxConfig(readFileSync(path, 'utf8'), file), file);
  }
  const php = parseNginxConfig(readFileSync(join(debian, 'snippets/fastcgi-php.conf'), 'utf8'), '/etc/nginx/snippets/fastcgi-php.conf');
  assert.deepEqual(php.items.slice(0, 2).map((d) => [d.key, d.value]), [
    ['fastcgi_split_path_info', '^(.+?\\.php)(/.*)$'],
    ['try_files', '$fastcgi_script_name =404'],
  ]);
  const mime = parseNginxConfig(readFileSync(join(debian, 'mime.types'), 'utf8'), '/etc/nginx/mime.types');
  assert.equal(mime.items[0]!.key, 'types');
  assert.deepEqual([mime.items[1]!.key, mime.items[1]!.value, mime.items[1]!.context], ['text/html', 'html htm shtml', 'types']);
});

test("Debian 12's default site: one server block, listen 80 and [::]:80, summarised in the context with its file and line", () => {
  const parsed = parseNginxConfig(readFileSync(join(debian, 'sites-available/default'), 'utf8'), '/etc/nginx/sites-available/default');
  const server = 'server _ (listen 80, [::]:80; /etc/nginx/sites-available/default:21)';
  assert.deepEqual(
    parsed.items.filter((d) => ['server', 'listen', 'server_name', 'location'].includes(d.key)).map((d) => [d.line, d.key, d.value, d.context ?? null]),
    [
      [21, 'server', '', null],
      [22, 'listen', '80 default_server', server],
      [23, 'listen', '[::]:80 default_server', server],
      [46, 'server_name', '_', server],
      [48, 'location', '/', server],
    ],
  );
  assert.equal(parsed.items.find((d) => d.key === 'try_files')!.context, `${server} > location /`);
});

test('syntax: quotes, several directives on a line, a directive over lines, ${var} braces, nested blocks', () => {
  const parsed = parseNginxConfig(
    [
      'http {',
      '  server { listen 8080; server_name "a.example" \'b.example\';',
      '    location ~ "^/(a|b){2}$" { allow 192.0.2.0/24; deny all; }',
      '    location /x {',
      '      limit_except GET {',
      '        allow 2001:db8::/32;',
      '      }',
      '      return 200 ${host}#not-a-comment "a; {}";',
      '    }',
      '    listen',
      '      [::]:8080',
      '      ipv6only=on;   # a comment',
      '  }',
      '}',
      '',
    ].join('\n'),
    '/etc/nginx/nginx.conf',
  );
  const server = 'http > server a.example b.example (listen 8080, [::]:8080; /etc/nginx/nginx.conf:2)';
  assert.deepEqual(
    parsed.items.map((d) => [d.line, d.key, d.value, d.context ?? null]),
    [
      [1, 'http', '', null],
      [2, 'server', '', 'http'],
      [2, 'listen', '8080', server],
      [2, 'server_name', '"a.example" \'b.example\'', server],
      [3, 'location', '~ "^/(a|b){2}$"', server],
      [3, 'allow', '192.0.2.0/24', `${server} > location ~ ^/(a|b){2}$`],
      [3, 'deny', 'all', `${server} > location ~ ^/(a|b){2}$`],
      [4, 'location', '/x', server],
      [5, 'limit_except', 'GET', `${server} > location /x`],
      [6, 'allow', '2001:db8::/32', `${server} > location /x > limit_except GET`],
      [8, 'return', '200 ${host}#not-a-comment "a; {}"', `${server} > location /x`],
      [10, 'listen', '[::]:8080 ipv6only=on', server],
    ],
  );
  assert.equal(parsed.items[3]!.raw, '  server { listen 8080; server_name "a.example" \'b.example\';');
});

test('broken files: a ConfigParseError naming file, line and directive, with the raw line', () => {
  for (const [text, line, field] of [
    ['http {\n  server {\n    listen 80;\n  }\n', 1, 'http'], // never closed: the block's own line
    ['events {}\n}\n', 2, '}'],
    ['http {\n  listen 80\n}\n', 2, 'listen'], // no ';' before '}'
    ['worker_processes 2;\nerror_log /x', 2, 'error_log'],
    ['http {\n  return 200 "unclosed;\n}\n', 2, 'return'],
    ['http {\n  ;\n}\n', 2, ';'],
    ['{\n}\n', 1, '{'],
    ['http {\n  return 200 "a"b;\n}\n', 2, 'return'],
    ['include a.conf b.conf;\n', 1, 'include'],
  ] as const) {
    assert.throws(
      () => parseNginxConfig(text, '/etc/nginx/nginx.conf'),
      (e: unknown) => e instanceof ConfigParseError && e.file === '/etc/nginx/nginx.conf' && e.line === line && e.field === field && e.raw === text.split('\n')[line - 1],
      JSON.stringify(text),
    );
  }
});

test('the reader: includes relative to /etc/nginx from any file, in glob order, inside the blocks that hold them', (t) => {
  const root = etcTree(t, {
    'nginx/nginx.conf': 'events {}\nhttp {\n  allow 198.51.100.0/24;\n  include sites-enabled/*;\n}\n',
    'nginx/sites-enabled/b': 'server {\n  server_name b.example;\n  include snippets/listen.conf;\n  location /admin { include snippets/acl.conf; }\n}\n',
    'nginx/sites-enabled/a': 'server {\n  listen 8080;\n}\n',
    'nginx/sites-enabled/.hidden': 'server { listen 9999; }\n',
    'nginx/snippets/listen.conf': 'listen 80;\nlisten [::]:80;\n',
    'nginx/snippets/acl.conf': 'allow 192.0.2.0/24;\ndeny all;\n',
  });
  const config = readNginx(new EtcRoot(root))!;
  const a = 'http > server (listen 8080; /etc/nginx/sites-enabled/a:1)';
  const b = 'http > server b.example (listen 80, [::]:80; /etc/nginx/sites-enabled/b:1)';
  assert.deepEqual(
    config.directives.map((d) => [`${d.file.replace('/etc/nginx/', '')}:${d.line}`, d.key, d.value, d.context ?? null]),
    [
      ['nginx.conf:3', 'allow', '198.51.100.0/24', 'http'],
      ['sites-enabled/a:1', 'server', '', 'http'],
      ['sites-enabled/a:2', 'listen', '8080', a],
      ['sites-enabled/b:1', 'server', '', 'http'],
      ['sites-enabled/b:2', 'server_name', 'b.example', b],
      ['snippets/listen.conf:1', 'listen', '80', b],
      ['snippets/listen.conf:2', 'listen', '[::]:80', b],
      ['snippets/acl.conf:1', 'allow', '192.0.2.0/24', `${b} > location /admin`],
      ['snippets/acl.conf:2', 'deny', 'all', `${b} > location /admin`],
    ],
  );
  assert.deepEqual(config.files.map((f) => `${f.path.replace('/etc/nginx/', '')} ${f.status}`), [
    'nginx.conf read',
    'sites-enabled/a read',
    'sites-enabled/b read',
    'snippets/listen.conf read',
    'snippets/acl.conf read',
  ]);
});

test('no nginx.conf: null; a broken file is one unparsable file; loops and links out of the root are reported per file', (t) => {
  assert.equal(readNginx(new EtcRoot(etcTree(t, { hostname: 'x\n' }))), null);
  const root = etcTree(t, {
    'nginx/nginx.conf': 'http {\n  include loop.conf;\n  include out.conf;\n  include broken.conf;\n  server { listen 80; }\n}\n',
    'nginx/loop.conf': 'include nginx.conf;\nserver { listen 81; }\n',
    'nginx/broken.conf': 'server { listen 82;\n',
  });
  const outside = etcTree(t, { 'secret.conf': 'server { listen 203.0.113.9:80; }\n' });
  symlinkSync(join(outside, 'secret.conf'), join(root, 'nginx/out.conf'));
  const config = readNginx(new EtcRoot(root))!;
  assert.deepEqual(config.files.map((f) => `${f.path} ${f.status}`), [
    '/etc/nginx/nginx.conf read',
    '/etc/nginx/loop.conf read',
    '/etc/nginx/nginx.conf include-loop',
    '/etc/nginx/out.conf outside-root',
    '/etc/nginx/broken.conf unparsable',
  ]);
  assert.match(config.files[4]!.detail!, /broken\.conf line 1: bad server \(unexpected end of file/);
  assert.deepEqual(config.directives.filter((d) => d.key === 'listen').map((d) => [d.value, d.context]), [
    ['81', 'http > server (listen 81; /etc/nginx/loop.conf:2)'],
    ['80', 'http > server (listen 80; /etc/nginx/nginx.conf:5)'],
  ]);
});

test("the reader on Debian 12's packaged tree keeps the default site's server, listen and server_name lines", (t) => {
  const root = mkdtempSync(join(tmpdir(), 'ds-etc-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  cpSync(debian, join(root, 'nginx'), { recursive: true });
  const config = readNginx(new EtcRoot(root))!;
  assert.deepEqual(config.files.map((f) => `${f.path} ${f.status}`), ['/etc/nginx/nginx.conf read', '/etc/nginx/mime.types read', '/etc/nginx/sites-enabled/default read']);
  const server = 'http > server _ (listen 80, [::]:80; /etc/nginx/sites-enabled/default:21)';
  assert.deepEqual(config.directives.map((d) => [d.line, d.key, d.value, d.context]), [
    [21, 'server', '', 'http'],
    [22, 'listen', '80 default_server', server],
    [23, 'listen', '[::]:80 default_server', server],
    [46, 'server_name', '_', server],
  ]);
});

// ------------------------------------------------------------------ the rules on what the reader gives

const hostAddresses: HostAddress[] = [
  { family: 4, address: '192.0.2.2', prefixLength: 24, interface: 'veth0', scope: 'global', flags: ['permanent'] },
  { family: 6, address: '2001:db8:1::2', prefixLength: 64, interface: 'veth0', scope: 'global', flags: ['permanent'] },
];

function facts(config: DaemonConfig, services: Array<Partial<Service> & { port: number }>) {
  return {
    addresses: hostAddresses,
    services: services.map((s) => ({ proto: 'tcp', process: 'nginx', mode: 'dual-separate', ipv4: 'any', ipv6: 'any', ...s })),
    configs: [config],
  } as never;
}

const rule = (id: string): Rule => rules.find((r) => r.id === id)!;
const configIpv6Off = rule('config-ipv6-off');
const configAddressSyntax = rule('config-address-syntax');
const aclIpv4Only = rule('acl-ipv4-only');

const run = (rule: Rule, root: string, services: Array<Partial<Service> & { port: number }> = [{ port: 80 }]) =>
  rule.check(facts(readNginx(new EtcRoot(root))!, services)) as Finding[];

test('config-ipv6-off: a server block on IPv4 only, with and without IPv6 sockets on that port elsewhere; none for Debian\'s default', (t) => {
  const alone = etcTree(t, { 'nginx/nginx.conf': 'http {\n  server {\n    server_name a.example;\n    listen 80 default_server backlog=1024;\n  }\n}\n' });
  const [off] = run(configIpv6Off, alone, [{ port: 80, mode: 'ipv4-only', ipv6: 'none' }]);
  assert.equal(off!.subject, '/etc/nginx/nginx.conf:4');
  assert.match(off!.message, /^tcp\/80 is IPv4-only because \/etc\/nginx\/nginx\.conf:4 says listen 80 default_server backlog=1024;: nginx listens on port 80 over IPv4 only: no server block has listen \[::\]:80/);
  assert.deepEqual(off!.fix.commands.slice(0, 2), ['# /etc/nginx/nginx.conf, line 4:', '#   listen 80 default_server backlog=1024; listen [::]:80 default_server backlog=1024;']);
  assert.equal(off!.fix.commands[2], "nginx -t   # the daemon's own syntax check, after editing /etc/nginx/nginx.conf");

  const beside = etcTree(t, {
    'nginx/nginx.conf': 'http {\n  server {\n    listen 80 default_server;\n    listen [::]:80 default_server;\n  }\n  server {\n    server_name b.example;\n    listen 80 reuseport ssl;\n  }\n  server {\n    server_name c.example;\n  }\n}\n',
  });
  const found = run(configIpv6Off, beside);
  assert.deepEqual(found.map((f) => f.subject), ['/etc/nginx/nginx.conf:8', '/etc/nginx/nginx.conf:10']);
  assert.match(found[0]!.message, /server b\.example listens on port 80 over IPv4 only: other server blocks have \[::\]:80, so IPv6 clients asking for b\.example get the default server of \[::\]:80 instead/);
  assert.equal(found[0]!.fix.commands[1], '#   listen 80 reuseport ssl; listen [::]:80 ssl;', 'per-socket options stay with the socket that has them');
  assert.match(found[1]!.message, /a server block without listen listens on \*:80, IPv4 only/);
  assert.equal(found[1]!.fix.commands[1], '#   server { listen 80; listen [::]:80;');

  const root = mkdtempSync(join(tmpdir(), 'ds-etc-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  cpSync(debian, join(root, 'nginx'), { recursive: true });
  for (const rule of [configIpv6Off, configAddressSyntax, aclIpv4Only]) assert.deepEqual(run(rule, root), [], rule === configIpv6Off ? 'ipv6-off' : 'others');
});

test('acl-ipv4-only: an allow list ending in deny all, a deny list, and lists that already name IPv6', (t) => {
  const root = etcTree(t, {
    'nginx/nginx.conf': [
      'http {',
      '  server {',
      '    listen 80; listen [::]:80;',
      '    location /admin { deny 192.0.2.66; allow 192.0.2.0/24; deny all; }', // 4
      '    location /ok { allow 192.0.2.0/24; allow 2001:db8:1::/64; deny all; }', // 5
      '    location /open { allow 192.0.2.0/24; }', // 6: nobody is kept out
      '    location /blocked {', // 7
      '      deny 192.0.2.0/24;', // 8
      '    }',
      '  }',
      '}',
      '',
    ].join('\n'),
  });
  const found = run(aclIpv4Only, root);
  assert.deepEqual(found.map((f) => f.subject), ['/etc/nginx/nginx.conf:4', '/etc/nginx/nginx.conf:8']);
  assert.match(found[0]!.message, /names IPv4 networks only \(192\.0\.2\.0\/24\); veth0 also has 2001:db8:1::\/64, so IPv6 clients of that network are locked out on tcp\/80/);
  assert.equal(found[0]!.fix.commands[1], '#   location /admin { deny 192.0.2.66; allow 192.0.2.0/24; allow 2001:db8:1::/64; deny all; }');
  assert.match(found[1]!.message, /let in where IPv4 ones are not/);
  assert.equal(found[1]!.fix.commands[1], '#   deny 192.0.2.0/24; deny 2001:db8:1::/64;');
});

test('config-address-syntax: bare IPv6 in listen, brackets in allow, a zone, a network without its length, a ::ffff: rule', (t) => {
  const root = etcTree(t, {
    'nginx/nginx.conf': [
      'http {',
      '  server {',
      '    listen 2001:db8:1::2:8080;', // 3
      '    listen [fe80::1%veth0]:80;', // 4
      '    allow [2001:db8:1::]/64;', // 5
      '    set_real_ip_from 2001:db8:1::;', // 6
      '    allow 2001:db8:1::/64;', // 7: fine
      '    allow ::ffff:192.0.2.0/120;', // 8: nginx matches mapped peers against its IPv4 rules
      '  }',
      '}',
      '',
    ].join('\n'),
  });
  const found = run(configAddressSyntax, root);
  assert.deepEqual(found.map((f) => [f.subject, f.severity, f.fix.commands[1] ?? null]), [
    ['/etc/nginx/nginx.conf:3', 'critical', '#   listen [2001:db8:1::2]:8080;'],
    ['/etc/nginx/nginx.conf:4', 'critical', '#   listen [fe80::1]:80;'],
    ['/etc/nginx/nginx.conf:5', 'critical', '#   allow 2001:db8:1::/64;'],
    ['/etc/nginx/nginx.conf:6', 'warning', '#   set_real_ip_from 2001:db8:1::/64;'],
    ['/etc/nginx/nginx.conf:8', 'warning', '#   allow 192.0.2.0/24;'],
  ]);
});
