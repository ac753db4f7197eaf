// HAProxy: how it listens by default and the change that makes it dual-stack
// (the entry's shape and shared helpers: model.ts; the list: index.ts).
import { BOTH, check, unit, type DaemonKnowledge } from './model.js';

export const haproxy: DaemonKnowledge = {
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
    'src ACLs take bare IPv6 (acl office src 2001:db8::/32). On a v4v6 socket IPv4 clients are ::ffff:192.0.2.1 to src fetches, logs and X-Forwarded-For; IPv4 src patterns still match them (pat_match_ip() converts a mapped address before looking it up among IPv4 patterns), but anything built on the src string (logs, headers, maps keyed on it) sees the mapped form.',
  sources: [
    'HAProxy configuration manual, bind options v4v6 and v6only — https://docs.haproxy.org/2.6/configuration.html#5.1-v4v6',
    'HAProxy 2.6 source: src/pattern.c (pat_match_ip: mapped samples against IPv4 patterns), checked in test/netns/config-haproxy',
    'Cloudera: "bind :::<port> v4v6" for dual-stack HAProxy — https://docs.cloudera.com/cloudera-manager/7.13.2/cloudera-manager-installation/topics/impala-dual-stack-ipv6-ha.html',
  ],
};
