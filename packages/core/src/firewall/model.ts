// The host firewall as the evaluator sees it: tables, chains and rules whose expressions are
// nftables' own JSON forms (`nft -j list ruleset`, libnftables-json(5)). Legacy
// iptables-save output is translated into the same forms by the agent, so one evaluator
// serves both backends. Pure data: no I/O here.

/** Where a rule set was read from: a host can have several at once, and the kernel applies all. */
export type FirewallBackend = 'nftables' | 'iptables-nft' | 'iptables-legacy';

/** One nftables JSON expression or statement, e.g. `{ match: { op, left, right } }` or `{ accept: null }`. */
export type NftExpr = Record<string, unknown>;

export interface FirewallRule {
  /** nftables rule handle (`nft -a`), null for iptables rules. */
  handle: number | null;
  /** Line in the iptables-save output, null for nftables rules. */
  line: number | null;
  /** The rule as the operator wrote it: the `-A CHAIN ...` line, or the nft rule printed from its JSON. */
  text: string;
  expr: NftExpr[];
}

export interface FirewallChain {
  name: string;
  /** Base chains only: netfilter hook and priority; regular chains have null. */
  hook: string | null;
  priority: number | null;
  type: string | null;
  policy: 'accept' | 'drop' | null;
  rules: FirewallRule[];
}

export interface FirewallSet {
  name: string;
  /** Elements in nftables JSON forms: scalars, `{ prefix }`, `{ range }`. */
  elements: unknown[];
}

export interface FirewallTable {
  family: string;
  name: string;
  chains: FirewallChain[];
  sets: FirewallSet[];
}

export interface FirewallRuleset {
  backend: FirewallBackend;
  /** Which command printed it, for the report: `nft -j list ruleset`, `ip6tables-legacy-save` ... */
  command: string;
  tables: FirewallTable[];
}
