// Namespace discovery and the per-namespace readers on throw-away /proc trees: which
// namespaces exist, which pid each is read through, the owners walk over all of them at once,
// fib_trie's IPv4 addresses, and the output of entering namespaces.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { discoverNamespaces, parseNamespaceLink } from '../src/namespaces/discover.js';
import { parseEnterOutput, sysctlsFromDump } from '../src/namespaces/enter.js';
import { ipv4Addresses, readNamespace } from '../src/namespaces/read.js';
import { parseFibTrie } from '../src/proc/fib-trie.js';
import { parseIpv4Route } from '../src/proc/route.js';
import { scanSocketOwners } from '../src/proc/owners.js';
import { parseErrorOf, tempProc } from './helpers/proc-fixtures.js';

const HOST = 'net:[4026531840]';
const POD = 'net:[4026532288]';
const DOCKER = 'net:[4026532390]';
const TCP_HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';
// 0.0.0.0:8080 LISTEN, inode 91001
const TCP_8080 = '   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 91001 1 0000000000000000 100 0 0 10 0\n';

// A pod network namespace as /proc/net/fib_trie prints it (read on this machine in a namespace
// with 10.244.1.7/24 on eth0 and lo up).
const FIB_TRIE = `Main:
  +-- 0.0.0.0/0 3 0 5
     |-- 0.0.0.0
        /0 universe UNICAST
     +-- 10.244.1.0/24 2 0 2
        +-- 10.244.1.0/29 2 0 2
           |-- 10.244.1.0
              /24 link UNICAST
           |-- 10.244.1.7
              /32 host LOCAL
        |-- 10.244.1.255
           /32 link BROADCAST
     +-- 127.0.0.0/8 2 0 2
        +-- 127.0.0.0/31 1 0 0
           |-- 127.0.0.0
              /8 host LOCAL
           |-- 127.0.0.1
              /32 host LOCAL
        |-- 127.255.255.255
           /32 link BROADCAST
Local:
  +-- 0.0.0.0/0 3 0 5
     |-- 10.244.1.7
        /32 host LOCAL
`;
const ROUTE = 'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\neth0\t00000000\t01F4000A\t0003\t0\t0\t0\t00000000\t0\t0\t0\neth0\t0001F40A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n';

test('discovery: the distinct ns/net links besides self, each read through its lowest pid', (t) => {
  const root = tempProc(t, { '1/comm': 'systemd\n', '300/comm': 'pause\n', '301/comm': 'web\n', '410/comm': 'nginx\n' }, {
    'self/ns/net': HOST,
    '1/ns/net': HOST,
    '301/ns/net': POD,
    '300/ns/net': POD,
    '410/ns/net': DOCKER,
  });
  const found = discoverNamespaces(root);
  assert.equal(found.self, HOST);
  assert.deepEqual(found.others, [
    { link: POD, inode: 4026532288, pid: 300, processes: 2 },
    { link: DOCKER, inode: 4026532390, pid: 410, processes: 1 },
  ]);
  assert.equal(found.byPid.get(301), POD);
  assert.equal(found.processes, 4);
  assert.equal(parseNamespaceLink('mnt:[4026531841]'), null);
});

test('discovery without self/ns/net (an older capture): no namespace can be told from the host', (t) => {
  const root = tempProc(t, {}, { '1/ns/net': HOST, '300/ns/net': POD });
  const found = discoverNamespaces(root);
  assert.equal(found.self, null);
  assert.deepEqual(found.others, []);
});

test('owners: one walk finds holders in every namespace searched, skipping the others without reading their links again', (t) => {
  const root = tempProc(t, { '300/comm': 'web\n', '410/comm': 'nginx\n', '500/comm': 'other\n' }, {
    '300/fd/3': 'socket:[91001]',
    '410/fd/5': 'socket:[92002]',
    '500/fd/3': 'socket:[91001]',
  });
  const byPid = new Map([[300, POD], [410, DOCKER], [500, 'net:[4026539999]']]);
  const scan = scanSocketOwners(root, new Set([91001, 92002]), undefined, { byPid, searched: new Set([HOST, POD, DOCKER]) });
  assert.deepEqual(scan.owners.get(91001)?.map((o) => o.pid), [300], 'pid 500 is in a namespace not searched');
  assert.deepEqual(scan.owners.get(92002)?.map((o) => o.comm), ['nginx']);
  assert.equal(scan.otherNamespace, 1);
});

test('fib_trie: local addresses with their connected prefix and the interface of its route', () => {
  const trie = parseFibTrie(FIB_TRIE);
  assert.deepEqual(trie.local, ['10.244.1.7', '127.0.0.1']);
  assert.deepEqual(ipv4Addresses(trie, parseIpv4Route(ROUTE)), [
    { family: 4, address: '10.244.1.7', prefixLength: 24, interface: 'eth0', scope: 'global', flags: [] },
    { family: 4, address: '127.0.0.1', prefixLength: 8, interface: 'lo', scope: 'host', flags: [] },
  ]);
  const broken = parseErrorOf(() => parseFibTrie('Main:\n     |-- 10.244.1.7\n        /33 host LOCAL\n'));
  assert.equal(broken.field, 'prefix length');
  assert.equal(broken.line, 3);
  assert.equal(parseErrorOf(() => parseFibTrie('Main:\n  garbage here\n')).raw, '  garbage here');
});

test('entering: the batch output split per pid, a failed part left out with its reason', () => {
  const text = [
    '@@dualstack ss 300',
    'tcp   LISTEN 0  511  *:8080  *:*  ino:91001 sk:1 v6only:0 <->',
    '@@dualstack sysctl 300',
    '/proc/sys/net/ipv6/bindv6only:1',
    '/proc/sys/net/ipv6/conf/all/disable_ipv6:0',
    '/proc/sys/net/ipv6/conf/eth0/disable_ipv6:1',
    '@@dualstack ss 410',
    'nsenter: cannot open /proc/410/ns/net: No such file or directory',
    '@@dualstack failed ss 410 1',
    '@@dualstack sysctl 410',
    'nsenter: cannot open /proc/410/ns/net: No such file or directory',
    '@@dualstack failed sysctl 410 1',
    '@@dualstack end',
    '',
  ].join('\n');
  const parts = parseEnterOutput(text);
  assert.match(parts.get(300)?.sockdiag ?? '', /ino:91001 .*v6only:0/);
  assert.equal(parts.get(300)?.problem, null);
  const sysctl = sysctlsFromDump(parts.get(300)!.sysctl!);
  assert.equal(sysctl?.bindv6only, 1);
  assert.equal(sysctl?.interfaces.find((i) => i.name === 'eth0')?.raw.disable_ipv6, 1);
  assert.equal(parts.get(410)?.sockdiag, null);
  assert.equal(parts.get(410)?.sysctl, null);
  assert.match(parts.get(410)?.problem ?? '', /ss could not be read inside it: nsenter: cannot open/);
});

test('readNamespace: sockets, addresses and routes from /proc/PID/net; sysctls and V6ONLY say why they are missing', (t) => {
  const root = tempProc(t, {
    '300/net/tcp': TCP_HEADER + TCP_8080,
    '300/net/tcp6': TCP_HEADER,
    '300/net/udp': TCP_HEADER,
    '300/net/udp6': TCP_HEADER,
    '300/net/if_inet6': '20010db8004200000000000000000007 02 40 00 80     eth0\n',
    '300/net/fib_trie': FIB_TRIE,
    '300/net/route': ROUTE,
    '300/net/ipv6_route': '',
    '300/comm': 'pause\n',
    '300/cgroup': '0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod0125ec2f_b64a_4868_8f5b_94b56cbab864.slice/cri-containerd-ee4b20e90ac7f42a10bd004d05646b13d8ab5e2c5e7cbc01abf8006bac016459.scope\n',
  });
  const ns = readNamespace(root, { link: POD, inode: 4026532288, pid: 300, processes: 2 }, { systemRoot: null, entered: undefined, notEntered: 'not entered: setns(2) into another network namespace needs CAP_SYS_ADMIN' });
  assert.deepEqual(ns.sockets.tcp?.listening.map((s) => `${s.local}:${s.localPort}`), ['0.0.0.0:8080']);
  assert.deepEqual(ns.addresses.map((a) => a.address), ['10.244.1.7', '127.0.0.1', '2001:db8:42::7']);
  assert.equal(ns.owner.runtime, 'kubernetes');
  assert.equal(ns.owner.name, '0125ec2f-b64a-4868-8f5b-94b56cbab864', 'no kubelet files read: the pod is named by its UID');
  const status = (name: string) => ns.statuses.find((s) => s.name === name);
  assert.equal(status('sysctl')?.status, 'skipped');
  assert.match(status('sockdiag')?.detail ?? '', /CAP_SYS_ADMIN: V6ONLY is unknown/);
  assert.equal(ns.sysctl, null);
});
