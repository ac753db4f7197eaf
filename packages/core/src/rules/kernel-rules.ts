// Kernel rules: known IPv6 bugs of the running kernel release (knowledge/kernels.ts).
import { advisoriesFor, parseKernelRelease, type KernelAdvisory } from '../knowledge/kernels.js';
import { defineRule, finding, type RuleFacts } from './rule.js';
import { defaultRoutes, gatewayCandidates, kernelHasIpv6, placeholder, reachability, usableGlobalAddresses } from './facts.js';

/** The IPv6 gateway and interface a workaround should use, and where they come from. */
function workaroundTarget(facts: RuleFacts): { gateway: string | null; iface: string | null; from: string | null } {
  const preferred = usableGlobalAddresses(facts, 6)[0]?.interface;
  // The configured default is what the old bug ignores: its gateway is the one to use.
  const configured = defaultRoutes(facts, 6).find((r) => r.gateway !== null && (!preferred || r.interface === preferred)) ?? defaultRoutes(facts, 6).find((r) => r.gateway !== null);
  if (configured?.gateway) return { gateway: configured.gateway, iface: configured.interface, from: 'the configured IPv6 default route' };
  const candidate = gatewayCandidates(facts, 6, preferred)[0];
  if (candidate) return { gateway: candidate.gateway, iface: candidate.interface ?? preferred ?? null, from: candidate.from };
  return { gateway: null, iface: preferred ?? null, from: null };
}

/** Fills `{gateway}` and `{interface}`; a line that still lacks a value becomes a comment. */
function fillWorkaround(advisory: KernelAdvisory, facts: RuleFacts): { commands: string[]; note: string | null } {
  const needsRoute = advisory.workaround.some((c) => c.includes('{gateway}') || c.includes('{interface}'));
  if (!needsRoute) return { commands: [...advisory.workaround], note: null };
  const target = workaroundTarget(facts);
  const commands = advisory.workaround.map((line) => {
    const filled = line.replaceAll('{gateway}', target.gateway ?? placeholder('IPv6-gateway')).replaceAll('{interface}', target.iface ?? placeholder('interface'));
    return target.gateway && target.iface ? filled : `# ${filled}   (no IPv6 gateway found on this host: fill in your router and interface)`;
  });
  if (target.gateway && target.iface) {
    commands.push(`# keep them across reboots, e.g. RHEL: add "::/1 via ${target.gateway} dev ${target.iface}" and "8000::/1 via ${target.gateway} dev ${target.iface}" to /etc/sysconfig/network-scripts/route6-${target.iface}`);
  }
  return { commands, note: target.from ? `gateway ${target.gateway} on ${target.iface} from ${target.from}` : null };
}

export const kernelIpv6Advisory = defineRule({
  id: 'kernel-ipv6-advisory',
  title: 'The running kernel release has a known IPv6 bug.',
  severity: 'warning',
  profile: 'default',
  docs:
    'A small cited table of kernel IPv6 bugs by version: the Linux 2.6 default-route bug (a configured IPv6 default route not used; fixed upstream in June 2007 and in RHEL 5.3, worked around with the ::/1 and 8000::/1 half routes, both needed) and CVE-2007-2242 (type 0 routing headers processed, deprecated by RFC 5095). One finding per advisory, with its sources and the workaround filled in with this host\'s gateway and interface where one is known. Distribution kernels backport fixes without changing the upstream version, so outside RHEL a match means "this upstream version had the bug": the distribution\'s advisory has the last word. Not raised while the kernel has IPv6 off.',
  sources: ['dualstack knowledge base (packages/core/src/knowledge/kernels.ts) and the sources of each advisory', 'docs/linux-facts.md#the-old-default-route-bug', 'CVE-2007-2242', 'RFC 5095'],
  check(facts) {
    const release = facts.host.os.kernel;
    if (!release || !kernelHasIpv6(facts)) return [];
    const parsed = parseKernelRelease(release);
    return advisoriesFor(release).map((advisory) => {
      const { commands, note } = fillWorkaround(advisory, facts);
      const evidence = [advisory.description, `kernel release ${release}`, `fixed in ${advisory.fixedIn}`];
      if (parsed && parsed.distro === null) evidence.push('not a RHEL kernel: distribution kernels backport fixes without changing the version, so check the distribution advisory');
      if (advisory.id === 'linux-2.6-ipv6-default-route') {
        const answer = reachability(facts, 6);
        if (answer?.reachable === true) evidence.push(`IPv6 routing works now (the kernel reached ${answer.target}); the bug shows when the default route is configured statically with autoconfiguration off`);
        else if (answer?.reachable === false) evidence.push(`IPv6 routing fails now: ${answer.target} answered ${answer.error ?? 'unreachable'} (see ipv6-unroutable)`);
      }
      if (note) evidence.push(note);
      evidence.push(...advisory.sources.map((s) => `source: ${s}`));
      return finding(this, {
        subject: 'kernel',
        message: `Kernel ${release}: ${advisory.title}.`,
        evidence,
        fix: { summary: `Upgrade the kernel (fixed in ${advisory.fixedIn}); until then apply the workaround below.`, commands },
      });
    });
  },
});

