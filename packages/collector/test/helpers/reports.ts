// Report bodies for collector tests and benchmarks, built from the golden replays of real
// captures (test/golden/*.json, which lack reportId and collectedAt), and from replays of the
// dual-stack-services capture with captured firewall rule sets
// (test/fixtures/firewall-reports/*.json, made by make.mjs there: `fw-<scenario>`).
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { runNamespaceRules, unreadServiceFirewall, type Finding, type NetworkNamespace, type Report, type Service } from '@dualstack/core';

/** Firewall scenarios (test/fixtures/firewall/<scenario>) replayed on the dual-stack-services host. */
export type FirewallReportName = 'fw-iptables-realistic' | 'fw-firewalld' | 'fw-ip6-no-nd';
export type GoldenName = 'dual-stack-services' | 'bindv6only' | 'ipv6-off' | 'no-ipv6-default' | 'broken-tcp-bad-hex' | FirewallReportName;

const cache = new Map<GoldenName, string>();

export function golden(name: GoldenName): Omit<Report, 'reportId' | 'collectedAt'> {
  let text = cache.get(name);
  if (text === undefined) {
    const file = name.startsWith('fw-') ? `../fixtures/firewall-reports/${name.slice(3)}.json` : `../../../../test/golden/${name}.json`;
    text = readFileSync(new URL(file, import.meta.url), 'utf8');
    cache.set(name, text);
  }
  return JSON.parse(text) as Omit<Report, 'reportId' | 'collectedAt'>;
}

/** The agent's answer when it may not list the rule sets (no CAP_NET_ADMIN): every exposed family unknown, saying why. */
export const FIREWALL_NOT_READ = 'firewall not read (needs CAP_NET_ADMIN: see docs/firewall.md)';

/** A report as an agent without CAP_NET_ADMIN sends it (packages/agent/src/scan.ts, applyFirewall). */
export function withFirewallNotRead(report: Report, why = FIREWALL_NOT_READ): Report {
  return {
    ...report,
    services: report.services.map((s) => ({ ...s, firewall: unreadServiceFirewall(s, why) })),
    firewall: { read: false, why, rulesets: [], icmpv6: [] },
  };
}

export interface ReportOptions {
  hostId: string;
  collectedAt: Date | string;
  reportId?: string;
  hostname?: string;
  findings?: Finding[];
  services?: Service[];
}

/**
 * A golden report as one host would send it: a fresh reportId, its own host id and time, and
 * the sources' durationMs the golden files drop as volatile (so it passes the schema).
 */
export function reportFrom(name: GoldenName, options: ReportOptions): Report {
  const base = golden(name);
  const collectedAt = typeof options.collectedAt === 'string' ? options.collectedAt : options.collectedAt.toISOString();
  return {
    ...base,
    reportId: options.reportId ?? randomUUID(),
    collectedAt,
    sources: base.sources.map((source, index) => ({ ...source, durationMs: source.durationMs ?? 0.5 + index })),
    host: { ...base.host, hostId: options.hostId, hostname: options.hostname ?? `${options.hostId}.example` },
    ...(options.findings ? { findings: options.findings } : {}),
    ...(options.services ? { services: options.services } : {}),
  } as Report;
}

/** One finding of the kind the rules emit. */
export function finding(rule: string, subject: string, severity: Finding['severity'] = 'warning'): Finding {
  return {
    rule,
    severity,
    subject,
    message: `${subject}: ${rule} (test finding).`,
    evidence: [`${subject} evidence line`],
    fix: { summary: `Fix ${rule} on ${subject}.`, commands: [`echo fix ${subject}`] },
  };
}

/**
 * A realistic big report: 50 services (the 11 of dual-stack-services repeated on other ports,
 * every mode present), 10 findings (the goldens' host findings and per-service ones), and
 * connection counts that change with `round` as they do between real reports.
 */
export function realisticReport(options: { hostId: string; collectedAt: Date | string; round?: number; reportId?: string }): Report {
  const round = options.round ?? 0;
  const templates = golden('dual-stack-services').services;
  const services: Service[] = [];
  for (let i = 0; i < 50; i++) {
    const t = templates[i % templates.length]!;
    const copy = Math.floor(i / templates.length);
    const busy = i % 7 === 0;
    services.push({
      ...t,
      port: copy === 0 ? t.port : 20000 + copy * 1000 + t.port % 1000,
      pid: (t.pid ?? 1000) + copy,
      bindings: t.bindings.map((b) => ({ ...b, inode: b.inode + copy * 100 })),
      connections: busy ? { ipv4: (round * 7 + i) % 13, ipv6: (round * 3 + i) % 5, mapped: (round + i) % 3 } : { ...t.connections },
    });
  }
  const goldenFindings = [...golden('no-ipv6-default').findings, ...golden('bindv6only').findings, ...golden('ipv6-off').findings];
  const perService: Finding[] = services
    .filter((s) => s.mode === 'ipv4-only' || s.mode === 'dual-mapped')
    .map((s) => ({
      rule: s.mode === 'ipv4-only' ? 'service-ipv4-only' : 'service-dual-mapped',
      severity: s.mode === 'ipv4-only' ? 'warning' : 'info',
      subject: `${s.proto}/${s.port}`,
      message: `${s.process ?? 'unknown'} on ${s.proto}/${s.port} ${s.mode === 'ipv4-only' ? 'takes IPv4 clients only: IPv6 clients are refused.' : 'takes IPv4 clients as ::ffff: mapped addresses: ACLs and logs see them differently.'}`,
      evidence: s.bindings.map((b) => `${b.address} family ${b.family} v6only=${String(b.v6only)} (${b.v6onlySource}), inode ${b.inode}`),
      fix: {
        summary: `Make ${s.process ?? 'the daemon'} listen on both families with separate sockets, then restart it.`,
        commands: [`# ${s.process ?? 'daemon'}: listen [::]:${s.port} ipv6only=on; and listen 0.0.0.0:${s.port};`, `systemctl restart ${s.process ?? 'daemon'}`],
      },
    }));
  const findings: Finding[] = [];
  const keys = new Set<string>();
  for (const f of [...goldenFindings, ...perService]) {
    if (findings.length === 10) break;
    if (keys.has(`${f.rule} ${f.subject}`)) continue;
    keys.add(`${f.rule} ${f.subject}`);
    findings.push(f);
  }
  return reportFrom('dual-stack-services', {
    hostId: options.hostId,
    collectedAt: options.collectedAt,
    ...(options.reportId ? { reportId: options.reportId } : {}),
    services,
    findings,
  });
}

export interface PodNamespaceOptions {
  inode?: number;
  pid?: number;
  /** The pod's namespace/name; the owner's name as the agent gives it. */
  pod?: { namespace: string; name: string; uid: string };
  /** The services listening inside (default: one program on 0.0.0.0:8080 only). */
  services?: Service[];
}

/**
 * A Kubernetes pod's network namespace as the agent reports it (packages/agent/src/scan.ts,
 * namespaceReports): a global IPv6 pod address, the given services, and the findings of
 * core's per-namespace rules run on those facts, so subjects name the pod as the agent's do.
 */
export function podNamespace(host: Report, options: PodNamespaceOptions = {}): NetworkNamespace {
  const inode = options.inode ?? 4026532400;
  const pid = options.pid ?? 31000;
  const pod = options.pod ?? { namespace: 'default', name: 'web-7d9', uid: '0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0' };
  const services: Service[] = options.services ?? [
    {
      proto: 'tcp',
      port: 8080,
      process: 'web',
      pid: pid + 1,
      exe: '/usr/local/bin/web',
      unit: null,
      uid: 1000,
      sharedWith: [],
      bindings: [{ address: '0.0.0.0', family: 4, v6only: null, v6onlySource: 'not-applicable', inode: inode + 17 }],
      ipv4: 'any',
      ipv6: 'none',
      mode: 'ipv4-only',
      connections: { ipv4: 0, ipv6: 0, mapped: 0 },
    } as Service,
  ];
  const facts: Omit<NetworkNamespace, 'findings'> = {
    inode,
    pid,
    processes: 2,
    owner: { runtime: 'kubernetes', id: 'a1b2c3d4e5f6', pod: { uid: pod.uid, name: pod.name, namespace: pod.namespace }, name: `${pod.namespace}/${pod.name}`, cgroup: `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${pod.uid.replaceAll('-', '_')}.slice/cri-containerd-a1b2c3d4e5f6.scope` },
    sources: [
      { name: 'tcp', ok: true, status: 'ok', durationMs: 0.2 },
      { name: 'tcp6', ok: true, status: 'ok', durationMs: 0.2 },
    ] as NetworkNamespace['sources'],
    addresses: [
      { family: 4, address: '10.244.1.7', prefixLength: 24, interface: 'eth0', scope: 'global', flags: [] },
      { family: 6, address: 'fd00:10:244:1::7', prefixLength: 64, interface: 'eth0', scope: 'global', flags: [] },
    ] as NetworkNamespace['addresses'],
    routes: [],
    sysctl: null,
    services,
    connections: { ipv4: 0, ipv6: 0, mapped: 0, unattributed: 0 },
  };
  return { ...facts, findings: runNamespaceRules(host, facts) };
}

/** The report with these namespaces (none: the report as an agent run with --namespaces host sends it). */
export function withNamespaces(report: Report, namespaces: NetworkNamespace[]): Report {
  const { namespaces: _dropped, ...rest } = report;
  return namespaces.length > 0 ? { ...rest, namespaces } : (rest as Report);
}
