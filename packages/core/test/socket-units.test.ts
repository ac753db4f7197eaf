// Socket units in core: what a Listen value names (systemd's socket_address_parse()), and the
// matching of PID 1's services to the unit whose entries account for every socket.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { attachSocketUnits, parseListenValue, type ConfigDirective, type DaemonConfig, type Service } from '../src/index.js';

test('Listen values: port, IPv4:port, [IPv6]:port with a device, paths; a bare IPv6 address is refused', () => {
  assert.deepEqual(parseListenValue('22'), { kind: 'port', port: 22 });
  assert.deepEqual(parseListenValue('0.0.0.0:22'), { kind: 'ipv4', address: '0.0.0.0', port: 22 });
  assert.deepEqual(parseListenValue('[::]:22'), { kind: 'ipv6', address: '::', port: 22, device: null });
  assert.deepEqual(parseListenValue('[fe80::1]:22%eth0'), { kind: 'ipv6', address: 'fe80::1', port: 22, device: 'eth0' });
  assert.deepEqual(parseListenValue('/run/x.sock'), { kind: 'other' });
  assert.ok('error' in parseListenValue('2001:db8::1'));
  assert.ok('error' in parseListenValue('70000'));
});

const d = (line: number, key: string, value: string, context: string): ConfigDirective => ({ file: `/etc/systemd/system/${context}`, line, key, value, raw: `${key}=${value}`, context });
const service = (port: number, address: string, family: 4 | 6, pid = 1): Service => ({
  proto: 'tcp', port, process: 'systemd', pid, exe: '/usr/lib/systemd/systemd', unit: 'init.scope', uid: 0, sharedWith: [],
  bindings: [{ address, family, v6only: family === 6 ? false : null, v6onlySource: family === 6 ? 'sock_diag' : 'not-applicable', inode: port }],
  ipv4: 'any', ipv6: 'none', mode: 'ipv4-only', connections: { ipv4: 0, ipv6: 0, mapped: 0 },
});

test('a bare port is matched as [::] with IPv6 in the kernel and as 0.0.0.0 without; other pids and addresses are left alone', () => {
  const configs: DaemonConfig[] = [{ daemon: 'systemd-socket', files: [], directives: [d(2, 'ListenStream', '22', 'ssh.socket'), d(3, 'ListenStream', '192.0.2.1:80', 'web.socket')] }];
  const withV6 = [service(22, '::', 6), service(22, '::', 6, 900), service(80, '192.0.2.2', 4)];
  attachSocketUnits(withV6, configs, true);
  assert.deepEqual(withV6.map((s) => s.socketUnit?.unit ?? null), ['ssh.socket', null, null]);
  assert.equal(withV6[0]!.process, 'ssh.socket', 'no ExecStart read: named after the unit');
  const withoutV6 = [service(22, '0.0.0.0', 4), service(22, '::', 6)];
  attachSocketUnits(withoutV6, configs, false);
  assert.deepEqual(withoutV6.map((s) => s.socketUnit?.unit ?? null), ['ssh.socket', null]);
});
