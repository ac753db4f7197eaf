// Network configuration under an /etc root: which systems are present (the one in charge
// first) and the default gateways they configure. Fixture trees in test/fixtures/etc/<system>/
// follow each system's documented format (the man page is cited in each file).
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigParseError, readYaml, type YamlNode } from '../src/config-syntax.js';
import {
  parseIfcfg,
  parseIfupdown,
  parseNetplan,
  parseNetworkdUnit,
  parseNmKeyfile,
  readNetworkConfig,
  redactConfig,
  resolveEtcRoot,
} from '../src/netconfig.js';
import { emptyFacts, sources } from '../src/sources.js';
import { procRoot } from '../src/proc/root.js';
import { FIXTURES } from './helpers/proc-fixtures.js';

const etc = (name: string) => join(FIXTURES, 'etc', name);
const netconfigSource = sources.find((s) => s.name === 'netconfig')!;
const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

function configErrorOf(fn: () => unknown): ConfigParseError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ConfigParseError, `expected a ConfigParseError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected a ConfigParseError, nothing was thrown');
}

function tempEtc(t: TestContext, files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'dualstack-etc-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), text);
  }
  return dir;
}

// ------------------------------------------------------------------ one tree per system

test('ifupdown: both stanzas of eth0 and the interfaces.d snippet; addresses canonical', () => {
  assert.deepEqual(readNetworkConfig(etc('ifupdown')), {
    config: {
      systems: ['ifupdown'],
      gateways: [
        { family: 4, gateway: '192.0.2.1', interface: 'eth0', system: 'ifupdown', file: 'network/interfaces' },
        { family: 6, gateway: '2001:db8:1::1', interface: 'eth0', system: 'ifupdown', file: 'network/interfaces' },
        { family: 6, gateway: 'fe80::1', interface: 'eth1', system: 'ifupdown', file: 'network/interfaces.d/eth1' },
      ],
    },
    problems: [],
    files: ['network/interfaces', 'network/interfaces.d/eth1'],
  });
});

test('ifcfg: IPV6_DEFAULTGW with %dev in sysconfig/network, GATEWAY and quoted IPV6_DEFAULTGW in ifcfg-eth0; .bak ignored', () => {
  const scan = readNetworkConfig(etc('ifcfg'));
  assert.deepEqual(scan.config, {
    systems: ['ifcfg'],
    gateways: [
      { family: 6, gateway: 'fe80::1', interface: 'eth1', system: 'ifcfg', file: 'sysconfig/network' },
      { family: 4, gateway: '192.0.2.1', interface: 'eth0', system: 'ifcfg', file: 'sysconfig/network-scripts/ifcfg-eth0' },
      { family: 6, gateway: '2001:db8:1::1', interface: 'eth0', system: 'ifcfg', file: 'sysconfig/network-scripts/ifcfg-eth0' },
    ],
  });
  assert.ok(!scan.files.some((f) => f.endsWith('.bak')));
});

test('netplan: routes to default and ::/0, gateway6 under set-name, a flow-style route; table 10 and non-defaults left out', () => {
  assert.deepEqual(readNetworkConfig(etc('netplan')).config, {
    systems: ['netplan'],
    gateways: [
      { family: 4, gateway: '192.0.2.1', interface: 'eth0', system: 'netplan', file: 'netplan/01-netcfg.yaml' },
      { family: 6, gateway: '2001:db8:1::1', interface: 'eth0', system: 'netplan', file: 'netplan/01-netcfg.yaml' },
      { family: 6, gateway: '2001:db8:3::1', interface: 'lan1', system: 'netplan', file: 'netplan/01-netcfg.yaml' },
      { family: 4, gateway: '198.51.100.1', interface: 'wlan0', system: 'netplan', file: 'netplan/90-wifi.yaml' },
    ],
  });
});

test('NetworkManager: address1 gateway part and gateway=; a never-default connection gives none', () => {
  assert.deepEqual(readNetworkConfig(etc('networkmanager')).config, {
    systems: ['networkmanager'],
    gateways: [
      { family: 4, gateway: '192.0.2.1', interface: 'eth0', system: 'networkmanager', file: 'NetworkManager/system-connections/eth0.nmconnection' },
      { family: 6, gateway: '2001:db8:1::1', interface: 'eth0', system: 'networkmanager', file: 'NetworkManager/system-connections/eth0.nmconnection' },
    ],
  });
});

test('systemd-networkd: [Network] and [Route] gateways; _dhcp4/_ipv6ra, other tables and non-defaults left out; a glob names no interface', () => {
  assert.deepEqual(readNetworkConfig(etc('systemd-networkd')).config, {
    systems: ['systemd-networkd'],
    gateways: [
      { family: 4, gateway: '192.0.2.1', interface: 'eth0', system: 'systemd-networkd', file: 'systemd/network/10-eth0.network' },
      { family: 6, gateway: '2001:db8:1::1', interface: 'eth0', system: 'systemd-networkd', file: 'systemd/network/10-eth0.network' },
      { family: 6, gateway: '2001:db8:4::1', interface: null, system: 'systemd-networkd', file: 'systemd/network/20-wired.network' },
    ],
  });
});

test('none: an interfaces file with lo alone is no system; an empty or missing root has none either', (t) => {
  const expected = { config: { systems: [], gateways: [] }, problems: [] };
  const none = readNetworkConfig(etc('none'));
  assert.deepEqual({ config: none.config, problems: none.problems }, expected);
  assert.deepEqual(none.files, ['network/interfaces']);
  assert.deepEqual(readNetworkConfig(tempEtc(t, {})), { ...expected, files: [] });
  assert.deepEqual(readNetworkConfig('/nonexistent/etc'), { ...expected, files: [] });
});

test('several systems: netplan first (it renders for the others), then NetworkManager, then networkd; gateways in that order', () => {
  const { config } = readNetworkConfig(etc('mixed'));
  assert.deepEqual(config.systems, ['netplan', 'networkmanager', 'systemd-networkd']);
  assert.deepEqual(
    config.gateways.map((g) => [g.system, g.gateway, g.interface]),
    [
      ['netplan', '2001:db8:1::1', 'ens3'],
      ['networkmanager', '2001:db8:2::1', 'ens5'],
      ['systemd-networkd', '192.0.2.1', 'ens4'],
    ],
  );
});

test('netplan: anchors and aliases, as cloud-init wrote 50-cloud-init.yaml for MAAS bonds and VLANs (nameservers: &id001 / *id001, cloud-init LP #1815051)', () => {
  const text = [
    '# This file is generated from information provided by the datasource.  Changes',
    '# to it will not persist across an instance reboot.',
    'network:',
    '    version: 2',
    '    ethernets:',
    '        eno1:',
    '            match:',
    '                macaddress: 52:54:00:00:00:01',
    '            mtu: 1500',
    '            set-name: eno1',
    '    bonds:',
    '        bond0:',
    '            interfaces:',
    '            - eno1',
    '            parameters:',
    '                mode: active-backup',
    '    vlans:',
    '        bond0.3502:',
    '            addresses:',
    '            - 192.0.2.2/24',
    '            gateway4: 192.0.2.1',
    '            id: 3502',
    '            link: bond0',
    '            nameservers: &id001',
    '                addresses:',
    '                - 192.0.2.53',
    '                search:',
    '                - maas',
    '        bond0.3503:',
    '            addresses:',
    '            - 2001:db8:3503::2/64',
    '            gateway6: 2001:db8:3503::1',
    '            id: 3503',
    '            link: bond0',
    '            nameservers: *id001',
  ].join('\n');
  assert.deepEqual(parseNetplan(text, 'netplan/50-cloud-init.yaml'), [
    { family: 4, gateway: '192.0.2.1', interface: 'bond0.3502', system: 'netplan', file: 'netplan/50-cloud-init.yaml' },
    { family: 6, gateway: '2001:db8:3503::1', interface: 'bond0.3503', system: 'netplan', file: 'netplan/50-cloud-init.yaml' },
  ]);
});

test('netplan: a routes list shared by an alias gives each device its gateways (libyaml, netplan\'s parser, resolves aliases); an alias with no anchor is refused, as netplan does', () => {
  const shared = [
    'network:',
    '  ethernets:',
    '    eth0:',
    '      routes: &defaults',
    '        - {to: default, via: 192.0.2.1}',
    '        - to: "::/0"',
    '          via: 2001:db8::1',
    '    eth1:',
    '      routes: *defaults',
  ].join('\n');
  assert.deepEqual(
    parseNetplan(shared, 'netplan/a.yaml').map((g) => [g.interface, g.gateway]),
    [['eth0', '192.0.2.1'], ['eth0', '2001:db8::1'], ['eth1', '192.0.2.1'], ['eth1', '2001:db8::1']],
  );
  const error = configErrorOf(() => parseNetplan('network:\n  ethernets:\n    eth0:\n      routes: *defaults\n', 'netplan/a.yaml'));
  assert.deepEqual([error.file, error.line, error.field, error.raw], ['netplan/a.yaml', 4, 'network.ethernets.eth0.routes', '      routes: *defaults']);
  assert.match(error.message, /\*defaults names no anchor/);
});

// ------------------------------------------------------------------ broken files

test('a broken file is a problem naming file, line and field; the other files are still read', (t) => {
  const dir = tempEtc(t, {
    'netplan/01-bad.yaml': 'network:\n  ethernets:\n    eth0:\n      gateway6: 2001:db8::zz\n',
    'netplan/02-good.yaml': 'network:\n  ethernets:\n    eth1:\n      gateway4: 192.0.2.1\n',
    'systemd/network/10-bad.network': '[Match]\nName=eth2\n[Network]\nGateway=192.0.2.300\n',
  });
  const scan = readNetworkConfig(dir);
  assert.deepEqual(scan.config.systems, ['netplan', 'systemd-networkd']);
  assert.deepEqual(scan.config.gateways.map((g) => g.gateway), ['192.0.2.1']);
  assert.deepEqual(scan.problems, [
    'netplan/01-bad.yaml line 4: bad ethernets.eth0.gateway6 (not an IP address: "2001:db8::zz"): "      gateway6: 2001:db8::zz"',
    'systemd/network/10-bad.network line 4: bad [Network] Gateway (not an IP address: "192.0.2.300"): "Gateway=192.0.2.300"',
  ]);
});

test('each parser names the field and line of a bad gateway, and the family a key implies', () => {
  const cases: Array<[() => unknown, number, string, RegExp]> = [
    [() => parseIfupdown('iface eth0 inet static\n  address 192.0.2.2/24\n  gateway 2001:db8::1\n', 'network/interfaces'), 3, 'gateway', /an IPv6 address where IPv4 is expected/],
    [() => parseIfupdown('  gateway 192.0.2.1\n', 'network/interfaces'), 1, 'gateway', /an option outside an iface stanza/],
    [() => parseIfupdown('iface eth0\n', 'network/interfaces'), 1, 'iface', /expected iface NAME FAMILY METHOD/],
    [() => parseIfcfg('DEVICE=eth0\nGATEWAY=2001:db8::1\n', 'sysconfig/network-scripts/ifcfg-eth0', 'interface'), 2, 'GATEWAY', /an IPv6 address where IPv4/],
    [() => parseIfcfg('IPV6_DEFAULTGW=gateway%eth0\n', 'sysconfig/network', 'network'), 1, 'IPV6_DEFAULTGW', /not an IP address/],
    [() => parseNmKeyfile('[connection]\nid=x\n[ipv6]\naddress1=2001:db8::2/64,192.0.2.1\n', 'x.nmconnection'), 4, '[ipv6] address1', /an IPv4 address where IPv6/],
    [() => parseNmKeyfile('gateway=192.0.2.1\n', 'x.nmconnection'), 1, 'entry', /before the first \[section\]/],
    [() => parseNetworkdUnit('[Route]\nGateway=fe80::1::2\n', 'systemd/network/a.network'), 2, '[Route] Gateway', /not an IP address/],
    [() => parseNetplan('network:\n  ethernets:\n    eth0:\n      routes:\n        - to: ::/0\n          via: 192.0.2.1\n', 'netplan/a.yaml'), 6, 'ethernets.eth0.routes[0].via', /an IPv4 address where IPv6/],
    [() => parseNetplan('network:\n  ethernets:\n    eth0:\n      routes: default\n', 'netplan/a.yaml'), 4, 'ethernets.eth0.routes', /expected a list of routes/],
    [() => parseNetplan('network:\n  ethernets: [eth0]\n', 'netplan/a.yaml'), 2, 'ethernets', /expected a mapping/],
  ];
  for (const [fn, line, field, reason] of cases) {
    const error = configErrorOf(fn);
    assert.deepEqual([error.line, error.field], [line, field], error.message);
    assert.match(error.message, reason);
  }
});

// ------------------------------------------------------------------ YAML (the yaml package)

/** A YAML node as plain values, for comparisons. */
function plain(node: YamlNode | null): unknown {
  if (node === null) return null;
  if (node.kind === 'scalar') return node.value;
  if (node.kind === 'seq') return node.items.map(plain);
  return Object.fromEntries([...node.entries].map(([k, v]) => [k, plain(v)]));
}

test('YAML: block and flow collections, sequences at the key indent, quotes, comments, ::/0 as a plain scalar', () => {
  const text = [
    '---',
    '# comment',
    'network:',
    '  version: 2 # trailing comment',
    '  ethernets:',
    '    "eth0":',
    '      addresses: [192.0.2.2/24, "2001:db8::2/64"]',
    '      routes:',
    '      - to: ::/0',
    "        via: '2001:db8::1'",
    '      -   to: default',
    '          via: 192.0.2.1',
    '      - {to: 0.0.0.0/0, via: 192.0.2.9,',
    '         metric: 100}',
    "      description: it's link-1 # the apostrophe opens no quote, so this is a comment",
    '      empty:',
    '      nested:',
    '        - - a',
    '          - b',
    '        -',
    '          c: "x # not a comment"',
  ].join('\n');
  assert.deepEqual(plain(readYaml(text, 'netplan/a.yaml')), {
    network: {
      version: '2',
      ethernets: {
        eth0: {
          addresses: ['192.0.2.2/24', '2001:db8::2/64'],
          routes: [
            { to: '::/0', via: '2001:db8::1' },
            { to: 'default', via: '192.0.2.1' },
            { to: '0.0.0.0/0', via: '192.0.2.9', metric: '100' },
          ],
          description: "it's link-1",
          empty: '',
          nested: [['a', 'b'], { c: 'x # not a comment' }],
        },
      },
    },
  });
  assert.equal(readYaml('# only a comment\n\n', 'netplan/a.yaml'), null);
});

test('YAML: anchors, aliases and block scalars are read; an alias is its anchored node', () => {
  assert.deepEqual(plain(readYaml('network: &n\n  version: 2\n', 'netplan/a.yaml')), { network: { version: '2' } });
  assert.deepEqual(plain(readYaml('a: |\n  text\n', 'netplan/a.yaml')), { a: 'text\n' });
  const doc = readYaml('a: &x {b: 1}\nc: *x\n', 'netplan/a.yaml');
  assert.ok(doc?.kind === 'map');
  assert.equal(doc.entries.get('c'), doc.entries.get('a'));
  // A plain scalar is a YAML document too; that netplan wants a mapping is parseNetplan's to say.
  assert.deepEqual(readYaml('just text\n', 'netplan/a.yaml'), { kind: 'scalar', value: 'just text', line: 1 });
  const error = configErrorOf(() => parseNetplan('just text\n', 'netplan/a.yaml'));
  assert.deepEqual([error.line, error.field, error.raw], [1, 'document', 'just text']);
  assert.match(error.message, /expected a mapping/);
});

test('YAML: what does not parse is a ConfigParseError naming the line, the key path there and the raw line', () => {
  const cases: Array<[string, number, string, RegExp]> = [
    ['network:\n\tversion: 2\n', 2, 'version', /Tabs are not allowed as indentation/],
    ['a: 1\n---\nb: 2\n', 2, 'document', /only one YAML document/],
    ['a: 1\na: 2\n', 2, 'a', /Map keys must be unique/],
    ['network:\n  ethernets:\n    "eth0": {}\n    eth0: {}\n', 4, 'network.ethernets.eth0', /Map keys must be unique/],
    ['a:\n  b: 1\n c: 2\n', 3, 'c', /must start at the same column/],
    // yaml reads `1` and `b` as one key over two lines, so the error starts on line 1.
    ['a: 1\n   b: 2\n', 1, 'a', /Nested mappings are not allowed/],
    ['a: [1, 2\n', 1, 'a', /Flow sequence .* end with a \]/],
    ['a: {b: 1]}\n', 1, 'a.b', /Flow map .* end with a \}/],
    ['a:\n  - x\n  b: 1\n', 3, 'b', /must start at the same column/],
    ['network:\n  ethernets:\n    eth0:\n      routes:\n        - to: default\n          via: "192.0.2.1\n', 6, 'network.ethernets.eth0.routes[0].via', /Missing closing "quote/],
    ['network:\n  ethernets:\n    eth0:\n      routes: *r\n', 4, 'network.ethernets.eth0.routes', /\*r names no anchor/],
  ];
  for (const [text, line, field, reason] of cases) {
    const error = configErrorOf(() => readYaml(text, 'netplan/x.yaml'));
    assert.equal(error.file, 'netplan/x.yaml');
    assert.deepEqual([error.line, error.field], [line, field], `${JSON.stringify(text)}: ${error.message}`);
    assert.equal(error.raw, text.split('\n')[line - 1]);
    assert.match(error.message, reason);
  }
});

// ------------------------------------------------------------------ the source, capture and CLI

test('the netconfig source reads the given root; on a replay without etc/ it is skipped', async (t) => {
  const facts = emptyFacts();
  const live = { procRoot: procRoot('/proc'), captureDir: null };
  assert.deepEqual(await netconfigSource.run({ ...live, etcRoot: etc('netplan') }, facts), { status: 'ok' });
  assert.deepEqual(facts.networkConfig.systems, ['netplan']);
  const capture = tempEtc(t, { 'proc/net/tcp': '' });
  const replay = { procRoot: procRoot(join(capture, 'proc')), captureDir: capture };
  const skipped = await netconfigSource.run(replay, emptyFacts());
  assert.equal(skipped.status, 'skipped');
  mkdirSync(join(capture, 'etc/systemd/network'), { recursive: true });
  writeFileSync(join(capture, 'etc/systemd/network/10-a.network'), '[Match]\nName=eth0\n[Network]\nGateway=2001:db8::1\n');
  const replayed = emptyFacts();
  assert.deepEqual(await netconfigSource.run(replay, replayed), { status: 'ok' });
  assert.deepEqual(replayed.networkConfig.gateways.map((g) => g.file), ['systemd/network/10-a.network']);
  const partial = await netconfigSource.run({ ...live, etcRoot: tempEtc(t, { 'netplan/a.yaml': 'a: [\n' }) }, emptyFacts());
  assert.equal(partial.status, 'partial');
  assert.match(partial.detail!, /^netplan\/a\.yaml line 1: bad a \(Flow sequence .* end with a \]\): "a: \["$/);
});

test('resolveEtcRoot: the given root, else /etc live, else the capture etc/ when it exists', (t) => {
  const capture = tempEtc(t, { 'etc/hostname': 'x\n' });
  assert.equal(resolveEtcRoot({ etcRoot: '/srv/etc', live: true, captureDir: null }), '/srv/etc');
  assert.equal(resolveEtcRoot({ etcRoot: null, live: true, captureDir: null }), null);
  assert.equal(resolveEtcRoot({ live: true, captureDir: null }), '/etc');
  assert.equal(resolveEtcRoot({ live: false, captureDir: capture }), join(capture, 'etc'));
  assert.equal(resolveEtcRoot({ live: false, captureDir: join(capture, 'etc') }), null);
});

test('redactConfig: passwords and PSKs replaced; NetworkManager keyfiles keep [connection], [ipv4] and [ipv6] only', () => {
  const wifi = redactConfig('netplan/90-wifi.yaml', '      access-points:\n        "x":\n          password: "correct horse"\n      routes: []\n');
  assert.equal(wifi, '      access-points:\n        "x":\n          password: <redacted>\n      routes: []\n');
  assert.equal(redactConfig('network/interfaces', 'iface wlan0 inet dhcp\n    wpa-psk s3cret\n'), 'iface wlan0 inet dhcp\n    wpa-psk <redacted>\n');
  assert.equal(redactConfig('sysconfig/network-scripts/ifcfg-wlan0', 'WPA_PSK=s3cret\nGATEWAY=192.0.2.1\n'), 'WPA_PSK=<redacted>\nGATEWAY=192.0.2.1\n');
  const keyfile = '[connection]\nid=guest\n[wifi-security]\npsk=s3cret\n[ipv4]\nmethod=auto\n[802-1x]\npassword=x\n[ipv6]\nmethod=auto\n';
  assert.equal(redactConfig('NetworkManager/system-connections/guest.nmconnection', keyfile), '[connection]\nid=guest\n[ipv4]\nmethod=auto\n[ipv6]\nmethod=auto\n');
  // What the parsers read survives redaction.
  const nm = join(etc('networkmanager'), 'NetworkManager/system-connections/eth0.nmconnection');
  const text = readFileSync(nm, 'utf8');
  assert.deepEqual(parseNmKeyfile(redactConfig('x.nmconnection', text), 'x'), parseNmKeyfile(text, 'x'));
});

test('scan --etc-root reads the given tree on a replay; a missing directory is a usage error', () => {
  const proc = join(FIXTURES, 'no-ipv6-default', 'proc');
  const report = JSON.parse(execFileSync(process.execPath, [CLI, 'scan', '--json', '--proc-root', proc, '--etc-root', etc('ifupdown')], { encoding: 'utf8' }));
  assert.deepEqual(report.networkConfig.systems, ['ifupdown']);
  assert.equal(report.sources.find((s: { name: string }) => s.name === 'netconfig').status, 'ok');
  const bad = spawnSync(process.execPath, [CLI, 'scan', '--proc-root', proc, '--etc-root', '/nonexistent/etc'], { encoding: 'utf8' });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /--etc-root \/nonexistent\/etc is not a directory/);
});
