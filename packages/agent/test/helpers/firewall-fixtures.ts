// The captured firewall rule sets (test/fixtures/firewall, made by make-firewall-fixtures.ts:
// real nft / iptables-save output from namespaces, and what real connects did there).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FirewallChain, FirewallRuleset, FirewallTable } from '@dualstack/core';
import { combineFirewallOutputs, firewallCaptureFiles, type FirewallCaptureKey } from '../../src/firewall/read.js';
import { FIXTURES } from './proc-fixtures.js';

export type FirewallScenario =
  | 'empty'
  | 'nft-inet'
  | 'iptables-only'
  | 'ip6tables-drop'
  | 'iptables-legacy'
  | 'ip6-no-nd'
  | 'nft-realistic'
  | 'iptables-realistic'
  | 'ufw'
  | 'firewalld';

export const FIREWALL_SCENARIOS: FirewallScenario[] = ['empty', 'nft-inet', 'iptables-only', 'ip6tables-drop', 'iptables-legacy', 'ip6-no-nd', 'nft-realistic', 'iptables-realistic', 'ufw', 'firewalld'];

export const firewallFile = (scenario: FirewallScenario, file: string): string => join(FIXTURES, 'firewall', scenario, file);

/** One captured output, as the command printed it. */
export function firewallOutput(scenario: FirewallScenario, key: FirewallCaptureKey): string {
  return readFileSync(firewallFile(scenario, firewallCaptureFiles[key]), 'utf8');
}

/** Every output a capture of the scenario kept, by capture key. */
export function firewallOutputs(scenario: FirewallScenario): Partial<Record<FirewallCaptureKey, string>> {
  const outputs: Partial<Record<FirewallCaptureKey, string>> = {};
  for (const [key, file] of Object.entries(firewallCaptureFiles) as Array<[FirewallCaptureKey, string]>) {
    const path = firewallFile(scenario, file);
    if (existsSync(path)) outputs[key] = readFileSync(path, 'utf8');
  }
  return outputs;
}

/** The rule sets a replay of the scenario judges (the agent's own combination). */
export const firewallRulesets = (scenario: FirewallScenario): FirewallRuleset[] => combineFirewallOutputs(firewallOutputs(scenario));

/** What the peer's connects did in the scenario's namespace: "ok" or the errno. */
export interface Observed {
  peer: { ipv4: string; ipv6: string };
  interface: string;
  connects: Record<string, { ipv4: string; ipv6: string }>;
}

export const observed = (scenario: FirewallScenario): Observed => JSON.parse(readFileSync(firewallFile(scenario, 'observed.json'), 'utf8')) as Observed;

export function table(ruleset: FirewallRuleset, family: string, name: string): FirewallTable {
  const found = ruleset.tables.find((t) => t.family === family && t.name === name);
  if (!found) throw new Error(`no table ${family} ${name} in ${ruleset.command}: ${ruleset.tables.map((t) => `${t.family} ${t.name}`).join(', ')}`);
  return found;
}

export function chain(t: FirewallTable, name: string): FirewallChain {
  const found = t.chains.find((c) => c.name === name);
  if (!found) throw new Error(`no chain ${name} in ${t.family} ${t.name}`);
  return found;
}
