// `ip -6 -j neigh show`: the neighbours flagged as routers. iproute2 prints the flag as
// `"router": null` (and leaves it out when unset); captured in ra-default after a real RA and
// an NA from a forwarding peer (test/fixtures/commands/README.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseRouterNeighbours } from '../src/neighbours.js';
import { captureFiles, emptyFacts, sources } from '../src/sources.js';
import { procRoot } from '../src/proc/root.js';
import { commandErrorOf, FIXTURES } from './helpers/proc-fixtures.js';

const commandDir = (scenario: string) => join(FIXTURES, 'commands', scenario);
const neighText = (scenario: string) => readFileSync(join(commandDir(scenario), captureFiles.neighbours6), 'utf8');
const routersSource = sources.find((s) => s.name === 'routers')!;

test('ra-default: the RA sender (STALE) and the forwarding peer (REACHABLE) are routers; the FAILED neighbour is not', () => {
  const text = neighText('ra-default');
  const raw = JSON.parse(text) as Array<Record<string, unknown>>;
  // The shape the parser relies on, as ip printed it.
  assert.ok(raw.every((n) => Array.isArray(n.state)));
  assert.deepEqual(raw.filter((n) => 'router' in n).map((n) => n.router), [null, null]);
  assert.equal(raw.find((n) => n.dst === '2001:db8:1::99')?.lladdr, undefined, 'a FAILED entry has no lladdr');
  const routers = parseRouterNeighbours(text);
  assert.equal(routers.length, 2);
  assert.match(routers[0]!.address, /^fe80::/);
  assert.deepEqual(routers[0], { address: routers[0]!.address, interface: 'veth0', state: 'STALE' });
  assert.deepEqual(routers[1], { address: '2001:db8:1::1', interface: 'veth0', state: 'REACHABLE' });
});

test('no neighbours, or none flagged router, gives []', () => {
  assert.deepEqual(parseRouterNeighbours(neighText('table-100')), []);
  assert.deepEqual(parseRouterNeighbours(''), []);
  assert.deepEqual(parseRouterNeighbours('[{"dst":"2001:db8:1::5","dev":"veth0","lladdr":"02:00:00:00:00:05","state":["REACHABLE"]}]'), []);
});

test('addresses come out canonical; several NUD states are joined; a flag printed as true also counts', () => {
  assert.deepEqual(parseRouterNeighbours('[{"dst":"2001:DB8:1:0::1","dev":"eth0","lladdr":"02:00:00:00:00:01","router":true,"state":["REACHABLE","PERMANENT"]}]'), [
    { address: '2001:db8:1::1', interface: 'eth0', state: 'REACHABLE PERMANENT' },
  ]);
});

test('broken output names the command, the entry and the field, router or not', () => {
  const command = 'ip -6 -j neigh show';
  const notJson = commandErrorOf(() => parseRouterNeighbours('fe80::1 dev veth0 lladdr 02:00:00:00:00:01 router STALE\n'));
  assert.deepEqual([notJson.command, notJson.entry, notJson.field], [command, null, 'output']);
  const ok = '{"dst":"fe80::1","dev":"veth0","lladdr":"02:00:00:00:00:01","router":null,"state":["STALE"]}';
  const cases: Array<[string, string]> = [
    ['{"dst":"fe80::1","dev":"veth0","router":"yes","state":["STALE"]}', 'router'],
    ['{"dst":"fe80::1","dev":"veth0","router":null,"state":"STALE"}', 'state'],
    ['{"dst":"router.example","dev":"veth0","state":["STALE"]}', 'dst'],
    ['{"dst":"fe80::2","state":["STALE"]}', 'dev'],
    ['{"dev":"veth0","state":["STALE"]}', 'dst'],
  ];
  for (const [entry, field] of cases) {
    const error = commandErrorOf(() => parseRouterNeighbours(`[${ok},${entry}]`));
    assert.deepEqual([error.command, error.entry, error.field], [command, 1, field], error.message);
  }
});

test('the routers source replays a capture, is skipped without its file, and absent when the kernel has no IPv6', async (t) => {
  const facts = emptyFacts();
  const dir = commandDir('ra-default');
  const proc = (name: string) => procRoot(join(FIXTURES, name, 'proc'));
  assert.deepEqual(await routersSource.run({ procRoot: proc('dual-stack-services'), captureDir: dir }, facts), { status: 'ok' });
  assert.deepEqual(facts.routers.map((r) => r.state), ['STALE', 'REACHABLE']);
  const empty = mkdtempSync(join(tmpdir(), 'dualstack-capture-'));
  t.after(() => rmSync(empty, { recursive: true, force: true }));
  const skipped = await routersSource.run({ procRoot: proc('dual-stack-services'), captureDir: empty }, emptyFacts());
  assert.deepEqual(skipped, { status: 'skipped', detail: `replaying a captured tree without ${captureFiles.neighbours6}` });
  const off = await routersSource.run({ procRoot: proc('ipv6-off'), captureDir: dir }, emptyFacts());
  assert.deepEqual(off, { status: 'absent', detail: 'net/if_inet6 is missing: IPv6 is disabled in this kernel' });
});

test('the routers source without ip is absent', async () => {
  const outcome = await routersSource.run({ procRoot: procRoot('/proc'), captureDir: null, ipBinary: '/nonexistent/ip' }, emptyFacts());
  assert.equal(outcome.status, 'absent');
});
