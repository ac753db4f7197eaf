// Squid: how it listens by default and the change that makes it dual-stack
// (the entry's shape and shared helpers: model.ts; the list: index.ts). The config-level facts
// (address syntax, acl src, http_access) are in ../config/squid.ts, checked on Debian 12's 5.7.
import { SQUID_DOCS } from '../config/squid.js';
import { BOTH, check, MAPPED, unit, v4, type DaemonKnowledge } from './model.js';

const reload = (ctx: Parameters<DaemonKnowledge['addIpv6']>[0]) => `squid -k parse && systemctl reload ${unit(ctx, 'squid')}`;

export const squid: DaemonKnowledge = {
  id: 'squid',
  displayName: 'Squid',
  processNames: ['squid'],
  configFile: '/etc/squid/squid.conf',
  defaultListening:
    'Debian\'s "http_port 3128" (a port alone, also "[::]:3128") is one [::] socket without IPV6_V6ONLY: both families, IPv4 as ::ffff: mapped, which Squid converts back before acl matching and logging. "http_port 0.0.0.0:3128" is IPv4 only.',
  addIpv6(ctx) {
    return {
      summary: `Squid listens on IPv4 only (http_port 0.0.0.0:${ctx.port} or an IPv4 address). A port alone listens on both families.`,
      commands: [`# in /etc/squid/squid.conf (or conf.d), replace the IPv4-only http_port line with:`, `http_port ${ctx.port}`, reload(ctx), check(ctx, MAPPED)],
    };
  },
  addIpv4(ctx) {
    return {
      summary: `Squid listens on an IPv6 address only. Add an http_port line for IPv4 (or use the port alone, which takes both families).`,
      commands: [`# in /etc/squid/squid.conf, beside the [IPv6]:${ctx.port} line:`, `http_port ${v4(ctx)}:${ctx.port}`, reload(ctx), check(ctx, BOTH)],
    };
  },
  aclDirective:
    'acl NAME src takes bare IPv6 networks with their /len (acl office src 2001:db8::/64; brackets are refused); several acl lines of one name add up. IPv4 clients of the [::] socket match IPv4 entries (Ip::Address keeps IPv4 as mapped) and are logged as IPv4.',
  sources: [SQUID_DOCS, 'Squid 5.7 source: src/ip/Address.cc (IPv4 kept in mapped form), checked in test/netns/config-squid'],
};
