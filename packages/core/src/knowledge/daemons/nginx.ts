// nginx: how it listens by default and the change that makes it dual-stack
// (the entry's shape and shared helpers: model.ts; the list: index.ts).
import { BOTH, check, DEBIAN_DEFAULTS, unit, v6, type DaemonKnowledge } from './model.js';

export const nginx: DaemonKnowledge = {
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
