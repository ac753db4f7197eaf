// The terminal report: host summary, the service table (a column per family, as in the socket
// table of docs/linux-facts.md#which-clients-reach-which-socket), routing answers, and the
// sources that failed and why.
import { namespaceLabel, type Binding, type FamilyFirewall, type Finding, type NetworkNamespace, type Report, type Service } from '@dualstack/core';

const reachWords: Record<Service['ipv4'], string> = { any: 'yes', addresses: 'some addresses', loopback: 'loopback only', none: 'no' };

/** What a client of the family really gets: the socket table's answer, then the firewall's. */
function clientWords(reach: Service['ipv4'], firewall: FamilyFirewall | null | undefined): string {
  const words = reachWords[reach];
  if (!firewall || (reach !== 'any' && reach !== 'addresses')) return words;
  switch (firewall.verdict) {
    case 'accepted':
      return words;
    case 'dropped':
      return 'no (firewall)';
    case 'restricted':
      return 'some (firewall)';
    case 'unknown':
      return `${words}? (firewall)`;
  }
}

const firewallWords = (f: FamilyFirewall | null | undefined): string => (f ? f.verdict : '-');

function bindingText(b: Binding): string {
  const address = b.family === 6 ? `[${b.address}]` : b.address;
  if (b.family === 4) return address;
  const flag = b.v6only === null ? 'v6only=?' : `v6only=${b.v6only ? 1 : 0}`;
  return b.v6onlySource === 'sock_diag' ? `${address} ${flag}` : `${address} ${flag} (${b.v6onlySource})`;
}

/** `ssh.socket ListenStream=22 BindIPv6Only=default (/usr/lib/systemd/system/ssh.socket:7)`. */
function socketUnitText(s: Service): string {
  const u = s.socketUnit;
  return u ? `${u.unit} ${u.listen} BindIPv6Only=${u.bindIpv6Only} (${u.file}:${u.line})` : '-';
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((r) => (r[col] ?? '').length)));
  return rows.map((r) => r.map((cell, col) => (col === r.length - 1 ? cell : cell.padEnd(widths[col]!))).join('  ')).join('\n');
}

function servicesTable(services: Service[], withFirewall: boolean): string {
  if (services.length === 0) return 'No listening services.';
  // The socket unit column only when PID 1 holds a service's sockets (socket activation).
  const withUnits = services.some((s) => s.socketUnit);
  const rows = [['PROTO', 'PORT', 'PROCESS', 'IPv4 CLIENTS', 'IPv6 CLIENTS', 'MODE', ...(withFirewall ? ['FIREWALL v4/v6'] : []), ...(withUnits ? ['SOCKET UNIT'] : []), 'CONNECTED v4/v6/mapped', 'BINDINGS']];
  for (const s of services) {
    rows.push([
      s.proto,
      String(s.port),
      s.process ? `${s.process}[${s.pid}]` : '?',
      clientWords(s.ipv4, s.firewall?.ipv4),
      clientWords(s.ipv6, s.firewall?.ipv6),
      s.mode,
      ...(withFirewall ? [`${firewallWords(s.firewall?.ipv4)}/${firewallWords(s.firewall?.ipv6)}`] : []),
      ...(withUnits ? [socketUnitText(s)] : []),
      `${s.connections.ipv4}/${s.connections.ipv6}/${s.connections.mapped}`,
      s.bindings.map(bindingText).join(', '),
    ]);
  }
  return table(rows);
}

function findingLines(findings: Finding[], indent = ''): string[] {
  if (findings.length === 0) return [];
  const out = ['', `${indent}Findings`];
  for (const severity of ['critical', 'warning', 'info'] as const) {
    for (const f of findings.filter((x) => x.severity === severity)) {
      out.push(`${indent}  [${severity.toUpperCase()}] ${f.rule} — ${f.subject}: ${f.message}`);
      for (const e of f.evidence) out.push(`${indent}      evidence: ${e}`);
      out.push(`${indent}      fix: ${f.fix.summary}`);
      for (const cmd of f.fix.commands) out.push(`${indent}        ${cmd}`);
    }
  }
  return out;
}

/** One other namespace: a heading naming its owner, its services, its findings. */
function namespaceLines(ns: NetworkNamespace): string[] {
  const globals = ns.addresses.filter((a) => a.scope === 'global' && a.interface !== 'lo');
  const unread = ns.sources.filter((s) => s.status !== 'ok').map((s) => `${s.name} ${s.status}`);
  return [
    '',
    `== ${namespaceLabel(ns.owner)} (${ns.owner.runtime}${ns.owner.id ? ` ${ns.owner.id.slice(0, 12)}` : ''}, net:[${ns.inode}], pid ${ns.pid}) ==`,
    `Addresses: ${globals.length ? globals.map((a) => `${a.address}/${a.prefixLength} ${a.interface}`).join(', ') : 'no global address'}; bindv6only = ${ns.sysctl?.bindv6only ?? 'not read'}${unread.length ? `; ${unread.join(', ')}` : ''}`,
    servicesTable(ns.services, false),
    ...findingLines(ns.findings),
  ];
}

// Report strings come from the scanned host (process names, hostnames, config files, errors):
// a control character printed raw could move the cursor or erase lines and hide a row from the
// operator. C0 (newline too: only the renderer starts a line), DEL, C1 and the bidi overrides
// are shown as \xNN / \uNNNN instead.
const unprintable = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;
const escapeChar = (c: string): string => {
  const code = c.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
};
const printable = (text: string): string => text.replace(unprintable, escapeChar);

/** The report with every string made printable, so the tables pad the escaped text. */
const printableReport = (report: Report): Report => JSON.parse(JSON.stringify(report), (_key, value: unknown) => (typeof value === 'string' ? printable(value) : value)) as Report;

export function renderReport(raw: Report): string {
  const report = printableReport(raw);
  const out: string[] = [];
  const { host } = report;
  const os = [host.os.distro, host.os.release].filter(Boolean).join(' ');
  out.push(`Host ${host.hostname} (id ${host.hostId})${os ? `, ${os}` : ''}${host.os.kernel ? `, kernel ${host.os.kernel}` : ''}${host.replay ? ' [replayed from a capture]' : ''}`);
  const bindv6only = report.sysctl.bindv6only;
  out.push(`net.ipv6.bindv6only = ${bindv6only ?? 'unknown'}${bindv6only === 1 ? ' (programs binding :: without asking get IPv6-only sockets)' : ''}`);
  for (const r of report.reachability) {
    const via = r.route ? ` via ${r.route.gateway ?? 'on-link'} dev ${r.route.interface} (${r.route.destination}/${r.route.prefixLength})` : '';
    const answer = r.reachable === true ? `reachable${via}, source ${r.sourceAddress}` : r.reachable === false ? `UNREACHABLE (${r.error})` : `unknown (${r.error})`;
    out.push(`IPv${r.family} to the internet (${r.target}): ${answer}`);
  }
  const globals = report.addresses.filter((a) => a.scope === 'global' && a.interface !== 'lo');
  out.push(`Global addresses: ${globals.length ? globals.map((a) => `${a.address}/${a.prefixLength} ${a.interface}${a.flags.length ? ` [${a.flags.join(',')}]` : ''}`).join(', ') : 'none'}`);
  out.push('');

  // The firewall column only when the firewall was read (or replayed): older captures have none.
  out.push(servicesTable(report.services, report.firewall !== undefined));
  const c = report.connections;
  out.push('', `Established to services: ${c.ipv4} IPv4, ${c.ipv6} IPv6, ${c.mapped} IPv4-mapped; ${c.unattributed} other (outgoing).`);
  out.push(...findingLines(report.findings));
  for (const ns of report.namespaces ?? []) out.push(...namespaceLines(ns));

  const notOk = report.sources.filter((s) => s.status !== 'ok');
  out.push('', `Sources: ${report.sources.length - notOk.length} of ${report.sources.length} ok.`);
  for (const s of notOk) out.push(`  ${s.name}: ${s.status}${s.error ? ` — ${s.error}` : ''}${s.detail ? ` — ${s.detail}` : ''}`);
  if (!host.privileged && !host.replay) out.push('  Not every process was readable: services of other users show process "?". Run as root, or with CAP_DAC_READ_SEARCH and CAP_SYS_PTRACE (as the dualstack-agent unit does), for full facts.');
  return out.join('\n');
}
