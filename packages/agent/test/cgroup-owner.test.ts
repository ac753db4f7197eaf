// parseCgroupOwner on /proc/[pid]/cgroup texts as real hosts print them. Each form is quoted
// from a public report (cited above it; ids and UIDs kept as printed), and the broken lines
// a truncated or foreign file holds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ownerOfPath, parseCgroupOwner, type CgroupOwner } from '../src/namespaces/cgroup-owner.js';
import { parseDockerConfigName, parseKubeletEtcHosts, parseStorageContainers, readOwnerNames, type NameFileCache } from '../src/namespaces/names.js';
import { parseErrorOf } from './helpers/proc-fixtures.js';

test('docker, cgroupfs driver on cgroup v1: /docker/<id> on every controller, the v2 line naming containerd.service', () => {
  // github.com/ctrsploit/ctrsploit/issues/280 (cat /proc/1/cgroup inside the container, no cgroup namespace)
  const text = [
    '12:net_cls,net_prio:/docker/2403ccfe427f1dc7b6120dccb9ac58c2f8456950380d587a9f33ea7f00dd303d',
    '11:freezer:/docker/2403ccfe427f1dc7b6120dccb9ac58c2f8456950380d587a9f33ea7f00dd303d',
    '10:rdma:/',
    '8:memory:/docker/2403ccfe427f1dc7b6120dccb9ac58c2f8456950380d587a9f33ea7f00dd303d',
    '1:name=systemd:/docker/2403ccfe427f1dc7b6120dccb9ac58c2f8456950380d587a9f33ea7f00dd303d',
    '0::/system.slice/containerd.service',
    '',
  ].join('\n');
  const owner = parseCgroupOwner(text);
  assert.deepEqual(owner, { runtime: 'docker', id: '2403ccfe427f1dc7b6120dccb9ac58c2f8456950380d587a9f33ea7f00dd303d', name: null, path: '/docker/2403ccfe427f1dc7b6120dccb9ac58c2f8456950380d587a9f33ea7f00dd303d' });
});

test('docker, systemd driver: system.slice/docker-<id>.scope', () => {
  // github.com/moby/moby/issues/9902: /sys/fs/cgroup/memory/system.slice/docker-[containerid].scope; the v2 form of the same path
  const owner = parseCgroupOwner('0::/system.slice/docker-5dace3de0735f73d2b5048f12d41a71741a02e49668de921fdae62f7e65dc498.scope\n');
  assert.equal(owner?.runtime, 'docker');
  assert.equal(owner?.id, '5dace3de0735f73d2b5048f12d41a71741a02e49668de921fdae62f7e65dc498');
});

test('containerd CRI under the kubelet systemd driver: the pod UID with _ for -, the container id of the scope', () => {
  // github.com/netdata/netdata/issues/4868 (systemd-cgls of a containerd node)
  const owner = ownerOfPath('/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod55c6c714_b240_4dec_9a45_57b61696ab6e.slice/cri-containerd-2032491dcae31e6746f47daa0ac74564f2843a1bd847c5e6c4eb501ca132ac36.scope');
  assert.deepEqual(owner?.pod, { uid: '55c6c714-b240-4dec-9a45-57b61696ab6e', engine: 'containerd' });
  assert.equal(owner?.runtime, 'kubernetes');
  assert.equal(owner?.id, '2032491dcae31e6746f47daa0ac74564f2843a1bd847c5e6c4eb501ca132ac36');
  // A static pod's UID is its config hash (32 hex digits), same file
  assert.equal(ownerOfPath('/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod8daa50c3a64c9ff60bb9eab7b44b56fd.slice/cri-containerd-2884d57c0e100d7a9a2f9487ce0bc2986bca3430e988af7a4865aff061f51ac5.scope')?.pod?.uid, '8daa50c3a64c9ff60bb9eab7b44b56fd');
});

test('containerd CRI on cgroup v1 with the systemd driver: slice:cri-containerd:id left unexpanded', () => {
  // github.com/open-telemetry/opentelemetry-java/issues/4507 (cat /proc/self/cgroup in the pod)
  const text = [
    '11:perf_event:/kubepods-besteffort-pod0125ec2f_b64a_4868_8f5b_94b56cbab864.slice:cri-containerd:ee4b20e90ac7f42a10bd004d05646b13d8ab5e2c5e7cbc01abf8006bac016459',
    '10:blkio:/system.slice/containerd.service/kubepods-besteffort-pod0125ec2f_b64a_4868_8f5b_94b56cbab864.slice:cri-containerd:ee4b20e90ac7f42a10bd004d05646b13d8ab5e2c5e7cbc01abf8006bac016459',
  ].join('\n');
  const owner = parseCgroupOwner(text);
  assert.equal(owner?.runtime, 'kubernetes');
  assert.deepEqual(owner?.pod, { uid: '0125ec2f-b64a-4868-8f5b-94b56cbab864', engine: 'containerd' });
  assert.equal(owner?.id, 'ee4b20e90ac7f42a10bd004d05646b13d8ab5e2c5e7cbc01abf8006bac016459');
});

test('cri-o and docker (dockershim) pods: the pod wins over the engine; crio- outside a pod is no known layout', () => {
  // github.com/kubernetes/minikube/issues/11280 (systemctl status kubepods.slice, the pause process of a cri-o pod)
  const crio = ownerOfPath('/docker/d6701ec289c56e4391acb11d07474b3139466857a305490575508a8b7a9fcf22/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod2ca4a155_3599_498d_bb9d_4446693fa3ea.slice/crio-0ba8ac17e4e7a31fb82279503552fe94e64bab4745bf6fd2ff231e7c8ca8bed0.scope');
  assert.deepEqual(crio?.pod, { uid: '2ca4a155-3599-498d-bb9d-4446693fa3ea', engine: 'cri-o' });
  assert.equal(crio?.id, '0ba8ac17e4e7a31fb82279503552fe94e64bab4745bf6fd2ff231e7c8ca8bed0', 'the innermost container, not the kind node (a docker container) holding it');
  // github.com/lxc/lxc/issues/3890 (a pod on a docker engine, kubelet systemd driver)
  const docker = parseCgroupOwner('11:freezer:/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod7d4424e6_bb13_42f4_a47a_45a4828bf54d.slice/docker-d0b3604b67ac7930dd34ba3a796627e3e4717d12309e90a4afe3f38b6816ac98.scope\n');
  assert.deepEqual(docker?.pod, { uid: '7d4424e6-bb13-42f4-a47a-45a4828bf54d', engine: 'docker' });
  assert.equal(ownerOfPath('/system.slice/crio-0ba8ac17e4e7a31fb82279503552fe94e64bab4745bf6fd2ff231e7c8ca8bed0.scope'), null);
});

test('kubelet cgroupfs driver: /kubepods/<qos>/pod<uid>/<id>, and guaranteed pods without a QoS level', () => {
  // github.com/google/cadvisor/pull/2540 (the pod cgroups /kubepods/burstable/pod<uid>); the container below it as cgroupfs names it
  const owner = ownerOfPath('/kubepods/burstable/pod1ff47ee6-9685-4726-ac6f-0ff070c452d6/902093a5baef883ae52ad163ff157a2bc5d579d446d044735aa6c6a7de274a7e');
  assert.deepEqual(owner?.pod, { uid: '1ff47ee6-9685-4726-ac6f-0ff070c452d6', engine: null });
  assert.equal(owner?.id, '902093a5baef883ae52ad163ff157a2bc5d579d446d044735aa6c6a7de274a7e');
  // github.com/kubernetes/kubernetes/issues/62896: kubepods-pod<uid>.slice (guaranteed) with docker scopes
  assert.equal(ownerOfPath('/kubepods.slice/kubepods-pod10231429_28f6_11e8_8903_74dbd1a06fe0.slice/docker-fb19d77e2b760d38cfc6596aa0b55b34f3b0bd8e8973ce1f187c5eef97e98b60.scope')?.pod?.uid, '10231429-28f6-11e8-8903-74dbd1a06fe0');
  // The pod's own slice, no container below it: not a container yet
  assert.equal(ownerOfPath('/kubepods/burstable/pod1ff47ee6-9685-4726-ac6f-0ff070c452d6'), null);
});

test('podman: libpod-<id>.scope, crun\'s /container below it', () => {
  // github.com/podman-container-tools/podman/issues/20423 (cat /proc/$(podman inspect ...)/cgroup)
  const owner = parseCgroupOwner('0::/user.slice/user-0.slice/user@0.service/machine.slice/libpod-cf21d19260ace8544fe8b769fc2638bf2c0873dfbfff0b6253f0569b26a1d5eb.scope/container\n');
  assert.deepEqual(owner, { runtime: 'podman', id: 'cf21d19260ace8544fe8b769fc2638bf2c0873dfbfff0b6253f0569b26a1d5eb', name: null, path: '/user.slice/user-0.slice/user@0.service/machine.slice/libpod-cf21d19260ace8544fe8b769fc2638bf2c0873dfbfff0b6253f0569b26a1d5eb.scope/container' });
  // podman's cgroupfs manager: libpod_parent/libpod-<id> (github.com/podman-container-tools/podman/issues/826)
  assert.equal(ownerOfPath('/libpod_parent/libpod-cf21d19260ace8544fe8b769fc2638bf2c0873dfbfff0b6253f0569b26a1d5eb')?.runtime, 'podman');
});

test('lxc (lxc.payload.NAME, older /lxc/NAME) and systemd-nspawn (machine.slice/machine-NAME.scope, escaped)', () => {
  // LXC 4+ payload cgroup (github.com/Hal0ai/hal0/issues/371 names the lxc.payload pattern); libwhereami's detector: lxc/<container name>/init.scope
  assert.deepEqual(ownerOfPath('/lxc.payload.web01/init.scope'), { runtime: 'lxc', id: null, name: 'web01', path: '/lxc.payload.web01/init.scope' });
  assert.equal(ownerOfPath('/lxc/web01/init.scope')?.name, 'web01');
  // github.com/puppetlabs/libwhereami/pull/9: machine.slice/machine-<container name>.scope; systemd-escape writes - as \x2d
  assert.deepEqual(ownerOfPath('/machine.slice/machine-build\\x2dbox.scope/payload/system.slice/nginx.service'), { runtime: 'nspawn', id: null, name: 'build-box', path: '/machine.slice/machine-build\\x2dbox.scope/payload/system.slice/nginx.service' });
});

test('host processes and unknown layouts: no owner', () => {
  assert.equal(parseCgroupOwner('0::/system.slice/nginx.service\n'), null);
  assert.equal(parseCgroupOwner('0::/\n'), null);
  assert.equal(parseCgroupOwner('0::/user.slice/user-1000.slice/session-3.scope\n'), null);
  // an id that is not 64 hex digits is not a container id
  assert.equal(ownerOfPath('/system.slice/docker-5dace3de0735f.scope'), null);
  assert.equal(ownerOfPath('/docker/not-an-id'), null);
});

test('broken lines: named with file, line and the raw text', () => {
  const cut = parseErrorOf(() => parseCgroupOwner('0::/system.slice/docker-ab.scope\n5:memory\n', '4242/cgroup'));
  assert.equal(cut.file, '4242/cgroup');
  assert.equal(cut.line, 2);
  assert.equal(cut.raw, '5:memory');
  assert.match(cut.message, /expected hierarchy-ID:controller-list:\/path/);
  assert.equal(parseErrorOf(() => parseCgroupOwner('x::/docker/abc\n')).line, 1, 'the hierarchy id is a number');
  assert.equal(parseErrorOf(() => parseCgroupOwner('0::docker/abc\n')).raw, '0::docker/abc', 'a path is absolute');
});

test("names from the runtimes' files: docker's Name, the kubelet's etc-hosts", () => {
  assert.equal(parseDockerConfigName('{"ID":"2403cc","Name":"/web","Config":{"Env":["PASSWORD=x"]}}'), 'web');
  assert.equal(parseDockerConfigName('{"ID":"2403cc"}'), null);
  // managedHostsFileContent() (kubernetes pkg/kubelet/kubelet_pods.go): fixed lines, then the pod's own
  const hosts = '# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n10.244.1.7\tweb-7d9\n2001:db8:42::7\tweb-7d9\n';
  assert.equal(parseKubeletEtcHosts(hosts), 'web-7d9');
  assert.equal(parseKubeletEtcHosts(hosts.replace('10.244.1.7\tweb-7d9', '10.244.1.7\tweb-0.web.default.svc.cluster.local\tweb-0')), 'web-0');
  assert.equal(parseKubeletEtcHosts('# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n\n# Entries added by HostAliases.\n10.1.2.3\tfoo.local\n'), null, 'a host alias is not the pod');
});

test("podman's names: containers/storage's records as podman 4.3.1 wrote them, read once per scan, kept cut to id and names", (t) => {
  const fixture = readFileSync(new URL('../../../test/fixtures/podman/containers.json', import.meta.url), 'utf8');
  const records = parseStorageContainers(fixture);
  assert.deepEqual(records.map((r) => [r.id.slice(0, 12), r.names]), [['fb98c5741d67', ['dsweb']], ['81cfa4bf0b18', ['api-v2']]]);

  const root = mkdtempSync(join(tmpdir(), 'dualstack-podman-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const file = join(root, 'var/lib/containers/storage/overlay-containers/containers.json');
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, fixture);
  const owner = (id: string): CgroupOwner => ({ runtime: 'podman', id, name: null, path: `/machine.slice/libpod-${id}.scope` });
  const cache: NameFileCache = new Map();
  const first = readOwnerNames(owner(records[1]!.id), root, cache);
  assert.equal(first.name, 'api-v2');
  assert.deepEqual(first.read.map((r) => r.path), ['/var/lib/containers/storage/overlay-containers/containers.json']);
  assert.deepEqual(JSON.parse(first.read[0]!.keep), records, 'a capture keeps ids and names only');
  assert.ok(!first.read[0]!.keep.includes('image-name'));
  rmSync(file); // the second namespace of the same scan is named from what the first read
  assert.equal(readOwnerNames(owner(records[0]!.id), root, cache).name, 'dsweb');
  assert.equal(readOwnerNames(owner(records[0]!.id), root).name, null, 'a new scan reads again: the file is gone');
  assert.equal(readOwnerNames(owner('0'.repeat(64)), root, cache).name, null, 'an id podman does not know stays unnamed');

  // Broken records: named with the file and the raw text; the owner is then named by id
  assert.throws(() => parseStorageContainers('{"id":"x"}', 'containers.json'), /containers.json: expected a JSON array of containers, got \{"id":"x"\}/);
  assert.throws(() => parseStorageContainers('[{"names":["web"]}]', 'containers.json'), /containers.json: container 0 has no id: \{"names":\["web"\]\}/);
  assert.throws(() => parseStorageContainers(fixture.slice(0, 100)), SyntaxError);
  writeFileSync(file, fixture.slice(0, 100));
  assert.equal(readOwnerNames(owner(records[0]!.id), root).name, null, 'cut short while podman rewrote it');
});
