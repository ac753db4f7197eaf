// Fixes for a service whose sockets systemd holds (a .socket unit): the unit decides the
// addresses and IPV6_V6ONLY, not the daemon's configuration, so every fix is a drop-in for the
// unit. Never the unit file itself: /usr/lib/systemd/system belongs to the package and an
// upgrade overwrites it (systemd.unit(5): drop-ins; systemctl(1): edit). The drop-in resets
// the Listen list (an empty ListenStream= removes every earlier entry) and writes it whole.
import type { SocketUnit } from '../../report.js';
import type { DaemonFix, DaemonKnowledge, FixContext } from '../daemons/model.js';
import { check, v4, v6 } from '../daemons/model.js';
import { parseListenValue, type BindIpv6Only } from './listen.js';

export const SOCKET_UNIT_SOURCES = [
  'systemd.socket(5): ListenStream=, BindIPv6Only=, FreeBind=, Accept=, Service=',
  'systemd source: src/shared/socket-netlink.c socket_address_parse(), src/shared/socket-util.c socket_address_listen(), src/core/socket.c, src/core/load-fragment.c config_parse_socket_listen()',
  'systemd.unit(5): drop-in directories and their order; systemctl(1): edit',
];

type UnitShape = Pick<SocketUnit, 'unit' | 'listens' | 'bindIpv6Only' | 'accept' | 'service'>;

/** The commands that write a drop-in with `lines` under [Socket] and restart the socket. */
export function dropInCommands(unit: UnitShape, lines: string[], expect: { ctx: Pick<FixContext, 'proto' | 'port'>; sockets: string }): string[] {
  const restartService = !unit.accept && unit.service ? [`systemctl restart ${unit.service}   # the running service still holds the old sockets`] : [];
  return [
    `systemctl edit ${unit.unit}   # writes /etc/systemd/system/${unit.unit}.d/override.conf (never edit the packaged unit); put in it:`,
    '#   [Socket]',
    ...lines.map((l) => `#   ${l}`),
    `systemd-analyze verify ${unit.unit}`,
    `systemctl restart ${unit.unit}`,
    ...restartService,
    check({ ...expect.ctx, ipv4Addresses: [], ipv6Addresses: [] }, expect.sockets),
  ];
}

/** The Listen list with `add` after the entries of `port`, reset first. */
function relisted(unit: UnitShape, replace: (line: string) => string[]): string[] {
  return ['ListenStream=', ...unit.listens.flatMap(replace)].filter((l, i, all) => all.indexOf(l) === i || l === 'ListenStream=');
}

function entryOf(line: string): { key: string; port: number | null; kind: string; address: string | null } {
  const eq = line.indexOf('=');
  const key = line.slice(0, eq);
  const parsed = parseListenValue(line.slice(eq + 1));
  if ('error' in parsed || parsed.kind === 'other') return { key, port: null, kind: 'other', address: null };
  return { key, port: parsed.port, kind: parsed.kind, address: parsed.kind === 'port' ? null : parsed.address };
}

const hasIpv4Entries = (unit: UnitShape) => unit.listens.some((l) => entryOf(l).kind === 'ipv4');

/** The BindIPv6Only= line a drop-in needs, when it changes. */
const bindLine = (unit: UnitShape, want: BindIpv6Only) => (unit.bindIpv6Only === want ? [] : [`BindIPv6Only=${want}`]);

/** A DaemonKnowledge entry for one socket unit, so the service rules print unit fixes. */
export function socketUnitKnowledge(unit: SocketUnit): DaemonKnowledge {
  const key = (ctx: FixContext) => (ctx.proto === 'tcp' ? 'ListenStream' : 'ListenDatagram');
  const onPort = (ctx: FixContext) => (line: string) => {
    const e = entryOf(line);
    return e.key === key(ctx) && e.port === ctx.port;
  };
  const twoSockets = (ctx: FixContext): DaemonFix => {
    // [::] V6ONLY beside 0.0.0.0: ipv6-only, or the two sockets collide (EADDRINUSE).
    const k = key(ctx);
    const lines = [
      ...bindLine(unit, 'ipv6-only'),
      ...relisted(unit, (l) => {
        if (!onPort(ctx)(l)) return [l];
        const { kind, address } = entryOf(l);
        // A wildcard (a bare port too) gets both wildcards; a specific address its twin in the other family.
        if (kind === 'port' || address === '0.0.0.0' || address === '::') return [`${k}=0.0.0.0:${ctx.port}`, `${k}=[::]:${ctx.port}`];
        return kind === 'ipv4' ? [l, `${k}=[${v6(ctx)}]:${ctx.port}`] : [`${k}=${v4(ctx)}:${ctx.port}`, l];
      }),
    ];
    return { summary: `give ${unit.unit} a 0.0.0.0:${ctx.port} and a [::]:${ctx.port} socket with BindIPv6Only=ipv6-only, in a drop-in.`, commands: dropInCommands(unit, lines, { ctx, sockets: 'a 0.0.0.0 socket plus a [::] socket with v6only:1' }) };
  };
  return {
    id: `socket-unit:${unit.unit}`,
    displayName: `systemd socket unit ${unit.unit}${unit.daemon ? ` (activates ${unit.daemon})` : ''}`,
    processNames: [],
    configFile: `${unit.file}:${unit.line}`,
    defaultListening: `PID 1 holds the sockets of ${unit.unit} (${unit.listens.join(', ')}; BindIPv6Only=${unit.bindIpv6Only}): the unit, not the daemon's own configuration, decides addresses and IPV6_V6ONLY`,
    addIpv6: twoSockets,
    addIpv4(ctx) {
      // Without IPv4 entries in the unit, one mapped socket per port is the smallest change;
      // with some, BindIPv6Only=both would make their [::] twins collide with them.
      if (!hasIpv4Entries(unit) && unit.listens.some((l) => onPort(ctx)(l) && (entryOf(l).kind === 'port' || entryOf(l).address === '::'))) {
        return {
          summary: `set BindIPv6Only=both for ${unit.unit} in a drop-in: its [::]:${ctx.port} socket then takes IPv4 clients too (as ::ffff:a.b.c.d).`,
          commands: dropInCommands(unit, ['BindIPv6Only=both'], { ctx, sockets: 'one [::] socket with v6only:0' }),
        };
      }
      return twoSockets(ctx);
    },
    separateSockets: twoSockets,
    aclDirective: `The daemon gets its sockets from ${unit.unit}: it sees IPv4 clients as the socket gives them (::ffff:a.b.c.d on a [::] socket with v6only:0).`,
    sources: SOCKET_UNIT_SOURCES,
  };
}
