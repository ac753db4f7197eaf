// `ip -j route show table all exact ::/0|0.0.0.0/0` and `ip -j rule show`: default routes of
// every table (with the table id /proc/net/ipv6_route lacks) and the rules that pick tables.
// Real output captured in namespaces: test/fixtures/commands/README.md says how.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommandOutputError } from '../src/ip-command.js';
import { parseDefaultRoutes, parseRules } from '../src/iproute.js';
import { captureFiles, emptyFacts, sources, type ScanOptions } from '../src/sources.js';
import { procRoot } from '../src/proc/root.js';
import { commandErrorOf, FIXTURES } from './helpers/proc-fixtures.js';

const commandDir = (scenario: string) => join(FIXTURES, 'commands', scenario);
const output = (scenario: string, file: string) => readFileSync(join(commandDir(scenario), file), 'utf8');
const routeTables = sources.find((s) => s.name === 'route-tables')!;

test('table-100: the IPv6 default sits in table 100, the IPv4 one in main (no "table" key), metric 0 when absent', () => {
  assert.deepEqual(parseDefaultRoutes(output('table-100', captureFiles.defaultRoutes6), 6), [
    { family: 6, table: '100', type: 'unicast', gateway: '2001:db8:1::1', interface: 'veth0', metric: 1024, protocol: 'boot', expires: false },
  ]);
  assert.deepEqual(parseDefaultRoutes(output('table-100', captureFiles.defaultRoutes4), 4), [
    { family: 4, table: 'main', type: 'unicast', gateway: '192.0.2.1', interface: 'veth0', metric: 0, protocol: 'boot', expires: false },
  ]);
});

test('table-100: `from 2001:db8:9::/64 lookup 100` between local and main; IPv4 has the three stock rules', () => {
  assert.deepEqual(parseRules(output('table-100', captureFiles.rules6), 6), [
    { family: 6, priority: 0, table: 'local', selector: 'all', action: 'lookup' },
    { family: 6, priority: 32765, table: '100', selector: 'from 2001:db8:9::/64', action: 'lookup' },
    { family: 6, priority: 32766, table: 'main', selector: 'all', action: 'lookup' },
  ]);
  assert.deepEqual(
    parseRules(output('table-100', captureFiles.rules4), 4).map((r) => [r.priority, r.table]),
    [
      [0, 'local'],
      [32766, 'main'],
      [32767, 'default'],
    ],
  );
});

test('unreachable-default: type unreachable, no gateway; IPv6 prints dev lo, IPv4 no dev', () => {
  assert.deepEqual(parseDefaultRoutes(output('unreachable-default', captureFiles.defaultRoutes6), 6), [
    { family: 6, table: 'main', type: 'unreachable', gateway: null, interface: 'lo', metric: 1024, protocol: 'boot', expires: false },
  ]);
  assert.deepEqual(parseDefaultRoutes(output('unreachable-default', captureFiles.defaultRoutes4), 4), [
    { family: 4, table: 'main', type: 'unreachable', gateway: null, interface: null, metric: 0, protocol: 'boot', expires: false },
  ]);
});

test('ra-default: the RA-learned default is proto ra, expires, via the link-local router; no IPv4 default gives []', () => {
  const [route, ...rest] = parseDefaultRoutes(output('ra-default', captureFiles.defaultRoutes6), 6);
  assert.equal(rest.length, 0);
  assert.match(route!.gateway!, /^fe80::/);
  assert.deepEqual({ ...route, gateway: 'fe80::' }, { family: 6, table: 'main', type: 'unicast', gateway: 'fe80::', interface: 'veth0', metric: 1024, protocol: 'ra', expires: true });
  assert.deepEqual(parseDefaultRoutes(output('ra-default', captureFiles.defaultRoutes4), 4), []);
});

test('rules-mixed: multipath gives one entry per nexthop; nhid, via inet6, blackhole and prohibit defaults', () => {
  const v4 = parseDefaultRoutes(output('rules-mixed', captureFiles.defaultRoutes4), 4);
  const viaInet6 = v4.find((d) => d.table === '504')!;
  assert.match(viaInet6.gateway!, /^fe80::/, 'an IPv4 default via an IPv6 nexthop keeps the IPv6 gateway');
  assert.deepEqual(
    v4.map((d) => [d.table, d.type, d.table === '504' ? 'fe80::' : d.gateway, d.interface, d.metric]),
    [
      ['200', 'blackhole', null, null, 0],
      ['500', 'unicast', '192.0.2.1', 'veth0', 0],
      ['500', 'unicast', '192.0.2.9', 'veth0', 0],
      ['503', 'unicast', '192.0.2.1', 'veth0', 0],
      ['504', 'unicast', 'fe80::', 'veth0', 0],
      ['main', 'unicast', '192.0.2.1', 'veth0', 100],
    ],
  );
  assert.deepEqual(
    parseDefaultRoutes(output('rules-mixed', captureFiles.defaultRoutes6), 6).map((d) => [d.table, d.type, d.gateway, d.interface, d.metric]),
    [
      ['201', 'prohibit', null, 'lo', 10],
      ['502', 'unicast', '2001:db8:1::1', 'veth0', 1024],
      ['502', 'unicast', '2001:db8:1::9', 'veth0', 1024],
    ],
  );
});

test('rules-mixed: every selector kept in ip order, actions other than lookup name no table', () => {
  assert.deepEqual(
    parseRules(output('rules-mixed', captureFiles.rules4), 4).map((r) => [r.priority, r.selector, r.action, r.table]),
    [
      [0, 'all', 'lookup', 'local'],
      [500, 'fwmark 0x10', 'lookup', '100'],
      [600, 'to 198.51.100.0/24 iif veth0', 'prohibit', ''],
      [700, 'from 192.0.2.0/24 ipproto udp dport 53', 'lookup', '200'],
      [800, 'oif veth0', 'goto 32766', ''],
      [1000, 'all', 'nop', ''],
      [1001, 'from 203.0.113.0/24', 'blackhole', ''],
      [1100, 'tos 0x10 fwmark 0x1/0xff sport 1000-2000', 'lookup', '400'],
      [1101, 'iif nosuchdev [detached]', 'lookup', '400'],
      [1102, 'all', 'lookup', '[l3mdev-table]'],
      [1104, 'to 203.0.113.0/24', 'lookup', '400'],
      [32766, 'all', 'lookup', 'main'],
      [32767, 'all', 'lookup', 'default'],
    ],
  );
  assert.deepEqual(
    parseRules(output('rules-mixed', captureFiles.rules6), 6).map((r) => [r.priority, r.selector, r.action, r.table]),
    [
      [0, 'all', 'lookup', 'local'],
      [900, 'not to 2001:db8:7::/48', 'unreachable', ''],
      [950, 'uidrange 1000-2000', 'lookup', 'main'],
      [960, 'from 2001:db8:9::1', 'lookup', '100'], // a /128: ip prints no srclen
      [32766, 'all', 'lookup', 'main'],
    ],
  );
});

test('empty output reads as no routes and no rules', () => {
  assert.deepEqual(parseDefaultRoutes('', 6), []);
  assert.deepEqual(parseDefaultRoutes('[]\n', 4), []);
  assert.deepEqual(parseRules('', 6), []);
});

test('output that is not a JSON array of objects: the error names the command and the output', () => {
  const notJson = commandErrorOf(() => parseDefaultRoutes('default via 2001:db8:1::1 dev veth0 metric 1024 pref medium\n', 6));
  assert.equal(notJson.command, 'ip -6 -j route show table all exact ::/0');
  assert.equal(notJson.field, 'output');
  assert.equal(notJson.entry, null);
  assert.match(notJson.message, /^ip -6 -j route show table all exact ::\/0: bad output \(not JSON/);
  assert.equal(commandErrorOf(() => parseRules('{"priority":0}', 4)).field, 'output');
  const entry = commandErrorOf(() => parseRules('[{"priority":0,"src":"all","table":"local"},"x"]', 4));
  assert.deepEqual([entry.command, entry.entry, entry.field], ['ip -4 -j rule show', 1, 'entry']);
});

test('a field of the wrong type names the command, the entry and the field', () => {
  const route = (fields: Record<string, unknown>) => JSON.stringify([{ dst: 'default', gateway: '2001:db8:1::1', dev: 'veth0', metric: 1024, flags: [], ...fields }]);
  const cases: Array<[string, string, string]> = [
    [route({ metric: '1024' }), 'metric', 'expected a non-negative integer'],
    [route({ table: 100 }), 'table', 'expected a string'],
    [route({ gateway: 'router.example' }), 'gateway', 'not an IP address'],
    [route({ dev: ['veth0'] }), 'dev', 'expected a string'],
    [route({ dst: '2001:db8::/32' }), 'dst', 'expected a default route'],
    [route({ expires: '1798sec' }), 'expires', 'expected seconds'],
    [route({ gateway: undefined, via: { family: 'inet6', host: 12 } }), 'via.host', 'expected a string'],
    [route({ gateway: undefined, nexthops: [{ gateway: '2001:db8:1::1', dev: 'veth0' }, { gateway: 'x', dev: 'veth0' }] }), 'nexthops[1].gateway', 'not an IP address'],
    [route({ gateway: undefined, nexthops: {} }), 'nexthops', 'expected a non-empty array'],
  ];
  for (const [text, field, reason] of cases) {
    const error = commandErrorOf(() => parseDefaultRoutes(`[${JSON.stringify({ dst: 'default', type: 'unreachable', dev: 'lo', metric: 1024, flags: [] })},${text.slice(1)}`, 6));
    assert.equal(error.command, 'ip -6 -j route show table all exact ::/0');
    assert.equal(error.entry, 1, field);
    assert.equal(error.field, field);
    assert.ok(error.message.includes(reason), `${field}: ${error.message}`);
  }
  const rule = (fields: Record<string, unknown>) => JSON.stringify([{ priority: 100, src: 'all', table: '100', ...fields }]);
  const ruleCases: Array<[string, string]> = [
    [rule({ priority: '100' }), 'priority'],
    [rule({ priority: undefined }), 'priority'],
    [rule({ table: 100 }), 'table'],
    [rule({ table: undefined }), 'table'], // neither table nor goto, nop or action
    [rule({ src: '2001:db8:9::', srclen: '64' }), 'srclen'],
    [rule({ src: 'somewhere', srclen: 64 }), 'src'],
    [rule({ dst: '2001:db8::', dstlen: 200 }), 'dstlen'],
    [rule({ not: 'yes' }), 'not'],
    [rule({ table: undefined, goto: '32766' }), 'goto'],
    [rule({ uid_start: 1000 }), 'uid_end'],
    [rule({ fwmark: 16 }), 'fwmark'],
    [rule({ iif: 'veth0', iif_detached: 'yes' }), 'iif_detached'],
    [rule({ tun_id: { id: 1 } }), 'tun_id'],
  ];
  for (const [text, field] of ruleCases) {
    const error = commandErrorOf(() => parseRules(text, 6));
    assert.deepEqual([error.command, error.entry, error.field], ['ip -6 -j rule show', 0, field], error.message);
  }
});

// ------------------------------------------------------------------ the source

/**
 * A replay of `captureDir` (null: live), with the /proc tree of a captured fixture: whether
 * the kernel has IPv6 (net/if_inet6) decides which commands the source expects.
 */
function options(captureDir: string | null, extra: Partial<ScanOptions> = {}, proc = 'dual-stack-services'): ScanOptions {
  return { procRoot: captureDir ? procRoot(join(FIXTURES, proc, 'proc')) : procRoot('/proc'), captureDir, ...extra };
}

test('route-tables replays the captured outputs of a capture directory', async () => {
  const facts = emptyFacts();
  assert.deepEqual(await routeTables.run(options(commandDir('table-100')), facts), { status: 'ok' });
  assert.deepEqual(
    facts.tableDefaults.map((d) => [d.family, d.table, d.gateway]),
    [
      [4, 'main', '192.0.2.1'],
      [6, '100', '2001:db8:1::1'],
    ],
  );
  assert.equal(facts.routingRules.length, 6);
  assert.deepEqual(facts.commandOutputs, {}, 'a replay keeps nothing to capture again');
});

test('route-tables on a capture without the files is skipped; with some of them, partial', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dualstack-capture-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const none = await routeTables.run(options(dir), emptyFacts());
  assert.equal(none.status, 'skipped');
  assert.match(none.detail!, /ip-6-route-defaults\.json/);
  writeFileSync(join(dir, captureFiles.defaultRoutes6), output('table-100', captureFiles.defaultRoutes6));
  const facts = emptyFacts();
  const some = await routeTables.run(options(dir), facts);
  assert.equal(some.status, 'partial');
  assert.match(some.detail!, /ip-4-rules\.json is not in the capture/);
  assert.deepEqual(facts.tableDefaults.map((d) => d.table), ['100']);
});

test('route-tables: a broken capture fails the source with the command and field, and stores nothing', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dualstack-capture-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const file of [captureFiles.defaultRoutes4, captureFiles.defaultRoutes6, captureFiles.rules4]) writeFileSync(join(dir, file), output('table-100', file));
  writeFileSync(join(dir, captureFiles.rules6), '[{"priority":"0","src":"all","table":"local"}]\n');
  const facts = emptyFacts();
  await assert.rejects(Promise.resolve(routeTables.run(options(dir), facts)), (error: unknown) => error instanceof CommandOutputError && error.field === 'priority' && error.command === 'ip -6 -j rule show');
  assert.deepEqual(facts.tableDefaults, []);
});

test('route-tables on a kernel without IPv6 expects the IPv4 tables and rules only', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dualstack-capture-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const file of [captureFiles.defaultRoutes4, captureFiles.rules4]) writeFileSync(join(dir, file), output('table-100', file));
  const facts = emptyFacts();
  assert.deepEqual(await routeTables.run(options(dir, {}, 'ipv6-off'), facts), { status: 'ok' });
  assert.deepEqual(facts.tableDefaults.map((d) => d.family), [4]);
  assert.deepEqual([...new Set(facts.routingRules.map((r) => r.family))], [4]);
});

test('route-tables without ip is absent, saying so; ip failing is a failure with its message', async () => {
  const absent = await routeTables.run(options(null, { ipBinary: '/nonexistent/ip' }), emptyFacts());
  assert.equal(absent.status, 'absent');
  assert.match(absent.detail!, /\/nonexistent\/ip \(iproute2\) is not installed/);
  await assert.rejects(Promise.resolve(routeTables.run(options(null, { ipBinary: '/bin/false' }), emptyFacts())), /\/bin\/false -4 -j route show table all exact 0\.0\.0\.0\/0 failed/);
});
