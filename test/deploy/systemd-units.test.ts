// The systemd units: `systemd-analyze verify` passes without a single warning (through
// deploy/systemd/verify-units.sh, as .ci/run runs it), for each unit alone and for the agent
// with its opt-in firewall drop-in; the paths agree with what the installer writes and what
// the programs default to; and `systemd-analyze security` rates them well.
// Skipped where systemd-analyze is not installed; under CI (CI=true) that fails instead
// (test/helpers/requirements.ts; .ci/run installs it).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DEFAULT_SPOOL_DIR } from '../../packages/agent/src/ship/spool.js';
import { readConfigFile, resolveConfig } from '../../packages/collector/src/config.js';
import { skipUnlessAvailable, skipUnlessCommands } from '../helpers/requirements.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const DIR = join(REPO, 'deploy/systemd');
const AGENT = join(DIR, 'dualstack-agent.service');
const COLLECTOR = join(DIR, 'dualstack-collector.service');
const FIREWALL_DROP_IN = join(DIR, 'dualstack-agent.service.d/firewall.conf');
const NAMESPACES_DROP_IN = join(DIR, 'dualstack-agent.service.d/namespaces.conf');

const skip = skipUnlessCommands({ 'systemd-analyze': 'systemd' });

/** key -> values of a unit's [Service] (and other) settings; repeated keys accumulate. */
function settings(file: string): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const match = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (!match) continue;
    map.set(match[1]!, [...(map.get(match[1]!) ?? []), match[2]!]);
  }
  return map;
}
const one = (map: Map<string, string[]>, key: string) => {
  const values = map.get(key);
  assert.ok(values && values.length === 1, `${key}: ${JSON.stringify(values)}`);
  return values[0]!;
};

test('systemd-analyze verify: both units alone, and the agent with its firewall and namespaces drop-ins, no warning at all', { skip }, () => {
  const r = spawnSync('bash', [join(DIR, 'verify-units.sh')], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(
    r.stdout,
    /^systemd-analyze verify: 2 units OK \(dualstack-agent\.service dualstack-collector\.service\); with drop-ins: dualstack-agent\.service \+ dualstack-agent\.service\.d\/firewall\.conf dualstack-agent\.service\.d\/namespaces\.conf OK\n$/,
  );
  assert.equal(r.stderr, '');
});

test('agent namespaces drop-in: only [Service], adds CAP_SYS_ADMIN to both capability lists and allows network namespaces past RestrictNamespaces=yes, nothing else', () => {
  const text = readFileSync(NAMESPACES_DROP_IN, 'utf8');
  assert.deepEqual(text.split('\n').filter((l) => /^\[/.test(l)), ['[Service]']);
  const s = settings(NAMESPACES_DROP_IN);
  assert.deepEqual([...s.keys()].sort(), ['AmbientCapabilities', 'CapabilityBoundingSet', 'RestrictNamespaces']);
  assert.deepEqual(s.get('AmbientCapabilities'), ['CAP_SYS_ADMIN']);
  assert.deepEqual(s.get('CapabilityBoundingSet'), ['CAP_SYS_ADMIN']);
  assert.deepEqual(s.get('RestrictNamespaces'), ['net']);
  assert.deepEqual(settings(join(DIR, 'dualstack-agent.service')).get('RestrictNamespaces'), ['yes']);
});

test('agent firewall drop-in: only [Service], adds CAP_NET_ADMIN and CAP_NET_RAW to both capability lists, nothing else', () => {
  const text = readFileSync(FIREWALL_DROP_IN, 'utf8');
  assert.deepEqual(text.split('\n').filter((l) => /^\[/.test(l)), ['[Service]']);
  const s = settings(FIREWALL_DROP_IN);
  assert.deepEqual([...s.keys()].sort(), ['AmbientCapabilities', 'CapabilityBoundingSet']);
  assert.equal(one(s, 'AmbientCapabilities'), 'CAP_NET_ADMIN CAP_NET_RAW');
  assert.equal(one(s, 'CapabilityBoundingSet'), 'CAP_NET_ADMIN CAP_NET_RAW');
});

test('agent unit: the installed paths, its spool as StateDirectory, the hardening the agent survives', () => {
  const s = settings(AGENT);
  assert.equal(one(s, 'ExecStart'), '/usr/bin/node /usr/local/lib/dualstack/dualstack-agent.mjs run --config /etc/dualstack/agent.json');
  assert.equal(one(s, 'User'), 'dualstack');
  assert.equal(`/var/lib/${one(s, 'StateDirectory')}/spool`, DEFAULT_SPOOL_DIR);
  assert.equal(one(s, 'AmbientCapabilities'), 'CAP_DAC_READ_SEARCH CAP_SYS_PTRACE');
  assert.equal(one(s, 'CapabilityBoundingSet'), 'CAP_DAC_READ_SEARCH CAP_SYS_PTRACE');
  assert.equal(one(s, 'RestrictAddressFamilies'), 'AF_INET AF_INET6 AF_NETLINK AF_UNIX');
  for (const [key, value] of [
    ['NoNewPrivileges', 'yes'],
    ['ProtectSystem', 'strict'],
    ['ProtectHome', 'yes'],
    ['PrivateTmp', 'yes'],
  ]) {
    assert.equal(one(s, key!), value, key);
  }
  // Options that would blind the agent (see the comments in the unit) must stay off.
  for (const key of ['ProtectProc', 'ProcSubset', 'PrivateNetwork', 'PrivateUsers', 'MemoryDenyWriteExecute']) assert.equal(s.has(key), false, `${key} must not be set`);
  // ip drops its ambient capabilities with capset() (in @privileged): that group must stay allowed.
  assert.equal((s.get('SystemCallFilter') ?? []).some((v) => v.includes('@privileged')), false);
});

test('collector unit: no capabilities, its database as StateDirectory', () => {
  const s = settings(COLLECTOR);
  assert.match(one(s, 'ExecStart'), /^\/usr\/bin\/node \S+\/@dualstack\/collector\/dist\/cli\.js serve --config \/etc\/dualstack\/collector\.json$/);
  assert.equal(one(s, 'User'), 'dualstack-collector');
  assert.equal(one(s, 'CapabilityBoundingSet'), '');
  assert.equal(one(s, 'StateDirectory'), 'dualstack-collector');
  assert.equal(one(s, 'Environment'), 'DUALSTACK_DB=/var/lib/dualstack-collector/dualstack.db');
  // The example config the unit's --config points at is valid, and puts the database there.
  const example = resolveConfig([readConfigFile(join(REPO, 'deploy/config/collector.json'))]);
  assert.equal(example.db, '/var/lib/dualstack-collector/dualstack.db');
  assert.equal(one(s, 'RestrictAddressFamilies'), 'AF_INET AF_INET6 AF_UNIX');
});

test('systemd-analyze security rates both units OK or better (exposure <= 3.0 of 10), the agent also with its firewall drop-in', { skip }, (t) => {
  // systemd-analyze reads the drop-ins of a <unit>.d directory beside the unit: the agent is
  // rated from a copy alone, and in deploy/systemd where firewall.conf sits beside it.
  const alone = mkdtempSync(join(tmpdir(), 'dualstack-units-'));
  t.after(() => rmSync(alone, { recursive: true, force: true }));
  copyFileSync(AGENT, join(alone, 'dualstack-agent.service'));
  const levels: Record<string, number> = {};
  for (const [label, unit] of [['agent', join(alone, 'dualstack-agent.service')], ['agent + firewall.conf', AGENT], ['collector', COLLECTOR]] as const) {
    const r = spawnSync('systemd-analyze', ['security', '--offline=yes', '--no-pager', unit], { encoding: 'utf8', timeout: 60_000 });
    if (r.status !== 0 && /offline/.test(r.stderr)) {
      t.skip(skipUnlessAvailable('this systemd-analyze has no --offline (systemd 250 or newer has)', 'systemd'));
      return;
    }
    const level = /Overall exposure level for \S+: (\d+\.\d)/.exec(r.stdout);
    assert.ok(level, r.stdout + r.stderr);
    assert.ok(Number(level[1]) <= 3.0, `${label}: ${level[0]}`);
    levels[label] = Number(level[1]);
    if (label !== 'collector') {
      // The drop-in is what grants CAP_NET_ADMIN: rated ✗ with it, ✓ without.
      assert.match(r.stdout, new RegExp(`^${label === 'agent' ? '✓' : '✗'} CapabilityBoundingSet=~CAP_NET_ADMIN `, 'm'), `${label}: ${r.stdout}`);
    }
  }
  t.diagnostic(`exposure: ${JSON.stringify(levels)}`);
  assert.ok(levels['agent + firewall.conf']! > levels.agent!, 'the drop-in widens the agent');
});
