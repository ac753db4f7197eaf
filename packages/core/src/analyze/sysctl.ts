// Effective IPv6 sysctl values per interface (Documentation/networking/ip-sysctl.rst).
import type { InterfaceSysctlsEffective, InterfaceSysctlsRaw } from '../report.js';

const on = (value: number | null): boolean => value !== null && value > 0;

/**
 * What the kernel does on one interface. `all` does not override accept_ra, autoconf,
 * accept_redirects or use_tempaddr of an existing interface; accept_source_route is
 * min(all, interface); writing all.forwarding or all.disable_ipv6 rewrites every interface,
 * so the interface's own value is the one in force.
 */
export function effectiveSysctls(iface: InterfaceSysctlsRaw, all: InterfaceSysctlsRaw | null): InterfaceSysctlsEffective {
  const forwarding = on(iface.forwarding);
  // accept_ra: 0 never; 1 only while forwarding is off; 2 even with forwarding on.
  const acceptRa = iface.accept_ra !== null && (iface.accept_ra >= 2 || (iface.accept_ra === 1 && !forwarding));
  const sourceRoute = [iface.accept_source_route, all?.accept_source_route ?? null].filter((v): v is number => v !== null);
  const tempaddr = iface.use_tempaddr ?? 0;
  return {
    acceptRa,
    acceptRaDefrtr: acceptRa && on(iface.accept_ra_defrtr),
    autoconf: acceptRa && on(iface.autoconf),
    forwarding,
    // Any nonzero value disables: the kernel stores what was written (-1 and 2 included) and
    // tests it for truth (checked in test/netns/sysctl-effective.test.ts). Only the interface's
    // own value counts: writing all.disable_ipv6 copies it into every interface.
    disableIpv6: iface.disable_ipv6 !== null && iface.disable_ipv6 !== 0,
    // "Functional default: enabled if local forwarding is disabled" (ip-sysctl.rst).
    acceptRedirects: on(iface.accept_redirects) && !forwarding,
    acceptSourceRoute: sourceRoute.length > 0 ? Math.min(...sourceRoute) : 0,
    useTempaddr: tempaddr <= 0 ? 'off' : tempaddr === 1 ? 'on' : 'prefer',
  };
}
