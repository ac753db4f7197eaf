// `dualstack-agent probe`'s table: per endpoint its DNS answers, then one row per attempt
// (family, address, outcome, connect time) with what the server showed (TLS, HTTP, banner).
import type { DnsAnswer, EndpointProbe, ProbeAttempt } from '@dualstack/core';

function dnsLine(label: string, answer: DnsAnswer): string {
  const parts = [`${label} ${answer.status}`];
  if (answer.addresses.length > 0) parts.push(answer.addresses.map((a) => (a.ttl === null ? a.address : `${a.address} (ttl ${a.ttl})`)).join(', '));
  if (answer.cname.length > 0) parts.push(`via CNAME ${answer.cname.join(' -> ')}`);
  if (answer.rejected.length > 0) parts.push(`not followed: ${answer.rejected.map((r) => `${r.address} (${r.reason})`).join(', ')}`);
  if (answer.truncated) parts.push('more addresses than followed (truncated)');
  if (answer.error) parts.push(answer.error);
  return `  ${parts.join('; ')}`;
}

function facts(attempt: ProbeAttempt): string {
  const out: string[] = [];
  if (attempt.tls) {
    const t = attempt.tls;
    out.push(`${t.protocol ?? 'TLS'} CN=${t.subject ?? '-'}${t.validTo ? ` until ${t.validTo.slice(0, 10)}` : ''}${t.authorized ? '' : ` [${t.authorizationError ?? 'not authorized'}]`}`);
  }
  if (attempt.http) out.push(`HTTP ${attempt.http.status}${attempt.http.server ? ` server=${attempt.http.server}` : ''}${attempt.http.location ? ` -> ${attempt.http.location}` : ''}`);
  if (attempt.banner !== undefined) out.push(JSON.stringify(attempt.banner));
  if (attempt.error && attempt.outcome !== 'ok') out.push(`(${attempt.error})`);
  return out.join(' ');
}

export function renderProbes(probes: readonly EndpointProbe[]): string {
  const blocks: string[] = [];
  for (const probe of probes) {
    const lines = [`${probe.name}  ${probe.url}`, dnsLine('A', probe.dns.a), dnsLine('AAAA', probe.dns.aaaa)];
    if (probe.attempts.length === 0) lines.push('  no address to connect to');
    else {
      const rows = probe.attempts.map((a) => [`IPv${a.family}`, a.family === 6 ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`, a.outcome, a.connectMs === null ? '-' : `${a.connectMs.toFixed(1)} ms`, facts(a)]);
      const head = ['FAMILY', 'ADDRESS', 'OUTCOME', 'CONNECT', 'FACTS'];
      const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
      for (const row of [head, ...rows]) lines.push(`  ${row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')}`.trimEnd());
    }
    blocks.push(lines.join('\n'));
  }
  return blocks.join('\n\n');
}

/** Every attempt answered and each endpoint had one to make: exit 0 for `probe`. */
export function allAnswered(probes: readonly EndpointProbe[]): boolean {
  return probes.every((p) => p.attempts.length > 0 && p.attempts.every((a) => a.outcome === 'ok'));
}
