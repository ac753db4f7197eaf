// Known kernel IPv6 bugs by version range, each with its sources. Distribution kernels
// backport fixes without changing the upstream version, so for non-RHEL kernels a match
// means "this upstream version had the bug": the distribution's advisory has the last word.

export interface KernelRelease {
  major: number;
  minor: number;
  patch: number;
  /** Fourth number of a stable release (2.6.22.1 -> 1), null when absent. */
  sub: number | null;
  distro: 'rhel' | null;
  /** First number after the dash of a RHEL/CentOS kernel: 2.6.18-92.el5 -> 92. */
  rhelBuild: number | null;
  /** All numbers of the RHEL release: 2.6.18-8.1.4.el5 -> [8, 1, 4]. */
  rhelRelease: number[] | null;
  /** RHEL major version from the .elN tag (5 for .el5); null for RHEL 4 style ".EL". */
  rhelMajor: number | null;
  /** Release candidate number (2.6.22-rc3 -> 3): a prerelease of major.minor.patch. */
  rc: number | null;
}

export interface KernelAdvisory {
  id: string;
  title: string;
  description: string;
  affects(release: string): boolean;
  fixedIn: string;
  /** Commands; `{gateway}` and `{interface}` are placeholders (see defaultRouteWorkaround). */
  workaround: string[];
  sources: string[];
}

// The version must end at the string's end or at a separator: "2.6.18-92.el5", "6.1.0+deb12".
const RELEASE_RE = /^(\d+)\.(\d+)(?:\.(\d+))?(?:\.(\d+))?(?=$|[-+_~])(.*)$/;
const RHEL_RE = /^-(\d+(?:\.\d+)*)\.el(\d+)/;
const RHEL4_RE = /^-(\d+(?:\.\d+)*)\.EL/;

/** Parses `uname -r` output; null when it does not start with a kernel version. */
export function parseKernelRelease(release: string): KernelRelease | null {
  const m = RELEASE_RE.exec(release.trim());
  if (!m) return null;
  const [, major, minor, patch, sub, rest = ''] = m;
  const parsed: KernelRelease = {
    major: Number(major),
    minor: Number(minor),
    patch: patch === undefined ? 0 : Number(patch),
    sub: sub === undefined ? null : Number(sub),
    distro: null,
    rhelBuild: null,
    rhelRelease: null,
    rhelMajor: null,
    rc: null,
  };
  const rc = /^-rc(\d+)/.exec(rest);
  if (rc) parsed.rc = Number(rc[1]);
  const rhel = RHEL_RE.exec(rest) ?? RHEL4_RE.exec(rest);
  if (rhel) {
    const numbers = rhel[1]!.split('.').map(Number);
    parsed.distro = 'rhel';
    parsed.rhelRelease = numbers;
    parsed.rhelBuild = numbers[0] ?? null;
    parsed.rhelMajor = rhel[2] === undefined ? null : Number(rhel[2]);
  }
  return parsed;
}

/** Lexicographic comparison of number tuples; missing parts count as 0. */
function compare(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

const upstream = (k: KernelRelease): number[] => [k.major, k.minor, k.patch, k.sub ?? 0];
const isRhel5 = (k: KernelRelease): boolean => k.distro === 'rhel' && k.rhelMajor === 5;

/** The two half-default routes that work around the 2.6 default-route bug (both are needed). */
export function defaultRouteWorkaround(gateway: string, iface: string): string[] {
  return [
    `ip -6 route add ::/1 via ${gateway} dev ${iface}`,
    `ip -6 route add 8000::/1 via ${gateway} dev ${iface}`,
  ];
}

const defaultRouteBug: KernelAdvisory = {
  id: 'linux-2.6-ipv6-default-route',
  title: 'Configured IPv6 default route not used (Linux 2.6 before mid-2007, RHEL 5 before 5.3)',
  description:
    'With IPv6 address autoconfiguration disabled, a statically configured default route (::/0) may not take effect: ' +
    'the host holds a global address but ping6 says "connect: Network is unreachable". The default route lives at the ' +
    'root node of the kernel\'s route tree with special default-router selection; ::/1 and 8000::/1 are ordinary routes, ' +
    'which is why the two halves together work around it (::/1 alone covers only the lower half, including 2000::/3). ' +
    'Fixed upstream in June 2007, i.e. in Linux 2.6.22 (released 8 July 2007); whether 2.6.21.y stable got it was not ' +
    'verified, so all of 2.6.0-2.6.21.y and 2.6.22 release candidates are flagged. RHEL 5 got the fix in 5.3 ' +
    '(kernel 2.6.18-128.el5, January 2009); RHEL 5.2 (2.6.18-92.el5) and earlier still have it. Make the routes ' +
    'persistent in the interface\'s network scripts, or upgrade the kernel.',
  affects(release) {
    const k = parseKernelRelease(release);
    if (!k) return false;
    if (isRhel5(k)) return (k.rhelBuild ?? 0) < 128;
    if (k.major !== 2 || k.minor !== 6) return false;
    return k.patch < 22 || (k.patch === 22 && k.rc !== null);
  },
  fixedIn: 'Linux 2.6.22 (fix merged June 2007, released 8 July 2007); RHEL 5.3 kernel 2.6.18-128.el5',
  workaround: defaultRouteWorkaround('{gateway}', '{interface}'),
  sources: [
    'Hosting operator field report, JANOG 23 (2009), as summarised in docs/linux-facts.md#the-old-default-route-bug: ::/1 + 8000::/1 needed on RHEL 5.2, fixed in RHEL 5.3',
    'Linux 2.6.22 released July 8, 2007 — https://www.eweek.com/servers/linux-releases-a-cleaner-tighter-kernel-2-6-22',
    'RHEL 5 kernel builds 2.6.18-92.el5 and 2.6.18-128.el5 (uname of a 2.6.18-128.el5 host: "#1 SMP Wed Jan 21 10:41:14 EST 2009")',
    'Linux 2.6.22 net/ipv6/ip6_fib.c, net/ipv6/route.c: ::/0 at the fib6 root, default router selection',
    'Public bug records kernel bugzilla 8349 / Red Hat bugzilla 243526: not found in the searched archives',
  ],
};

const rh0: KernelAdvisory = {
  id: 'CVE-2007-2242',
  title: 'IPv6 type 0 routing headers processed (CVE-2007-2242, deprecated by RFC 5095)',
  description:
    'The kernel executes IPv6 type 0 routing headers, so crafted packets can bounce between two hosts and amplify ' +
    'traffic (denial of service). The fix ("disallow RH0 by default") is in mainline 2.6.21 and stable 2.6.20.9; ' +
    '2.6.21.1 and 2.6.20.10 carry a follow-up correction. Kernels after the fix only accept type 2 routing headers ' +
    '(net.ipv6.conf.*.accept_source_route >= 0). Distribution kernels older than 2.6.20.9 were patched by their ' +
    'vendors (e.g. RHEL 5 2.6.18-8.1.4.el5, RHSA-2007:0347): check the distribution advisory before acting.',
  affects(release) {
    const k = parseKernelRelease(release);
    if (!k) return false;
    if (isRhel5(k)) return compare(k.rhelRelease ?? [], [8, 1, 4]) < 0;
    if (k.major === 2 && k.minor === 6 && k.patch === 21 && k.rc !== null) return true;
    return compare(upstream(k), [2, 6, 20, 9]) < 0;
  },
  fixedIn: 'Linux 2.6.21 and 2.6.20.9 (April 2007); RHEL 5 kernel 2.6.18-8.1.4.el5 (RHSA-2007:0347)',
  workaround: [
    'ip6tables -I INPUT -m rt --rt-type 0 -j DROP',
    'ip6tables -I FORWARD -m rt --rt-type 0 -j DROP',
    'ip6tables -I OUTPUT -m rt --rt-type 0 -j DROP',
  ],
  sources: [
    'CVE-2007-2242 — https://raw.githubusercontent.com/CVEProject/cvelistV5/main/cves/2007/2xxx/CVE-2007-2242.json',
    'FEDORA-2007-482: "Linux kernel 2.6.20.9 ... Fixes CVE-2007-2242" (ChangeLog-2.6.20.9)',
    'Mandriva kernel-linus changelog: 2.6.21.1 = "IPV6: Fix for RT0 header ipv6 change" + netlink fix (the RH0 change itself is in 2.6.21)',
    'ELSA/RHSA-2007-0347 changelog, 2.6.18-8.1.4.el5: "[net] disallow RH0 by default {CVE-2007-2242}" — https://linux.oracle.com/errata/ELSA-2007-0347.html',
    'RFC 5095, Deprecation of Type 0 Routing Headers in IPv6 — https://www.rfc-editor.org/rfc/rfc5095',
    'Linux Documentation/networking/ip-sysctl.rst: accept_source_route',
  ],
};

export const kernelAdvisories: KernelAdvisory[] = [defaultRouteBug, rh0];

export function advisoriesFor(release: string): KernelAdvisory[] {
  return kernelAdvisories.filter((advisory) => advisory.affects(release));
}
