// Containers' network namespaces (issue 16): namespaces made by the test stand for a
// Kubernetes pod and a docker container, their processes put in cgroups named the way the
// kubelet's systemd driver with containerd and docker's systemd driver name them (under a test
// cgroup of the writable cgroup2 mount), with the kubelet's etc-hosts and service-account
// namespace file and docker's config.v2.json under a --root directory. The agent runs in the
// root namespace and finds them through those processes' /proc entries. Every verdict is
// checked with real connects into the namespace over each family, from a peer namespace.
// The issue's check: the pod with a 0.0.0.0-only listener and a global IPv6 address gives
// service-ipv4-only naming the pod. capture + replay must give the same namespaces.
//
// Run: node scripts/run-tests.mjs container-namespaces   (root; skipped otherwise)
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { validateReport, type NetworkNamespace, type Report } from '../../packages/core/src/schema.js';
import { addAddress, linkVeth, Netns, probeConnect, rootSkipReason, startListeners } from '../helpers/netns.js';

const CLI = fileURLToPath(new URL('../../packages/agent/dist/cli.js', import.meta.url));
const POD_UID = '7c1d2b8e-5a4f-4e0b-9d63-2f1e8a9b0c41';
const SANDBOX = 'ee4b20e90ac7f42a10bd004d05646b13d8ab5e2c5e7cbc01abf8006bac016459';
const DOCKER_ID = '2403ccfe427f1dc7b6120dccb9ac58c2f8456950380d587a9f33ea7f00dd303d';
// The container `podman create --name dsweb` made (podman 4.3.1, Debian 12): test/fixtures/podman/containers.json.
const PODMAN_ID = 'fb98c5741d6765870c93d990fc78e3bd0fecd1428520edc7196f7e0cf64b89d7';
const PODMAN_RECORDS = fileURLToPath(new URL('../fixtures/podman/containers.json', import.meta.url));

/** The writable cgroup2 mount, or null (then this test cannot make container cgroups). */
function cgroup2Mount(): string | null {
  for (const line of readFileSync('/proc/mounts', 'utf8').split('\n')) {
    const [, path, type, options] = line.split(' ');
    if (type === 'cgroup2' && path && options?.split(',').includes('rw')) return path;
  }
  return null;
}

const rootSkip = rootSkipReason();
const skip = rootSkip || (cgroup2Mount() === null ? 'no writable cgroup2 mount to make container cgroups in' : false);

/** A cgroup under the test's own directory, the process moved into it; removed (after the process ends) at the end. */
function joinCgroup(base: string, rel: string, pid: number): void {
  const dir = join(base, rel);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'cgroup.procs'), `${pid}\n`);
}

function removeCgroupTree(dir: string): void {
  if (!existsSync(dir)) return;
  for (const entry of execFileSync('find', [dir, '-mindepth', '1', '-type', 'd'], { encoding: 'utf8' }).split('\n').filter(Boolean).sort((a, b) => b.length - a.length)) rmdirSync(entry);
  rmdirSync(dir);
}

async function scanJson(args: string[]): Promise<Report> {
  const out = execFileSync(process.execPath, [CLI, 'scan', '--json', ...args], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, timeout: 120_000 });
  const v = validateReport(JSON.parse(out) as unknown);
  assert.ok(v.ok, JSON.stringify(!v.ok && v.problems));
  return v.report;
}

const namespaceOf = (pid: number) => Number(/^net:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/ns/net`))![1]);

test('pods and containers in their own network namespaces: found through their processes, judged with real connects', { skip }, async (t) => {
  const cgBase = join(cgroup2Mount()!, `dualstack-test-${process.pid}`);
  const root = mkdtempSync(join(tmpdir(), 'dualstack-ns-root-'));
  const captureDir = mkdtempSync(join(tmpdir(), 'dualstack-ns-capture-'));
  t.after(() => {
    rmSync(root, { recursive: true, force: true });
    rmSync(captureDir, { recursive: true, force: true });
  });

  // The kubelet's and docker's files that name them (what a node has on disk).
  const podDir = join(root, 'var/lib/kubelet/pods', POD_UID);
  mkdirSync(join(podDir, 'volumes/kubernetes.io~projected/kube-api-access-x7k2p'), { recursive: true });
  writeFileSync(join(podDir, 'etc-hosts'), '# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n192.0.2.10\tweb-7d9\n2001:db8:16::10\tweb-7d9\n');
  writeFileSync(join(podDir, 'volumes/kubernetes.io~projected/kube-api-access-x7k2p/namespace'), 'default');
  writeFileSync(join(podDir, 'volumes/kubernetes.io~projected/kube-api-access-x7k2p/token'), 'SECRET-TOKEN');
  mkdirSync(join(root, 'var/lib/docker/containers', DOCKER_ID), { recursive: true });
  writeFileSync(join(root, 'var/lib/docker/containers', DOCKER_ID, 'config.v2.json'), JSON.stringify({ ID: DOCKER_ID, Name: '/web', Config: { Env: ['DB_PASSWORD=SECRET-ENV'] } }));
  mkdirSync(join(root, 'var/lib/containers/storage/overlay-containers'), { recursive: true });
  writeFileSync(join(root, 'var/lib/containers/storage/overlay-containers/containers.json'), readFileSync(PODMAN_RECORDS));

  const peer = await Netns.create('ctpeer');
  t.after(() => peer.destroy());
  const pod = await Netns.create('ctpod');
  t.after(() => pod.destroy());
  const docker = await Netns.create('ctdock');
  t.after(() => docker.destroy());
  const podman = await Netns.create('ctpodm');
  t.after(() => podman.destroy());
  await linkVeth(pod, 'eth0', peer, 'vpod');
  await linkVeth(docker, 'eth0', peer, 'vdock');
  await addAddress(pod, 'eth0', '192.0.2.10/24');
  await addAddress(pod, 'eth0', '2001:db8:16::10/64', { nodad: true });
  await addAddress(peer, 'vpod', '192.0.2.1/24');
  await addAddress(peer, 'vpod', '2001:db8:16::1/64', { nodad: true });
  await addAddress(docker, 'eth0', '198.51.100.10/24');
  await addAddress(docker, 'eth0', '2001:db8:17::10/64', { nodad: true });
  await addAddress(peer, 'vdock', '198.51.100.1/24');
  await addAddress(peer, 'vdock', '2001:db8:17::1/64', { nodad: true });

  // The pod: its program listens on 0.0.0.0 only (the classic dual-stack cluster failure), and
  // a metrics port on [::] with V6ONLY=1. The container: [::] with V6ONLY=0.
  const podListeners = await startListeners(pod, [
    { proto: 'tcp', address: '0.0.0.0', port: 8080, title: 'web' },
    { proto: 'tcp', address: '::', port: 9090, ipv6Only: true, title: 'web' },
  ]);
  const dockerListeners = await startListeners(docker, [{ proto: 'tcp', address: '::', port: 80, ipv6Only: false, title: 'nginx' }]);
  const podmanListeners = await startListeners(podman, [{ proto: 'tcp', address: '0.0.0.0', port: 8000, title: 'api' }]);
  // The processes end (by pid) before their cgroups are removed.
  t.after(async () => {
    await podListeners.stop();
    await dockerListeners.stop();
    await podmanListeners.stop();
    removeCgroupTree(cgBase);
  });
  joinCgroup(cgBase, `kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${POD_UID.replace(/-/g, '_')}.slice/cri-containerd-${SANDBOX}.scope`, podListeners.pid);
  joinCgroup(cgBase, `system.slice/docker-${DOCKER_ID}.scope`, dockerListeners.pid);
  // podman's systemd cgroup manager: machine.slice/libpod-<id>.scope
  joinCgroup(cgBase, `machine.slice/libpod-${PODMAN_ID}.scope`, podmanListeners.pid);

  const report = await scanJson(['--root', root]);
  const source = report.sources.find((s) => s.name === 'namespaces')!;
  t.diagnostic(`namespaces: ${source.status} ${source.detail ?? ''} (${source.durationMs} ms)`);
  assert.match(source.detail ?? '', /^\d+ namespaces?/);
  const byInode = (pid: number): NetworkNamespace => {
    const ns = report.namespaces?.find((n) => n.inode === namespaceOf(pid));
    assert.ok(ns, `namespace of pid ${pid} missing: ${report.namespaces?.map((n) => n.inode).join(', ')}`);
    return ns;
  };
  const podNs = byInode(podListeners.pid);
  const dockerNs = byInode(dockerListeners.pid);

  // Owners, from the cgroup paths and the files under --root
  assert.equal(podNs.pid, podListeners.pid);
  assert.deepEqual(podNs.owner.pod, { uid: POD_UID, name: 'web-7d9', namespace: 'default' });
  assert.equal(podNs.owner.runtime, 'kubernetes');
  assert.equal(podNs.owner.id, SANDBOX);
  assert.equal(podNs.owner.name, 'default/web-7d9');
  assert.equal(dockerNs.owner.runtime, 'docker');
  assert.equal(dockerNs.owner.name, 'web');
  assert.equal(dockerNs.owner.id, DOCKER_ID);
  const podmanNs = byInode(podmanListeners.pid);
  assert.deepEqual([podmanNs.owner.runtime, podmanNs.owner.id, podmanNs.owner.name], ['podman', PODMAN_ID, 'dsweb'], "named from containers/storage's records");

  // Their own facts: addresses (fib_trie for IPv4), sysctls and V6ONLY from entering them (root)
  assert.ok(podNs.addresses.some((a) => a.address === '192.0.2.10' && a.interface === 'eth0' && a.prefixLength === 24), JSON.stringify(podNs.addresses));
  assert.ok(podNs.addresses.some((a) => a.address === '2001:db8:16::10'));
  assert.equal(podNs.sysctl?.bindv6only, 0);
  const service = (ns: NetworkNamespace, port: number) => {
    const s = ns.services.find((x) => x.proto === 'tcp' && x.port === port);
    assert.ok(s, `tcp/${port} missing in ${ns.owner.name}: ${ns.services.map((x) => `${x.proto}/${x.port}`).join(', ')}`);
    return s;
  };
  const web = service(podNs, 8080);
  assert.deepEqual([web.ipv4, web.ipv6, web.mode, web.process, web.pid], ['any', 'none', 'ipv4-only', 'web', podListeners.pid]);
  const metrics = service(podNs, 9090);
  assert.deepEqual([metrics.ipv4, metrics.ipv6, metrics.mode], ['none', 'any', 'ipv6-only']);
  assert.deepEqual(metrics.bindings.map((b) => [b.v6only, b.v6onlySource]), [[true, 'sock_diag']]);
  const nginx = service(dockerNs, 80);
  assert.deepEqual([nginx.ipv4, nginx.ipv6, nginx.mode, nginx.process], ['any', 'any', 'dual-mapped', 'nginx']);
  assert.deepEqual(nginx.bindings.map((b) => [b.v6only, b.v6onlySource]), [[false, 'sock_diag']]);
  assert.ok(!report.services.some((s) => s.port === 8080 && s.pid === podListeners.pid), "the pod's service is not the host's");

  // Every verdict against the kernel, from the peer into each namespace over each family
  const checks: Array<[string, string, number, boolean]> = [
    ['pod 8080 IPv4', '192.0.2.10', 8080, true],
    ['pod 8080 IPv6', '2001:db8:16::10', 8080, false],
    ['pod 9090 IPv4', '192.0.2.10', 9090, false],
    ['pod 9090 IPv6', '2001:db8:16::10', 9090, true],
    ['docker 80 IPv4', '198.51.100.10', 80, true],
    ['docker 80 IPv6', '2001:db8:17::10', 80, true],
  ];
  for (const [what, address, port, expected] of checks) {
    const r = await probeConnect(peer, 'tcp', address, port);
    assert.equal(r.ok, expected, `${what}: the report says ${expected ? 'reachable' : 'refused'}, the kernel says ${JSON.stringify(r)}`);
  }

  // The issue's check: service-ipv4-only naming the pod, with the pod's own IPv6 address
  const finding = podNs.findings.find((f) => f.rule === 'service-ipv4-only');
  assert.ok(finding, `service-ipv4-only expected: ${podNs.findings.map((f) => `${f.rule} ${f.subject}`).join(', ')}`);
  assert.equal(finding.subject, 'pod default/web-7d9 tcp/8080');
  assert.match(finding.message, /IPv6 clients of 2001:db8:16::10 get "connection refused"/);
  assert.ok(finding.evidence.some((e) => e.includes(`net:[${podNs.inode}] of pod default/web-7d9, read through pid ${podListeners.pid}`)));
  assert.match(finding.fix.commands[0] ?? '', new RegExp(`nsenter --net=/proc/${podListeners.pid}/ns/net`));
  assert.ok(!dockerNs.findings.some((f) => f.rule === 'service-ipv4-only' || f.rule === 'service-ipv6-only'), 'the dual-mapped container serves both families');
  assert.ok(!report.findings.some((f) => f.subject.includes('web-7d9')), 'namespace findings stay with their namespace');

  // The table names each namespace's owner above its services
  const table = execFileSync(process.execPath, [CLI, 'scan', '--root', root], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 120_000 });
  assert.match(table, new RegExp(`== pod default/web-7d9 \\(kubernetes ${SANDBOX.slice(0, 12)}, net:\\[${podNs.inode}\\], pid ${podListeners.pid}\\) ==\\n.*\\nPROTO.*\\ntcp +8080 +web\\[${podListeners.pid}\\] +yes +no +ipv4-only`));
  assert.match(table, /== docker web \(docker 2403ccfe427f/);

  // --namespaces host: only the agent's own namespace
  const hostOnly = await scanJson(['--root', root, '--namespaces', 'host']);
  assert.equal(hostOnly.namespaces, undefined);
  assert.deepEqual(hostOnly.sources.find((s) => s.name === 'namespaces')?.detail, 'switched off by --namespaces host');

  // capture + replay: the same namespaces, owners, services and V6ONLY flags, no secret copied
  execFileSync(process.execPath, [CLI, 'capture', captureDir, '--root', root], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
  const replay = await scanJson(['--proc-root', join(captureDir, 'proc')]);
  const replayed = replay.namespaces?.find((n) => n.inode === podNs.inode);
  assert.ok(replayed, 'the pod namespace is in the replay');
  assert.deepEqual(replayed.owner, podNs.owner);
  assert.deepEqual(replayed.services.map((s) => [s.port, s.mode, s.process, s.bindings.map((b) => b.v6onlySource)]), podNs.services.map((s) => [s.port, s.mode, s.process, s.bindings.map((b) => b.v6onlySource)]));
  assert.deepEqual(replayed.findings.map((f) => f.subject), podNs.findings.map((f) => f.subject));
  assert.equal(replay.namespaces?.find((n) => n.inode === dockerNs.inode)?.owner.name, 'web');
  assert.equal(replay.namespaces?.find((n) => n.inode === podmanNs.inode)?.owner.name, 'dsweb');
  const keptRecords = readFileSync(join(captureDir, 'var/lib/containers/storage/overlay-containers/containers.json'), 'utf8');
  assert.ok(!keptRecords.includes('image-name'), `podman's records are kept cut to id and names: ${keptRecords.slice(0, 200)}`);
  const copied = spawnSync('grep', ['-rl', '--exclude-dir=proc', '-e', 'SECRET-TOKEN', '-e', 'SECRET-ENV', captureDir], { encoding: 'utf8' });
  assert.equal(copied.stdout.trim(), '', 'neither the token nor the environment is captured');
  assert.ok(existsSync(join(captureDir, 'var/lib/docker/containers', DOCKER_ID, 'config.v2.json')), "docker's file is kept, cut to its Name");
});
