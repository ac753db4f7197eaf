// vsftpd: how it listens by default and the change that makes it dual-stack
// (the entry's shape and shared helpers: model.ts; the list: index.ts).
import { check, DEBIAN_DEFAULTS, MAPPED, unit, type DaemonKnowledge } from './model.js';

export const vsftpd: DaemonKnowledge = {
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
    'On the listen_ipv6 socket IPv4 clients appear as ::ffff:192.0.2.1 in vsftpd\'s log and to tcp_wrappers=YES (/etc/hosts.allow), whose IPv6 entries need brackets: vsftpd: [2001:db8::]/32. Debian 12\'s libwrap converts mapped peers to IPv4 before matching, so IPv4 entries (192.0.2.0/24) match them and a [::ffff:192.0.2.0]/120 entry matches nobody (checked with a real vsftpd, test/netns/config-tcpwrappers.test.ts).',
  sources: [
    'vsftpd.conf(5): listen, listen_ipv6, listen_address6 — https://security.appspot.com/vsftpd/vsftpd_conf.html',
    DEBIAN_DEFAULTS,
  ],
};
