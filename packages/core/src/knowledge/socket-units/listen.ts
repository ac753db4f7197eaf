// What systemd makes of a socket unit's [Socket] directives: the Listen* entries, with their
// resets, and the IPv6 options. Pure; the agent's reader only splits unit files into lines.
// - ListenStream=/ListenDatagram= (systemd.socket(5)): a number alone is a port "to listen on
//   via IPv6" when the kernel has IPv6, else via IPv4 (socket_address_parse() in
//   src/shared/socket-netlink.c: in6addr_any when socket_ipv6_is_supported()); `v.w.x.y:z` is
//   IPv4; `[x]:y` (an optional `%dev` after the port) is IPv6; `/path` and `@name` are AF_UNIX;
//   a bare IPv6 address has no port and is refused ("No port, no go").
// - An empty ListenStream= (or any empty Listen*=) removes every port listed before it
//   (config_parse_socket_listen() in src/core/load-fragment.c calls socket_free_ports()).
// - BindIPv6Only=default|both|ipv6-only: IPV6_V6ONLY on the AF_INET6 sockets; default leaves
//   the kernel's default, net.ipv6.bindv6only (socket_address_listen() in
//   src/shared/socket-util.c sets the option only when it is not default).
import type { ConfigDirective } from '../../report.js';

export const LISTEN_KEYS = ['ListenStream', 'ListenDatagram', 'ListenSequentialPacket', 'ListenFIFO', 'ListenSpecial', 'ListenNetlink', 'ListenMessageQueue', 'ListenUSBFunction'];

export type BindIpv6Only = 'default' | 'both' | 'ipv6-only';

export type ListenAddress =
  | { kind: 'port'; port: number }
  | { kind: 'ipv4'; address: string; port: number }
  | { kind: 'ipv6'; address: string; port: number; device: string | null }
  | { kind: 'other' };

/** One Listen* line in effect. */
export interface UnitListen {
  directive: ConfigDirective;
  proto: 'tcp' | 'udp' | null;
  address: ListenAddress;
}

/** A socket unit as systemd loads it: the unit file, then its drop-ins in name order. */
export interface SocketUnitState {
  unit: string;
  listens: UnitListen[];
  bindIpv6Only: BindIpv6Only;
  bindIpv6OnlyAt: ConfigDirective | null;
  freeBind: boolean;
  accept: boolean;
  /** Service= when set, else the unit's own name (NAME@.service with Accept=yes). */
  service: string;
  /** The program ExecStart runs (first word, without systemd's prefixes), when read. */
  daemon: string | null;
}

/** Why systemd refuses a Listen value, or the address it names. */
export function parseListenValue(value: string): ListenAddress | { error: string } {
  const v = value.trim();
  if (/^\d+$/.test(v)) {
    const port = Number(v);
    return port >= 1 && port <= 65535 ? { kind: 'port', port } : { error: `port ${v} out of range` };
  }
  if (v.startsWith('/') || v.startsWith('@') || v.startsWith('vsock:')) return { kind: 'other' };
  const v6 = /^\[([^\]%]+)(?:%([^\]]+))?\]:(\d+)(?:%(\S+))?$/.exec(v);
  if (v6) {
    const port = Number(v6[3]);
    if (!/:/.test(v6[1]!) || port < 1 || port > 65535) return { error: 'expected [IPv6-address]:port' };
    return { kind: 'ipv6', address: v6[1]!, port, device: v6[2] ?? v6[4] ?? null };
  }
  const v4 = /^(\d{1,3}(?:\.\d{1,3}){3}):(\d+)(?:%(\S+))?$/.exec(v);
  if (v4) {
    const port = Number(v4[2]);
    if (v4[1]!.split('.').some((o) => Number(o) > 255) || port < 1 || port > 65535) return { error: 'expected IPv4-address:port' };
    return { kind: 'ipv4', address: v4[1]!, port };
  }
  if (v.includes(':') && !v.startsWith('[')) return { error: 'an IPv6 address needs brackets and a port ([x]:y): systemd reads it as an address without a port and refuses it' };
  return { error: 'not a port, an address:port or a path' };
}

const keyIs = (d: ConfigDirective, key: string) => d.key.toLowerCase() === key.toLowerCase();

function bool(value: string): boolean {
  return /^(1|yes|y|true|t|on)$/i.test(value.trim());
}

/** The bare-port family: [::] where the kernel has IPv6 (socket_ipv6_is_supported()), else 0.0.0.0. */
export function portFamily(kernelHasIpv6: boolean): 4 | 6 {
  return kernelHasIpv6 ? 6 : 4;
}

/** The unit's state after every directive of `unit` in `all` (in systemd's load order). */
export function socketUnitState(unit: string, all: ConfigDirective[]): SocketUnitState {
  const state: SocketUnitState = { unit, listens: [], bindIpv6Only: 'default', bindIpv6OnlyAt: null, freeBind: false, accept: false, service: unit.replace(/\.socket$/, '.service'), daemon: null };
  let serviceSet = false;
  for (const d of all) {
    if (d.context !== unit) continue;
    if (LISTEN_KEYS.some((k) => keyIs(d, k))) {
      if (d.value.trim() === '') {
        state.listens = [];
        continue;
      }
      const parsed = parseListenValue(d.value);
      const proto = keyIs(d, 'ListenStream') ? 'tcp' : keyIs(d, 'ListenDatagram') ? 'udp' : null;
      state.listens.push({ directive: d, proto, address: 'error' in parsed || proto === null ? { kind: 'other' } : parsed });
    } else if (keyIs(d, 'BindIPv6Only')) {
      const value = d.value.trim().toLowerCase();
      state.bindIpv6Only = value === 'both' || value === 'ipv6-only' ? value : 'default';
      state.bindIpv6OnlyAt = d;
    } else if (keyIs(d, 'FreeBind')) {
      state.freeBind = bool(d.value);
    } else if (keyIs(d, 'Accept')) {
      state.accept = bool(d.value);
    } else if (keyIs(d, 'Service')) {
      state.service = d.value.trim();
      serviceSet = true;
    }
  }
  if (!serviceSet && state.accept) state.service = unit.replace(/\.socket$/, '@.service');
  const exec = all.filter((d) => d.context === state.service && keyIs(d, 'ExecStart'));
  const last = exec.length > 0 ? exec[exec.length - 1]! : null;
  if (last && last.value.trim() !== '') state.daemon = execProgram(last.value);
  return state;
}

/** The program of an ExecStart= line: its first word without the @-:+! prefixes (systemd.service(5)). */
export function execProgram(value: string): string | null {
  const first = /^\s*("([^"]*)"|\S+)/.exec(value);
  if (!first) return null;
  const word = (first[2] ?? first[1]!).replace(/^[@\-:+!]+/, '');
  return word === '' ? null : word;
}

/** /usr/sbin/sshd -> sshd, cut to the 15 characters /proc/[pid]/comm keeps. */
export function commOf(program: string): string {
  return program.slice(program.lastIndexOf('/') + 1).slice(0, 15);
}

/** The unit names of the socket units in a configuration, in order. */
export function socketUnitNames(all: ConfigDirective[]): string[] {
  return [...new Set(all.map((d) => d.context).filter((c): c is string => c !== undefined && c.endsWith('.socket')))];
}

/** The sockets PID 1 opens for a Listen entry: family and address. */
export function listenSocket(listen: UnitListen, kernelHasIpv6: boolean): { family: 4 | 6; address: string; port: number } | null {
  const a = listen.address;
  if (a.kind === 'port') return portFamily(kernelHasIpv6) === 6 ? { family: 6, address: '::', port: a.port } : { family: 4, address: '0.0.0.0', port: a.port };
  if (a.kind === 'ipv4') return { family: 4, address: a.address, port: a.port };
  if (a.kind === 'ipv6') return { family: 6, address: a.address, port: a.port };
  return null;
}
