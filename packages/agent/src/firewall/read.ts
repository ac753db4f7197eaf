// Reads the host firewall: the nftables rule set (`nft -j list ruleset`), the iptables-nft
// tables in their own syntax (their xt matches are opaque in nft's JSON), and the legacy
// iptables tables where the kernel has them (/proc/net/ip{,6}_tables_names). Each command's
// output is kept for capture; parsing is pure (nft-json.ts, iptables-save.ts).
import type { FirewallRuleset } from '@dualstack/core';
import { CommandFailedError, runCommand } from '../command.js';
import { readProcText, type ProcRoot } from '../proc/root.js';
import { parseIptablesSave } from './iptables-save.js';
import { NFT_ARGS, NFT_COMMAND, parseNftJson } from './nft-json.js';

/** Capture file names of each command's output. */
export const firewallCaptureFiles = {
  nft: 'nft-ruleset.json',
  iptablesNft: 'iptables-nft-save.txt',
  ip6tablesNft: 'ip6tables-nft-save.txt',
  iptablesLegacy: 'iptables-legacy-save.txt',
  ip6tablesLegacy: 'ip6tables-legacy-save.txt',
} as const;
export type FirewallCaptureKey = keyof typeof firewallCaptureFiles;

/** The save commands, with the family and backend of what they print. */
export const SAVE_COMMANDS: Record<Exclude<FirewallCaptureKey, 'nft'>, { binary: string; family: 'ip' | 'ip6'; backend: 'iptables-nft' | 'iptables-legacy' }> = {
  iptablesNft: { binary: 'iptables-nft-save', family: 'ip', backend: 'iptables-nft' },
  ip6tablesNft: { binary: 'ip6tables-nft-save', family: 'ip6', backend: 'iptables-nft' },
  iptablesLegacy: { binary: 'iptables-legacy-save', family: 'ip', backend: 'iptables-legacy' },
  ip6tablesLegacy: { binary: 'ip6tables-legacy-save', family: 'ip6', backend: 'iptables-legacy' },
};

/** Table names iptables-nft creates in nftables; their rules are read from the save output. */
const XTABLES_NAMES = new Set(['filter', 'nat', 'mangle', 'raw', 'security']);

export const NOT_PERMITTED = 'firewall not read (needs CAP_NET_ADMIN: see docs/firewall.md)';
/**
 * nftables was listed but the legacy tables were refused: iptables-legacy-save opens a raw
 * socket, which needs CAP_NET_RAW besides CAP_NET_ADMIN ("Permission denied (you must be
 * root)"). The kernel applies those tables too, so no verdict can be given without them.
 */
export const legacyNotPermitted = (binaries: string[]) =>
  `legacy iptables tables not read: ${binaries.join(' and ')} refused (needs CAP_NET_RAW besides CAP_NET_ADMIN: see docs/firewall.md)`;

export interface FirewallRead {
  rulesets: FirewallRuleset[];
  /** Raw output per capture file, as printed. */
  outputs: Partial<Record<FirewallCaptureKey, string>>;
  /** Why the rule sets are incomplete (tool missing, not permitted); empty when all was read. */
  problems: string[];
  /** Whether anything could be read at all: false means every verdict is unknown. */
  read: boolean;
}

/**
 * Combines the outputs into rule sets: nftables tables that iptables-nft manages are taken
 * from its save output instead of the JSON, so their matches are not opaque. Pure.
 */
export function combineFirewallOutputs(outputs: Partial<Record<FirewallCaptureKey, string>>): FirewallRuleset[] {
  const rulesets: FirewallRuleset[] = [];
  const fromSave = new Set<string>();
  for (const key of ['iptablesNft', 'ip6tablesNft', 'iptablesLegacy', 'ip6tablesLegacy'] as const) {
    const text = outputs[key];
    if (text === undefined) continue;
    const { binary, family, backend } = SAVE_COMMANDS[key];
    const ruleset = parseIptablesSave(text, family, backend, binary);
    if (ruleset.tables.length === 0) continue;
    if (backend === 'iptables-nft') for (const t of ruleset.tables) fromSave.add(`${family} ${t.name}`);
    rulesets.push(ruleset);
  }
  if (outputs.nft !== undefined) {
    const nft = parseNftJson(outputs.nft);
    nft.tables = nft.tables.filter((t) => !fromSave.has(`${t.family} ${t.name}`));
    rulesets.unshift(nft);
  }
  return rulesets;
}

const notPermitted = (error: unknown) => error instanceof CommandFailedError && /Operation not permitted|Permission denied/i.test(error.stderr);

export async function readFirewall(procRoot: ProcRoot, opts: { nftBinary?: string; timeoutMs?: number } = {}): Promise<FirewallRead> {
  const outputs: Partial<Record<FirewallCaptureKey, string>> = {};
  const problems: string[] = [];
  const denied = new Set<FirewallCaptureKey>();
  // nft or a legacy save that did not print its tables (refused, missing, failed): those
  // tables still filter, so no verdict can be given without them. iptables-nft's tables are
  // in nft's JSON as well (their xt matches opaque: unknown only where one decides).
  let failed = false;
  const run = async (key: FirewallCaptureKey, binary: string, args: readonly string[], debianPackage: string): Promise<void> => {
    try {
      outputs[key] = await runCommand(binary, args, { maxBuffer: 256 * 1024 * 1024, timeoutMs: opts.timeoutMs ?? 30_000, debianPackage });
    } catch (error) {
      const fromNftToo = key === 'iptablesNft' || key === 'ip6tablesNft';
      if (!fromNftToo) failed = true;
      if (notPermitted(error) && !fromNftToo) denied.add(key);
      else problems.push((error as Error).message);
    }
  };
  await run('nft', opts.nftBinary ?? 'nft', NFT_ARGS, 'nftables');
  if (outputs.nft !== undefined) {
    // Tables with iptables' names in the ip/ip6 families are (usually) iptables-nft's.
    const nft = parseNftJson(outputs.nft);
    const families = new Set(nft.tables.filter((t) => (t.family === 'ip' || t.family === 'ip6') && XTABLES_NAMES.has(t.name)).map((t) => t.family));
    if (families.has('ip')) await run('iptablesNft', 'iptables-nft-save', [], 'iptables');
    if (families.has('ip6')) await run('ip6tablesNft', 'ip6tables-nft-save', [], 'iptables');
  }
  // The legacy backend lists its loaded tables here (mode 0440: root or CAP_DAC_READ_SEARCH);
  // no file, no legacy rules. Listing them needs CAP_NET_RAW besides CAP_NET_ADMIN.
  let legacyUnknown = false;
  for (const [file, key] of [['net/ip_tables_names', 'iptablesLegacy'], ['net/ip6_tables_names', 'ip6tablesLegacy']] as const) {
    let names: string | null;
    try {
      names = readProcText(procRoot, file);
    } catch (error) {
      legacyUnknown = true;
      problems.push(`legacy iptables not checked: /proc/${file} is unreadable (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}; needs root or CAP_DAC_READ_SEARCH)`);
      continue;
    }
    if ((names ?? '').trim()) await run(key, SAVE_COMMANDS[key].binary, [], 'iptables');
  }
  // The capability to name: CAP_NET_ADMIN when nft was refused (the drop-in grants both);
  // when only the legacy saves were, nftables was listed and CAP_NET_RAW is what is missing.
  const legacyDenied = (['iptablesLegacy', 'ip6tablesLegacy'] as const).filter((k) => denied.has(k));
  if (denied.has('nft')) problems.unshift(NOT_PERMITTED);
  else if (legacyDenied.length > 0) problems.unshift(legacyNotPermitted(legacyDenied.map((k) => SAVE_COMMANDS[k].binary)));
  const read = !failed && !legacyUnknown;
  return { rulesets: combineFirewallOutputs(outputs), outputs, problems, read };
}
