// The kernel's own answer on whether this host can reach the wider internet, per family:
// a UDP connect() sends no packet but makes the kernel pick a route, and fails with
// ENETUNREACH exactly when ping would say "Network is unreachable".
import dgram from 'node:dgram';
import { lookupRoute, type Family, type Reachability, type Route } from '@dualstack/core';

/** Documentation addresses (RFC 3849, RFC 9637, RFC 5737): never the address of a real host. */
export const probeTargets: Record<Family, string[]> = {
  6: ['2001:db8::1', '2001:db8:ffff:ffff::1', '3fff::1'],
  4: ['192.0.2.1', '198.51.100.1', '203.0.113.1'],
};

/**
 * Routes at least this specific are the host's own networks; shorter ones (the default, and
 * the `::/1` + `8000::/1` halves of the old workaround) stand for "the internet".
 */
const SPECIFIC_PREFIX: Record<Family, number> = { 6: 16, 4: 8 };

/** The first documentation address that only a default-like route covers. */
export function chooseProbeTarget(family: Family, routes: Route[]): { target: string; note?: string } {
  const candidates = probeTargets[family];
  for (const target of candidates) {
    const route = lookupRoute(routes, target);
    if (!route || route.prefixLength < SPECIFIC_PREFIX[family]) return { target };
  }
  return { target: candidates[0]!, note: 'every documentation prefix is routed more specifically here; the answer may not be about the default route' };
}

export function probeFamily(family: Family, routes: Route[], timeoutMs = 2000): Promise<Reachability> {
  const { target, note } = chooseProbeTarget(family, routes);
  const matched = lookupRoute(routes, target);
  const route = matched
    ? { destination: matched.destination, prefixLength: matched.prefixLength, gateway: matched.gateway, interface: matched.interface }
    : null;
  const base = { family, target, route, ...(note ? { note } : {}) };
  return new Promise((resolve) => {
    let socket: dgram.Socket;
    try {
      socket = dgram.createSocket(family === 6 ? 'udp6' : 'udp4');
    } catch (error) {
      resolve({ ...base, reachable: null, error: (error as NodeJS.ErrnoException).code ?? String(error), sourceAddress: null });
      return;
    }
    const timer = setTimeout(() => finish({ ...base, reachable: null, error: 'ETIMEDOUT', sourceAddress: null }), timeoutMs);
    const finish = (result: Reachability) => {
      clearTimeout(timer);
      try {
        socket.close();
      } catch {
        /* already closed */
      }
      resolve(result);
    };
    socket.on('error', (error: NodeJS.ErrnoException) => finish({ ...base, reachable: null, error: error.code ?? error.message, sourceAddress: null }));
    // Port 9 (discard): nothing is sent, the port only completes the address.
    socket.connect(9, target, (error?: Error) => {
      if (error) {
        const code = (error as NodeJS.ErrnoException).code ?? error.message;
        const unreachable = code === 'ENETUNREACH' || code === 'EHOSTUNREACH' || code === 'EADDRNOTAVAIL';
        finish({ ...base, reachable: unreachable ? false : null, error: code, sourceAddress: null });
        return;
      }
      finish({ ...base, reachable: true, error: null, sourceAddress: socket.address().address });
    });
  });
}
