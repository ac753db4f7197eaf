import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { daemons, daemonForProcess, genericFix, type FixContext } from '../src/knowledge/daemons/index.js';
import {
  advisoriesFor,
  defaultRouteWorkaround,
  kernelAdvisories,
  parseKernelRelease,
} from '../src/knowledge/kernels.js';

const ctx: FixContext = {
  proto: 'tcp',
  port: 8080,
  ipv4Addresses: ['192.0.2.10'],
  ipv6Addresses: ['2001:db8::10'],
};
const bare: FixContext = { proto: 'udp', port: 5353, ipv4Addresses: [], ipv6Addresses: [] };

// --- daemons -----------------------------------------------------------------------------

test('every daemon entry is complete and cites sources', () => {
  assert.ok(daemons.length >= 16);
  for (const d of daemons) {
    assert.ok(d.sources.length > 0, `${d.id} has no sources`);
    assert.ok(d.processNames.length > 0, `${d.id} has no process names`);
    for (const name of d.processNames) {
      // /proc/[pid]/comm is TASK_COMM_LEN - 1 = 15 characters at most.
      assert.ok(name.length <= 15, `${d.id}: ${name} is longer than comm allows`);
      assert.equal(name, name.trim());
    }
    for (const field of [d.displayName, d.configFile, d.defaultListening, d.aclDirective]) {
      assert.ok(field.length > 0, `${d.id} has an empty field`);
    }
  }
});

test('every daemon file under knowledge/daemons/ is in the list (nothing registers itself on import)', async () => {
  const dir = new URL('../src/knowledge/daemons/', import.meta.url);
  const shared = new Set(['index.ts', 'model.ts', 'generic.ts']);
  const files = readdirSync(dir).filter((f) => f.endsWith('.ts') && !shared.has(f));
  assert.equal(files.length, daemons.length, `files ${files.join(', ')} vs ${daemons.map((d) => d.id).join(', ')}`);
  for (const file of files) {
    const entries = Object.values(await import(new URL(file, dir).href)) as unknown[];
    assert.equal(entries.length, 1, `${file} should export its one entry`);
    assert.ok(daemons.includes(entries[0] as (typeof daemons)[number]), `${file}: its entry is not in the daemons list`);
  }
});

test('ids and process names are unique across entries', () => {
  const ids = daemons.map((d) => d.id);
  assert.equal(new Set(ids).size, ids.length);
  const names = daemons.flatMap((d) => d.processNames);
  assert.equal(new Set(names).size, names.length, `duplicate process name in ${names.join(',')}`);
});

test('the port appears in every fix, for tcp and udp, with and without host addresses', () => {
  for (const c of [ctx, bare]) {
    for (const d of daemons) {
      const fixes = [d.addIpv6(c), d.addIpv4(c), ...(d.separateSockets ? [d.separateSockets(c)] : [])];
      for (const fix of fixes) {
        assert.ok(fix.summary.length > 0, `${d.id}: empty summary`);
        assert.ok(fix.commands.length > 0, `${d.id}: no commands`);
        assert.ok(
          fix.commands.some((cmd) => cmd.includes(String(c.port))),
          `${d.id}: port ${c.port} missing from ${JSON.stringify(fix.commands)}`,
        );
      }
    }
  }
});

test('fixes that need specific addresses use the host addresses, or say they are missing', () => {
  const apache = daemonForProcess('apache2')!;
  const withAddr = apache.separateSockets!(ctx).commands.join('\n');
  assert.match(withAddr, /Listen 192\.0\.2\.10:8080/);
  assert.match(withAddr, /Listen \[2001:db8::10\]:8080/);
  const without = apache.separateSockets!({ ...ctx, ipv4Addresses: [], ipv6Addresses: [] });
  assert.match(without.commands.join('\n'), /\{ipv6-address\}/);
  assert.match(without.summary, /no global IPv4 or IPv6 address/);
});

test('concrete commands for the common daemons', () => {
  const nginx = daemonForProcess('nginx')!.addIpv6(ctx).commands;
  assert.ok(nginx.includes('listen [::]:8080;'));
  assert.ok(nginx.includes('nginx -t && systemctl reload nginx'));

  const ssh = daemonForProcess('sshd')!.addIpv6({ ...ctx, port: 22 }).commands;
  for (const line of ['AddressFamily any', 'ListenAddress 0.0.0.0', 'ListenAddress ::']) assert.ok(ssh.includes(line));
  assert.ok(ssh.some((cmd) => cmd.startsWith('sshd -t && systemctl reload ssh')));
  // A non-default port must be carried by the ListenAddress lines (IPv6 in brackets).
  const ssh2222 = daemonForProcess('sshd')!.addIpv6({ ...ctx, port: 2222 }).commands;
  assert.ok(ssh2222.includes('ListenAddress [::]:2222'));

  const postfix = daemonForProcess('master')!.addIpv6({ ...ctx, port: 25 }).commands;
  assert.ok(postfix.includes("postconf -e 'inet_protocols = all'"));
  assert.ok(postfix.some((cmd) => cmd.includes('systemctl restart postfix')));

  const redis = daemonForProcess('redis-server')!.addIpv6({ ...ctx, port: 6379 }).commands;
  assert.ok(redis.includes('bind * -::*'));
  assert.ok(redis.includes('port 6379'));

  const haproxy = daemonForProcess('haproxy')!.separateSockets!(ctx).commands;
  assert.ok(haproxy.includes('bind :8080') && haproxy.includes('bind :::8080 v6only'));
});

test('a known systemd unit replaces the default unit name', () => {
  const fix = daemonForProcess('nginx')!.addIpv6({ ...ctx, unit: 'nginx-edge.service' });
  assert.ok(fix.commands.includes('nginx -t && systemctl reload nginx-edge'));
});

test('daemonForProcess finds Apache by both names and returns null for unknown', () => {
  assert.equal(daemonForProcess('apache2')?.id, 'apache');
  assert.equal(daemonForProcess('httpd')?.id, 'apache');
  assert.equal(daemonForProcess('master')?.id, 'postfix');
  assert.equal(daemonForProcess('smtpd')?.id, 'postfix');
  assert.equal(daemonForProcess('mariadbd')?.id, 'mysql');
  assert.equal(daemonForProcess('exim4')?.id, 'exim');
  assert.equal(daemonForProcess('no-such-daemon'), null);
  assert.equal(daemonForProcess(''), null);
  assert.equal(daemonForProcess(null), null);
  // comm is case-sensitive; no fuzzy matching.
  assert.equal(daemonForProcess('NGINX'), null);
});

test('daemons that cannot separate sockets leave separateSockets out and say so', () => {
  for (const id of ['vsftpd', 'java']) {
    const d = daemons.find((x) => x.id === id)!;
    assert.equal(d.separateSockets, undefined);
    assert.match(d.defaultListening, /separate|V6ONLY/);
  }
});

test('genericFix explains the socket table for every kind', () => {
  const six = genericFix('add-ipv6', ctx);
  assert.match(six.summary, /0\.0\.0\.0/);
  assert.match(six.summary, /IPV6_V6ONLY/);
  assert.ok(six.commands.some((cmd) => cmd.includes(':8080')));
  assert.match(genericFix('add-ipv4', ctx).summary, /::ffff:/);
  const sep = genericFix('separate', bare);
  assert.match(sep.summary, /IPV6_V6ONLY=1/);
  assert.ok(sep.commands.some((cmd) => cmd.startsWith('ss -Hlune') && cmd.includes(':5353')));
});

// --- kernels -----------------------------------------------------------------------------

const pick = (release: string) => {
  const k = parseKernelRelease(release);
  return k && { major: k.major, minor: k.minor, patch: k.patch, sub: k.sub, distro: k.distro, rhelBuild: k.rhelBuild };
};

test('parseKernelRelease on real release strings', () => {
  assert.deepEqual(pick('2.6.18-92.el5'), { major: 2, minor: 6, patch: 18, sub: null, distro: 'rhel', rhelBuild: 92 });
  assert.deepEqual(pick('2.6.18-128.el5'), { major: 2, minor: 6, patch: 18, sub: null, distro: 'rhel', rhelBuild: 128 });
  assert.deepEqual(pick('2.6.21'), { major: 2, minor: 6, patch: 21, sub: null, distro: null, rhelBuild: null });
  assert.deepEqual(pick('2.6.22.1'), { major: 2, minor: 6, patch: 22, sub: 1, distro: null, rhelBuild: null });
  assert.deepEqual(pick('6.18.44-fc-v669'), { major: 6, minor: 18, patch: 44, sub: null, distro: null, rhelBuild: null });
  assert.deepEqual(pick('5.10.0-28-amd64'), { major: 5, minor: 10, patch: 0, sub: null, distro: null, rhelBuild: null });
  assert.deepEqual(pick('6.1.0+deb12'), { major: 6, minor: 1, patch: 0, sub: null, distro: null, rhelBuild: null });
  assert.deepEqual(pick('4.18.0-513.5.1.el8_9.x86_64'), {
    major: 4, minor: 18, patch: 0, sub: null, distro: 'rhel', rhelBuild: 513,
  });
  assert.deepEqual(parseKernelRelease('2.6.18-8.1.4.el5')?.rhelRelease, [8, 1, 4]);
  assert.equal(parseKernelRelease('2.6.18-128.el5PAE')?.rhelMajor, 5);
  assert.equal(parseKernelRelease('2.6.9-89.ELsmp')?.distro, 'rhel');
  assert.equal(parseKernelRelease('2.6.22-rc3')?.rc, 3);
  assert.equal(parseKernelRelease(' 6.18.44-fc-v669\n')?.patch, 44);
});

test('parseKernelRelease rejects garbage', () => {
  for (const bad of ['', 'garbage', 'Linux', '2', 'v6.1.0', '2.6.x', '2.6.18.', '6.1foo', '-2.6.18']) {
    assert.equal(parseKernelRelease(bad), null, JSON.stringify(bad));
  }
});

const ids = (release: string) => advisoriesFor(release).map((a) => a.id).sort();

test('default-route advisory: both boundaries, upstream and RHEL 5', () => {
  const id = 'linux-2.6-ipv6-default-route';
  // Upstream: fixed in 2.6.22.
  assert.ok(ids('2.6.21').includes(id));
  assert.ok(ids('2.6.21.7').includes(id));
  assert.ok(ids('2.6.22-rc3').includes(id));
  assert.ok(!ids('2.6.22').includes(id));
  assert.ok(!ids('2.6.22.1').includes(id));
  assert.ok(ids('2.6.0').includes(id));
  assert.ok(!ids('2.4.37').includes(id));
  // RHEL 5: 5.2 (92) affected, 5.3 (128) fixed; 127 is the last affected build number.
  assert.ok(ids('2.6.18-92.el5').includes(id));
  assert.ok(ids('2.6.18-92.1.38.el5').includes(id));
  assert.ok(ids('2.6.18-127.el5').includes(id));
  assert.ok(!ids('2.6.18-128.el5').includes(id));
  assert.ok(!ids('2.6.18-164.el5').includes(id));
  // Modern kernels.
  assert.ok(!ids('6.18.44-fc-v669').includes(id));
  assert.ok(!ids('5.10.0-28-amd64').includes(id));
  assert.ok(!ids('3.10.0-1160.el7.x86_64').includes(id));
});

test('CVE-2007-2242: both boundaries, upstream, stable and RHEL 5', () => {
  const id = 'CVE-2007-2242';
  assert.ok(ids('2.6.20').includes(id));
  assert.ok(ids('2.6.20.8').includes(id));
  assert.ok(!ids('2.6.20.9').includes(id));
  assert.ok(!ids('2.6.21').includes(id));
  assert.ok(ids('2.6.21-rc7').includes(id));
  assert.ok(ids('2.6.16').includes(id));
  assert.ok(!ids('2.6.22.1').includes(id));
  assert.ok(ids('2.6.18-8.el5').includes(id));
  assert.ok(ids('2.6.18-8.1.3.el5').includes(id));
  assert.ok(!ids('2.6.18-8.1.4.el5').includes(id));
  assert.ok(!ids('2.6.18-53.el5').includes(id));
  assert.ok(!ids('6.18.44-fc-v669').includes(id));
});

test('advisoriesFor: old RHEL 5 hits both, modern and garbage hit none', () => {
  assert.deepEqual(ids('2.6.18-8.el5'), ['CVE-2007-2242', 'linux-2.6-ipv6-default-route']);
  assert.deepEqual(ids('2.6.18-92.el5'), ['linux-2.6-ipv6-default-route']);
  assert.deepEqual(ids('6.18.44-fc-v669'), []);
  assert.deepEqual(ids('garbage'), []);
});

test('every advisory is cited and the default-route workaround has both halves', () => {
  for (const a of kernelAdvisories) {
    assert.ok(a.sources.length > 0 && a.workaround.length > 0 && a.fixedIn.length > 0, a.id);
  }
  assert.deepEqual(defaultRouteWorkaround('fe80::1', 'eth0'), [
    'ip -6 route add ::/1 via fe80::1 dev eth0',
    'ip -6 route add 8000::/1 via fe80::1 dev eth0',
  ]);
  const bug = kernelAdvisories.find((a) => a.id === 'linux-2.6-ipv6-default-route')!;
  assert.deepEqual(bug.workaround, [
    'ip -6 route add ::/1 via {gateway} dev {interface}',
    'ip -6 route add 8000::/1 via {gateway} dev {interface}',
  ]);
});
