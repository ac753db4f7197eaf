#!/usr/bin/env python3
"""Send ICMPv6 Router Advertisements (RFC 4861 4.2) from a raw socket. Test helper.

Run it inside the router's network namespace (see sendRouterAdvertisement() in netns.ts):

  ip netns exec ROUTER python3 ra-sender.py --iface veth0 --prefix 2001:db8:2::/64 \
      --router-lifetime 1800 --count 1 --interval 1

The RA goes from the interface's link-local address to ff02::1 with hop limit 255 (the
receiver drops RAs that are not link-local sourced or whose hop limit is not 255). The
kernel fills in the ICMPv6 checksum for IPPROTO_ICMPV6 raw sockets (RFC 3542 3.1).
Options carried: Source Link-Layer Address, and a Prefix Information option per --prefix
(flags L and A unless turned off), optionally MTU.

Prints one JSON line per RA sent: {"sent": n, "src": "fe80::...", "iface": ..., "bytes": ...}.
No third-party modules (no scapy).
"""
import argparse
import fcntl
import ipaddress
import json
import socket
import struct
import sys
import time

ND_ROUTER_ADVERT = 134
OPT_SLLA = 1
OPT_PREFIX = 3
OPT_MTU = 5
SIOCGIFHWADDR = 0x8927
IFA_F_TENTATIVE = 0x40
IFA_F_DADFAILED = 0x08
PREFERENCE = {"medium": 0b00, "high": 0b01, "low": 0b11}


def die(msg):
    print(f"ra-sender: {msg}", file=sys.stderr)
    sys.exit(2)


def link_local(iface):
    """The usable (non-tentative) link-local address of iface, from /proc/net/if_inet6."""
    seen = []
    with open("/proc/net/if_inet6") as f:
        for line in f:
            fields = line.split()
            if len(fields) != 6 or fields[5] != iface:
                continue
            addr = ipaddress.IPv6Address(bytes.fromhex(fields[0]))
            scope, flags = int(fields[3], 16), int(fields[4], 16)
            if scope != 0x20:
                continue
            seen.append((str(addr), flags))
            if not flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED):
                return str(addr)
    if seen:
        die(f"{iface}: link-local address not usable yet (tentative or dadfailed): {seen}")
    die(f"{iface}: no link-local address (is the link up? disable_ipv6? addr_gen_mode none?)")


def hwaddr(iface):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        info = fcntl.ioctl(s.fileno(), SIOCGIFHWADDR, struct.pack("256s", iface.encode()[:15]))
    finally:
        s.close()
    return info[18:24]


def parse_prefix(text):
    try:
        net = ipaddress.IPv6Network(text, strict=True)
    except ValueError as e:
        die(f"--prefix {text}: {e}")
    return net


def build_ra(args, mac):
    flags = 0
    if args.managed:
        flags |= 0x80
    if args.other:
        flags |= 0x40
    flags |= PREFERENCE[args.preference] << 3
    # type, code, checksum (0: the kernel computes it), cur hop limit, flags,
    # router lifetime, reachable time, retrans timer
    msg = struct.pack("!BBHBBHII", ND_ROUTER_ADVERT, 0, 0, args.hop_limit, flags,
                      args.router_lifetime, args.reachable_time, args.retrans_timer)
    if mac and any(mac):
        msg += struct.pack("!BB", OPT_SLLA, 1) + mac
    if args.mtu:
        msg += struct.pack("!BBHI", OPT_MTU, 1, 0, args.mtu)
    for net in args.prefix:
        pflags = (0 if args.no_onlink else 0x80) | (0 if args.no_autonomous else 0x40)
        msg += struct.pack("!BBBBIII", OPT_PREFIX, 4, net.prefixlen, pflags,
                           args.valid_lifetime, args.preferred_lifetime, 0)
        msg += net.network_address.packed
    return msg


def main():
    p = argparse.ArgumentParser(description="Send ICMPv6 Router Advertisements (test helper).")
    p.add_argument("--iface", required=True)
    p.add_argument("--prefix", action="append", type=parse_prefix, default=[],
                   help="Prefix Information option, e.g. 2001:db8:2::/64 (repeatable; none = no PIO)")
    p.add_argument("--router-lifetime", type=int, default=1800, help="seconds, 0..65535; 0 = not a default router")
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--interval", type=float, default=1.0, help="seconds between RAs")
    p.add_argument("--valid-lifetime", type=int, default=86400)
    p.add_argument("--preferred-lifetime", type=int, default=14400)
    p.add_argument("--no-onlink", action="store_true", help="clear the L flag")
    p.add_argument("--no-autonomous", action="store_true", help="clear the A flag")
    p.add_argument("--hop-limit", type=int, default=64, help="Cur Hop Limit advertised")
    p.add_argument("--preference", choices=sorted(PREFERENCE), default="medium")
    p.add_argument("--managed", action="store_true", help="M flag")
    p.add_argument("--other", action="store_true", help="O flag")
    p.add_argument("--reachable-time", type=int, default=0)
    p.add_argument("--retrans-timer", type=int, default=0)
    p.add_argument("--mtu", type=int, default=0)
    p.add_argument("--dst", default="ff02::1", help="destination (default all-nodes)")
    args = p.parse_args()
    if not 0 <= args.router_lifetime <= 65535:
        die("--router-lifetime must be 0..65535")
    if args.count < 1:
        die("--count must be >= 1")

    try:
        ifindex = socket.if_nametoindex(args.iface)
    except OSError:
        die(f"no such interface: {args.iface}")
    src = link_local(args.iface)
    mac = hwaddr(args.iface)
    ra = build_ra(args, mac)

    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    try:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, 255)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, ifindex)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_LOOP, 0)
        s.bind((src, 0, 0, ifindex))
        for i in range(args.count):
            if i:
                time.sleep(args.interval)
            n = s.sendto(ra, (args.dst, 0, 0, ifindex))
            print(json.dumps({"sent": i + 1, "src": src, "iface": args.iface, "bytes": n,
                              "routerLifetime": args.router_lifetime,
                              "prefixes": [str(x) for x in args.prefix]}), flush=True)
    except OSError as e:
        die(f"send failed: {e}")
    finally:
        s.close()


if __name__ == "__main__":
    main()
