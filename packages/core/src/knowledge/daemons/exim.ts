// Exim: how it listens by default and the change that makes it dual-stack
// (the entry's shape and shared helpers: model.ts; the list: index.ts).
import { addressNote, check, DEBIAN_DEFAULTS, unit, v4, v6, type DaemonKnowledge } from './model.js';

export const exim: DaemonKnowledge = {
  id: 'exim',
  displayName: 'Exim',
  processNames: ['exim4', 'exim'],
  configFile: '/etc/exim4/update-exim4.conf.conf (Debian: dc_local_interfaces); /etc/exim/exim.conf (RHEL: local_interfaces, daemon_smtp_ports)',
  defaultListening:
    "Debian 12: dc_local_interfaces='127.0.0.1 ; ::1' — loopback only, one socket per address; with local_interfaces unset (RHEL) exim listens on 0.0.0.0 and [::], and it sets V6ONLY on every IPv6 socket it opens, so the two stay apart (checked with Exim 4.96 and ss: [::]:25 v6only:1, <; ::0 alone included).",
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
    'Host lists take IPv6 bare, after "<;" (hosts = <; 192.0.2.0/24 ; 2001:db8::/32) or with every colon doubled in a ":" list (hosts = 192.0.2.0/24 : 2001::db8::::/32); single colons cut the address, and the list answers no when it reaches the pieces. The Exim daemon sets V6ONLY on every IPv6 socket it opens, so it never sees ::ffff:a.b.c.d peers itself; on a socket another program opened with V6ONLY=0 (inetd running exim -bs), host_ntoa() in src/host.c shows them as 192.0.2.1 and host lists match them against their IPv4 entries.',
  sources: [
    'Exim specification ch. 13, starting the daemon and the use of network interfaces — https://www.exim.org/exim-html-current/doc/html/spec_html/ch-starting_the_daemon_and_the_use_of_network_interfaces.html',
    'Exim specification 4.96 ch. 10, host lists (IPv6 networks; ch. 6: doubling the separator, "<;") — https://www.exim.org/exim-html-4.96/doc/html/spec_html/ch-domain_host_address_and_local_part_lists.html',
    'Exim src/host.c host_ntoa(): "If the result is a mapped IPv4 address, show it in V4 format"; V6ONLY on the daemon\'s IPv6 sockets checked with ss (docs/daemon-defaults.md, test/netns/config-exim.test.ts)',
    'exim-users: "<;" changes the list separator so IPv6 addresses can be listed — https://mail-archive.com/exim-users@exim.org/msg34527.html',
    DEBIAN_DEFAULTS,
  ],
};
