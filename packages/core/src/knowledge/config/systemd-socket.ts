// systemd socket units as one more daemon configuration (daemon id systemd-socket): the
// reader keeps the [Socket] lines that decide addresses and IPV6_V6ONLY, each with the unit
// as its context, and the ExecStart= of the service each unit activates. So config-ipv6-off
// quotes the unit line as it does a daemon's, with a drop-in as the fix.
// What each line means: knowledge/socket-units/listen.ts (systemd.socket(5) and the source).
import type { ConfigDirective } from '../../report.js';
import type { AddressUse, ConfigKnowledge, Ipv6Off, Ipv6Syntax } from './model.js';
import { socketUnitState, listenSocket } from '../socket-units/listen.js';
import { dropInCommands, SOCKET_UNIT_SOURCES } from '../socket-units/drop-in.js';

// `[x]:y`: an IPv6 address is always bracketed, since a port always follows.
const LISTEN: Ipv6Syntax = { brackets: 'required', prefix: false, zone: true };
const isListen = (d: ConfigDirective) => /^listen(stream|datagram)$/i.test(d.key);

export const systemdSocketConfigKnowledge: ConfigKnowledge = {
  daemon: 'systemd-socket',
  directives: ['ListenStream', 'ListenDatagram', 'ListenSequentialPacket', 'ListenFIFO', 'ListenSpecial', 'ListenNetlink', 'ListenMessageQueue', 'ListenUSBFunction', 'BindIPv6Only', 'FreeBind', 'Accept', 'Service', 'ExecStart'],
  checker: 'systemd-analyze verify',
  addresses(d): AddressUse[] {
    if (!isListen(d) || !d.value.includes(':') || d.value.startsWith('/') || d.value.startsWith('@')) return [];
    // The address with its port; a `%dev` after the port is systemd's, not the address's.
    return [{ directive: d, token: d.value.trim().replace(/%[^\]]*$/, ''), role: 'listen', syntax: LISTEN }];
  },
  ipv6Off(d, all): Ipv6Off | null {
    if (!isListen(d) || d.context === undefined) return null;
    const state = socketUnitState(d.context, all);
    const mine = state.listens.find((l) => l.directive === d);
    if (!mine || mine.proto === null) return null;
    // A bare port is [::] whenever the kernel has IPv6, which a host with IPv6 has.
    const socket = listenSocket(mine, true);
    if (!socket || socket.family !== 4) return null;
    const sameKind = state.listens.filter((l) => l.proto === mine.proto);
    if (sameKind.some((l) => listenSocket(l, true)?.family === 6 && listenSocket(l, true)?.port === socket.port)) return null;
    const key = mine.proto === 'tcp' ? 'ListenStream' : 'ListenDatagram';
    const twin = socket.address === '0.0.0.0' ? `${key}=[::]:${socket.port}` : `${key}=[{ipv6-address}]:${socket.port}`;
    const lines = [...(state.bindIpv6Only === 'ipv6-only' ? [] : ['BindIPv6Only=ipv6-only']), 'ListenStream=', ...state.listens.flatMap((l) => (l === mine ? [`${l.directive.key}=${l.directive.value.trim()}`, twin] : [`${l.directive.key}=${l.directive.value.trim()}`]))];
    const generated = d.file.startsWith('/run/systemd/generator') ? [`# ${d.file} is written by a generator at boot and on daemon-reload (Ubuntu's sshd-socket-generator writes ssh.socket.d/addresses.conf from sshd_config's ListenAddress and Port): the drop-in below sorts after it and wins, or change what the generator reads`] : [];
    return {
      why: `${d.context} listens on ${socket.address}:${socket.port} and on no IPv6 address for that port, so PID 1 opens an IPv4 socket only`,
      fix: twin,
      ports: [socket.port],
      summary: `Add ${twin} to ${d.context} in a drop-in (with BindIPv6Only=ipv6-only, so that [::] does not collide with 0.0.0.0), then restart it.`,
      commands: [...generated, ...dropInCommands({ unit: d.context, listens: [], bindIpv6Only: state.bindIpv6Only, accept: state.accept, service: state.service }, lines, { ctx: { proto: mine.proto, port: socket.port }, sockets: 'a 0.0.0.0 socket plus a [::] socket with v6only:1' })],
    };
  },
  acl: () => null,
  // systemd hands the socket over as it is: what the daemon sees depends on V6ONLY.
  convertsMappedPeers: false,
  sources: SOCKET_UNIT_SOURCES,
};
