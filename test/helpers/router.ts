// A router and a host joined by veth, for kernel-checked routing scenarios.
//
//   host veth0  2001:db8:2::2/64, 192.0.2.2/24   <->   router veth1  2001:db8:2::1/64, 192.0.2.1/24
//
// The router forwards (net.ipv6.conf.all.forwarding=1, net.ipv4.ip_forward=1), so it answers
// neighbour solicitations with the Router flag set (RFC 4861 7.2.4) and can send real router
// advertisements (sendRouterAdvertisement from netns.ts). The host gets its addresses
// statically and, on request, static default routes via the router; everything else
// (RA handling, other tables) is left to the test.
import { addAddress, linkVeth, Netns } from './netns.js';

export const ROUTER6 = '2001:db8:2::1';
export const ROUTER4 = '192.0.2.1';
export const HOST6 = '2001:db8:2::2';
export const HOST4 = '192.0.2.2';
/** Interface names: the host's side and the router's side of the veth pair. */
export const HOST_IF = 'veth0';
export const ROUTER_IF = 'veth1';

export interface RoutedHost {
  host: Netns;
  router: Netns;
  destroy(): Promise<void>;
}

/**
 * Creates `<prefix>r` (router) and `<prefix>h` (host). `defaults` chooses which static default
 * routes the host gets via the router (main table): none unless asked.
 */
export async function routedHost(prefix: string, opts: { defaults?: { 4?: boolean; 6?: boolean } } = {}): Promise<RoutedHost> {
  const router = await Netns.create(`${prefix}r`);
  let host: Netns | undefined;
  try {
    host = await Netns.create(`${prefix}h`);
    await linkVeth(host, HOST_IF, router, ROUTER_IF);
    await router.sysctl('net.ipv6.conf.all.forwarding', '1');
    await router.sysctl('net.ipv4.ip_forward', '1');
    await addAddress(router, ROUTER_IF, `${ROUTER6}/64`);
    await addAddress(router, ROUTER_IF, `${ROUTER4}/24`);
    await addAddress(host, HOST_IF, `${HOST6}/64`);
    await addAddress(host, HOST_IF, `${HOST4}/24`);
    if (opts.defaults?.[4]) await host.ip('route', 'add', 'default', 'via', ROUTER4, 'dev', HOST_IF);
    if (opts.defaults?.[6]) await host.ip('-6', 'route', 'add', 'default', 'via', ROUTER6, 'dev', HOST_IF);
  } catch (error) {
    await Promise.allSettled([router.destroy(), host?.destroy()]);
    throw error;
  }
  const h = host;
  return { host: h, router, destroy: async () => void (await Promise.allSettled([h.destroy(), router.destroy()])) };
}
