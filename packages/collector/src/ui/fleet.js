// Fleet views: the overview (#/) and the service matrix (#/services).
import { ApiError, get, getAllPages, getOptional } from './api.js';
import { modeBars, modeStack } from './chart.js';
import { MODES, NARROW, SEVERITIES, h, hashHref, hostHref, labelCells, num, pct, replace, severity, table, time } from './dom.js';

function card(title, value, detail, attrs = {}) {
  return h('section', { class: 'card', ...attrs }, h('h2', null, title), h('p', { class: 'big' }, value), detail ? h('div', { class: 'detail' }, detail) : null);
}

/** Hosts per mode summed over the service matrix: services (per host) in each mode. */
function modeTotals(rows) {
  const totals = Object.fromEntries(MODES.map((m) => [m.id, 0]));
  for (const row of rows) for (const m of MODES) totals[m.id] += row.modes[m.id] ?? 0;
  return totals;
}

const SEVERITY_ORDER = { critical: 0, warning: 1, info: 2 };

/** When the alert rules last ran and where alerts go: receivers and their queues. */
function alertsStatus(response) {
  const parts = [];
  const ev = response.lastEvaluation;
  if (ev === null) parts.push('Alert rules not evaluated yet. ');
  else if (ev && typeof ev === 'object') {
    parts.push(h('span', null, 'Rules evaluated ', ev.startedAt ? time(String(ev.startedAt)) : '?', ev.error ? ` (failed: ${ev.error})` : '', '. '));
  }
  if (Array.isArray(response.receivers)) {
    if (response.receivers.length === 0) parts.push('No receivers configured: alerts are shown here only.');
    else parts.push(`Receivers: ${response.receivers.map((r) => `${r.name} (${r.type}${r.pending ? `, ${r.pending} waiting` : ''})`).join(', ')}.`);
  }
  return parts.length ? h('p', { class: 'muted' }, parts) : null;
}

/** The alerts of GET /api/v1/alerts ({ alerts: [...] }; { items } accepted too), firing first. */
function alertsSection(response, error) {
  const heading = h('h2', { id: 'alerts-h' }, 'Firing alerts');
  if (error) return h('section', { 'aria-labelledby': 'alerts-h', class: 'panel', dataset: { alerts: 'error' } }, heading, h('p', { class: 'error' }, `Alerts could not be read: ${error.message}`));
  if (response === null) {
    return h('section', { 'aria-labelledby': 'alerts-h', class: 'panel', dataset: { alerts: 'not-configured' } }, heading, h('p', { class: 'muted' }, 'Alerts not configured: this collector has no alerts endpoint.'));
  }
  const items = Array.isArray(response.alerts) ? response.alerts : Array.isArray(response.items) ? response.items : [];
  const labels = (a) => (a.labels && typeof a.labels === 'object' ? a.labels : {});
  const statusOf = (a) => String(a.status ?? a.state ?? (a.resolvedAt || a.endsAt ? 'resolved' : 'firing'));
  const firing = items.filter((a) => statusOf(a) === 'firing');
  const pending = items.filter((a) => statusOf(a) === 'pending');
  const resolved = items.filter((a) => statusOf(a) === 'resolved').slice(0, 20);
  const row = (a) => {
    const l = labels(a);
    const host = l.host ?? a.hostId ?? null;
    const sev = l.severity ?? a.severity;
    const since = a.firingSince ?? a.startsAt ?? a.activeSince ?? null;
    const subject = [l.subject, l.service, l.metric].filter(Boolean).join(' ');
    return h(
      'tr',
      { dataset: { status: statusOf(a) } },
      h('td', null, sev ? severity(String(sev)) : '–'),
      h('th', { scope: 'row', class: 'mono' }, String(a.rule ?? l.alertname ?? 'alert')),
      h('td', null, host ? h('a', { href: hostHref(String(host)) }, String(host)) : 'fleet', subject ? h('div', { class: 'sub mono' }, subject) : null),
      h('td', null, String(a.summary ?? ''), a.fix ? h('div', { class: 'sub' }, `Fix: ${a.fix}`) : null),
      h('td', null, a.resolvedAt ? h('span', null, 'resolved ', time(String(a.resolvedAt))) : since ? time(String(since)) : '–'),
    );
  };
  const headers = ['Severity', 'Alert', 'Host', 'Summary', 'Since'];
  return h(
    'section',
    { 'aria-labelledby': 'alerts-h', class: 'panel', dataset: { alerts: String(firing.length) } },
    heading,
    firing.length === 0
      ? h('p', { class: 'ok-note' }, h('span', { 'aria-hidden': 'true' }, '✔ '), 'No alert is firing.')
      : table(`${num(firing.length)} firing`, headers, firing.map(row), { class: 'alerts' }),
    pending.length > 0 ? h('p', { class: 'muted' }, `${num(pending.length)} pending (condition holds, not firing yet).`) : null,
    alertsStatus(response),
    resolved.length > 0 ? h('details', null, h('summary', null, `Recently resolved (${resolved.length})`), table(null, headers, resolved.map(row))) : null,
  );
}

export async function overview({ signal }) {
  const [summary, matrix, findings, alertsResult] = await Promise.all([
    get('/api/v1/summary', { signal }),
    // The hosts' own services: each count opens the host list, which filters on those (containers' rows are on each host page).
    getAllPages('/api/v1/services?scope=host', { signal }),
    get('/api/v1/findings', { signal }),
    getOptional('/api/v1/alerts', { signal }).then(
      (value) => ({ value, error: null }),
      (error) => {
        if (error instanceof ApiError && !error.isAuth) return { value: null, error };
        throw error;
      },
    ),
  ]);
  const reporting = summary.hosts - summary.staleHosts;
  const conn = summary.connections;
  const connTotal = conn.ipv4 + conn.ipv6 + conn.mapped;
  const modes = modeTotals(matrix.items);
  const exposedDual = modes['dual-separate'] + modes['dual-mapped'];
  const exposedTotal = exposedDual + modes['ipv4-only'] + modes['ipv6-only'];
  const rules = [...findings.items].sort((a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] || b.hosts - a.hosts || a.rule.localeCompare(b.rule));

  const cards = h(
    'div',
    { class: 'cards' },
    card(
      'Hosts reporting',
      h('span', { dataset: { metric: 'reporting' } }, num(reporting)),
      h(
        'p',
        null,
        'of ',
        h('span', { dataset: { metric: 'hosts' } }, num(summary.hosts)),
        ' hosts; ',
        summary.staleHosts > 0
          ? h('a', { href: hashHref('/hosts', { stale: 'true' }) }, h('span', { dataset: { metric: 'stale' } }, num(summary.staleHosts)), ' stale')
          : h('span', null, h('span', { dataset: { metric: 'stale' } }, '0'), ' stale'),
        // Other machines enrolled with a host's id (clones): marked in the host list, and alerted.
        summary.duplicateIdentities > 0
          ? h('span', { class: 'warn' }, '; ', h('span', { dataset: { metric: 'duplicate-identities' } }, num(summary.duplicateIdentities)), ` with a duplicate identity (marked in the host list)`)
          : null,
      ),
    ),
    card(
      'IPv6 routing works',
      h('span', { dataset: { metric: 'ipv6-routable' } }, pct(summary.ipv6RoutableShare)),
      h('p', null, 'of reporting hosts: the kernel routes to global IPv6 (', h('a', { href: hashHref('/hosts', { rule: 'ipv6-unroutable' }) }, 'unroutable hosts'), ').'),
    ),
    card(
      'Exposed services dual-stack',
      h('span', { dataset: { metric: 'dual-share' } }, pct(summary.dualStackServiceShare)),
      h('p', null, 'of services reachable from outside take IPv4 and IPv6 clients.'),
    ),
    card(
      'IPv6 share of connections',
      h('span', { dataset: { metric: 'ipv6-connections' } }, pct(summary.ipv6ConnectionShare)),
      h(
        'p',
        null,
        `${num(conn.ipv6)} over IPv6, ${num(conn.ipv4)} over IPv4, ${num(conn.mapped)} IPv4 as ::ffff: mapped`,
        connTotal === 0 ? ' (no established connections reported)' : '',
        '.',
      ),
    ),
    card(
      'Open findings',
      h('span', { dataset: { metric: 'findings-total' } }, num(summary.findings.critical + summary.findings.warning + summary.findings.info)),
      h(
        'ul',
        { class: 'sev-counts' },
        SEVERITIES.map((sev) => h('li', null, h('a', { href: hashHref('/hosts', { severity: sev }) }, severity(sev), ': ', h('span', { dataset: { metric: `findings-${sev}` } }, num(summary.findings[sev]))))),
      ),
    ),
  );

  // A phone gets the compact drawing (names above the bars); turning it redraws the chart.
  const narrow = window.matchMedia(NARROW);
  const drawChart = () => modeBars(modes, { title: 'Listening services by mode', compact: narrow.matches });
  const chartSlot = h('div', { class: 'chart-slot' }, drawChart());
  narrow.addEventListener('change', () => replace(chartSlot, drawChart()), { signal });
  const chart = h(
    'section',
    { class: 'panel', 'aria-labelledby': 'modes-h' },
    h('h2', { id: 'modes-h' }, 'Services by mode'),
    chartSlot,
    h('p', { class: 'muted' }, `${num(exposedDual)} of ${num(exposedTotal)} exposed services are dual-stack (loopback-only services are not exposed). `, h('a', { href: '#/services' }, 'The service matrix'), ' shows each daemon and port.', matrix.complete ? '' : ` (First ${num(matrix.items.length)} of ${num(matrix.total)} matrix rows.)`),
  );

  const findingRows = rules.map((r) =>
    h(
      'tr',
      { dataset: { rule: r.rule, severity: r.severity } },
      h('th', { scope: 'row' }, h('a', { href: hashHref('/hosts', { rule: r.rule }) }, r.rule)),
      h('td', null, severity(r.severity)),
      h('td', { class: 'n' }, num(r.hosts)),
      h('td', { class: 'n' }, num(r.findings)),
    ),
  );
  const findingsPanel = h(
    'section',
    { class: 'panel', 'aria-labelledby': 'findings-h' },
    h('h2', { id: 'findings-h' }, 'Findings by rule and severity'),
    rules.length === 0 ? h('p', { class: 'ok-note' }, 'No open findings.') : table('Open findings; a rule opens the hosts it affects.', ['Rule', 'Severity', { label: 'Hosts', numeric: true }, { label: 'Findings', numeric: true }], findingRows, { class: 'findings-by-rule' }),
  );

  return {
    title: 'Fleet overview',
    node: h(
      'div',
      { class: 'view overview' },
      h('h1', { tabindex: '-1' }, 'Fleet overview'),
      h('p', { class: 'muted' }, 'Generated ', time(summary.generatedAt), '. Shares count reporting (fresh) hosts for routing and every host for services.'),
      cards,
      alertsSection(alertsResult.value, alertsResult.error),
      chart,
      findingsPanel,
    ),
  };
}

/**
 * A matrix row's firewall counts in words, each opening its hosts: "dual-stack, but IPv6
 * filtered on 3 hosts" when every host that takes that family from outside runs the service
 * dual-stack (no host runs it IPv6-only), else "IPv6 filtered on 3 hosts".
 */
function firewallCell(r, name, proc) {
  const lines = [];
  for (const family of ['ipv6', 'ipv4']) {
    const n = r.firewallFiltered?.[family] ?? 0;
    if (n === 0) continue;
    const dual = (r.modes['dual-separate'] ?? 0) + (r.modes['dual-mapped'] ?? 0);
    // A family is taken by dual-stack sockets and by that family's single-family ones: with no
    // host of the latter, every host counted here runs the service dual-stack.
    const onlyDual = dual > 0 && (r.modes[family === 'ipv6' ? 'ipv6-only' : 'ipv4-only'] ?? 0) === 0;
    const label = `IPv${family.slice(3)}`;
    const text = `${onlyDual ? 'dual-stack, but ' : ''}${label} filtered on ${num(n)} host${n === 1 ? '' : 's'}`;
    lines.push(
      h(
        'li',
        { dataset: { filtered: family, hosts: n } },
        h('span', { 'aria-hidden': 'true', class: 'warn' }, '▲ '),
        h('a', { href: hashHref('/hosts', { proto: r.proto, port: r.port, process: r.process ?? undefined, filtered: family, service: `${name} ${proc}` }), 'aria-label': `${text}: ${proc} on ${name}; list them` }, text),
      ),
    );
  }
  return h('td', { class: 'fw-filtered' }, lines.length ? h('ul', { class: 'plain' }, lines) : h('span', { class: 'muted' }, '–'));
}

export async function services({ signal, params }) {
  const matrix = await getAllPages('/api/v1/services?scope=host', { signal });
  const filterInput = h('input', { id: 'svc-filter', type: 'search', value: params.get('q') ?? '', placeholder: 'sshd, 443, udp…', autocomplete: 'off' });
  const body = h('tbody');
  const status = h('p', { role: 'status', class: 'muted', id: 'svc-status' });
  // The firewall column only when some host's firewall filters a service (agents from before
  // the firewall source report no verdicts, and then the matrix is as it was).
  const filteredOf = (r) => r.firewallFiltered ?? { ipv4: 0, ipv6: 0 };
  const withFirewall = matrix.items.some((r) => filteredOf(r).ipv4 > 0 || filteredOf(r).ipv6 > 0);
  const rows = matrix.items.map((r) => {
    const name = `${r.proto}/${r.port}`;
    const proc = r.process ?? 'unknown process';
    const cells = MODES.map((m) => {
      const n = r.modes[m.id] ?? 0;
      return h(
        'td',
        { class: `n ${n ? '' : 'zero'}` },
        n > 0
          ? h('a', { href: hashHref('/hosts', { mode: m.id, proto: r.proto, port: r.port, process: r.process ?? undefined, service: `${name} ${proc}` }), 'aria-label': `${num(n)} hosts run ${proc} on ${name} ${m.label}: list them` }, num(n))
          : '0',
      );
    });
    const tr = h(
      'tr',
      { dataset: { service: name, process: r.process ?? '' } },
      h('th', { scope: 'row' }, h('span', { class: 'mono' }, name)),
      h('td', null, proc),
      h('td', { class: 'n' }, num(r.hosts)),
      cells,
      h('td', null, modeStack(r.modes)),
      withFirewall ? firewallCell(r, name, proc) : null,
    );
    return { tr, text: `${name} ${proc}`.toLowerCase() };
  });
  labelCells(rows.map((r) => r.tr), ['Service', 'Process', 'Hosts', ...MODES.map((m) => m.short), '', ...(withFirewall ? ['Firewall'] : [])]);
  const apply = () => {
    const q = filterInput.value.trim().toLowerCase();
    const shown = rows.filter((r) => !q || r.text.includes(q));
    body.replaceChildren(...shown.map((r) => r.tr));
    status.textContent = `${num(shown.length)} of ${num(rows.length)} services${matrix.complete ? '' : ` (first ${num(matrix.items.length)} of ${num(matrix.total)})`}.`;
  };
  filterInput.addEventListener('input', apply);
  apply();
  const legend = h(
    'ul',
    { class: 'legend', 'aria-label': 'Modes' },
    MODES.map((m) => h('li', null, modeStack({ [m.id]: 1 }, { width: 24, height: 12 }), ' ', m.label)),
  );
  return {
    title: 'Service matrix',
    node: h(
      'div',
      { class: 'view services' },
      h('h1', { tabindex: '-1' }, 'Service matrix'),
      h(
        'p',
        { class: 'muted' },
        'Each daemon and port across the fleet: how many hosts run it in each mode. A count opens those hosts.',
        withFirewall ? ' Firewall: the hosts whose firewall drops or restricts a family that the service listens for.' : '',
      ),
      h('form', { role: 'search', class: 'filters', 'aria-label': 'Filter services', on: { submit: (e) => e.preventDefault() } }, h('div', { class: 'field' }, h('label', { for: 'svc-filter' }, 'Process, port or protocol'), filterInput)),
      status,
      legend,
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          { class: 'stack matrix' },
          h('caption', null, 'Hosts per mode for each service (protocol/port and process)'),
          h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Service'), h('th', { scope: 'col' }, 'Process'), h('th', { scope: 'col' }, 'Hosts'), MODES.map((m) => h('th', { scope: 'col', class: 'n' }, m.short)), h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, 'Modes as a bar')), withFirewall ? h('th', { scope: 'col' }, 'Firewall') : null)),
          body,
        ),
      ),
    ),
  };
}
