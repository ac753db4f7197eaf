// Endpoint rules and per-family verdicts on facts built by small builders (endpoint-facts.ts):
// one scenario per rule, a healthy endpoint, two vantage points that disagree, families a
// vantage point has no route for, DNS answers pointing at loopback, address literals.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Finding } from '../src/report.js';
import { compareFindings, rules } from '../src/rules/index.js';
import {
  endpointFamilyDiffers,
  endpointIpv4Broken,
  endpointDown,
  endpointIpv6Broken,
  endpointNoAaaa,
  endpointPartial,
  endpointRules,
  endpointUnresolvable,
  evaluateEndpoint,
  normaliseBanner,
  normaliseLocation,
} from '../src/rules/endpoint-rules.js';
import { familyVerdicts } from '../src/rules/endpoint-verdicts.js';
import type { EndpointFacts } from '../src/rules/endpoint-rule.js';
import { attempt, backend, cert, CERT, dns, DUAL, endpoint, PROBED_AT, V4_ONLY, V6_ONLY, view } from './endpoint-facts.js';

const BOTH = { a: dns('ok', ['192.0.2.10']), aaaa: dns('ok', ['2001:db8::10']) };
const OTHER_CERT = cert('BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB', { subject: 'localhost', san: ['DNS:localhost'], issuer: 'localhost' });

const ruleIds = (findings: Finding[]) => findings.map((f) => f.rule);
const only = (findings: Finding[], rule: string): Finding => {
  assert.deepEqual(ruleIds(findings), [rule], JSON.stringify(findings, null, 1));
  return findings[0]!;
};
/** Verdicts as "hostname ipv4 ipv6" strings with the counts. */
const verdictTable = (facts: EndpointFacts) =>
  familyVerdicts(facts).map((v) => `${v.hostname} ${v.ipv4.verdict} ${v.ipv4.answering}/${v.ipv4.total} ${v.ipv6.verdict} ${v.ipv6.answering}/${v.ipv6.total}`);

// ------------------------------------------------------------------ the list

test('the seven endpoint rules: fixed ids and severities, one-sentence titles, docs and sources', () => {
  assert.deepEqual(
    endpointRules.map((r) => [r.id, r.severity]),
    [
      ['endpoint-down', 'critical'],
      ['endpoint-ipv6-broken', 'critical'],
      ['endpoint-ipv4-broken', 'critical'],
      ['endpoint-no-aaaa', 'warning'],
      ['endpoint-family-differs', 'warning'],
      ['endpoint-partial', 'warning'],
      ['endpoint-unresolvable', 'critical'],
    ],
  );
  const hostIds = new Set(rules.map((r) => r.id));
  for (const rule of endpointRules) {
    assert.ok(!hostIds.has(rule.id), `${rule.id} is also a host rule`);
    assert.match(rule.title, /^[A-Z][^.]*\.$/, `${rule.id}: one sentence`);
    assert.ok(rule.docs.length > 200, `${rule.id}: docs too short`);
    assert.ok(rule.sources.length > 0 && rule.sources.every((s) => /^RFC \d+ |^nginx documentation/.test(s)), `${rule.id}: sources ${rule.sources.join(' | ')}`);
  }
});

// ------------------------------------------------------------------ healthy

test('a healthy dual-stack endpoint seen from two vantage points gives no finding and works/works', () => {
  const facts = endpoint(
    [
      view('office', DUAL, BOTH, [attempt('192.0.2.10'), attempt('2001:db8::10')]),
      view('v6lab', V6_ONLY, BOTH, [attempt('192.0.2.10', 'unreachable'), attempt('2001:db8::10')]),
    ],
    { backends: [backend('web-1', { ipv4: true, ipv6: true })] },
  );
  assert.deepEqual(evaluateEndpoint(facts), []);
  assert.deepEqual(verdictTable(facts), ['office works 1/1 works 1/1', 'v6lab untested 0/0 works 1/1']);
  const office = familyVerdicts(facts)[0]!;
  assert.deepEqual([office.hostId, office.probedAt, office.ipv6.dns.status], ['id-office', PROBED_AT, 'ok']);
  assert.deepEqual(office.ipv4.addresses, [{ address: '192.0.2.10', outcome: 'ok', detail: 'HTTP 200' }]);
});

// ------------------------------------------------------------------ endpoint-ipv6-broken

test('ipv6-broken: the classic — the IPv6-only vantage point times out, the dual-stack one gets IPv4 (and a refusal over IPv6)', () => {
  const facts = endpoint(
    [
      view('v6lab', V6_ONLY, BOTH, [attempt('192.0.2.10', 'unreachable'), attempt('2001:db8::10', 'timeout')]),
      view('office', DUAL, BOTH, [attempt('192.0.2.10'), attempt('2001:db8::10', 'refused')]),
    ],
    { backends: [backend('web-1', { ipv4: true, ipv6: true }), backend('web-2', { ipv4: true, ipv6: false })] },
  );
  const f = only(evaluateEndpoint(facts), 'endpoint-ipv6-broken');
  assert.equal(f.severity, 'critical');
  assert.equal(f.subject, 'www');
  assert.equal(f.message, 'www: AAAA 2001:db8::10 published, but no IPv6 address answers on tcp/443 (timeout from v6lab, refused from office) while IPv4 answers from office');
  assert.deepEqual(f.evidence, [
    'v6lab, probed 2026-12-05T10:00:00.000Z: IPv4 not tested (no IPv4 route here; A 192.0.2.10); IPv6 2001:db8::10 timeout (ETIMEDOUT) [0/1 answer]',
    'office, probed 2026-12-05T10:00:00.000Z: IPv4 192.0.2.10 ok (HTTP 200) [1/1 answer]; IPv6 2001:db8::10 refused (ECONNREFUSED) [0/1 answer]',
    'backend web-1: serves tcp/443 to IPv4 and IPv6 clients (its latest report)',
    'backend web-2: serves tcp/443 to IPv4 clients (its latest report)',
  ]);
  assert.match(f.fix.summary, /^Make 2001:db8::10 answer on tcp\/443, or withdraw the AAAA record until it does: .*Happy Eyeballs/);
  const commands = f.fix.commands.join('\n');
  assert.ok(f.fix.commands.includes("curl -gsv -o /dev/null --resolve www.example.net:443:[2001:db8::10] 'https://www.example.net'"), commands);
  assert.ok(f.fix.commands.includes('traceroute -6 -T -p 443 2001:db8::10'), commands);
  assert.match(commands, /refused: nothing listens on \[2001:db8::10\]:443.*ss -ltn 'sport = :443'/);
  assert.match(commands, /nginx "listen \[::\]:443 ssl;"/);
  assert.match(commands, /# web-1 serves tcp\/443 over IPv6 \(latest report\): the fault is in front of it/);
  assert.match(commands, /# check the backend web-2: no IPv6 service on tcp\/443/);
  assert.match(commands, /# or withdraw the AAAA record 2001:db8::10 of www\.example\.net at its DNS provider/);
  assert.deepEqual(verdictTable(facts), ['v6lab untested 0/0 broken 0/1', 'office works 1/1 broken 0/1']);
});

test('ipv6-broken: when IPv6 answers from another vantage point, the message says the failure depends on the path', () => {
  const facts = endpoint([
    view('v6lab', V6_ONLY, BOTH, [attempt('2001:db8::10', 'timeout')]),
    view('office', DUAL, BOTH, [attempt('192.0.2.10'), attempt('2001:db8::10')]),
  ]);
  const f = only(evaluateEndpoint(facts), 'endpoint-ipv6-broken');
  assert.equal(
    f.message,
    'www: AAAA 2001:db8::10 published, but no IPv6 address answers on tcp/443 (timeout from v6lab) while IPv4 answers from office; IPv6 does answer from office, so the failure depends on the network path',
  );
  assert.ok(f.fix.commands.some((c) => /IPv6 answers from office but not from v6lab: compare the paths/.test(c)));
  // The vantage point that saw it comes first.
  assert.match(f.evidence[0]!, /^v6lab, /);
});

test('ipv6-broken: an answer that is not what expect asks (certificate for another name, HTTP 5xx) counts as not answering', () => {
  const facts = endpoint(
    [
      view('office', DUAL, BOTH, [
        attempt('192.0.2.10'),
        attempt('2001:db8::10', 'unexpected', { tls: { ...OTHER_CERT, authorized: false, authorizationError: "Host: www.example.net. is not in the cert's altnames: DNS:localhost" }, http: { status: 503, server: null, location: null } }),
      ]),
    ],
    { expect: { status: 200 } },
  );
  const f = only(evaluateEndpoint(facts), 'endpoint-ipv6-broken');
  assert.match(f.message, /\(HTTP 503, Host: www\.example\.net\. is not in the cert's altnames: DNS:localhost from office\)/);
  assert.ok(f.fix.commands.some((c) => c.startsWith('# unexpected answer: IPv6 reaches another site')));
});

test('ipv6-broken: an AAAA answer pointing at ::1 is named and never counted as working', () => {
  const lookups = { a: dns('ok', ['192.0.2.10']), aaaa: dns('ok', [], { rejected: [{ address: '::1', reason: 'loopback' }] }) };
  const facts = endpoint([view('office', DUAL, lookups, [attempt('192.0.2.10')])]);
  const f = only(evaluateEndpoint(facts), 'endpoint-ipv6-broken');
  assert.equal(f.message, 'www: AAAA ::1 published, but no IPv6 address answers on tcp/443 (loopback (not probed) from office) while IPv4 answers from office');
  assert.ok(f.fix.commands.includes('# the AAAA record of www.example.net holds ::1 (loopback), which no client outside can use: replace it with the service\'s public IPv6 address'), f.fix.commands.join('\n'));
  assert.ok(!f.fix.commands.some((c) => c.startsWith('curl')), 'no check command for an address the probe does not follow');
  assert.deepEqual(verdictTable(facts), ['office works 1/1 broken 0/1']);
  assert.deepEqual(familyVerdicts(facts)[0]!.ipv6.addresses, [{ address: '::1', outcome: 'rejected', detail: 'loopback' }]);
});

test('ipv6-broken: the record owner at the end of a CNAME chain is the one to withdraw from', () => {
  const lookups = { a: dns('ok', ['192.0.2.10'], { cname: ['lb.example.net'] }), aaaa: dns('ok', ['2001:db8::10'], { cname: ['lb.example.net'] }) };
  const f = only(evaluateEndpoint(endpoint([view('office', DUAL, lookups, [attempt('192.0.2.10'), attempt('2001:db8::10', 'timeout')])])), 'endpoint-ipv6-broken');
  assert.ok(f.fix.commands.some((c) => c.includes('withdraw the AAAA record 2001:db8::10 of lb.example.net (www.example.net is a CNAME of it)')), f.fix.commands.join('\n'));
  assert.match(f.evidence[0]!, /IPv6 2001:db8::10 timeout \(ETIMEDOUT\) via CNAME lb\.example\.net/);
});

// ------------------------------------------------------------------ endpoint-ipv4-broken

test('ipv4-broken: the mirror — A published, refused, while IPv6 answers', () => {
  const facts = endpoint([view('office', DUAL, BOTH, [attempt('192.0.2.10', 'refused'), attempt('2001:db8::10')])], { url: 'smtp://mx.example.net', name: 'mx' });
  const f = only(evaluateEndpoint(facts), 'endpoint-ipv4-broken');
  assert.equal(f.severity, 'critical');
  assert.equal(f.message, 'mx: A 192.0.2.10 published, but no IPv4 address answers on tcp/25 (refused from office) while IPv6 answers from office');
  assert.ok(f.fix.commands.includes('nc -v -w 5 192.0.2.10 25 </dev/null'), f.fix.commands.join('\n'));
  assert.match(f.fix.summary, /IPv4-only clients cannot reach the service at all/);
});

test('broken rules: a family without a route is untested; an endpoint down in both families raises neither, but endpoint-down', () => {
  // An IPv4-only vantage point: IPv6 attempts fail as unreachable, which is no verdict on the endpoint.
  const v4only = endpoint([view('branch', V4_ONLY, BOTH, [attempt('192.0.2.10'), attempt('2001:db8::10', 'unreachable')])]);
  assert.deepEqual(evaluateEndpoint(v4only), []);
  assert.deepEqual(verdictTable(v4only), ['branch works 1/1 untested 0/0']);
  assert.deepEqual(familyVerdicts(v4only)[0]!.ipv6.addresses, [{ address: '2001:db8::10', outcome: 'unreachable', detail: null }]);

  const down = endpoint([view('office', DUAL, BOTH, [attempt('192.0.2.10', 'timeout'), attempt('2001:db8::10', 'refused')])]);
  assert.deepEqual(evaluateEndpoint(down).map((f) => f.rule), ['endpoint-down']);
  assert.deepEqual(verdictTable(down), ['office broken 0/1 broken 0/1']);
  const f = only(evaluateEndpoint(down), 'endpoint-down');
  assert.equal(f.message, 'www: no address answers on tcp/443 over either family: 192.0.2.10 and 2001:db8::10 (timeout/refused from office)');
  assert.deepEqual(f.fix.commands.length, 2, f.fix.commands.join('\n'));

  // One family answering anywhere is no outage: that is what the broken rules are for.
  const v6Works = endpoint([
    view('office', DUAL, BOTH, [attempt('192.0.2.10', 'timeout'), attempt('2001:db8::10', 'refused')]),
    view('lab', V6_ONLY, BOTH, [attempt('2001:db8::10')]),
  ]);
  assert.ok(!evaluateEndpoint(v6Works).some((f) => f.rule === 'endpoint-down'));
  // A vantage point with no route for either family tests nothing: no outage either.
  assert.deepEqual(evaluateEndpoint(endpoint([view('island', { ipv4: false, ipv6: false }, BOTH, [attempt('192.0.2.10', 'unreachable')])])), []);
});

// ------------------------------------------------------------------ endpoint-partial

test('partial: one address of a round robin answers, one does not; both families in one finding', () => {
  const lookups = { a: dns('ok', ['192.0.2.10', '192.0.2.11']), aaaa: dns('ok', ['2001:db8::10', '2001:db8::11']) };
  const facts = endpoint(
    [
      view('office', DUAL, lookups, [attempt('192.0.2.10'), attempt('192.0.2.11', 'refused'), attempt('2001:db8::10'), attempt('2001:db8::11', 'timeout')]),
      view('v6lab', V6_ONLY, lookups, [attempt('2001:db8::10'), attempt('2001:db8::11', 'timeout')]),
    ],
    { backends: [backend('web-1', { ipv4: true, ipv6: true }), backend('web-2', { ipv4: true, ipv6: false })] },
  );
  const f = only(evaluateEndpoint(facts), 'endpoint-partial');
  assert.equal(f.severity, 'warning');
  assert.equal(
    f.message,
    'www: not every address answers on tcp/443: IPv6 2001:db8::11 (timeout from office and v6lab) does not answer while 2001:db8::10 does; IPv4 192.0.2.11 (refused from office) does not answer while 192.0.2.10 does',
  );
  assert.deepEqual(verdictTable(facts), ['office partial 1/2 partial 1/2', 'v6lab untested 0/0 partial 1/2']);
  assert.ok(f.fix.commands.includes("curl -gsv -o /dev/null --resolve www.example.net:443:[2001:db8::11] 'https://www.example.net'"));
  assert.ok(f.fix.commands.includes('# or take 192.0.2.11 out of the A records of www.example.net until it answers'));
  assert.ok(f.fix.commands.some((c) => c.startsWith('# check the backend web-2: no IPv6 service on tcp/443')), f.fix.commands.join('\n'));
  assert.equal(f.evidence.length, 4, 'two vantage points, two backends');
});

test('partial: an A answer holding 127.0.0.1 beside a working address is named and counts as not answering', () => {
  const lookups = { a: dns('ok', ['192.0.2.10'], { rejected: [{ address: '127.0.0.1', reason: 'loopback' }] }), aaaa: dns('nodata') };
  const facts = endpoint([view('office', DUAL, lookups, [attempt('192.0.2.10')])]);
  const f = only(evaluateEndpoint(facts), 'endpoint-partial');
  assert.equal(f.message, 'www: not every address answers on tcp/443: IPv4 127.0.0.1 (loopback (not probed) from office) does not answer while 192.0.2.10 does');
  assert.deepEqual(verdictTable(facts), ['office partial 1/2 unpublished 0/0']);
  assert.ok(!f.fix.commands.some((c) => c.includes('127.0.0.1]') || c.startsWith('curl')), 'never probed, so no check command for it');
});

// ------------------------------------------------------------------ endpoint-no-aaaa

test('no-aaaa: NODATA for AAAA everywhere, IPv4 answers, and a declared backend serves the port over IPv6', () => {
  const lookups = { a: dns('ok', ['192.0.2.10'], { cname: ['lb.example.net'] }), aaaa: dns('nodata', [], { cname: ['lb.example.net'] }) };
  const views = [view('office', DUAL, lookups, [attempt('192.0.2.10')]), view('branch', V4_ONLY, lookups, [attempt('192.0.2.10')])];
  const backends = [backend('web-1', { ipv4: true, ipv6: true }), backend('web-2', { ipv4: true, ipv6: false }), backend('web-3', 'not-found')];
  const f = only(evaluateEndpoint(endpoint(views, { backends })), 'endpoint-no-aaaa');
  assert.equal(f.severity, 'warning');
  assert.equal(
    f.message,
    'www: www.example.net has no AAAA record (NODATA from office and branch), so IPv6 clients cannot reach it, although web-1 serves tcp/443 over IPv6 (latest report); IPv4 answers on 192.0.2.10',
  );
  assert.deepEqual(f.evidence.slice(2), [
    'backend web-1: serves tcp/443 to IPv4 and IPv6 clients (its latest report)',
    'backend web-2: serves tcp/443 to IPv4 clients (its latest report)',
    'backend web-3: its latest report has no TCP service on tcp/443',
  ]);
  assert.match(f.evidence[0]!, /^office, probed .*IPv6 AAAA no record \(NODATA\)$/);
  assert.deepEqual(f.fix.commands.slice(-2), ['# 3. publish it in the zone of lb.example.net (www.example.net is a CNAME of it):', '# lb.example.net. 300 IN AAAA IPV6-ADDRESS']);
  assert.ok(f.fix.commands.includes("# curl -gsv -o /dev/null --resolve www.example.net:443:[IPV6-ADDRESS] 'https://www.example.net'"), 'a placeholder: commented out');
});

test('no-aaaa: nothing without a backend serving IPv6, nor while any AAAA lookup failed, nor when IPv4 does not answer', () => {
  const nodata = { a: dns('ok', ['192.0.2.10']), aaaa: dns('nodata') };
  const ok = [view('office', DUAL, nodata, [attempt('192.0.2.10')])];
  const web1 = backend('web-1', { ipv4: true, ipv6: true });
  assert.equal(ruleIds(evaluateEndpoint(endpoint(ok, { backends: [web1] }))).join(), 'endpoint-no-aaaa', 'the positive case, as a control');
  assert.deepEqual(evaluateEndpoint(endpoint(ok)), [], 'no declared backends');
  assert.deepEqual(evaluateEndpoint(endpoint(ok, { backends: [backend('web-2', { ipv4: true, ipv6: false }), backend('web-9', 'unknown-host')] })), [], 'no backend serves IPv6');
  const failed = [...ok, view('branch', DUAL, { a: dns('ok', ['192.0.2.10']), aaaa: dns('servfail') }, [attempt('192.0.2.10')])];
  assert.deepEqual(evaluateEndpoint(endpoint(failed, { backends: [web1] })), [], 'a SERVFAIL for AAAA is not NODATA');
  const dead = [view('office', DUAL, nodata, [attempt('192.0.2.10', 'refused')])];
  assert.deepEqual(ruleIds(evaluateEndpoint(endpoint(dead, { backends: [web1] }))), ['endpoint-down'], 'IPv4 does not answer either: an outage, not a missing AAAA');
});

// ------------------------------------------------------------------ endpoint-unresolvable

test('unresolvable: NXDOMAIN, SERVFAIL, timeout and NODATA are told apart per vantage point', () => {
  const facts = endpoint([
    view('office', DUAL, { a: dns('nxdomain'), aaaa: dns('nxdomain') }, []),
    view('v6lab', V6_ONLY, { a: dns('timeout'), aaaa: dns('servfail') }, []),
    view('branch', V4_ONLY, { a: dns('nodata'), aaaa: dns('nodata') }, []),
  ]);
  const f = only(evaluateEndpoint(facts), 'endpoint-unresolvable');
  assert.equal(f.severity, 'critical');
  assert.equal(
    f.message,
    'www: www.example.net gives no address at any vantage point (office: A and AAAA NXDOMAIN (the name does not exist); v6lab: A timeout, AAAA SERVFAIL; branch: A and AAAA no record (NODATA))',
  );
  assert.deepEqual(f.fix.commands.slice(0, 2), ['dig www.example.net A', 'dig www.example.net AAAA']);
  for (const cause of ['# NXDOMAIN:', '# NODATA:', '# SERVFAIL:', '# timeout/error:']) assert.ok(f.fix.commands.some((c) => c.startsWith(cause)), cause);
  assert.ok(!f.fix.commands.some((c) => c.startsWith('# REFUSED')));
  assert.deepEqual(verdictTable(facts), ['office unresolved 0/0 unresolved 0/0', 'v6lab unresolved 0/0 unresolved 0/0', 'branch unpublished 0/0 unpublished 0/0']);
  assert.equal(f.evidence.length, 3);
});

test('unresolvable: answers holding only loopback addresses give no address, and are named', () => {
  const lookups = { a: dns('ok', [], { rejected: [{ address: '127.0.0.1', reason: 'loopback' }] }), aaaa: dns('ok', [], { rejected: [{ address: 'fe80::1', reason: 'link-local' }] }) };
  const f = only(evaluateEndpoint(endpoint([view('office', DUAL, lookups, [])])), 'endpoint-unresolvable');
  assert.equal(
    f.message,
    'www: www.example.net gives no address at any vantage point (office: A only 127.0.0.1 (loopback), AAAA only fe80::1 (link-local)); it resolves only to 127.0.0.1 (loopback) and fe80::1 (link-local), which the probe does not follow',
  );
});

test('unresolvable: one vantage point with an address is enough for no finding', () => {
  const facts = endpoint([
    view('office', DUAL, { a: dns('timeout'), aaaa: dns('timeout') }, []),
    view('branch', DUAL, BOTH, [attempt('192.0.2.10'), attempt('2001:db8::10')]),
  ]);
  assert.deepEqual(evaluateEndpoint(facts), []);
  assert.deepEqual(verdictTable(facts), ['office unresolved 0/0 unresolved 0/0', 'branch works 1/1 works 1/1']);
});

// ------------------------------------------------------------------ endpoint-family-differs

test('family-differs: at one vantage point IPv6 gets another certificate and another status', () => {
  const facts = endpoint([
    view('office', DUAL, BOTH, [attempt('192.0.2.10'), attempt('2001:db8::10', 'ok', { tls: OTHER_CERT, http: { status: 404, server: 'nginx', location: null } })]),
  ]);
  const f = only(evaluateEndpoint(facts), 'endpoint-family-differs');
  assert.equal(f.severity, 'warning');
  assert.equal(
    f.message,
    'www: IPv4 and IPv6 answer differently on tcp/443: certificate CN=www.example.net issued by Example CA sha256 AA:AA:AA:AA:AA:AA:AA:AA… over IPv4, CN=localhost issued by localhost sha256 BB:BB:BB:BB:BB:BB:BB:BB… over IPv6 (at office); HTTP status 200 over IPv4, 404 over IPv6 (at office)',
  );
  assert.deepEqual(f.evidence, [
    'office, probed 2026-12-05T10:00:00.000Z: IPv4 192.0.2.10 certificate CN=www.example.net issued by Example CA sha256 AA:AA:AA:AA:AA:AA:AA:AA…, HTTP status 200, redirect none | IPv6 2001:db8::10 certificate CN=localhost issued by localhost sha256 BB:BB:BB:BB:BB:BB:BB:BB…, HTTP status 404, redirect none',
  ]);
  assert.deepEqual(f.fix.commands.slice(1, 3), [
    "curl -gsv -o /dev/null --resolve www.example.net:443:192.0.2.10 'https://www.example.net'",
    "curl -gsv -o /dev/null --resolve www.example.net:443:[2001:db8::10] 'https://www.example.net'",
  ]);
  assert.ok(f.fix.commands.includes('# nginx: the server block of www.example.net needs both "listen 443 ssl;" and "listen [::]:443 ssl;", or one family lands in another server block'));
});

test('family-differs: across vantage points, a renewed certificate is the same; another issuer is not', () => {
  const renewed = cert('CC:CC:CC:CC:CC:CC:CC:CC:CC:CC:CC:CC:CC:CC:CC:CC:CC:CC:CC:CC:CC:CC:CC:CC:CC:CC:CC:CC:CC:CC:CC:CC', { validTo: '2027-06-01T00:00:00.000Z' });
  const split = (v6cert: typeof CERT) =>
    endpoint([
      view('branch', V4_ONLY, BOTH, [attempt('192.0.2.10'), attempt('2001:db8::10', 'unreachable')]),
      view('v6lab', V6_ONLY, BOTH, [attempt('192.0.2.10', 'unreachable'), attempt('2001:db8::10', 'ok', { tls: v6cert })], '2026-12-05T10:04:00.000Z'),
    ]);
  assert.deepEqual(evaluateEndpoint(split(renewed)), [], 'same subject, names and issuer: a renewal between the two probes');
  const f = only(evaluateEndpoint(split({ ...renewed, issuer: 'Middlebox Inc' })), 'endpoint-family-differs');
  assert.match(f.message, /certificate CN=www\.example\.net issued by Example CA sha256 AA.* over IPv4 \(from branch\), CN=www\.example\.net issued by Middlebox Inc sha256 CC.* over IPv6 \(from v6lab\)/);
  assert.equal(f.evidence.length, 2);
  assert.match(f.evidence[0]!, /^branch, .*IPv6 no answer$/);
  // At one vantage point the fingerprint decides.
  const same = endpoint([view('office', DUAL, BOTH, [attempt('192.0.2.10'), attempt('2001:db8::10', 'ok', { tls: renewed })])]);
  assert.equal(only(evaluateEndpoint(same), 'endpoint-family-differs').message.includes('(at office)'), true);
});

test('family-differs: round-robin servers with their own certificates are no family difference while the families share one', () => {
  const lookups = { a: dns('ok', ['192.0.2.10', '192.0.2.11']), aaaa: dns('ok', ['2001:db8::10']) };
  const web2 = cert('DD:DD:DD:DD:DD:DD:DD:DD:DD:DD:DD:DD:DD:DD:DD:DD:DD:DD:DD:DD:DD:DD:DD:DD:DD:DD:DD:DD:DD:DD:DD:DD');
  const facts = endpoint([view('office', DUAL, lookups, [attempt('192.0.2.10'), attempt('192.0.2.11', 'ok', { tls: web2 }), attempt('2001:db8::10')])]);
  assert.deepEqual(evaluateEndpoint(facts), []);
});

test('family-differs: redirects are compared resolved against the URL, without query; another target differs', () => {
  const redirect = (location: string) => ({ http: { status: 301, server: 'nginx', location } });
  const facts = (v4: string, v6: string) =>
    endpoint([view('office', DUAL, BOTH, [attempt('192.0.2.10', 'ok', redirect(v4)), attempt('2001:db8::10', 'ok', redirect(v6))])], { url: 'http://www.example.net' });
  assert.deepEqual(evaluateEndpoint(facts('/login?state=abc', 'http://www.example.net/login?state=xyz')), []);
  const f = only(evaluateEndpoint(facts('https://www.example.net/', 'https://[2001:db8::10]/')), 'endpoint-family-differs');
  assert.match(f.message, /redirect https:\/\/www\.example\.net\/ over IPv4, https:\/\/\[2001:db8::10\]\/ over IPv6 \(at office\)/);
  assert.equal(normaliseLocation('/a/b?x#y', 'https://www.example.net/start'), 'https://www.example.net/a/b');
  assert.equal(normaliseLocation(null, 'https://www.example.net'), 'none');
});

test('family-differs: SMTP banners differing only in time and address are the same; another greeting is not', () => {
  const smtp = (banner4: string, banner6: string) =>
    endpoint(
      [
        view('office', DUAL, BOTH, [
          attempt('192.0.2.10', 'ok', { port: 25, tls: undefined, http: undefined, banner: banner4 }),
          attempt('2001:db8::10', 'ok', { port: 25, tls: undefined, http: undefined, banner: banner6 }),
        ]),
      ],
      { url: 'smtp://mx.example.net', name: 'mx' },
    );
  assert.deepEqual(
    evaluateEndpoint(smtp('220 mx.example.net ESMTP Sendmail 8.17.1.9/8.17.1.9; Sat, 5 Dec 2026 10:00:01 GMT', '220 mx.example.net ESMTP Sendmail 8.17.1.9/8.17.1.9; Sat, 5 Dec 2026 10:00:02 GMT')),
    [],
  );
  const f = only(evaluateEndpoint(smtp('220 mx.example.net ESMTP Postfix (Debian/GNU)', '220 mx-v6.example.net ESMTP Exim 4.96 Sat, 05 Dec 2026 10:00:02 +0000')), 'endpoint-family-differs');
  assert.match(f.message, /^mx: IPv4 and IPv6 answer differently on tcp\/25: banner "220 mx\.example\.net ESMTP Postfix \(Debian\/GNU\)" over IPv4, "220 mx-v6/);
  assert.ok(f.fix.commands.includes('nc -v -w 5 2001:db8::10 25 </dev/null'));
  assert.ok(!f.fix.commands.some((c) => c.startsWith('# nginx')), 'no nginx advice for SMTP');
});

test('normaliseBanner masks dates, times, APOP timestamps and addresses, and collapses white space', () => {
  const cases: Array<[string, string]> = [
    // Sendmail's four-part version reads as an IPv4 address: masked too, on both families alike.
    ['220 mx ESMTP Sendmail 8.17.1.9/8.17.1.9; Sat, 5 Dec 2026 10:00:01 GMT', '220 mx ESMTP Sendmail <address>/<address>; <date>'],
    ['220 mx ESMTP Exim 4.96 Sat, 05 Dec 2026 10:00:02 +0000', '220 mx ESMTP Exim 4.96 <date>'],
    ['220 mail.example.net Microsoft ESMTP MAIL Service ready at Sat, 5 Dec 2026 10:00:02 +0000', '220 mail.example.net Microsoft ESMTP MAIL Service ready at <date>'],
    ['+OK POP3 ready <1896.697170952@dbc.mtview.ca.us>', '+OK POP3 ready <challenge>'],
    ['220 ProFTPD Server (Debian) [::ffff:192.0.2.10]', '220 ProFTPD Server (Debian) [<address>]'],
    ['220 ProFTPD Server (Debian) [2001:db8::10]', '220 ProFTPD Server (Debian) [<address>]'],
    ['220 ftp at 192.0.2.10.', '220 ftp at <address>.'],
    ['* OK [CAPABILITY IMAP4rev1] Dovecot ready at 2026-12-05T10:00:02Z', '* OK [CAPABILITY IMAP4rev1] Dovecot ready at <date>'],
    ['SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3', 'SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3'],
    ['220  (vsFTPd 3.0.3)  ', '220 (vsFTPd 3.0.3)'],
    ['up 10:00:02 and cafe:beef', 'up <time> and cafe:beef'],
  ];
  for (const [banner, expected] of cases) assert.equal(normaliseBanner(banner), expected, banner);
});

// ------------------------------------------------------------------ literals

test('address literals: the other family is unpublished, and no-aaaa or unresolvable never apply', () => {
  const v4literal = (outcome: 'ok' | 'timeout') =>
    endpoint([view('office', DUAL, { a: dns('literal', ['192.0.2.20']), aaaa: dns('literal') }, [attempt('192.0.2.20', outcome, { port: 5432, tls: undefined, http: undefined })])], {
      url: 'tcp://192.0.2.20:5432',
      name: 'db',
      backends: [backend('db-1', { ipv4: true, ipv6: true })],
    });
  assert.deepEqual(evaluateEndpoint(v4literal('ok')), [], 'no no-aaaa for a literal, although db-1 serves IPv6');
  assert.deepEqual(verdictTable(v4literal('ok')), ['office works 1/1 unpublished 0/0']);
  assert.deepEqual(ruleIds(evaluateEndpoint(v4literal('timeout'))), ['endpoint-down'], 'a literal that does not answer is down, not unresolvable');
  assert.deepEqual(verdictTable(v4literal('timeout')), ['office broken 0/1 unpublished 0/0']);

  // The literal's own family counts even when the agent recorded no DNS address for it.
  const v6 = endpoint([view('v6lab', V6_ONLY, { a: dns('literal'), aaaa: dns('literal') }, [attempt('2001:db8::20', 'refused')])], { url: 'tls://[2001:db8::20]:993', name: 'imap' });
  assert.deepEqual(verdictTable(v6), ['v6lab unpublished 0/0 broken 0/1']);
  assert.deepEqual(ruleIds(evaluateEndpoint(v6)), ['endpoint-down']);
  assert.match(familyVerdicts(v6)[0]!.ipv4.dns.status, /^literal$/);
  const notYet = endpoint([view('v6lab', V6_ONLY, { a: dns('literal'), aaaa: dns('literal') }, [])], { url: 'tls://[2001:db8::20]:993', name: 'imap' });
  assert.deepEqual(verdictTable(notYet), ['v6lab unpublished 0/0 untested 0/0'], 'an address not probed yet is untested');
  assert.deepEqual(familyVerdicts(notYet)[0]!.ipv6.addresses, [{ address: '2001:db8::20', outcome: 'not-probed', detail: null }]);

  // Whatever the agent recorded as DNS for a literal, no-aaaa never applies.
  const recordedNodata = endpoint([view('office', DUAL, { a: dns('literal', ['192.0.2.20']), aaaa: dns('nodata') }, [attempt('192.0.2.20')])], {
    url: 'https://192.0.2.20',
    backends: [backend('web-1', { ipv4: true, ipv6: true })],
  });
  assert.deepEqual(evaluateEndpoint(recordedNodata), []);
});

// ------------------------------------------------------------------ evaluateEndpoint

test('evaluateEndpoint: findings in compareFindings order, and a rule that throws yields one info finding', () => {
  // Office: IPv6 refused on both AAAA; branch: IPv4 round robin half dead; IPv4 answers.
  const lookups = { a: dns('ok', ['192.0.2.10', '192.0.2.11']), aaaa: dns('ok', ['2001:db8::10']) };
  const facts = endpoint([
    view('office', DUAL, lookups, [attempt('192.0.2.10'), attempt('192.0.2.11', 'timeout'), attempt('2001:db8::10', 'refused')]),
  ]);
  const findings = evaluateEndpoint(facts);
  assert.deepEqual(ruleIds(findings), ['endpoint-ipv6-broken', 'endpoint-partial']);
  assert.deepEqual([...findings].sort(compareFindings), findings);
  // compareFindings puts endpoint rules after the host rules of the same severity, in list order.
  const mixed = [
    { rule: 'endpoint-partial', severity: 'warning', subject: 'www' },
    { rule: 'endpoint-unresolvable', severity: 'critical', subject: 'api' },
    { rule: 'service-ipv4-only', severity: 'warning', subject: 'tcp/25' },
    { rule: 'endpoint-ipv6-broken', severity: 'critical', subject: 'www' },
    { rule: 'endpoint-no-aaaa', severity: 'warning', subject: 'www' },
  ] as const;
  assert.deepEqual(
    [...mixed].sort(compareFindings).map((f) => f.rule),
    ['endpoint-ipv6-broken', 'endpoint-unresolvable', 'service-ipv4-only', 'endpoint-no-aaaa', 'endpoint-partial'],
  );

  assert.equal(new Set(ruleIds(findings)).size, findings.length, 'at most one finding per rule and endpoint');

  // Attempts that are not a list make the rules that read them throw; unresolvable reads DNS only.
  const unreadable = endpoint([view('office', DUAL, { a: dns('nxdomain'), aaaa: dns('nxdomain') }, null as unknown as [])]);
  const mixedSeverities = evaluateEndpoint(unreadable);
  assert.deepEqual(
    mixedSeverities.map((f) => `${f.rule} ${f.severity}`),
    ['endpoint-unresolvable critical', 'endpoint-down info', 'endpoint-ipv6-broken info', 'endpoint-ipv4-broken info', 'endpoint-family-differs info', 'endpoint-partial info'],
  );
  const thrown = mixedSeverities[2]!;
  assert.equal(thrown.subject, 'www');
  assert.match(thrown.message, /^The rule could not be evaluated: /);
  assert.match(thrown.fix.summary, /GET \/api\/v1\/endpoints\/www/);
});

test('each rule checks alone: no rule fires on the healthy facts', () => {
  const healthy = endpoint([view('office', DUAL, BOTH, [attempt('192.0.2.10'), attempt('2001:db8::10')])], { backends: [backend('web-1', { ipv4: true, ipv6: true })] });
  for (const rule of [endpointDown, endpointIpv6Broken, endpointIpv4Broken, endpointNoAaaa, endpointFamilyDiffers, endpointPartial, endpointUnresolvable]) {
    assert.deepEqual(rule.check(healthy), [], rule.id);
  }
  assert.deepEqual(evaluateEndpoint(endpoint([])), [], 'no vantage point has probed it yet');
});
