// vsftpd: what vsftpd.conf(5) says about its sockets, each point checked on Debian 12's vsftpd
// 3.0.3 in a network namespace (test/netns/config-vsftpd.test.ts repeats the checks).
// - `option=value`, one per line, no space around `=` (`listen = YES` is refused: "500 OOPS:
//   unrecognised variable in config file: listen "); a later line overrides an earlier one.
//   Booleans are YES/NO, TRUE/FALSE or 1/0 in any case; anything else (`Y`, `YES #comment`,
//   a trailing space or CR) is refused with "500 OOPS: bad bool value in config file for: X".
// - listen (default NO) runs vsftpd standalone on one IPv4 socket (0.0.0.0 or listen_address);
//   listen_ipv6 (default NO) on one IPv6 socket (:: or listen_address6). They exclude each
//   other: both YES is refused ("500 OOPS: run two copies of vsftpd for IPv4 and IPv6"), both
//   NO means inetd mode (no socket of its own). vsftpd does not set V6ONLY, so its :: socket
//   takes IPv4 clients as ::ffff:a.b.c.d (ss shows `*:21 v6only:0`): Debian's default
//   `listen=NO` + `listen_ipv6=YES` serves both families on one socket.
// - listen_address6 takes an IPv6 address bare: `[2001:db8::1]` and `2001:db8::1/64` are
//   refused ("500 OOPS: bad listen_address6: ..."), `fe80::1%eth0` cannot bind. listen_address
//   takes IPv4 only ("bad listen_address" for an IPv6 one) and is ignored with listen_ipv6=YES;
//   listen_address6 is ignored with listen=YES. listen_port is the port (default 21).
// - tcp_wrappers=YES (default NO) hands every connection to libwrap (Debian links vsftpd with
//   libwrap.so.0) under the daemon name "vsftpd": /etc/hosts.allow and /etc/hosts.deny, judged
//   in tcpwrappers.ts, which reads this switch too.
// - vsftpd has no syntax check of its own: it checks the file when it starts, and a refused
//   file stops it with exit status 2 and "500 OOPS: ..." written to its standard input's
//   descriptor (a terminal; under systemd it goes nowhere, only the status shows).
import type { ConfigDirective } from '../../report.js';
import type { AddressUse, ConfigKnowledge, Ipv6Off, Ipv6Syntax } from './model.js';

const LISTEN6: Ipv6Syntax = { brackets: 'forbidden', prefix: false, zone: false };
const MAN = 'vsftpd.conf(5): listen, listen_ipv6, listen_address, listen_address6, listen_port, tcp_wrappers';
export const VSFTPD_CONF = '/etc/vsftpd.conf';

/** vsftpd's booleans (parseconf.c): YES/TRUE/1 and NO/FALSE/0, any case. Null for anything else. */
export function vsftpdBool(value: string): boolean | null {
  const v = value.toUpperCase();
  if (v === 'YES' || v === 'TRUE' || v === '1') return true;
  if (v === 'NO' || v === 'FALSE' || v === '0') return false;
  return null;
}

/** The line that decides `key` (the last one: a later line overrides), or undefined. */
export function vsftpdSetting(all: ConfigDirective[], key: string): ConfigDirective | undefined {
  return all.filter((d) => d.key === key && d.file === VSFTPD_CONF).at(-1);
}

function port(all: ConfigDirective[]): number {
  const p = Number(vsftpdSetting(all, 'listen_port')?.value);
  return Number.isInteger(p) && p > 0 && p < 65536 ? p : 21;
}

export const vsftpdConfigKnowledge: ConfigKnowledge = {
  daemon: 'vsftpd',
  directives: ['listen', 'listen_ipv6', 'listen_address', 'listen_address6', 'listen_port', 'tcp_wrappers'],
  // No syntax check exists: restarting is the check (exit status 2 on a refused file).
  checker: 'systemctl restart vsftpd && systemctl is-active vsftpd',
  addresses(d, all): AddressUse[] {
    // Only the line vsftpd uses, and only while listen_ipv6 is on (otherwise it is ignored).
    if (d.key !== 'listen_address6' || vsftpdSetting(all, 'listen_address6') !== d) return [];
    if (vsftpdBool(vsftpdSetting(all, 'listen_ipv6')?.value ?? 'NO') !== true) return [];
    const token = d.value.trim();
    // An IPv4-mapped address binds (an IPv6 socket for that one IPv4 address); the generic
    // correction (the plain IPv4 address) would be refused in listen_address6, so it is left out.
    if (token === '' || /^::ffff:/i.test(token)) return [];
    return [{ directive: d, token, role: 'listen', syntax: LISTEN6 }];
  },
  ipv6Off(d, all): Ipv6Off | null {
    const listen = vsftpdSetting(all, 'listen');
    if (d !== listen || vsftpdBool(d.value) !== true) return null;
    const listen6 = vsftpdSetting(all, 'listen_ipv6');
    if (listen6 && vsftpdBool(listen6.value) !== false) return null; // both YES: vsftpd refuses to start
    // A specific listen_address is a deliberate one-address socket: opening [::] instead would
    // take every address of both families, which only the operator can decide.
    const address = vsftpdSetting(all, 'listen_address')?.value.trim();
    if (address && address !== '0.0.0.0') return null;
    const why = 'listen=YES runs vsftpd on one IPv4 socket; listen_ipv6=YES instead (with listen=NO) runs it on one [::] socket that takes IPv4 clients too (as ::ffff:a.b.c.d)';
    if (listen6) return { why, fix: 'listen=NO', ports: [port(all)], alsoChange: [{ directive: listen6, fix: 'listen_ipv6=YES' }] };
    // No listen_ipv6 line: this line becomes it, and earlier listen=YES lines (which this one
    // overrode) must say NO, or both switches would be on.
    const earlier = all.filter((e) => e.key === 'listen' && e.file === VSFTPD_CONF && e !== d && vsftpdBool(e.value) === true);
    return { why, fix: 'listen_ipv6=YES', ports: [port(all)], ...(earlier.length ? { alsoChange: earlier.map((e) => ({ directive: e, fix: 'listen=NO' })) } : {}) };
  },
  acl: () => null, // vsftpd's own access control by address is TCP wrappers (tcpwrappers.ts)
  // vsftpd keeps a mapped peer as ::ffff:a.b.c.d (its log shows it so); it has no address list
  // of its own to compare it with. TCP wrappers, which it calls, converts (tcpwrappers.ts).
  convertsMappedPeers: false,
  sources: [MAN, 'docs/daemon-defaults.md#listening-defaults', 'docs/daemon-defaults.md#mapped-ipv4-clients-and-access-lists'],
};
