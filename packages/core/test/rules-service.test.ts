// Service rules against the replayed fixtures (test/golden), and edited copies for the edges.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  serviceDualMapped,
  serviceIpv4Only,
  serviceIpv6Only,
  serviceLoopbackV4Only,
  serviceMappedClients,
  serviceV6onlyUnknown,
} from '../src/rules/service-rules.js';
import { golden, only, runRuleCases, service } from './golden-facts.js';

const withIpv6Flag = (flag: string) => () => {
  const facts = golden('dual-stack-services');
  for (const a of facts.addresses) if (a.family === 6 && a.scope === 'global') a.flags.push(flag);
  return facts;
};

// --- service-ipv4-only ----------------------------------------------------------------------

runRuleCases([
  {
    name: 'sendmail on 0.0.0.0 and postgres on 192.0.2.2 refuse the IPv6 clients of a routed dual-stack host',
    rule: serviceIpv4Only,
    facts: () => golden('dual-stack-services'),
    expect: ['tcp/25', 'tcp/5432'],
    check(findings) {
      const sendmail = only(findings, 'tcp/25');
      assert.match(sendmail.message, /sendmail-mta\[18235\].*IPv4 only \(0\.0\.0\.0\).*2001:db8:1::3/);
      assert.match(sendmail.message, /"connection refused"/);
      assert.ok(sendmail.fix.summary.startsWith('sendmail: '), 'sendmail-mta is the Debian comm of sendmail');
      assert.ok(sendmail.fix.commands.includes("DAEMON_OPTIONS(`Family=inet6, Name=MTA-v6, Port=25, Addr=::')dnl"));
      assert.ok(sendmail.evidence.some((e) => e.includes('2001:db8:1::3/64 veth0')));
      assert.ok(sendmail.evidence.some((e) => e.includes('via 2001:db8:1::1 dev veth0')));
      const postgres = only(findings, 'tcp/5432');
      assert.match(postgres.message, /IPv4 only \(192\.0\.2\.2\)/);
      assert.ok(postgres.fix.commands.includes("listen_addresses = '0.0.0.0, ::'"));
      assert.ok(postgres.fix.commands.includes('port = 5432'));
      assert.ok(postgres.fix.commands.includes('systemctl restart postgresql'));
    },
  },
  {
    name: 'no finding on a host without IPv6 (ipv6-off): nothing to add the family to',
    rule: serviceIpv4Only,
    facts: () => golden('ipv6-off'),
    expect: [],
  },
  { name: 'not raised when every global IPv6 address is tentative', rule: serviceIpv4Only, facts: withIpv6Flag('tentative'), expect: [] },
  { name: 'not raised when every global IPv6 address is deprecated', rule: serviceIpv4Only, facts: withIpv6Flag('deprecated'), expect: [] },
  { name: 'not raised when every global IPv6 address failed DAD', rule: serviceIpv4Only, facts: withIpv6Flag('dadfailed'), expect: [] },
  {
    name: 'raised when the host cannot route IPv6 yet: its own link and internal networks are refused now; the evidence points at ipv6-unroutable',
    rule: serviceIpv4Only,
    facts: () => {
      const facts = golden('dual-stack-services');
      const v6 = facts.reachability.find((r) => r.family === 6)!;
      Object.assign(v6, { reachable: false, error: 'ENETUNREACH', route: null, sourceAddress: null });
      return facts;
    },
    expect: ['tcp/25', 'tcp/5432'],
    check(findings) {
      const evidence = only(findings, 'tcp/25').evidence;
      assert.ok(evidence.some((e) => /cannot route IPv6 beyond its networks yet \(ENETUNREACH for 2001:db8::1: see ipv6-unroutable\)/.test(e)), evidence.join(' | '));
      assert.ok(!evidence.some((e) => /IPv6 is routed/.test(e)));
    },
  },
  {
    name: 'raised on an internal server with only a unique-local IPv6 address and no route beyond',
    rule: serviceIpv4Only,
    facts: () => {
      const facts = golden('dual-stack-services');
      facts.addresses = facts.addresses.filter((a) => !(a.family === 6 && a.scope === 'global'));
      facts.addresses.push({ family: 6, address: 'fd00:db8::2', prefixLength: 64, interface: 'veth0', scope: 'global', flags: ['permanent'] });
      const v6 = facts.reachability.find((r) => r.family === 6)!;
      Object.assign(v6, { reachable: false, error: 'ENETUNREACH', route: null, sourceAddress: null });
      return facts;
    },
    expect: ['tcp/25', 'tcp/5432'],
    check(findings) {
      assert.match(only(findings, 'tcp/25').message, /IPv6 clients of fd00:db8::2 get "connection refused"/);
    },
  },
  {
    name: 'raised when IPv6 reachability is unknown (probe missing), saying so',
    rule: serviceIpv4Only,
    facts: () => {
      const facts = golden('dual-stack-services');
      facts.reachability = facts.reachability.filter((r) => r.family !== 6);
      return facts;
    },
    expect: ['tcp/25', 'tcp/5432'],
    check(findings) {
      assert.ok(only(findings, 'tcp/25').evidence.some((e) => /whether the host routes IPv6 is unknown/.test(e)));
    },
  },
  ...(
    [
      ['partial', '3 of 40 processes could not be read (run as root, or with CAP_DAC_READ_SEARCH and CAP_SYS_PTRACE, to name every socket\'s process)', /could not be read \(run as root/],
      ['partial', '1 listening socket has no known process: 2 of 40 processes refuse ptrace read access even to CAP_SYS_PTRACE (a security module such as Landlock, Yama, AppArmor or SELinux)', /refuse ptrace read access even to CAP_SYS_PTRACE/],
      ['ok', undefined, /another PID namespace/],
    ] as const
  ).map(([status, detail, says]) => ({
    name: `an unknown process: the evidence gives the owners source's reason (${status}${detail ? `: ${detail.slice(0, 30)}…` : ''}), never a privilege the agent has`,
    rule: serviceIpv4Only,
    facts: () => {
      const facts = golden('dual-stack-services');
      Object.assign(service(facts, 'tcp', 25), { process: null, pid: null, unit: null });
      const owners = facts.sources.find((s) => s.name === 'owners')!;
      owners.status = status;
      if (detail) owners.detail = detail;
      else delete owners.detail;
      return facts;
    },
    expect: ['tcp/25', 'tcp/5432'],
    check(findings: import('../src/report.js').Finding[]) {
      const evidence = only(findings, 'tcp/25').evidence.find((e) => e.startsWith('process unknown'));
      assert.ok(evidence, only(findings, 'tcp/25').evidence.join(' | '));
      assert.match(evidence, says);
      if (status === 'ok' || /ptrace/.test(detail ?? '')) assert.doesNotMatch(evidence, /run (the agent )?as root/);
    },
  })),
  {
    name: 'one usable address is enough: a tentative address beside a good one still counts the good one',
    rule: serviceIpv4Only,
    facts: () => {
      const facts = golden('dual-stack-services');
      facts.addresses.find((a) => a.address === '2001:db8:1::3')!.flags.push('tentative');
      return facts;
    },
    expect: ['tcp/25', 'tcp/5432'],
    check(findings) {
      const message = only(findings, 'tcp/25').message;
      assert.match(message, /2001:db8:1::2/);
      assert.doesNotMatch(message, /2001:db8:1::3/);
    },
  },
  {
    name: 'not raised when the tcp6 table failed to read (IPv6 sockets may exist unseen)',
    rule: serviceIpv4Only,
    facts: () => {
      const facts = golden('dual-stack-services');
      const tcp6 = facts.sources.find((s) => s.name === 'tcp6')!;
      Object.assign(tcp6, { status: 'failed', ok: false, error: 'net/tcp6 line 3: bad hex' });
      return facts;
    },
    expect: [],
  },
  {
    name: 'not raised when another process serves IPv6 on the same port (e.g. a proxy beside the daemon)',
    rule: serviceIpv4Only,
    facts: () => {
      const facts = golden('dual-stack-services');
      facts.services.push({
        ...structuredClone(service(facts, 'tcp', 8443)),
        port: 5432,
        process: 'haproxy',
        pid: 4242,
      });
      return facts;
    },
    expect: ['tcp/25'],
  },
  {
    name: "the unit and a privacy address: fixes use the service's unit and the stable address",
    rule: serviceIpv4Only,
    facts: () => {
      const facts = golden('dual-stack-services');
      service(facts, 'tcp', 5432).unit = 'postgresql@15-main.service';
      service(facts, 'tcp', 25).process = 'apache2';
      service(facts, 'tcp', 25).port = 8081;
      facts.addresses.unshift({ family: 6, address: '2001:db8:1:0:a1b2:c3d4:e5f6:789', prefixLength: 64, interface: 'veth0', scope: 'global', flags: ['temporary'] });
      return facts;
    },
    expect: ['tcp/5432', 'tcp/8081'],
    check(findings) {
      assert.ok(only(findings, 'tcp/5432').fix.commands.includes('systemctl restart postgresql@15-main'));
      const apache = only(findings, 'tcp/8081');
      assert.match(apache.fix.summary, /Listen \[2001:db8:1::3\]:8081/, 'a stable address, not the temporary one');
      assert.ok(apache.fix.commands.includes('Listen 8081'));
    },
  },
  {
    name: 'an unknown program gets the socket table explained, with the host addresses',
    rule: serviceIpv4Only,
    facts: () => {
      const facts = golden('dual-stack-services');
      service(facts, 'tcp', 25).process = 'mystery';
      service(facts, 'tcp', 25).pid = 99;
      return facts;
    },
    expect: ['tcp/25', 'tcp/5432'],
    check(findings) {
      const f = only(findings, 'tcp/25');
      assert.match(f.message, /mystery\[99\]/);
      assert.match(f.fix.summary, /^Only IPv4 clients can reach tcp\/25: .*0\.0\.0\.0.*2001:db8:1::3/);
      assert.ok(f.fix.commands.includes("ss -Hltne 'sport = :25'   # expect: sockets for both families"));
      assert.ok(f.evidence.some((e) => e.includes('"mystery" is not in the knowledge base')));
    },
  },
  {
    name: 'a Node.js service without a known unit: the restart line is a comment, not a runnable {unit}',
    rule: serviceIpv4Only,
    facts: () => {
      const facts = golden('dual-stack-services');
      service(facts, 'tcp', 25).process = 'node';
      return facts;
    },
    expect: ['tcp/25', 'tcp/5432'],
    check(findings) {
      const commands = only(findings, 'tcp/25').fix.commands;
      assert.ok(commands.includes("server.listen({ port: 25, host: '::' })"));
      assert.ok(commands.some((c) => c.startsWith('# systemctl restart {unit}') && c.includes('replace {unit}')));
    },
  },
]);

// --- service-ipv6-only ----------------------------------------------------------------------

runRuleCases([
  {
    name: 'mariadbd on 2001:db8:1::2 and a :: V6ONLY daemon refuse the IPv4 clients of a routed host',
    rule: serviceIpv6Only,
    facts: () => golden('dual-stack-services'),
    expect: ['tcp/3306', 'tcp/8443'],
    check(findings) {
      const mariadb = only(findings, 'tcp/3306');
      assert.match(mariadb.message, /mariadbd\[18291\].*IPv6 only \(\[2001:db8:1::2\] v6only=1\).*IPv4 clients of 192\.0\.2\.2, 192\.0\.2\.3/);
      assert.ok(mariadb.fix.commands.includes('bind-address = *'), 'not ::, which MariaDB 10.11 makes IPv6-only');
      assert.ok(mariadb.fix.commands.includes('port = 3306'));
      assert.ok(mariadb.evidence.some((e) => e.includes('reached 198.51.100.1 via 192.0.2.1 dev veth0')));
      const generic = only(findings, 'tcp/8443');
      assert.match(generic.fix.summary, /192\.0\.2\.2/);
    },
  },
  {
    name: 'bindv6only=1 turns a plain :: listener IPv6-only (bindv6only fixture)',
    rule: serviceIpv6Only,
    facts: () => golden('bindv6only'),
    expect: ['tcp/8000'],
    check(findings) {
      assert.match(only(findings, 'tcp/8000').message, /python3\[\d+\]/);
    },
  },
  {
    name: 'dual-stack services are not raised (sshd, nginx, named with two sockets; apache mapped)',
    rule: serviceIpv6Only,
    facts: () => {
      const facts = golden('dual-stack-services');
      facts.services = facts.services.filter((s) => s.mode.startsWith('dual'));
      return facts;
    },
    expect: [],
  },
  {
    name: 'a failed IPv4 tcp table makes tcp services look IPv6-only: not raised for them (broken fixture)',
    rule: serviceIpv6Only,
    facts: () => golden('broken-tcp-bad-hex'),
    expect: [],
  },
  {
    name: 'raised when IPv4 is unroutable too, pointing at ipv4-unroutable',
    rule: serviceIpv6Only,
    facts: () => {
      const facts = golden('dual-stack-services');
      Object.assign(facts.reachability.find((r) => r.family === 4)!, { reachable: false, error: 'ENETUNREACH', route: null });
      return facts;
    },
    expect: ['tcp/3306', 'tcp/8443'],
    check(findings) {
      assert.ok(only(findings, 'tcp/3306').evidence.some((e) => /cannot route IPv4 beyond its networks yet .*see ipv4-unroutable/.test(e)));
    },
  },
]);

// --- service-loopback-v4-only ---------------------------------------------------------------

runRuleCases([
  {
    name: 'redis on 127.0.0.1 only, and the mirror case memcached on ::1 only',
    rule: serviceLoopbackV4Only,
    facts: () => golden('dual-stack-services'),
    expect: ['tcp/11211', 'tcp/6379'],
    check(findings) {
      const redis = only(findings, 'tcp/6379');
      assert.match(redis.message, /redis-server\[18258\]\) listens on 127\.0\.0\.1 but not ::1: clients that resolve localhost to ::1 first get "connection refused"/);
      assert.ok(redis.fix.commands.includes('bind 127.0.0.1 -::1'));
      assert.ok(redis.evidence.includes('nothing on ::1:6379 (tcp)'));
      const memcached = only(findings, 'tcp/11211');
      assert.match(memcached.message, /listens on ::1 but not 127\.0\.0\.1/);
      assert.ok(memcached.fix.commands.includes('-l 127.0.0.1,[::1]'));
      assert.notEqual(redis.message.replace(/\d+/g, ''), memcached.message.replace(/\d+/g, ''), 'the mirror case has its own message');
    },
  },
  {
    name: 'not raised without IPv6 in the kernel: there is no ::1 to connect to (ipv6-off)',
    rule: serviceLoopbackV4Only,
    facts: () => golden('ipv6-off'),
    expect: [],
  },
  {
    name: 'not raised when lo has disable_ipv6=1',
    rule: serviceLoopbackV4Only,
    facts: () => {
      const facts = golden('dual-stack-services');
      facts.sysctl.interfaces.find((i) => i.name === 'lo')!.raw.disable_ipv6 = 1;
      return facts;
    },
    expect: ['tcp/11211'],
  },
  {
    name: 'wildcard and specific listeners are not loopback-only: 0.0.0.0 and 192.0.2.2 never raise it',
    rule: serviceLoopbackV4Only,
    facts: () => {
      const facts = golden('dual-stack-services');
      facts.services = facts.services.filter((s) => s.port === 25 || s.port === 5432);
      return facts;
    },
    expect: [],
  },
  {
    name: 'a service on 127.0.0.53 (systemd-resolved) is not about localhost',
    rule: serviceLoopbackV4Only,
    facts: () => {
      const facts = golden('dual-stack-services');
      const redis = service(facts, 'tcp', 6379);
      redis.bindings[0]!.address = '127.0.0.53';
      redis.process = 'systemd-resolve';
      return facts;
    },
    expect: ['tcp/11211'],
  },
  {
    name: 'both loopback addresses bound: nothing to say',
    rule: serviceLoopbackV4Only,
    facts: () => {
      const facts = golden('dual-stack-services');
      const redis = service(facts, 'tcp', 6379);
      redis.bindings.push({ address: '::1', family: 6, v6only: true, v6onlySource: 'sock_diag', inode: 1 });
      redis.ipv6 = 'loopback';
      return facts;
    },
    expect: ['tcp/11211'],
  },
  {
    name: 'another process on ::1 with the same port covers the missing family',
    rule: serviceLoopbackV4Only,
    facts: () => {
      const facts = golden('dual-stack-services');
      facts.services.push({ ...structuredClone(service(facts, 'tcp', 11211)), port: 6379, process: 'redis-proxy', pid: 77 });
      return facts;
    },
    expect: ['tcp/11211'],
  },
  {
    name: 'an unknown program gets the generic advice with the port',
    rule: serviceLoopbackV4Only,
    facts: () => {
      const facts = golden('dual-stack-services');
      service(facts, 'tcp', 6379).process = 'mystery';
      return facts;
    },
    expect: ['tcp/11211', 'tcp/6379'],
    check(findings) {
      const f = only(findings, 'tcp/6379');
      assert.match(f.fix.summary, /also listen on ::1/);
      assert.ok(f.fix.commands.includes("ss -Hltne 'sport = :6379'   # expect: 127.0.0.1 and [::1]"));
    },
  },
]);

// --- service-dual-mapped --------------------------------------------------------------------

runRuleCases([
  {
    name: 'apache on one [::] V6ONLY=0 socket: ACL directive and separate sockets with the host addresses; avahi generic',
    rule: serviceDualMapped,
    facts: () => golden('dual-stack-services'),
    expect: ['tcp/80', 'udp/5353'],
    check(findings) {
      const apache = only(findings, 'tcp/80');
      assert.match(apache.message, /apache2\[18224\].*one \[::\] socket with V6ONLY=0.*::ffff:a\.b\.c\.d/);
      assert.match(apache.fix.summary, /^Apache httpd: "Require ip 192\.0\.2\.0\/24"/);
      for (const line of ['Listen 192.0.2.2:80', 'Listen [2001:db8:1::3]:80', 'Listen 127.0.0.1:80', 'Listen [::1]:80']) assert.ok(apache.fix.commands.includes(line), line);
      assert.ok(apache.evidence.some((e) => e.includes('4 IPv4-mapped')));
      const avahi = only(findings, 'udp/5353');
      assert.match(avahi.fix.summary, /^udp\/5353 is one :: socket with IPV6_V6ONLY=0/);
      assert.ok(avahi.fix.commands.includes("ss -Hlune 'sport = :5353'   # expect: a 0.0.0.0 socket plus a [::] socket with v6only:1"));
    },
  },
  {
    name: 'two sockets (sshd, nginx, named) and single-family services are not mapped',
    rule: serviceDualMapped,
    facts: () => {
      const facts = golden('dual-stack-services');
      facts.services = facts.services.filter((s) => s.mode !== 'dual-mapped');
      return facts;
    },
    expect: [],
  },
  {
    name: 'a daemon that cannot separate the families (vsftpd) gets its ACL directive and no invented config',
    rule: serviceDualMapped,
    facts: () => {
      const facts = golden('dual-stack-services');
      Object.assign(service(facts, 'tcp', 80), { process: 'vsftpd', port: 21 });
      facts.services = facts.services.filter((s) => s.port === 21);
      return facts;
    },
    expect: ['tcp/21'],
    check([f]) {
      assert.match(f!.fix.summary, /^vsftpd: On the listen_ipv6 socket IPv4 clients appear as ::ffff:192\.0\.2\.1/);
      assert.match(f!.fix.summary, /no way to open separate sockets/);
      assert.ok(f!.fix.commands.every((c) => c.startsWith('ss ') || c.startsWith('sysctl ')));
    },
  },
  {
    name: 'with no global addresses the separate-socket lines that need them become comments',
    rule: serviceDualMapped,
    facts: () => {
      const facts = golden('dual-stack-services');
      facts.addresses = facts.addresses.filter((a) => a.scope !== 'global');
      return facts;
    },
    expect: ['tcp/80', 'udp/5353'],
    check(findings) {
      const commands = only(findings, 'tcp/80').fix.commands;
      assert.ok(commands.some((c) => c.startsWith('# Listen {ipv4-address}:80')));
      assert.ok(commands.includes('Listen 127.0.0.1:80'));
    },
  },
  {
    name: 'an inferred V6ONLY=0 says so in the evidence',
    rule: serviceDualMapped,
    facts: () => {
      const facts = golden('dual-stack-services');
      service(facts, 'tcp', 80).bindings[0]!.v6onlySource = 'inferred';
      return facts;
    },
    expect: ['tcp/80', 'udp/5353'],
    check(findings) {
      assert.ok(only(findings, 'tcp/80').evidence.some((e) => e.startsWith('V6ONLY=0 was inferred')));
    },
  },
]);

// --- service-mapped-clients -----------------------------------------------------------------

runRuleCases([
  {
    name: 'four IPv4 clients arrive mapped on apache right now, with counts',
    rule: serviceMappedClients,
    facts: () => golden('dual-stack-services'),
    expect: ['tcp/80'],
    check([f]) {
      assert.match(f!.message, /^4 IPv4 client connection\(s\) to tcp\/80 \(apache2\[18224\]\).*0 on IPv4 sockets and 1 over IPv6/);
      assert.ok(f!.evidence.includes('connected now: 0 IPv4, 1 IPv6, 4 IPv4-mapped'));
      assert.deepEqual(f!.fix.commands, ["ss -Htn state established '( sport = :80 )' | grep -F '::ffff:'   # the mapped peers now"]);
    },
  },
  {
    name: 'plain IPv4 and IPv6 peers are not mapped ones (sshd has 3 IPv4 and 2 IPv6 peers)',
    rule: serviceMappedClients,
    facts: () => {
      const facts = golden('dual-stack-services');
      facts.services = facts.services.filter((s) => s.port === 22);
      return facts;
    },
    expect: [],
  },
  {
    name: 'a dual-mapped service with no one connected is not raised (bindv6only fixture, apache on 8081)',
    rule: serviceMappedClients,
    facts: () => golden('bindv6only'),
    expect: [],
  },
  {
    name: 'udp peers are listed with ss -u',
    rule: serviceMappedClients,
    facts: () => {
      const facts = golden('dual-stack-services');
      service(facts, 'udp', 5353).connections.mapped = 2;
      return facts;
    },
    expect: ['tcp/80', 'udp/5353'],
    check(findings) {
      assert.match(only(findings, 'udp/5353').fix.commands[0]!, /^ss -Hun state established '\( sport = :5353 \)'/);
    },
  },
]);

// --- service-v6only-unknown -----------------------------------------------------------------

const ssMissing = () => {
  const facts = golden('dual-stack-services');
  Object.assign(facts.sources.find((s) => s.name === 'sockdiag')!, { status: 'absent', detail: 'ss (iproute2) is not installed: V6ONLY is inferred from net.ipv6.bindv6only' });
  for (const s of facts.services) for (const b of s.bindings) if (b.family === 6 && b.address === '::') b.v6onlySource = 'inferred';
  return facts;
};

runRuleCases([
  {
    name: 'without ss every :: socket is inferred from bindv6only: one finding per service, install iproute2',
    rule: serviceV6onlyUnknown,
    facts: ssMissing,
    expect: ['tcp/22', 'tcp/80', 'tcp/8080', 'tcp/8443', 'udp/53', 'udp/5353'],
    check(findings) {
      const apache = only(findings, 'tcp/80');
      assert.match(apache.message, /\[::\]:80 \(apache2\[18224\]\).*inferred from net\.ipv6\.bindv6only=0 as v6only=0.*Node\.js always does/);
      assert.equal(apache.fix.commands[0], 'apt-get install iproute2   # RHEL: dnf install iproute');
      assert.ok(apache.fix.commands.includes("ss -Hltne 'sport = :80'   # expect: v6only:0 (takes IPv4 as mapped) or v6only:1 (IPv6 only)"));
      assert.ok(apache.evidence.some((e) => e.startsWith('sockdiag source: absent — ss (iproute2) is not installed')));
    },
  },
  {
    name: 'read by sock_diag, or implicit (a specific address), is known: nothing to say',
    rule: serviceV6onlyUnknown,
    facts: () => golden('dual-stack-services'),
    expect: [],
  },
  {
    name: 'specific IPv6 addresses stay implicit even without ss',
    rule: serviceV6onlyUnknown,
    facts: () => {
      const facts = ssMissing();
      facts.services = facts.services.filter((s) => s.port === 3306 || s.port === 11211);
      return facts;
    },
    expect: [],
  },
  {
    name: 'bindv6only unknown too: the report claims no IPv4; a replay without ss output says to capture again',
    rule: serviceV6onlyUnknown,
    facts: () => {
      const facts = golden('dual-stack-services');
      facts.sysctl.bindv6only = null;
      Object.assign(facts.sources.find((s) => s.name === 'sockdiag')!, { status: 'skipped', detail: 'replaying a captured tree without sockdiag.txt: V6ONLY is inferred' });
      const nginx = service(facts, 'tcp', 8080);
      Object.assign(nginx.bindings[1]!, { v6only: null, v6onlySource: 'unknown' });
      facts.services = [nginx];
      return facts;
    },
    expect: ['tcp/8080'],
    check([f]) {
      assert.match(f!.message, /bindv6only could not be read either, so the report claims no IPv4/);
      assert.match(f!.fix.summary, /capture again/);
    },
  },
  {
    name: 'a Node.js process: the evidence says libuv sets the flag itself',
    rule: serviceV6onlyUnknown,
    facts: () => {
      const facts = ssMissing();
      service(facts, 'tcp', 8443).process = 'node';
      facts.services = facts.services.filter((s) => s.port === 8443);
      return facts;
    },
    expect: ['tcp/8443'],
    check([f]) {
      assert.ok(f!.evidence.some((e) => e.includes('libuv sets IPV6_V6ONLY')));
    },
  },
  {
    name: 'ss present but sock_diag failed: run where netlink sock_diag is allowed',
    rule: serviceV6onlyUnknown,
    facts: () => {
      const facts = ssMissing();
      Object.assign(facts.sources.find((s) => s.name === 'sockdiag')!, { status: 'failed', ok: false, error: 'ss -H -l -n -e -A inet failed: Cannot open netlink socket: Operation not permitted', detail: undefined });
      facts.services = facts.services.filter((s) => s.port === 22);
      return facts;
    },
    expect: ['tcp/22'],
    check([f]) {
      assert.match(f!.fix.summary, /NETLINK_SOCK_DIAG/);
      assert.ok(f!.evidence.some((e) => e.includes('Operation not permitted')));
    },
  },
]);
