// Apache httpd: how it listens by default and the change that makes it dual-stack
// (the entry's shape and shared helpers: model.ts; the list: index.ts).
import { addressNote, check, DEBIAN_DEFAULTS, MAPPED, unit, v4, v6, type DaemonKnowledge } from './model.js';

export const apache: DaemonKnowledge = {
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
