// Rule facts from the golden reports in test/golden: full reports the agent produced by
// replaying real captured fixtures (core must not import the agent, so tests start here).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { Finding, Report, Service } from '../src/report.js';
import type { Rule, RuleFacts } from '../src/rules/rule.js';

const goldenDir = new URL('../../../test/golden/', import.meta.url);
const cache = new Map<string, RuleFacts>();

export type GoldenName = 'dual-stack-services' | 'bindv6only' | 'no-ipv6-default' | 'ipv6-off' | 'broken-tcp-bad-hex';

/** A fresh copy of a golden report without its findings: edit it freely. */
export function golden(name: GoldenName): RuleFacts {
  let facts = cache.get(name);
  if (!facts) {
    const { findings: _findings, ...rest } = JSON.parse(readFileSync(new URL(`${name}.json`, goldenDir), 'utf8')) as Report;
    facts = rest;
    cache.set(name, facts);
  }
  return structuredClone(facts);
}

/** The service on proto/port (the fixtures have one per port). */
export function service(facts: RuleFacts, proto: Service['proto'], port: number): Service {
  const found = facts.services.find((s) => s.proto === proto && s.port === port);
  assert.ok(found, `${proto}/${port} is not in the fixture`);
  return found;
}

export const subjects = (findings: Finding[]): string[] => findings.map((f) => f.subject).sort();

export function only(findings: Finding[], subject: string): Finding {
  const matching = findings.filter((f) => f.subject === subject);
  assert.equal(matching.length, 1, `expected one finding on ${subject}, got ${JSON.stringify(subjects(findings))}`);
  return matching[0]!;
}

/**
 * Every command is runnable as written or a comment: a line holding a placeholder
 * (`{unit}`, `<IPv6-gateway>`) must start with '#' (or '//' inside a JavaScript snippet).
 */
export function assertRunnableOrCommented(findings: Finding[]): void {
  for (const f of findings) {
    for (const command of f.fix.commands) {
      const trimmed = command.trimStart();
      if (trimmed.startsWith('#') || trimmed.startsWith('//')) continue;
      assert.doesNotMatch(command, /\{[^\s{}]+\}|<[A-Za-z][\w-]*>/, `${f.rule} ${f.subject}: placeholder in a runnable line: ${command}`);
    }
  }
}

/** One row of a rule's table-driven test: the facts, the subjects expected, further checks. */
export interface RuleCase {
  name: string;
  rule: Rule;
  facts: () => RuleFacts;
  /** Subjects of the expected findings, in any order. */
  expect: string[];
  /** Further checks on the findings. */
  check?: (findings: Finding[]) => void;
}

/** One test per case: the expected subjects, the rule's id and severity, runnable fixes. */
export function runRuleCases(cases: RuleCase[]): void {
  for (const c of cases) {
    test(`${c.rule.id}: ${c.name}`, () => {
      const findings = c.rule.check(c.facts());
      assert.deepEqual(subjects(findings), [...c.expect].sort());
      for (const f of findings) {
        assert.equal(f.rule, c.rule.id);
        assert.equal(f.severity, c.rule.severity);
      }
      assertRunnableOrCommented(findings);
      c.check?.(findings);
    });
  }
}
