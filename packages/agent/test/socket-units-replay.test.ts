// The captured host of test/fixtures/socket-units (make-socket-units.sh): PID 1 holds the
// sockets of Ubuntu 24.04's ssh.socket as shipped (ListenStream=22), of a unit with
// BindIPv6Only=ipv6-only and of one with ListenStream=0.0.0.0:PORT. Each service is named
// after the unit and the daemon it activates, and every fix is a drop-in for the unit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { validateReport, type Report } from '@dualstack/core/schema';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const fixture = fileURLToPath(new URL('../../../test/fixtures/socket-units/', import.meta.url));
const scan = (...args: string[]) => execFileSync(process.execPath, [cli, 'scan', '--proc-root', `${fixture}proc`, ...args], { encoding: 'utf8' });

const report = (): Report => {
  const value = JSON.parse(scan('--json'));
  const validation = validateReport(value);
  assert.ok(validation.ok, JSON.stringify(!validation.ok && validation.problems));
  return value as Report;
};

test('PID 1 services are named after their socket unit and the daemon it activates', () => {
  const services = report().services;
  const byPort = (port: number) => services.find((s) => s.port === port)!;
  assert.deepEqual(
    services.map((s) => [s.port, s.pid, s.process, s.unit, s.mode]),
    [
      [22, 1, 'sshd', 'ssh.socket', 'dual-mapped'],
      [8443, 1, 'webhookd', 'webhook.socket', 'ipv6-only'],
      [9100, 1, 'prometheus-node', 'metrics.socket', 'ipv4-only'],
    ],
  );
  assert.deepEqual(byPort(22).socketUnit, {
    unit: 'ssh.socket',
    file: '/usr/lib/systemd/system/ssh.socket',
    line: 7,
    listen: 'ListenStream=22',
    bindIpv6Only: 'default',
    listens: ['ListenStream=22'],
    accept: false,
    service: 'ssh.service',
    daemon: '/usr/sbin/sshd',
  });
  assert.equal(byPort(8443).socketUnit?.bindIpv6Only, 'ipv6-only');
  assert.equal(byPort(9100).socketUnit?.service, 'node-exporter.service');
});

test('the fixes edit the unit through a drop-in, never the daemon configuration', () => {
  const findings = report().findings;
  const one = (rule: string) => {
    const found = findings.filter((f) => f.rule === rule);
    assert.equal(found.length, 1, rule);
    return found[0]!;
  };
  const v6only = one('service-ipv6-only');
  assert.equal(v6only.subject, 'tcp/8443');
  assert.deepEqual(v6only.fix.commands.slice(0, 3), ['systemctl edit webhook.socket   # writes /etc/systemd/system/webhook.socket.d/override.conf (never edit the packaged unit); put in it:', '#   [Socket]', '#   BindIPv6Only=both']);
  const off = one('config-ipv6-off');
  assert.equal(off.subject, '/etc/systemd/system/metrics.socket:5');
  assert.ok(off.evidence[0]!.startsWith('/etc/systemd/system/metrics.socket:5: ListenStream=0.0.0.0:9100'));
  assert.deepEqual(off.fix.commands.slice(1, 6), ['#   [Socket]', '#   BindIPv6Only=ipv6-only', '#   ListenStream=', '#   ListenStream=0.0.0.0:9100', '#   ListenStream=[::]:9100']);
  const v4only = one('service-ipv4-only');
  assert.ok(v4only.fix.commands[0]!.startsWith('systemctl edit metrics.socket'));
  const mapped = one('service-dual-mapped');
  assert.ok(mapped.fix.commands.includes('#   ListenStream=0.0.0.0:22') && mapped.fix.commands.includes('#   ListenStream=[::]:22'), mapped.fix.commands.join('\n'));
  assert.ok(!findings.some((f) => f.fix.commands.some((c) => c.includes('sshd_config'))), 'no sshd_config fix for a socket-activated sshd');
});

test("scan's table shows the socket unit with its file and line", () => {
  const text = scan();
  assert.match(text, /SOCKET UNIT/);
  assert.match(text, /ssh\.socket ListenStream=22 BindIPv6Only=default \(\/usr\/lib\/systemd\/system\/ssh\.socket:7\)/);
});
