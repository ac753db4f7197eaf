// An endpoint judged from what the store holds: core's endpoint rules (evaluateEndpoint) over the
// fresh vantage points' latest probes and the declared backends, and core's per-vantage family
// verdicts (familyVerdicts) for every vantage point, stale ones included so the API can show
// them. Pure; computed at each read, so findings always follow the latest probes and the
// current declarations (nothing to keep in step).
import {
  evaluateEndpoint,
  familyVerdicts,
  parseEndpointUrl,
  type EndpointAddress,
  type EndpointFacts,
  type EndpointFamilyVerdict,
  type EndpointVantageVerdict,
  type Finding,
} from '@dualstack/core';
import type { EndpointInput, ProbeHistoryEntry, StoredView } from './records.js';

export interface VantageEvaluation extends EndpointVantageVerdict {
  view: StoredView;
}

export interface EndpointEvaluation {
  input: EndpointInput;
  address: EndpointAddress;
  /** What the rules judged: the fresh views only. */
  facts: EndpointFacts;
  findings: Finding[];
  /** Every vantage point that probed the endpoint, by host id, with its family verdicts. */
  vantages: VantageEvaluation[];
  /** Per family, the worst verdict among the fresh vantage points (see overallVerdict). */
  families: { ipv4: EndpointFamilyVerdict; ipv6: EndpointFamilyVerdict };
  /** The newest probedAt of any vantage point; null when none probed it. */
  lastProbed: string | null;
}

// Worst first. 'untested' only when no fresh vantage point tested the family.
const OVERALL_ORDER: readonly EndpointFamilyVerdict[] = ['broken', 'unresolved', 'partial', 'unpublished', 'works'];

/**
 * One verdict for a family over the vantage points: the worst one seen (broken, unresolved,
 * partial, unpublished, works, in that order), so a failure seen from one network is never
 * hidden by another where it works; 'untested' when none tested it.
 */
export function overallVerdict(verdicts: readonly EndpointFamilyVerdict[]): EndpointFamilyVerdict {
  for (const verdict of OVERALL_ORDER) if (verdicts.includes(verdict)) return verdict;
  return 'untested';
}

export function evaluateEndpointInput(input: EndpointInput): EndpointEvaluation {
  const { spec } = input.declared;
  // Declarations are checked before they are stored (configuration, admin API).
  const address = parseEndpointUrl(spec.url);
  const fresh = input.views.filter((v) => !v.stale);
  const facts: EndpointFacts = { endpoint: spec, address, views: fresh, backends: input.backends };
  const verdicts = familyVerdicts({ address, views: input.views });
  const vantages = verdicts.map((verdict, index) => ({ ...verdict, view: input.views[index]! }));
  const freshVerdicts = vantages.filter((v) => !v.view.stale);
  const probedAt = input.views.map((v) => v.probe.probedAt).sort();
  return {
    input,
    address,
    facts,
    findings: evaluateEndpoint(facts),
    vantages,
    families: { ipv4: overallVerdict(freshVerdicts.map((v) => v.ipv4.verdict)), ipv6: overallVerdict(freshVerdicts.map((v) => v.ipv6.verdict)) },
    lastProbed: probedAt[probedAt.length - 1] ?? null,
  };
}

/** One earlier probe's verdict per family, as familyVerdicts gives it for that probe alone. */
export function historyVerdicts(address: EndpointAddress, entry: ProbeHistoryEntry): EndpointVantageVerdict {
  return familyVerdicts({ address, views: [{ vantage: entry.vantage, receivedAt: entry.receivedAt, probe: entry.probe }] })[0]!;
}
