// /proc/[pid]: fd/* -> socket:[inode], stat (ppid), comm, exe, cgroup (systemd unit), status (uid).
// Fixture pids are whatever they were at capture time: found here by reading the tree.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseSocketTable } from '../src/proc/net-sockets.js';
import { parseCgroupUnit, parseStatPpid, scanSocketOwners } from '../src/proc/owners.js';
import { fixtureProc, fixtureProcText, parseErrorOf, tempProc } from './helpers/proc-fixtures.js';

const FIXTURE = 'dual-stack-services';
const root = fixtureProc(FIXTURE);

/** Pids of the fixture's process directories whose comm is `comm`. */
function pidsByComm(comm: string): number[] {
  return readdirSync(root.path)
    .filter((name) => /^\d+$/.test(name))
    .filter((name) => readFileSync(join(root.path, name, 'comm'), 'latin1').trim() === comm)
    .map(Number)
    .sort((a, b) => a - b);
}

/** Inode of the fixture's listening socket on `local` port `port` in `file`. */
function listenerInode(file: 'tcp' | 'tcp6', local: string, port: number): number {
  const family = file === 'tcp6' ? 6 : 4;
  const socket = parseSocketTable(fixtureProcText(FIXTURE, `net/${file}`), 'tcp', family).find((s) => s.local === local && s.localPort === port && s.state === 0x0a);
  assert.ok(socket, `a listener on ${local} ${port} in ${file}`);
  return socket.inode;
}

test('parseStatPpid: the fourth field, after a comm that may hold spaces and parentheses', () => {
  assert.equal(parseStatPpid('1234 (nginx) S 1 1234 1234 0 -1 4194560 100 0 0 0', 'stat'), 1);
  assert.equal(parseStatPpid('812 (tmux: server) S 1 812 812 0 -1 4194560', 'stat'), 1);
  assert.equal(parseStatPpid('99 (a) b) c) R 42 99 99 0 -1', 'stat'), 42);
  for (const bad of ['', '1234 nginx S 1', '1234 (nginx) S', '1234 (nginx) S x 1']) {
    const error = parseErrorOf(() => parseStatPpid(bad, '1234/stat'));
    assert.deepEqual([error.file, error.line, error.field, error.raw], ['1234/stat', 1, 'ppid', bad], JSON.stringify(bad));
  }
});

test('parseStatPpid on the fixture agrees with PPid: in status for every process', () => {
  const pids = readdirSync(root.path).filter((name) => /^\d+$/.test(name));
  assert.equal(pids.length, 13);
  for (const pid of pids) {
    const ppid = parseStatPpid(fixtureProcText(FIXTURE, `${pid}/stat`), `${pid}/stat`);
    const status = /^PPid:\s+(\d+)$/m.exec(fixtureProcText(FIXTURE, `${pid}/status`));
    assert.equal(ppid, Number(status?.[1]), pid);
  }
});

test('parseCgroupUnit: cgroup v2 and v1 name=systemd lines, user sessions, root is null', () => {
  const cases: Array<[string, string | null]> = [
    ['0::/system.slice/nginx.service\n', 'nginx.service'],
    ['1:name=systemd:/system.slice/ssh.service\n', 'ssh.service'],
    ['0::/user.slice/user-1000.slice/session-3.scope\n', 'session-3.scope'],
    ['1:name=systemd:/user.slice/user-1000.slice/session-12.scope\n', 'session-12.scope'],
    ['0::/user.slice/user-1000.slice/user@1000.service/app.slice/pipewire.service\n', 'pipewire.service'],
    ['0::/system.slice/system-getty.slice/getty@tty1.service\n', 'getty@tty1.service'],
    ['0::/system.slice/nginx.service/payload\n', 'nginx.service'],
    ['0::/init.scope\n', 'init.scope'],
    ['0::/\n', null],
    ['0::/user.slice/user-1000.slice\n', null],
    ['', null],
    // A v1 host where only other controllers name the service: not systemd's hierarchy.
    ['12:pids:/system.slice/ssh.service\n11:memory:/system.slice/ssh.service\n', null],
    // Hybrid: the named systemd hierarchy holds the unit, the unified one is empty.
    ['12:pids:/system.slice/ssh.service\n1:name=systemd:/system.slice/ssh.service\n0::/\n', 'ssh.service'],
  ];
  for (const [text, unit] of cases) assert.equal(parseCgroupUnit(text), unit, JSON.stringify(text));
});

test('parseCgroupUnit on the fixture cgroup (hybrid, every path /) is null', () => {
  const [sshd] = pidsByComm('sshd');
  assert.ok(sshd);
  const text = fixtureProcText(FIXTURE, `${sshd}/cgroup`);
  assert.match(text, /^0::\/$/m);
  assert.match(text, /name=systemd:\/$/m);
  assert.equal(parseCgroupUnit(text), null);
});

test('nginx: the master holds [::]:8080 together with 2 workers whose ppid is the master', () => {
  const nginx = pidsByComm('nginx');
  assert.equal(nginx.length, 3);
  const v6 = listenerInode('tcp6', '::', 8080);
  const v4 = listenerInode('tcp', '0.0.0.0', 8080);
  const scan = scanSocketOwners(root, new Set([v6, v4]));
  const holders = scan.owners.get(v6);
  assert.ok(holders);
  assert.deepEqual(holders.map((o) => o.pid).sort((a, b) => a - b), nginx);
  assert.ok(holders.every((o) => o.comm === 'nginx' && o.exe === '/usr/bin/node' && o.uid === 0 && o.unit === null));
  const masters = holders.filter((o) => !nginx.includes(o.ppid ?? -1));
  assert.equal(masters.length, 1);
  const master = masters[0]!;
  const workers = holders.filter((o) => o.pid !== master.pid);
  assert.equal(workers.length, 2);
  assert.ok(workers.every((w) => w.ppid === master.pid), 'workers are children of the master');
  // Only the master holds the IPv4 socket.
  assert.deepEqual(scan.owners.get(v4)?.map((o) => o.pid), [master.pid]);
  assert.equal(scan.processes, 13);
  assert.equal(scan.unreadable, 0);
});

test('sshd holds both port-22 listeners; inodes nobody holds and unwanted ones are left out', () => {
  const [sshd] = pidsByComm('sshd');
  const v4 = listenerInode('tcp', '0.0.0.0', 22);
  const v6 = listenerInode('tcp6', '::', 22);
  const scan = scanSocketOwners(root, new Set([v4, v6, 999999999]));
  assert.deepEqual([...scan.owners.keys()].sort((a, b) => a - b), [v4, v6].sort((a, b) => a - b));
  for (const inode of [v4, v6]) {
    assert.deepEqual(scan.owners.get(inode)?.map((o) => [o.pid, o.comm]), [[sshd, 'sshd']]);
  }
  assert.equal(scanSocketOwners(root, new Set()).owners.size, 0);
});

test('owners on a written tree: unit from cgroup, comm with spaces, non-socket fds and vanished processes skipped', (t) => {
  const tree = tempProc(
    t,
    {
      '100/comm': 'nginx\n',
      '100/stat': '100 (nginx) S 1 100 100 0 -1 4194560',
      '100/cgroup': '0::/system.slice/nginx.service\n',
      '100/status': 'Name:\tnginx\nUid:\t33\t33\t33\t33\n',
      '200/comm': 'sshd: alice [priv]\n',
      '200/stat': '200 (sshd: alice [priv]) S 150 200 200 0 -1 4194560',
      '200/cgroup': '1:name=systemd:/user.slice/user-1000.slice/session-3.scope\n',
      '300/stat': '300 (gone) Z 1 300', // no comm: exited while scanned
      'net/tcp6': '',
      'self/comm': 'not a pid\n',
    },
    {
      '100/fd/3': 'socket:[5001]',
      '100/fd/4': 'pipe:[5001]',
      '100/fd/5': '/dev/null',
      '100/exe': '/usr/sbin/nginx',
      '200/fd/7': 'socket:[5002]',
      '300/fd/3': 'socket:[5001]',
      'self/fd/3': 'socket:[5001]',
    },
  );
  const scan = scanSocketOwners(tree, new Set([5001, 5002]));
  assert.deepEqual(scan.owners.get(5001), [{ pid: 100, ppid: 1, comm: 'nginx', exe: '/usr/sbin/nginx', unit: 'nginx.service', uid: 33 }]);
  assert.deepEqual(scan.owners.get(5002), [{ pid: 200, ppid: 150, comm: 'sshd: alice [priv]', exe: null, unit: 'session-3.scope', uid: null }]);
  assert.equal(scan.processes, 3);
});

/** Every listening socket of the fixture, all four tables. */
function allListenerInodes(): Set<number> {
  const inodes = new Set<number>();
  for (const [file, proto, family] of [['tcp', 'tcp', 4], ['tcp6', 'tcp', 6], ['udp', 'udp', 4], ['udp6', 'udp', 6]] as const) {
    for (const s of parseSocketTable(fixtureProcText(FIXTURE, `net/${file}`), proto, family)) {
      if (s.state === (proto === 'tcp' ? 0x0a : 0x07)) inodes.add(s.inode);
    }
  }
  return inodes;
}

const holdersOf = (scan: ReturnType<typeof scanSocketOwners>): Array<[number, number[]]> =>
  [...scan.owners.entries()].map(([inode, list]): [number, number[]] => [inode, list.map((o) => o.pid).sort((a, b) => a - b)]).sort(([a], [b]) => a - b);

test('every listening socket of dual-stack-services has an owner, found in the first pass', () => {
  const wanted = allListenerInodes();
  assert.equal(wanted.size, 14);
  const scan = scanSocketOwners(root, wanted);
  assert.equal(scan.owners.size, 14);
  assert.equal(scan.secondPass, false);
  assert.equal(scan.otherNamespace, 0, 'a capture has no self/ns/net: nothing is skipped');
});

test('a first pass too short for some fd tables is completed by the second pass, with the same owners', () => {
  const wanted = allListenerInodes();
  const full = scanSocketOwners(root, wanted);
  // sshd, named and the nginx master hold two sockets each: one descriptor per process cannot find them all.
  const short = scanSocketOwners(root, wanted, 1);
  assert.equal(short.secondPass, true);
  assert.deepEqual(holdersOf(short), holdersOf(full));
});

test('processes of another network namespace are counted and not searched', (t) => {
  const tree = tempProc(
    t,
    {
      '100/comm': 'nginx\n',
      '100/stat': '100 (nginx) S 1 100 100 0 -1 4194560',
      '200/comm': 'nginx\n',
      '200/stat': '200 (nginx) S 1 200 200 0 -1 4194560',
      '300/comm': 'nginx\n',
      '300/stat': '300 (nginx) S 1 300 300 0 -1 4194560',
    },
    {
      'self/ns/net': 'net:[4026531840]',
      '100/ns/net': 'net:[4026531840]',
      '100/fd/3': 'socket:[7001]',
      '200/ns/net': 'net:[4026532999]', // a container's nginx: same inode numbers mean nothing here
      '200/fd/3': 'socket:[7001]',
      '300/fd/3': 'socket:[7001]', // ns/net unreadable: searched
    },
  );
  const scan = scanSocketOwners(tree, new Set([7001]));
  assert.equal(scan.processes, 3);
  assert.equal(scan.otherNamespace, 1);
  assert.deepEqual(scan.owners.get(7001)?.map((o) => o.pid).sort((a, b) => a - b), [100, 300]);
});

test('holdsOwnerCapabilities: CAP_DAC_READ_SEARCH (bit 2) and CAP_SYS_PTRACE (bit 19) in CapEff, both needed', async () => {
  const { holdsOwnerCapabilities } = await import('../src/proc/owners.js');
  const status = (eff: string) => `Name:\tnode\nCapInh:\t0000000000000000\nCapPrm:\t${eff}\nCapEff:\t${eff}\n`;
  assert.equal(holdsOwnerCapabilities(status('000001ffffffffff')), true); // root
  assert.equal(holdsOwnerCapabilities(status('0000000000080004')), true); // the unit's two
  assert.equal(holdsOwnerCapabilities(status('0000000000000004')), false); // dac_read_search only
  assert.equal(holdsOwnerCapabilities(status('0000000000080000')), false); // sys_ptrace only
  assert.equal(holdsOwnerCapabilities(status('0000000000000000')), false);
  assert.equal(holdsOwnerCapabilities(null), false);
  assert.equal(holdsOwnerCapabilities('Name:\tx\n'), false);
});

test('the second pass reads only the processes of namespaces that hold a socket still without an owner', (t) => {
  const tree = tempProc(
    t,
    {
      '100/comm': 'relay\n',
      '200/comm': 'relay\n',
      '300/comm': 'named\n',
    },
    {
      '100/fd/3': 'socket:[7002]', // namespace A holds namespace B's socket (passed to it)
      '200/fd/3': 'socket:[7002]', // namespace unknown: read like every process of B
      '300/fd/3': 'socket:[7002]',
    },
  );
  const A = 'net:[4026531840]';
  const B = 'net:[4026532999]';
  const namespaces = { byPid: new Map([[100, A], [300, B]]), searched: new Set([A, B]) };
  const pidsOf = (scan: ReturnType<typeof scanSocketOwners>) => scan.owners.get(7002)?.map((o) => o.pid).sort((a, b) => a - b);
  // A first pass of 0 descriptors leaves every process for the second one.
  const scan = scanSocketOwners(tree, new Set([7002]), 0, { ...namespaces, socketNamespace: new Map([[7002, B]]) });
  assert.equal(scan.secondPass, true);
  assert.deepEqual(pidsOf(scan), [200, 300], "A's process is not read again: no socket of A lacks an owner");
  assert.deepEqual(pidsOf(scanSocketOwners(tree, new Set([7002]), 0, namespaces)), [100, 200, 300], "without the sockets' namespaces every process is read");
  assert.deepEqual(pidsOf(scanSocketOwners(tree, new Set([7002]), 0, { ...namespaces, socketNamespace: new Map() })), [100, 200, 300], 'a socket of unknown namespace: every process');
});
