// Services whose sockets PID 1 holds, matched to the systemd socket unit that listed them: the
// service is then named after the daemon the unit activates, and carries the unit (file, line,
// BindIPv6Only=) so the rules fix the unit, not the daemon's configuration.
import type { DaemonConfig, Service, SocketUnit } from '../report.js';
import { commOf, listenSocket, socketUnitNames, socketUnitState, type SocketUnitState } from '../knowledge/socket-units/listen.js';
import { parseAddress, formatAddress } from '../ip.js';

const same = (a: string, b: string) => {
  try {
    return formatAddress(parseAddress(a)) === formatAddress(parseAddress(b));
  } catch {
    return a === b;
  }
};

/** How many of the service's sockets the unit's Listen entries account for (0: not this unit). */
function matches(service: Service, state: SocketUnitState, kernelHasIpv6: boolean): { count: number; first: SocketUnitState['listens'][number] | null } {
  let count = 0;
  let first: SocketUnitState['listens'][number] | null = null;
  for (const binding of service.bindings) {
    const listen = state.listens.find((l) => {
      if (l.proto !== service.proto) return false;
      const socket = listenSocket(l, kernelHasIpv6);
      return socket !== null && socket.port === service.port && socket.family === binding.family && same(socket.address, binding.address);
    });
    if (!listen) return { count: 0, first: null };
    count++;
    first ??= listen;
  }
  return { count, first };
}

/**
 * Sets socketUnit, process and unit on each PID-1 service a socket unit accounts for (every
 * binding matched by one of the unit's Listen entries). `kernelHasIpv6` decides what a bare
 * port opened ([::] or 0.0.0.0).
 */
export function attachSocketUnits(services: Service[], configs: DaemonConfig[] | undefined, kernelHasIpv6: boolean): void {
  const config = configs?.find((c) => c.daemon === 'systemd-socket');
  if (!config) return;
  const states = socketUnitNames(config.directives).map((unit) => socketUnitState(unit, config.directives));
  for (const service of services) {
    if (service.pid !== 1) continue;
    let best: { state: SocketUnitState; count: number; first: SocketUnitState['listens'][number] } | null = null;
    for (const state of states) {
      const m = matches(service, state, kernelHasIpv6);
      if (m.first && (!best || m.count > best.count)) best = { state, count: m.count, first: m.first };
    }
    if (!best) continue;
    const { state, first } = best;
    const socketUnit: SocketUnit = {
      unit: state.unit,
      file: first.directive.file,
      line: first.directive.line,
      listen: `${first.directive.key}=${first.directive.value.trim()}`,
      bindIpv6Only: state.bindIpv6Only,
      listens: state.listens.map((l) => `${l.directive.key}=${l.directive.value.trim()}`),
      accept: state.accept,
      service: state.service,
      daemon: state.daemon,
    };
    service.socketUnit = socketUnit;
    service.unit = state.unit;
    service.process = state.daemon ? commOf(state.daemon) : state.unit;
  }
}
