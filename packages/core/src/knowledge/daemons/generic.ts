// The fix for a process the knowledge base has no entry for.
import { BOTH, check, v4, v6, type DaemonFix, type FixContext } from './model.js';

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
