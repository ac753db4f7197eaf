// The rule list itself: every rule declared completely, ids unique, profiles known.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { profiles, rules, runRules } from '../src/rules/index.js';
import { golden } from './golden-facts.js';

test('every rule has an id, a one-sentence title, a severity, a profile, docs and sources', () => {
  for (const rule of rules) {
    assert.match(rule.id, /^[a-z0-9]+(-[a-z0-9]+)*$/, rule.id);
    assert.match(rule.title, /\.$/, `${rule.id}: title must be one sentence`);
    assert.ok(!/\.\s+[A-Z]/.test(rule.title.replace(/\b(e\.g|i\.e|net\.ipv[46]\.\S+)/g, '')), `${rule.id}: title has more than one sentence`);
    assert.ok(['critical', 'warning', 'info'].includes(rule.severity));
    assert.ok(profiles.includes(rule.profile));
    assert.ok(rule.docs.length > 40, `${rule.id}: docs too short`);
    assert.ok(rule.sources.length > 0, `${rule.id}: no sources`);
  }
  const ids = rules.map((r) => r.id);
  assert.equal(new Set(ids).size, ids.length, 'duplicate rule id');
});

test('the service, kernel and hardening rules of the catalogue are all in the list', () => {
  const ids = new Set(rules.map((r) => r.id));
  for (const id of [
    'service-ipv4-only',
    'service-ipv6-only',
    'service-loopback-v4-only',
    'service-dual-mapped',
    'service-mapped-clients',
    'service-v6only-unknown',
    'kernel-ipv6-advisory',
    'hardening-accept-ra',
    'hardening-accept-redirects',
    'hardening-accept-source-route',
    'hardening-forwarding',
  ]) {
    assert.ok(ids.has(id), `${id} missing from rules`);
  }
});

test('no rule throws on any replayed fixture, with or without the hardening profile', () => {
  for (const name of ['dual-stack-services', 'bindv6only', 'no-ipv6-default', 'ipv6-off', 'broken-tcp-bad-hex'] as const) {
    for (const findings of [runRules(golden(name)), runRules(golden(name), { profiles: ['hardening'] })]) {
      assert.deepEqual(findings.filter((f) => f.subject === 'dualstack'), [], `${name}: a rule could not be evaluated`);
    }
  }
});
