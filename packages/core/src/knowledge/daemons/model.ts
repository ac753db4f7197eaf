// The shape of a daemon's entry in the knowledge base and the helpers the entries share.
// Defaults are for Debian 12 packages (see docs/daemon-defaults.md), RHEL paths where they
// differ. Every entry lists its sources; where a daemon cannot do something (e.g. separate
// sockets) the method is left out and `defaultListening` says why.

export interface FixContext {
  proto: 'tcp' | 'udp';
  port: number;
  /** The host's own global addresses (may be empty): used when a fix needs a specific address. */
  ipv4Addresses: string[];
  ipv6Addresses: string[];
  /** systemd unit of the service when known (Service.unit), used in restart commands. */
  unit?: string | null;
}

export interface DaemonFix {
  summary: string;
  /** Config lines and shell commands with this host's port (and addresses) filled in. */
  commands: string[];
}

export interface DaemonKnowledge {
  id: string;
  displayName: string;
  /** Exactly as /proc/[pid]/comm shows them (at most 15 characters). */
  processNames: string[];
  configFile: string;
  defaultListening: string;
  /** The service is IPv4-only: make it dual-stack. */
  addIpv6(ctx: FixContext): DaemonFix;
  /** The service is IPv6-only: make it dual-stack. */
  addIpv4(ctx: FixContext): DaemonFix;
  /** The service takes IPv4 as ::ffff: mapped: how to get two sockets, if the daemon can. */
  separateSockets?(ctx: FixContext): DaemonFix;
  aclDirective: string;
  sources: string[];
}

export const DEBIAN_DEFAULTS = 'docs/daemon-defaults.md (Debian 12 packaged configs, checked in network namespaces)';

// --- helpers -----------------------------------------------------------------------------

/** Shows every listening socket on the port with its V6ONLY flag (`ss -e` prints v6only:0|1). */
export function check(ctx: FixContext, expect: string): string {
  const kind = ctx.proto === 'tcp' ? 't' : 'u';
  return `ss -Hl${kind}ne 'sport = :${ctx.port}'   # expect: ${expect}`;
}

export const BOTH = 'a 0.0.0.0 socket plus a [::] socket with v6only:1';
export const MAPPED = 'one * / [::] socket with v6only:0';

export function v4(ctx: FixContext): string {
  return ctx.ipv4Addresses[0] ?? '{ipv4-address}';
}

export function v6(ctx: FixContext): string {
  return ctx.ipv6Addresses[0] ?? '{ipv6-address}';
}

export function unit(ctx: FixContext, fallback: string): string {
  return ctx.unit ? ctx.unit.replace(/\.service$/, '') : fallback;
}

/** Note for fixes that need specific addresses the host does not have. */
export function addressNote(ctx: FixContext): string {
  const missing: string[] = [];
  if (ctx.ipv4Addresses.length === 0) missing.push('IPv4');
  if (ctx.ipv6Addresses.length === 0) missing.push('IPv6');
  return missing.length === 0
    ? ''
    : ` This host reported no global ${missing.join(' or ')} address: replace the {…-address} placeholders.`;
}
