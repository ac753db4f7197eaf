// sendmail: how it listens by default and the change that makes it dual-stack
// (the entry's shape and shared helpers: model.ts; the list: index.ts).
import { addressNote, check, DEBIAN_DEFAULTS, MAPPED, unit, v4, v6, type DaemonKnowledge } from './model.js';

export const sendmail: DaemonKnowledge = {
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
