// The x64 self-contained agent executable (scripts/package/sea.mjs): run with NO node anywhere on
// PATH and a cleared environment, on a live host (a network namespace of its own with listeners,
// so that nothing else on the machine changes the sockets between two scans), its report equals
// the .mjs bundle's, run by the same Node.js 24 runtime; its fixture scan equals the stored golden
// report; and a build whose blob did not get in is refused. The executable is the one the
// package tests share (sea-build.ts sharedBuild: built once, by whichever file comes first),
// made by the same buildExecutable call `npm run package` makes; only the .mjs bundle is this
// file's own.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Netns, rootSkipReason, startListeners } from '../helpers/netns.js';
import { findOnPath } from '../helpers/requirements.js';
import { FIXTURE_PROC, golden, nodeRuntime, packageAgent, sea, sharedBuild, stable } from './sea-build.js';

// Only the namespace of the test (--namespaces host): by default the agent also scans every
// other network namespace of the machine, where other programs' sockets come and go between
// the two scans.
const LIVE_SCAN = ['scan', '--json', '--namespaces', 'host'];

let dir = '';
let exe = '';
let built = { codeCache: false, stripped: false };
let mjs = '';

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dualstack-sea-x64-'));
  mjs = (await packageAgent({ outfile: join(dir, 'dualstack-agent.mjs') })).outfile;
  ({ outfile: exe, ...built } = await sharedBuild('x64'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('the executable runs scan --json with no node on PATH and an empty environment, and reports what the .mjs bundle on Node 24 reports', { skip: process.arch !== 'x64' ? 'not an x64 host' : rootSkipReason() }, async (t) => {
  // PATH: a directory holding only the programs the agent runs (ss for V6ONLY, ip for routes
  // and rules, sh for the namespace reads, the firewall dumps), as symlinks. No node.
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  for (const name of ['ss', 'ip', 'sh', 'nft', 'iptables-nft-save', 'ip6tables-nft-save', 'iptables-legacy-save', 'ip6tables-legacy-save']) {
    const path = findOnPath(name);
    if (path) symlinkSync(path, join(bin, name));
  }
  const clean = ['env', '-i', `PATH=${bin}`];
  const noNode = spawnSync(clean[0]!, [...clean.slice(1), '/bin/sh', '-c', 'command -v node'], { encoding: 'utf8' });
  assert.notEqual(noNode.status, 0, `node is on the clean PATH: ${noNode.stdout}`);

  const ns = await Netns.create('sea');
  t.after(() => ns.destroy());
  await ns.ip('addr', 'add', '192.0.2.10/24', 'dev', 'lo');
  await ns.ip('addr', 'add', '2001:db8:13::10/64', 'dev', 'lo', 'nodad');
  const listeners = await startListeners(ns, [
    { proto: 'tcp', address: '::', port: 8080, ipv6Only: false, title: 'dsseaweb' },
    { proto: 'tcp', address: '192.0.2.10', port: 2222 },
    { proto: 'udp', address: '2001:db8:13::10', port: 5353 },
  ]);
  t.after(() => listeners.stop());

  const node24 = nodeRuntime('x64').node;
  const fromSea = await ns.exec(clean[0]!, [...clean.slice(1), exe, ...LIVE_SCAN], { timeoutMs: 60_000 });
  assert.equal(fromSea.code, 0, fromSea.stderr);
  const fromBundle = await ns.exec(clean[0]!, [...clean.slice(1), node24, mjs, ...LIVE_SCAN], { timeoutMs: 60_000 });
  assert.equal(fromBundle.code, 0, fromBundle.stderr);
  // The one path a report holds, where sockdiag.node was looked for: beside each executable.
  assert.match(fromSea.stdout, new RegExp(`no sockdiag.node beside ${exe}`));
  assert.deepEqual(stable(fromSea.stdout.replaceAll(exe, '<executable>')), stable(fromBundle.stdout.replaceAll(node24, '<executable>')));
  // The comparison is about something: the namespace's listeners are in it, with their process.
  const report = JSON.parse(fromSea.stdout) as { services: Array<{ port: number; process?: string | null }> };
  assert.ok(report.services.some((s) => s.port === 8080 && s.process === 'dsseaweb'), JSON.stringify(report.services).slice(0, 500));
});

test('the executable\'s fixture scan equals the stored golden report (what the arm64 one is held to as well); built with code cache, stripped', () => {
  assert.deepEqual([built.codeCache, built.stripped], [true, true]);
  const r = spawnSync(exe, ['scan', '--json', '--proc-root', FIXTURE_PROC], { encoding: 'utf8', env: {}, timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(stable(r.stdout), golden());
  const version = spawnSync(exe, ['--version'], { encoding: 'utf8', env: {} });
  assert.equal(version.stdout, `${sea.agentVersion()}\n`);
});

test('a runtime whose blob was not injected is refused: it answers --version as Node.js, and scan is no command of Node', () => {
  const bare = join(dir, 'not-injected');
  copyFileSync(nodeRuntime('x64').node, bare);
  assert.throws(() => sea.checkExecutable(bare, 'x64'), /printed "v24\.\d+\.\d+" \(that is Node\.js answering: the agent was not injected into it\)/);
  const scan = spawnSync(bare, ['scan', '--json', '--proc-root', FIXTURE_PROC], { encoding: 'utf8', env: {} });
  assert.notEqual(scan.status, 0);
  assert.ok(existsSync(exe));
});
