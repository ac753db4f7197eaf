// How common daemons listen on IPv4/IPv6 and the exact change that makes them dual-stack.
// Defaults are for Debian 12 packages (see docs/daemon-defaults.md), RHEL paths where they
// differ. Every entry lists its sources; where a daemon cannot do something (e.g. separate
// sockets) the method is left out and `defaultListening` says why.

export interface FixContext {
  proto: 'tcp' | 'udp';
  port: number;
  /** The host's own global addresses (may be empty): used when a fix needs a specific address. */
  ipv4Addresses: string[];
  ipv6Addresses: string[];
  /** systemd unit of the service when known (Service.unit), used in restart commands. */
  unit?: string | null;
}

export interface DaemonFix {
  summary: string;
  /** Config lines and shell commands with this host's port (and addresses) filled in. */
  commands: string[];
}

export interface DaemonKnowledge {
  id: string;
  displayName: string;
  /** Exactly as /proc/[pid]/comm shows them (at most 15 characters). */
  processNames: string[];
  configFile: string;
  defaultListening: string;
  /** The service is IPv4-only: make it dual-stack. */
  addIpv6(ctx: FixContext): DaemonFix;
  /** The service is IPv6-only: make it dual-stack. */
  addIpv4(ctx: FixContext): DaemonFix;
  /** The service takes IPv4 as ::ffff: mapped: how to get two sockets, if the daemon can. */
  separateSockets?(ctx: FixContext): DaemonFix;
  aclDirective: string;
  sources: string[];
}

const DEBIAN_DEFAULTS = 'docs/daemon-defaults.md (Debian 12 packaged configs, checked in network namespaces)';

// --- helpers -----------------------------------------------------------------------------

/** Shows every listening socket on the port with its V6ONLY flag (`ss -e` prints v6only:0|1). */
function check(ctx: FixContext, expect: string): string {
  const kind = ctx.proto === 'tcp' ? 't' : 'u';
  return `ss -Hl${kind}ne 'sport = :${ctx.port}'   # expect: ${expect}`;
}

const BOTH = 'a 0.0.0.0 socket plus a [::] socket with v6only:1';
const MAPPED = 'one * / [::] socket with v6only:0';

function v4(ctx: FixContext): string {
  return ctx.ipv4Addresses[0] ?? '{ipv4-address}';
}

function v6(ctx: FixContext): string {
  return ctx.ipv6Addresses[0] ?? '{ipv6-address}';
}

function unit(ctx: FixContext, fallback: string): string {
  return ctx.unit ? ctx.unit.replace(/\.service$/, '') : fallback;
}

/** Note for fixes that need specific addresses the host does not have. */
function addressNote(ctx: FixContext): string {
  const missing: string[] = [];
  if (ctx.ipv4Addresses.length === 0) missing.push('IPv4');
  if (ctx.ipv6Addresses.length === 0) missing.push('IPv6');
  return missing.length === 0
    ? ''
    : ` This host reported no global ${missing.join(' or ')} address: replace the {…-address} placeholders.`;
}

// --- the table ---------------------------------------------------------------------------

const sshd: DaemonKnowledge = {
  id: 'sshd',
  displayName: 'OpenSSH server',
  processNames: ['sshd'],
  configFile: '/etc/ssh/sshd_config (Debian and RHEL; Debian 12 also reads /etc/ssh/sshd_config.d/*.conf)',
  defaultListening:
    'AddressFamily any with no ListenAddress: two sockets, 0.0.0.0 and :: (sshd sets IPV6_V6ONLY on the :: socket itself), so it never takes IPv4 as mapped; IPv4-only means AddressFamily inet or only IPv4 ListenAddress lines.',
  addIpv6(ctx) {
    const lines =
      ctx.port === 22
        ? ['ListenAddress 0.0.0.0', 'ListenAddress ::']
        : [`ListenAddress 0.0.0.0:${ctx.port}`, `ListenAddress [::]:${ctx.port}`];
    return {
      summary: `sshd listens on IPv4 only. Set AddressFamily any and listen on :: too (or on this host's IPv6 address: ListenAddress [${v6(ctx)}]:${ctx.port}). sshd re-reads its config on reload.`,
      commands: [
        '# /etc/ssh/sshd_config: replace "AddressFamily inet" and the IPv4-only ListenAddress lines with:',
        'AddressFamily any',
        ...lines,
        `sshd -t && systemctl reload ${unit(ctx, 'ssh')}   # RHEL: systemctl reload sshd`,
        check(ctx, BOTH),
      ],
    };
  },
  addIpv4(ctx) {
    const lines =
      ctx.port === 22
        ? ['ListenAddress 0.0.0.0', 'ListenAddress ::']
        : [`ListenAddress 0.0.0.0:${ctx.port}`, `ListenAddress [::]:${ctx.port}`];
    return {
      summary: `sshd listens on IPv6 only. Set AddressFamily any and add an IPv4 ListenAddress (or this host's address: ListenAddress ${v4(ctx)}:${ctx.port}).`,
      commands: [
        '# /etc/ssh/sshd_config: replace "AddressFamily inet6" and the IPv6-only ListenAddress lines with:',
        'AddressFamily any',
        ...lines,
        `sshd -t && systemctl reload ${unit(ctx, 'ssh')}   # RHEL: systemctl reload sshd`,
        check(ctx, BOTH),
      ],
    };
  },
  aclDirective:
    'sshd converts ::ffff:a.b.c.d peers to plain IPv4 before logging and matching (ipv64_normalise_mapped in canohost.c), so "Match Address", AllowUsers user@host and auth.log see 192.0.2.1. Match Address takes bare CIDR (Match Address 2001:db8::/32); ListenAddress needs brackets only with a port (ListenAddress [2001:db8::1]:22).',
  sources: [
    'sshd_config(5): AddressFamily, ListenAddress — https://man.openbsd.org/sshd_config',
    'OpenSSH canohost.c ipv64_normalise_mapped()',
    DEBIAN_DEFAULTS,
  ],
};

const nginx: DaemonKnowledge = {
  id: 'nginx',
  displayName: 'nginx',
  processNames: ['nginx'],
  configFile: '/etc/nginx/sites-enabled/* (Debian; default site in sites-available/default) or /etc/nginx/conf.d/*.conf (RHEL)',
  defaultListening:
    'Debian default site: "listen 80 default_server;" plus "listen [::]:80 default_server;": two sockets, the [::] one V6ONLY because ipv6only=on is the default since nginx 1.3.4; "listen [::]:80 ipv6only=off;" gives one socket taking IPv4 as mapped.',
  addIpv6(ctx) {
    const udp = ctx.proto === 'udp' ? ' udp' : '';
    return {
      summary: `nginx listens on IPv4 only. Add an IPv6 listen next to every "listen ${ctx.port}" (ipv6only=on is the default, so this is a second socket and IPv4 is untouched). For a specific address use listen [${v6(ctx)}]:${ctx.port};`,
      commands: [
        `# in each server block that has "listen ${ctx.port}${udp};":`,
        `listen [::]:${ctx.port}${udp};`,
        `nginx -t && systemctl reload ${unit(ctx, 'nginx')}`,
        check(ctx, BOTH),
      ],
    };
  },
  addIpv4(ctx) {
    const udp = ctx.proto === 'udp' ? ' udp' : '';
    return {
      summary: `nginx listens on IPv6 only. Add an IPv4 listen next to "listen [::]:${ctx.port}" in the same server blocks.`,
      commands: [
        `# in each server block that has "listen [::]:${ctx.port}${udp};":`,
        `listen ${ctx.port}${udp};`,
        `nginx -t && systemctl reload ${unit(ctx, 'nginx')}`,
        check(ctx, BOTH),
      ],
    };
  },
  separateSockets(ctx) {
    const udp = ctx.proto === 'udp' ? ' udp' : '';
    return {
      summary: `nginx takes IPv4 on its IPv6 socket (ipv6only=off). Drop ipv6only=off and listen on both families; restart so the socket is created anew.`,
      commands: [
        `# replace "listen [::]:${ctx.port}${udp} ipv6only=off;" with:`,
        `listen ${ctx.port}${udp};`,
        `listen [::]:${ctx.port}${udp};`,
        `nginx -t && systemctl restart ${unit(ctx, 'nginx')}`,
        check(ctx, BOTH),
      ],
    };
  },
  aclDirective:
    'allow/deny take bare IPv6 (allow 2001:db8::/32;); IPv4 allow/deny rules also match ::ffff: peers (ngx_http_access_module converts mapped addresses), but $remote_addr — and so the access_log and any map or limit key built from it — shows ::ffff:192.0.2.1 on an ipv6only=off socket.',
  sources: [
    'nginx listen directive (ipv6only, default on since 1.3.4) — https://nginx.org/en/docs/http/ngx_http_core_module.html#listen',
    'ngx_http_access_module source: IN6_IS_ADDR_V4MAPPED peers are checked against IPv4 rules — https://nginx.org/en/docs/http/ngx_http_access_module.html',
    DEBIAN_DEFAULTS,
  ],
};

const apache: DaemonKnowledge = {
  id: 'apache',
  displayName: 'Apache httpd',
  processNames: ['apache2', 'httpd'],
  configFile: '/etc/apache2/ports.conf (Debian); /etc/httpd/conf/httpd.conf (RHEL)',
  defaultListening:
    '"Listen 80": one :: socket with IPV6_V6ONLY=0 that takes IPv4 as ::ffff: (httpd is built with --enable-v4-mapped by default on Linux); "Listen 0.0.0.0:80" is IPv4-only. Two wildcard sockets need a --disable-v4-mapped build, so with the packaged httpd two sockets only come from listening on specific addresses (a socket bound to a specific IPv6 address is V6ONLY).',
  addIpv6(ctx) {
    return {
      summary: `httpd listens on IPv4 only (Listen 0.0.0.0:${ctx.port} or an IPv4 address). "Listen ${ctx.port}" serves both families on one socket; to keep specific addresses, add "Listen [${v6(ctx)}]:${ctx.port}" instead. Listen changes need a restart.`,
      commands: [
        `# ports.conf / httpd.conf: replace "Listen 0.0.0.0:${ctx.port}" with:`,
        `Listen ${ctx.port}`,
        `apachectl configtest && systemctl restart ${unit(ctx, 'apache2')}   # RHEL: systemctl restart httpd`,
        check(ctx, MAPPED),
      ],
    };
  },
  addIpv4(ctx) {
    return {
      summary: `httpd listens on IPv6 only (Listen on an IPv6 address). "Listen ${ctx.port}" serves both families on one socket; to keep specific addresses, add "Listen ${v4(ctx)}:${ctx.port}" instead.`,
      commands: [
        `# ports.conf / httpd.conf: replace "Listen [...]:${ctx.port}" with:`,
        `Listen ${ctx.port}`,
        `apachectl configtest && systemctl restart ${unit(ctx, 'apache2')}   # RHEL: systemctl restart httpd`,
        check(ctx, MAPPED),
      ],
    };
  },
  separateSockets(ctx) {
    return {
      summary: `The packaged httpd (built with --enable-v4-mapped) takes IPv4 on its wildcard IPv6 socket, so separate sockets need specific addresses: each becomes its own socket, IPv6 ones V6ONLY. Keep loopback if local clients use it.${addressNote(ctx)}`,
      commands: [
        `# replace "Listen ${ctx.port}" with:`,
        `Listen ${v4(ctx)}:${ctx.port}`,
        `Listen [${v6(ctx)}]:${ctx.port}`,
        `Listen 127.0.0.1:${ctx.port}`,
        `Listen [::1]:${ctx.port}`,
        `apachectl configtest && systemctl restart ${unit(ctx, 'apache2')}   # RHEL: systemctl restart httpd`,
        check(ctx, 'one socket per address, IPv6 ones v6only:1'),
      ],
    };
  },
  aclDirective:
    '"Require ip 192.0.2.0/24" also matches ::ffff:192.0.2.x peers (APR apr_ipsubnet_test compares mapped addresses as IPv4) and %a/%h in logs show plain 192.0.2.1 (apr_sockaddr_ip_getbuf drops the ::ffff: prefix). IPv6 is bare in Require ip (Require ip 2001:db8::/32) but bracketed in Listen and <VirtualHost> (Listen [2001:db8::1]:80).',
  sources: [
    'Apache httpd "Binding to Addresses and Ports", special IPv6 considerations (--enable-v4-mapped) — https://httpd.apache.org/docs/2.4/bind.html',
    'APR network_io/unix/sockaddr.c: apr_ipsubnet_test(), apr_sockaddr_ip_getbuf()',
    DEBIAN_DEFAULTS,
  ],
};

const named: DaemonKnowledge = {
  id: 'named',
  displayName: 'BIND named',
  processNames: ['named'],
  configFile: '/etc/bind/named.conf.options (Debian); /etc/named.conf (RHEL); start options in /etc/default/named (Debian) or /etc/sysconfig/named (RHEL)',
  defaultListening:
    'Debian ships "listen-on-v6 { any; };" and listen-on defaults to all IPv4 addresses: named opens one socket per local address and family, never a mapped one, so separate sockets are its only mode; the start options -4 / -6 restrict it to one family.',
  addIpv6(ctx) {
    return {
      summary: 'named answers on IPv4 only. Enable listen-on-v6 in options { } and make sure named is not started with -4. A change of start options needs a restart.',
      commands: [
        '# named.conf options { }:',
        `listen-on-v6 port ${ctx.port} { any; };`,
        '# and remove "-4" from OPTIONS= in /etc/default/named (RHEL: /etc/sysconfig/named)',
        `named-checkconf && systemctl restart ${unit(ctx, 'named')}`,
        check(ctx, 'one socket per IPv4 and per IPv6 address'),
      ],
    };
  },
  addIpv4(ctx) {
    return {
      summary: 'named answers on IPv6 only. Let it listen on IPv4 and make sure it is not started with -6.',
      commands: [
        '# named.conf options { }:',
        `listen-on port ${ctx.port} { any; };`,
        '# and remove "-6" from OPTIONS= in /etc/default/named (RHEL: /etc/sysconfig/named)',
        `named-checkconf && systemctl restart ${unit(ctx, 'named')}`,
        check(ctx, 'one socket per IPv4 and per IPv6 address'),
      ],
    };
  },
  aclDirective:
    'Address match lists (allow-query, allow-recursion, allow-transfer, acl) take bare IPv6 prefixes: allow-query { 192.0.2.0/24; 2001:db8::/32; }; named does not receive IPv4 as ::ffff: because it binds each address in its own family.',
  sources: [
    'BIND 9 ARM: listen-on, listen-on-v6, address match lists — https://bind9.readthedocs.io/en/v9.18.0/reference.html',
    'named(8): -4, -6',
    DEBIAN_DEFAULTS,
  ],
};

const postfix: DaemonKnowledge = {
  id: 'postfix',
  displayName: 'Postfix',
  processNames: ['master', 'smtpd'],
  configFile: '/etc/postfix/main.cf (inet_protocols, inet_interfaces); ports in /etc/postfix/master.cf',
  defaultListening:
    'inet_protocols = all (Debian 12, Postfix 3.7; 2.8 and earlier defaulted to ipv4) with inet_interfaces = all: two sockets, 0.0.0.0 and ::, never mapped; inet_protocols = ipv4 makes every Postfix service IPv4-only.',
  addIpv6(ctx) {
    return {
      summary: 'Postfix runs with inet_protocols = ipv4. Set it to all; Postfix only applies inet_protocols on a full stop/start, not on reload. inet_interfaces must be "all" or list an IPv6 address too.',
      commands: [
        "postconf -e 'inet_protocols = all'",
        'postconf inet_interfaces   # must be "all" or include an IPv6 address',
        `postfix check && systemctl restart ${unit(ctx, 'postfix')}`,
        check(ctx, BOTH),
      ],
    };
  },
  addIpv4(ctx) {
    return {
      summary: 'Postfix runs with inet_protocols = ipv6. Set it to all (full restart needed).',
      commands: [
        "postconf -e 'inet_protocols = all'",
        'postconf inet_interfaces   # must be "all" or include an IPv4 address',
        `postfix check && systemctl restart ${unit(ctx, 'postfix')}`,
        check(ctx, BOTH),
      ],
    };
  },
  aclDirective:
    'mynetworks and CIDR/access tables need brackets for IPv6: mynetworks = 127.0.0.0/8 [::1]/128 [2001:db8::]/64. The default mynetworks already carries [::ffff:127.0.0.0]/104 for mapped loopback clients; with its two sockets Postfix otherwise sees IPv4 clients as plain IPv4 (client=host[192.0.2.1]).',
  sources: [
    'postconf(5) inet_protocols ("postfix stop" and "postfix start" after changing) — https://www.postfix.org/postconf.5.html#inet_protocols',
    'Postfix IPv6 support — https://www.postfix.org/IPV6_README.html',
    DEBIAN_DEFAULTS,
  ],
};

const sendmail: DaemonKnowledge = {
  id: 'sendmail',
  displayName: 'sendmail',
  processNames: ['sendmail', 'sendmail-mta'],
  configFile: '/etc/mail/sendmail.mc, compiled to /etc/mail/sendmail.cf (Debian and RHEL)',
  defaultListening:
    'Debian 12 sendmail.mc: DAEMON_OPTIONS with Family=inet, Addr=127.0.0.1 and the inet6 lines commented out (IPv4 loopback only). On Linux a Family=inet6 daemon on :: also takes IPv4 as mapped, and an inet daemon on 0.0.0.0 next to it on the same port fails to bind (sendmail logs a "wedged" socket): use one inet6 daemon, or specific addresses for two sockets.',
  addIpv6(ctx) {
    return {
      summary: `sendmail has only a Family=inet daemon on port ${ctx.port}. Replace it with one Family=inet6 daemon on ::, which on Linux serves IPv4 (mapped) and IPv6; or keep the IPv4 line and add an inet6 daemon on this host's IPv6 address (Addr=${v6(ctx)}), which does not collide.`,
      commands: [
        `# /etc/mail/sendmail.mc: comment out (dnl) the Family=inet MTA line for port ${ctx.port}, then add:`,
        "DAEMON_OPTIONS(`Family=inet6, Name=MTA-v6, Port=" + ctx.port + ", Addr=::')dnl",
        `make -C /etc/mail && systemctl restart ${unit(ctx, 'sendmail')}   # Debian: sendmailconfig also rebuilds sendmail.cf`,
        check(ctx, MAPPED),
      ],
    };
  },
  addIpv4(ctx) {
    return {
      summary: `sendmail has only a Family=inet6 daemon bound to an IPv6 address (or net.ipv6.bindv6only=1). Add a Family=inet daemon on the same port.`,
      commands: [
        '# /etc/mail/sendmail.mc: add',
        "DAEMON_OPTIONS(`Family=inet, Name=MTA-v4, Port=" + ctx.port + ", Addr=" + v4(ctx) + "')dnl",
        `make -C /etc/mail && systemctl restart ${unit(ctx, 'sendmail')}   # Debian: sendmailconfig also rebuilds sendmail.cf`,
        check(ctx, 'a socket on the IPv4 address next to the IPv6 one'),
      ],
    };
  },
  separateSockets(ctx) {
    return {
      summary: `sendmail takes IPv4 on its inet6 :: daemon. sendmail has no V6ONLY option, so two sockets need specific addresses: one inet and one inet6 daemon (a socket bound to a specific IPv6 address is V6ONLY).${addressNote(ctx)}`,
      commands: [
        `# /etc/mail/sendmail.mc: replace the Family=inet6 Addr=:: daemon for port ${ctx.port} with:`,
        "DAEMON_OPTIONS(`Family=inet, Name=MTA-v4, Port=" + ctx.port + ", Addr=" + v4(ctx) + "')dnl",
        "DAEMON_OPTIONS(`Family=inet6, Name=MTA-v6, Port=" + ctx.port + ", Addr=" + v6(ctx) + "')dnl",
        `make -C /etc/mail && systemctl restart ${unit(ctx, 'sendmail')}`,
        check(ctx, 'one socket per address, IPv6 v6only:1'),
      ],
    };
  },
  aclDirective:
    'In the access map IPv6 keys carry the "IPv6:" prefix (Connect:IPv6:2001:db8::1 RELAY). How a mapped IPv4 client on an inet6 :: daemon is keyed (plain IPv4 or IPv6:::ffff:…) was not verified: test with a known IPv4 client before relying on IPv4 entries.',
  sources: [
    'sendmail DaemonPortOptions (Family=inet|inet6, Addr=, Port=) — https://www.sendmail.org/~gshapiro/8.10.Training/DaemonPortOptions.html',
    'IBM z/OS sendmail: DAEMON_OPTIONS(`Name=MTA-v6, Family=inet6\') listens on IPv4 and IPv6 — https://www.ibm.com/docs/en/zos/2.2.0?topic=sendmail-configuring-ipv6-daemon-relay-client',
    'Linux: enabling both inet and inet6 wildcard daemons makes sendmail report a wedged socket — http://www.g-excess.com/computer/network_ipv6/ipv6_network_-_the_sendmail_mail_transfer_agent.html',
    DEBIAN_DEFAULTS,
  ],
};

const vsftpd: DaemonKnowledge = {
  id: 'vsftpd',
  displayName: 'vsftpd',
  processNames: ['vsftpd'],
  configFile: '/etc/vsftpd.conf (Debian); /etc/vsftpd/vsftpd.conf (RHEL)',
  defaultListening:
    'Debian 12: listen=NO, listen_ipv6=YES — one :: socket that also takes IPv4 as ::ffff:. listen and listen_ipv6 are mutually exclusive ("500 OOPS: run two copies of vsftpd for IPv4 and IPv6"), so separate sockets need two vsftpd instances with listen_address / listen_address6; no single-config fix exists.',
  addIpv6(ctx) {
    return {
      summary: 'vsftpd runs with listen=YES (IPv4 only). Switch to listen_ipv6=YES: its :: socket serves IPv4 (mapped) and IPv6, as long as net.ipv6.bindv6only is 0.',
      commands: [
        '# vsftpd.conf:',
        'listen=NO',
        'listen_ipv6=YES',
        `listen_port=${ctx.port}`,
        '# delete any listen_address= line (it would bind one IPv4 address only)',
        'sysctl net.ipv6.bindv6only   # must print 0, or IPv4 clients are locked out',
        `systemctl restart ${unit(ctx, 'vsftpd')}`,
        check(ctx, MAPPED),
      ],
    };
  },
  addIpv4(ctx) {
    return {
      summary: 'vsftpd listens on IPv6 only: either listen_address6 names one IPv6 address or net.ipv6.bindv6only=1 makes its :: socket V6ONLY. Listen on :: with bindv6only=0.',
      commands: [
        '# vsftpd.conf:',
        'listen=NO',
        'listen_ipv6=YES',
        `listen_port=${ctx.port}`,
        '# delete any listen_address6= line',
        'sysctl net.ipv6.bindv6only   # must print 0',
        `systemctl restart ${unit(ctx, 'vsftpd')}`,
        check(ctx, MAPPED),
      ],
    };
  },
  aclDirective:
    'On the listen_ipv6 socket IPv4 clients appear as ::ffff:192.0.2.1 in vsftpd\'s log and to tcp_wrappers=YES (/etc/hosts.allow), whose IPv6 entries need brackets: vsftpd: [2001:db8::]/32. Check how your libwrap matches IPv4 rules against mapped peers before relying on them.',
  sources: [
    'vsftpd.conf(5): listen, listen_ipv6, listen_address6 — https://security.appspot.com/vsftpd/vsftpd_conf.html',
    DEBIAN_DEFAULTS,
  ],
};

const dovecot: DaemonKnowledge = {
  id: 'dovecot',
  displayName: 'Dovecot',
  processNames: ['dovecot', 'imap-login', 'pop3-login'],
  configFile: '/etc/dovecot/dovecot.conf (listen); ports in /etc/dovecot/conf.d/10-master.conf (inet_listener)',
  defaultListening:
    'listen = *, :: (the default): two sockets, 0.0.0.0 and :: with V6ONLY (Debian: systemd socket BindIPv6Only=ipv6-only), never mapped; listen = * is IPv4-only, listen = :: IPv6-only.',
  addIpv6(ctx) {
    return {
      summary: 'Dovecot listens on IPv4 only ("*" means all IPv4 addresses). Add "::" to listen.',
      commands: [
        '# /etc/dovecot/dovecot.conf:',
        'listen = *, ::',
        'doveconf listen',
        `systemctl restart ${unit(ctx, 'dovecot')}`,
        check(ctx, BOTH),
      ],
    };
  },
  addIpv4(ctx) {
    return {
      summary: 'Dovecot listens on IPv6 only ("::"). Add "*" (all IPv4 addresses) to listen.',
      commands: [
        '# /etc/dovecot/dovecot.conf:',
        'listen = *, ::',
        'doveconf listen',
        `systemctl restart ${unit(ctx, 'dovecot')}`,
        check(ctx, BOTH),
      ],
    };
  },
  aclDirective:
    'login_trusted_networks, remote { } blocks and passdb allow_nets take bare CIDR (login_trusted_networks = 192.0.2.0/24 2001:db8::/32); allow_nets converts ::ffff:1.2.3.4 to 1.2.3.4 before matching.',
  sources: [
    'dovecot.conf: "*" listens in all IPv4 interfaces, "::" listens in all IPv6 interfaces',
    'Dovecot allow_nets (IPv6 mapped IPv4 addresses are converted) — https://doc.dovecot.org/2.3/configuration_manual/authentication/allow_nets/',
    DEBIAN_DEFAULTS,
  ],
};

const exim: DaemonKnowledge = {
  id: 'exim',
  displayName: 'Exim',
  processNames: ['exim4', 'exim'],
  configFile: '/etc/exim4/update-exim4.conf.conf (Debian: dc_local_interfaces); /etc/exim/exim.conf (RHEL: local_interfaces, daemon_smtp_ports)',
  defaultListening:
    "Debian 12: dc_local_interfaces='127.0.0.1 ; ::1' — loopback only, one socket per address; with local_interfaces unset (RHEL) exim listens on the wildcards of both families (whether its :: socket then also takes IPv4 was not verified here; specific addresses always give one socket each).",
  addIpv6(ctx) {
    return {
      summary: `Exim listens on IPv4 addresses only. On Debian an empty dc_local_interfaces means all interfaces; elsewhere list both wildcards in local_interfaces (the "<;" separator is needed because IPv6 contains colons). To stay on specific addresses use dc_local_interfaces='${v4(ctx)} ; ${v6(ctx)}'.`,
      commands: [
        "# Debian, /etc/exim4/update-exim4.conf.conf:",
        "dc_local_interfaces=''",
        `update-exim4.conf && systemctl restart ${unit(ctx, 'exim4')}`,
        '# other systems, exim.conf main section:',
        'local_interfaces = <; 0.0.0.0 ; ::0',
        `daemon_smtp_ports = ${ctx.port}`,
        check(ctx, 'IPv4 and IPv6 sockets on the port'),
      ],
    };
  },
  addIpv4(ctx) {
    return {
      summary: `Exim listens on IPv6 addresses only. On Debian an empty dc_local_interfaces means all interfaces; elsewhere list both wildcards in local_interfaces. To stay on specific addresses use dc_local_interfaces='${v4(ctx)} ; ${v6(ctx)}'.`,
      commands: [
        "# Debian, /etc/exim4/update-exim4.conf.conf:",
        "dc_local_interfaces=''",
        `update-exim4.conf && systemctl restart ${unit(ctx, 'exim4')}`,
        '# other systems, exim.conf main section:',
        'local_interfaces = <; 0.0.0.0 ; ::0',
        `daemon_smtp_ports = ${ctx.port}`,
        check(ctx, 'IPv4 and IPv6 sockets on the port'),
      ],
    };
  },
  separateSockets(ctx) {
    return {
      summary: `Exim takes IPv4 on an IPv6 socket. Listing specific addresses gives one socket per address (IPv6 ones V6ONLY); keep the loopback addresses for local submission.${addressNote(ctx)}`,
      commands: [
        '# Debian, /etc/exim4/update-exim4.conf.conf:',
        `dc_local_interfaces='127.0.0.1 ; ::1 ; ${v4(ctx)} ; ${v6(ctx)}'`,
        `update-exim4.conf && systemctl restart ${unit(ctx, 'exim4')}`,
        '# other systems, exim.conf main section:',
        `local_interfaces = <; 127.0.0.1 ; ::1 ; ${v4(ctx)} ; ${v6(ctx)}`,
        `daemon_smtp_ports = ${ctx.port}`,
        check(ctx, 'one socket per address, IPv6 ones v6only:1'),
      ],
    };
  },
  aclDirective:
    'Host lists in ACLs need "<;" as separator for IPv6: hosts = <; 192.0.2.0/24 ; 2001:db8::/32. Exim strips ::ffff: from peer addresses (host_ntoa in src/host.c), so $sender_host_address and the logs show 192.0.2.1.',
  sources: [
    'Exim specification ch. 13, starting the daemon and the use of network interfaces — https://www.exim.org/exim-html-current/doc/html/spec_html/ch-starting_the_daemon_and_the_use_of_network_interfaces.html',
    'Exim src/host.c host_ntoa(): "If the result is a mapped IPv4 address, show it in V4 format"',
    'exim-users: "<;" changes the list separator so IPv6 addresses can be listed — https://mail-archive.com/exim-users@exim.org/msg34527.html',
    DEBIAN_DEFAULTS,
  ],
};

const mysql: DaemonKnowledge = {
  id: 'mysql',
  displayName: 'MySQL / MariaDB',
  processNames: ['mysqld', 'mariadbd'],
  configFile:
    '/etc/mysql/mariadb.conf.d/50-server.cnf (Debian 12 MariaDB, [mysqld] bind-address); /etc/my.cnf.d/mariadb-server.cnf or mysql-server.cnf (RHEL)',
  defaultListening:
    'Debian 12 MariaDB: bind-address = 127.0.0.1 (IPv4 loopback only). bind-address = * (the MySQL default) or :: is one :: socket taking IPv4 as mapped; 0.0.0.0 is IPv4-only. Two sockets need a comma-separated list of specific addresses (MySQL 8.0.13+; recent MariaDB releases), wildcards cannot be listed.',
  addIpv6(ctx) {
    return {
      summary: `The server is bound to IPv4 (bind-address = 0.0.0.0 or an IPv4 address). "::" accepts both families on one socket; bind-address is read at startup only.`,
      commands: [
        '# [mysqld] section:',
        'bind-address = ::',
        `port = ${ctx.port}`,
        `systemctl restart ${unit(ctx, 'mariadb')}   # MySQL: systemctl restart mysql (Debian) / mysqld (RHEL)`,
        check(ctx, MAPPED),
      ],
    };
  },
  addIpv4(ctx) {
    return {
      summary: 'The server is bound to an IPv6 address. "::" accepts both families on one socket (net.ipv6.bindv6only must be 0).',
      commands: [
        '# [mysqld] section:',
        'bind-address = ::',
        `port = ${ctx.port}`,
        'sysctl net.ipv6.bindv6only   # must print 0',
        `systemctl restart ${unit(ctx, 'mariadb')}   # MySQL: systemctl restart mysql (Debian) / mysqld (RHEL)`,
        check(ctx, MAPPED),
      ],
    };
  },
  separateSockets(ctx) {
    return {
      summary: `The server takes IPv4 on its :: socket. A list of specific addresses gives one socket each (IPv6 ones V6ONLY); lists need MySQL 8.0.13+ or a MariaDB release with multi-address bind-address, and cannot contain wildcards.${addressNote(ctx)}`,
      commands: [
        '# [mysqld] section:',
        `bind-address = 127.0.0.1,::1,${v4(ctx)},${v6(ctx)}`,
        `port = ${ctx.port}`,
        `systemctl restart ${unit(ctx, 'mariadb')}   # MySQL: systemctl restart mysql (Debian) / mysqld (RHEL)`,
        check(ctx, 'one socket per address, IPv6 ones v6only:1'),
      ],
    };
  },
  aclDirective:
    "Account host parts take IPv6 bare ('app'@'2001:db8::10', 'app'@'::1'). With bind-address = :: IPv4 clients arrive on a mapped socket; whether their ::ffff: form matches IPv4 account hosts was not verified here — check SELECT host FROM information_schema.processlist before switching.",
  sources: [
    'MySQL: Configuring the MySQL Server to Permit IPv6 Connections (bind_address *, ::, lists since 8.0.13) — https://dev.mysql.com/doc/refman/8.4/en/ipv6-server-config.html',
    'MySQL: Connecting Using the IPv6 Local Host Address (account names with ::1) — https://dev.mysql.com/doc/refman/8.4/en/ipv6-local-connections.html',
    'MariaDB bind_address ("Several addresses may be specified, separated by a comma") — https://mariadb.com/docs/server/ref/mdb/system-variables/bind_address',
    'CIS MariaDB 10.6 benchmark: Debian/Ubuntu set bind_address to 127.0.0.1',
  ],
};

const postgres: DaemonKnowledge = {
  id: 'postgres',
  displayName: 'PostgreSQL',
  processNames: ['postgres', 'postmaster'],
  configFile: '/etc/postgresql/<version>/main/postgresql.conf and pg_hba.conf (Debian); /var/lib/pgsql/data/ (RHEL)',
  defaultListening:
    "listen_addresses = 'localhost' (the default): 127.0.0.1 and ::1. '*' opens one socket per address family (0.0.0.0 and :: with IPV6_V6ONLY set by the postmaster), so PostgreSQL never takes IPv4 as mapped.",
  addIpv6(ctx) {
    return {
      summary: 'PostgreSQL listens on IPv4 addresses only. Add the IPv6 wildcard (or this host\'s IPv6 address) to listen_addresses, add IPv6 lines to pg_hba.conf, and restart (listen_addresses is read at server start).',
      commands: [
        '# postgresql.conf:',
        "listen_addresses = '0.0.0.0, ::'",
        `port = ${ctx.port}`,
        '# pg_hba.conf: add IPv6 lines next to the IPv4 ones, e.g.',
        'host    all    all    ::1/128    scram-sha-256',
        `systemctl restart ${unit(ctx, 'postgresql')}`,
        check(ctx, BOTH),
      ],
    };
  },
  addIpv4(ctx) {
    return {
      summary: 'PostgreSQL listens on IPv6 addresses only. Add the IPv4 wildcard (or this host\'s IPv4 address) to listen_addresses and IPv4 lines to pg_hba.conf; restart.',
      commands: [
        '# postgresql.conf:',
        "listen_addresses = '0.0.0.0, ::'",
        `port = ${ctx.port}`,
        '# pg_hba.conf: add IPv4 lines next to the IPv6 ones, e.g.',
        'host    all    all    127.0.0.1/32    scram-sha-256',
        `systemctl restart ${unit(ctx, 'postgresql')}`,
        check(ctx, BOTH),
      ],
    };
  },
  aclDirective:
    'pg_hba.conf ADDRESS takes bare CIDR for IPv6 (host all all 2001:db8::/32 scram-sha-256); because each family has its own socket, IPv4 clients match IPv4 lines and IPv6 clients IPv6 lines only.',
  sources: [
    "PostgreSQL listen_addresses ('*', 0.0.0.0 for all IPv4, :: for all IPv6) — https://www.postgresql.org/docs/current/runtime-config-connection.html",
    'PostgreSQL pg_hba.conf — https://www.postgresql.org/docs/current/auth-pg-hba-conf.html',
    'PostgreSQL src/backend/libpq/pqcomm.c: IPV6_V6ONLY on AF_INET6 listen sockets',
  ],
};

const redis: DaemonKnowledge = {
  id: 'redis',
  displayName: 'Redis',
  processNames: ['redis-server'],
  configFile: '/etc/redis/redis.conf (Debian; RHEL: /etc/redis/redis.conf or /etc/redis.conf)',
  defaultListening:
    'Debian 12 (Redis 7.0): "bind 127.0.0.1 -::1" — loopback, one socket per family (Redis sets IPV6_V6ONLY on IPv6 sockets), never mapped; a "-" prefix means "skip this address if it does not exist", and "bind * -::*" listens on all addresses of both families.',
  addIpv6(ctx) {
    return {
      summary: `Redis is bound to IPv4 only. Bind IPv6 too ("bind * -::*", or "bind ${v4(ctx)} ${v6(ctx)}" for specific addresses). An exposed Redis needs requirepass/ACLs and protected-mode; bind is read at startup.`,
      commands: [
        '# redis.conf:',
        'bind * -::*',
        `port ${ctx.port}`,
        `systemctl restart ${unit(ctx, 'redis-server')}   # RHEL: systemctl restart redis`,
        check(ctx, BOTH),
      ],
    };
  },
  addIpv4(ctx) {
    return {
      summary: `Redis is bound to IPv6 only. Bind IPv4 too ("bind * -::*", or "bind ${v4(ctx)} ${v6(ctx)}" for specific addresses).`,
      commands: [
        '# redis.conf:',
        'bind * -::*',
        `port ${ctx.port}`,
        `systemctl restart ${unit(ctx, 'redis-server')}   # RHEL: systemctl restart redis`,
        check(ctx, BOTH),
      ],
    };
  },
  aclDirective:
    'Redis has no address-based access list (its ACLs are per user); who can connect is decided by bind, protected-mode and the firewall. bind takes bare IPv6 addresses (bind 127.0.0.1 ::1).',
  sources: [
    'redis.conf NETWORK section ("-" prefix, bind * -::*) — https://raw.githubusercontent.com/redis/redis/7.0/redis.conf',
    'Redis src/anet.c anetV6Only() (IPV6_V6ONLY on IPv6 listeners)',
    DEBIAN_DEFAULTS,
  ],
};

const memcached: DaemonKnowledge = {
  id: 'memcached',
  displayName: 'memcached',
  processNames: ['memcached'],
  configFile: '/etc/memcached.conf (Debian, one option per line: -l, -p, -U); /etc/sysconfig/memcached OPTIONS= (RHEL)',
  defaultListening:
    'Debian 12: "-l 127.0.0.1" (IPv4 loopback only). -l takes a comma-separated list, IPv6 addresses in brackets ([::1]); every IPv6 listener gets IPV6_V6ONLY, so IPv4 and IPv6 are always separate sockets.',
  addIpv6(ctx) {
    const portFlag = ctx.proto === 'tcp' ? `-p ${ctx.port}` : `-U ${ctx.port}`;
    return {
      summary: `memcached listens on IPv4 only. Add an IPv6 address to -l: [::] for all, or [${v6(ctx)}] / [::1] to stay narrow. memcached has no authentication by default: never expose it beyond a trusted network.`,
      commands: [
        '# /etc/memcached.conf (RHEL: OPTIONS="-l 0.0.0.0,[::]" in /etc/sysconfig/memcached):',
        '-l 0.0.0.0,[::]',
        portFlag,
        `systemctl restart ${unit(ctx, 'memcached')}`,
        check(ctx, BOTH),
      ],
    };
  },
  addIpv4(ctx) {
    const portFlag = ctx.proto === 'tcp' ? `-p ${ctx.port}` : `-U ${ctx.port}`;
    return {
      summary: `memcached listens on IPv6 only. Add an IPv4 address to -l: 0.0.0.0 for all, or ${v4(ctx)} / 127.0.0.1 to stay narrow.`,
      commands: [
        '# /etc/memcached.conf (RHEL: OPTIONS="-l 0.0.0.0,[::]" in /etc/sysconfig/memcached):',
        '-l 0.0.0.0,[::]',
        portFlag,
        `systemctl restart ${unit(ctx, 'memcached')}`,
        check(ctx, BOTH),
      ],
    };
  },
  aclDirective:
    'memcached has no address access list; restrict it with -l and the firewall (ip6tables/nft rules for IPv6 are separate from IPv4 ones).',
  sources: [
    'memcached(1): -l <addr>, comma-separated list, host:port — https://manpages.ubuntu.com/manpages/lunar/man1/memcached.1.html',
    'memcached commit "Fix for 310: memcached unable to bind to an ipv6 address" (IPv6 in []); memcached.c server_socket() sets IPV6_V6ONLY',
  ],
};

const haproxy: DaemonKnowledge = {
  id: 'haproxy',
  displayName: 'HAProxy',
  processNames: ['haproxy'],
  configFile: '/etc/haproxy/haproxy.cfg',
  defaultListening:
    'No listener by default. "bind :80" / "bind *:80" is IPv4-only; "bind :::80" is IPv6 and, without options, follows net.ipv6.bindv6only (0: it also takes IPv4 as mapped); "bind :::80 v4v6" forces one mapped socket, "bind :::80 v6only" an IPv6-only one.',
  addIpv6(ctx) {
    return {
      summary: `The frontend binds IPv4 only. Add an IPv6 bind with v6only so it is a second socket and does not depend on net.ipv6.bindv6only.`,
      commands: [
        `# in the frontend/listen section that has "bind :${ctx.port}":`,
        `bind :::${ctx.port} v6only`,
        `haproxy -c -f /etc/haproxy/haproxy.cfg && systemctl reload ${unit(ctx, 'haproxy')}`,
        check(ctx, BOTH),
      ],
    };
  },
  addIpv4(ctx) {
    return {
      summary: `The frontend binds IPv6 only. Add an IPv4 bind, and mark the IPv6 one v6only so the two do not clash.`,
      commands: [
        `# in the frontend/listen section: keep/adjust the IPv6 bind and add the IPv4 one`,
        `bind :::${ctx.port} v6only`,
        `bind :${ctx.port}`,
        `haproxy -c -f /etc/haproxy/haproxy.cfg && systemctl reload ${unit(ctx, 'haproxy')}`,
        check(ctx, BOTH),
      ],
    };
  },
  separateSockets(ctx) {
    return {
      summary: `The frontend takes IPv4 on its IPv6 socket (v4v6, or ::: with bindv6only=0). Bind each family separately.`,
      commands: [
        `# replace "bind :::${ctx.port} v4v6" (or "bind :::${ctx.port}") with:`,
        `bind :${ctx.port}`,
        `bind :::${ctx.port} v6only`,
        `haproxy -c -f /etc/haproxy/haproxy.cfg && systemctl reload ${unit(ctx, 'haproxy')}`,
        check(ctx, BOTH),
      ],
    };
  },
  aclDirective:
    'src ACLs take bare IPv6 (acl office src 2001:db8::/32). On a v4v6 socket IPv4 clients are ::ffff:192.0.2.1 to src fetches, logs and X-Forwarded-For; test IPv4 src ACLs against a mapped client before relying on them.',
  sources: [
    'HAProxy configuration manual, bind options v4v6 and v6only — https://docs.haproxy.org/2.6/configuration.html#5.1-v4v6',
    'Cloudera: "bind :::<port> v4v6" for dual-stack HAProxy — https://docs.cloudera.com/cloudera-manager/7.13.2/cloudera-manager-installation/topics/impala-dual-stack-ipv6-ha.html',
  ],
};

const node: DaemonKnowledge = {
  id: 'node',
  displayName: 'Node.js application',
  processNames: ['node', 'nodejs'],
  configFile: "the application's listen() call or its HOST/PORT settings (often Environment= in its systemd unit); Node has no global config file",
  defaultListening:
    'server.listen(port) without a host binds :: when IPv6 is available: one socket that also takes IPv4 as ::ffff: (ipv6Only defaults to false); host "0.0.0.0" is IPv4-only, and { host: "::", ipv6Only: true } IPv6-only.',
  addIpv6(ctx) {
    const code =
      ctx.proto === 'tcp'
        ? `server.listen({ port: ${ctx.port}, host: '::' })`
        : `dgram.createSocket('udp6').bind(${ctx.port}, '::')`;
    return {
      summary: `The application binds 0.0.0.0 (often HOST=0.0.0.0). Bind :: instead: one socket serves IPv4 (mapped) and IPv6.`,
      commands: [
        `// replace the listen call (or set HOST=::):`,
        code,
        `systemctl restart ${unit(ctx, '{unit}')}`,
        check(ctx, MAPPED),
      ],
    };
  },
  addIpv4(ctx) {
    const code =
      ctx.proto === 'tcp'
        ? `server.listen({ port: ${ctx.port}, host: '::', ipv6Only: false })`
        : `dgram.createSocket({ type: 'udp6', ipv6Only: false }).bind(${ctx.port}, '::')`;
    return {
      summary: 'The application binds :: with ipv6Only: true (or an IPv6 address, or net.ipv6.bindv6only=1). Bind :: with ipv6Only off.',
      commands: [
        '// replace the listen call:',
        code,
        'sysctl net.ipv6.bindv6only   # must print 0',
        `systemctl restart ${unit(ctx, '{unit}')}`,
        check(ctx, MAPPED),
      ],
    };
  },
  separateSockets(ctx) {
    const code =
      ctx.proto === 'tcp'
        ? [
            `http.createServer(app).listen({ port: ${ctx.port}, host: '0.0.0.0' })`,
            `http.createServer(app).listen({ port: ${ctx.port}, host: '::', ipv6Only: true })`,
          ]
        : [
            `dgram.createSocket('udp4').bind(${ctx.port}, '0.0.0.0')`,
            `dgram.createSocket({ type: 'udp6', ipv6Only: true }).bind(${ctx.port}, '::')`,
          ];
    return {
      summary: 'The application takes IPv4 on its :: socket. A net.Server listens once, so create one server per family with the same handler.',
      commands: ['// one listener per family:', ...code, `systemctl restart ${unit(ctx, '{unit}')}`, check(ctx, BOTH)],
    };
  },
  aclDirective:
    'req.socket.remoteAddress (and Express req.ip) is "::ffff:192.0.2.1" for IPv4 clients on a :: socket; IP allow-lists and rate limits in application code must strip the ::ffff: prefix or compare parsed addresses.',
  sources: [
    'Node.js net: server.listen() host omitted → ::, ipv6Only option — https://nodejs.org/api/net.html#serverlistenoptions-callback',
    'nodejs/node#9390: listening on :: also accepts IPv4 — https://github.com/nodejs/node/issues/9390',
  ],
};

const java: DaemonKnowledge = {
  id: 'java',
  displayName: 'Java application',
  processNames: ['java'],
  configFile: "the JVM options of the service (JAVA_OPTS / CATALINA_OPTS in its unit or setenv.sh) and the application's bind address (e.g. Tomcat <Connector address=>, Spring Boot server.address)",
  defaultListening:
    'With IPv6 available the JVM uses AF_INET6 sockets, so a wildcard ServerSocket is one :: socket taking IPv4 as mapped; -Djava.net.preferIPv4Stack=true makes every socket IPv4-only. java.net has no IPV6_V6ONLY option, so a JVM cannot open separate wildcard sockets per family.',
  addIpv6(ctx) {
    return {
      summary: `The JVM runs with -Djava.net.preferIPv4Stack=true, or the application binds 0.0.0.0. Remove the flag and bind the wildcard (::).`,
      commands: [
        '# remove -Djava.net.preferIPv4Stack=true from JAVA_OPTS / CATALINA_OPTS',
        `# bind the wildcard, e.g. Tomcat server.xml: <Connector port="${ctx.port}" address="::" .../>  or Spring Boot: server.address=::`,
        `systemctl restart ${unit(ctx, '{unit}')}`,
        check(ctx, MAPPED),
      ],
    };
  },
  addIpv4(ctx) {
    return {
      summary: 'The application binds an IPv6 address. Bind the wildcard instead; the JVM\'s :: socket serves IPv4 (mapped) and IPv6.',
      commands: [
        `# bind the wildcard, e.g. Tomcat server.xml: <Connector port="${ctx.port}" address="::" .../>  or Spring Boot: server.address=::`,
        `systemctl restart ${unit(ctx, '{unit}')}`,
        check(ctx, MAPPED),
      ],
    };
  },
  aclDirective:
    'No JVM-wide access list: allow-lists live in the application or container (e.g. Tomcat RemoteAddrValve regexes over the client address string). How a mapped IPv4 peer is presented there (plain IPv4 or ::ffff:) was not verified: test them with an IPv4 and an IPv6 client. java.net.preferIPv6Addresses (default false) only changes name-lookup order.',
  sources: [
    'Java Networking Properties: java.net.preferIPv4Stack, java.net.preferIPv6Addresses — https://docs.oracle.com/en/java/javase/21/docs/api/java.base/java/net/doc-files/net-properties.html',
    'Red Hat JBoss Web Server: Java IPv4/IPv6 properties for Tomcat — https://access.redhat.com/documentation/en-us/red_hat_jboss_web_server/5.2/html/installation_guide/java_ipv4_ipv6_properties',
  ],
};

export const daemons: DaemonKnowledge[] = [
  sshd,
  nginx,
  apache,
  named,
  postfix,
  sendmail,
  vsftpd,
  dovecot,
  exim,
  mysql,
  postgres,
  redis,
  memcached,
  haproxy,
  node,
  java,
];

const byProcess = new Map<string, DaemonKnowledge>();
for (const daemon of daemons) for (const name of daemon.processNames) byProcess.set(name, daemon);

/** The knowledge for a process name exactly as /proc/[pid]/comm shows it. */
export function daemonForProcess(comm: string | null): DaemonKnowledge | null {
  if (comm === null) return null;
  return byProcess.get(comm.trim()) ?? null;
}

/** For processes the table does not know: the socket table in plain words, with checks. */
export function genericFix(kind: 'add-ipv6' | 'add-ipv4' | 'separate', ctx: FixContext): DaemonFix {
  const inspect = [
    check(ctx, kind === 'separate' ? BOTH : 'sockets for both families'),
    'sysctl net.ipv6.bindv6only   # 0: a :: socket also takes IPv4 unless the program sets IPV6_V6ONLY',
  ];
  if (kind === 'add-ipv6') {
    return {
      summary: `Only IPv4 clients can reach ${ctx.proto}/${ctx.port}: the program listens on 0.0.0.0 or an IPv4 address. Make it also listen on :: (all IPv6 addresses) or on this host's IPv6 address (${v6(ctx)}). Two ways work: a second socket on :: with IPV6_V6ONLY=1 next to the 0.0.0.0 one, or a single :: socket with IPV6_V6ONLY=0 that takes both families (IPv4 clients then appear as ::ffff:a.b.c.d). Look for a listen/bind/host setting in the program's configuration.`,
      commands: [...inspect, 'ip -6 addr show scope global   # the addresses IPv6 clients can use'],
    };
  }
  if (kind === 'add-ipv4') {
    return {
      summary: `Only IPv6 clients can reach ${ctx.proto}/${ctx.port}: the program listens on an IPv6 address, or on :: with IPV6_V6ONLY=1 (set by the program or by net.ipv6.bindv6only=1). Make it also listen on 0.0.0.0 or this host's IPv4 address (${v4(ctx)}), or listen on :: with IPV6_V6ONLY=0 so IPv4 clients arrive as ::ffff:a.b.c.d.`,
      commands: [...inspect, 'ip -4 addr show scope global   # the addresses IPv4 clients can use'],
    };
  }
  return {
    summary: `${ctx.proto}/${ctx.port} is one :: socket with IPV6_V6ONLY=0: IPv6 clients connect normally and IPv4 clients arrive as ::ffff:a.b.c.d, which access lists and logs written for IPv4 may not match. To separate the families the program must open a 0.0.0.0 socket and set IPV6_V6ONLY=1 on its :: socket (or bind specific addresses: a socket on a specific IPv6 address is always V6ONLY). Setting net.ipv6.bindv6only=1 changes the default for every program that does not choose, so test it before relying on it.`,
    commands: inspect,
  };
}
