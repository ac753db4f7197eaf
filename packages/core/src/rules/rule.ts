// A rule turns a host's facts into findings: what is wrong on THIS host, why, and the exact
// fix with this host's interface, gateway, address and port filled in. Pure: no I/O.
import type { Finding, Report, Severity } from '../report.js';

/** The facts rules read: a report before its findings are filled in. */
export type RuleFacts = Omit<Report, 'findings'>;

/** Rule sets: `default` always runs; `hardening` (CIS-style sysctls) only when asked for. */
export type Profile = 'default' | 'hardening';

export interface Rule {
  id: string;
  /** One sentence: what the rule finds. */
  title: string;
  severity: Severity;
  profile: Profile;
  /** Why it matters, in a few sentences, for docs/rules.md. */
  docs: string;
  /** Where the facts behind the rule come from (RFCs, kernel docs, man pages). */
  sources: string[];
  check(facts: RuleFacts): Finding[];
}

export function defineRule(rule: Rule): Rule {
  return rule;
}

export const severityRank: Record<Severity, number> = { critical: 0, warning: 1, info: 2 };

/** Builds a finding of `rule` (its severity unless told otherwise). */
export function finding(
  rule: Pick<Rule, 'id' | 'severity'>,
  fields: { subject: string; message: string; evidence: string[]; fix: Finding['fix']; severity?: Severity },
): Finding {
  return { rule: rule.id, severity: fields.severity ?? rule.severity, subject: fields.subject, message: fields.message, evidence: fields.evidence, fix: fields.fix };
}

/** The finding of a rule that threw: it says so, instead of the error stopping the other rules. */
export function unevaluated(rule: Pick<Rule, 'id'>, subject: string, error: unknown, summary: string): Finding {
  return { rule: rule.id, severity: 'info', subject, message: `The rule could not be evaluated: ${(error as Error).message}`, evidence: [], fix: { summary, commands: [] } };
}
