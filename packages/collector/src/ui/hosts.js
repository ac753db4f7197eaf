// Host views: the searchable, filterable list (#/hosts?...) and one host (#/hosts/:id).
import { get, getResource } from './api.js';
import { shareBar, sparkline } from './chart.js';
import { MODES, SEVERITIES, endpointHref, findingCounts, h, hashHref, hostHref, modeInfo, notFoundView, num, pct, replace, table, time, yesNo } from './dom.js';
import { findingsSection } from './findings.js';
import { duplicateBadge, identityFact, identitySection } from './identity.js';

const PAGE = 100;
const FILTERS = ['q', 'rule', 'severity', 'mode', 'stale'];
/** One service, set by the service matrix's links (no form control: the note shows it). */
const SERVICE_FILTERS = ['proto', 'port', 'process', 'filtered'];

function hostRow(host) {
  return h(
    'tr',
    { dataset: { hostId: host.hostId } },
    h('th', { scope: 'row' }, h('a', { href: hostHref(host.hostId) }, host.hostname), h('div', { class: 'sub mono' }, host.hostId), host.duplicateIdentity ? h('div', null, duplicateBadge()) : null),
    h('td', null, host.distro ?? '–', h('div', { class: 'sub' }, host.kernel ?? '')),
    h('td', null, time(host.lastSeen), host.stale ? h('div', null, h('span', { class: 'badge stale' }, 'stale')) : null),
    h('td', null, yesNo(host.ipv6Routable, 'routes', 'unroutable')),
    h('td', { class: 'n' }, `${num(host.services.dual)} / ${num(host.services.exposed)}`),
    h('td', { class: 'readiness' }, h('span', { class: 'n' }, pct(host.readiness)), ' ', shareBar(host.readiness)),
    h('td', null, findingCounts(host.findings)),
  );
}

/** The hosts API query of a hash's parameters. */
function hostsQuery(p) {
  const offset = Math.max(0, Number.parseInt(p.get('offset') ?? '0', 10) || 0);
  const query = new URLSearchParams();
  for (const name of [...FILTERS, ...SERVICE_FILTERS]) if (p.get(name)) query.set(name, p.get(name));
  query.set('limit', String(PAGE));
  query.set('offset', String(offset));
  return { offset, path: `/api/v1/hosts?${query}` };
}

export async function hosts({ signal, params }) {
  // The rules (for the finding filter) and the first page, in parallel.
  const [rules, firstPage] = await Promise.all([get('/api/v1/findings', { signal }), get(hostsQuery(params).path, { signal })]);
  const field = (name, label, control) => h('div', { class: 'field' }, h('label', { for: `f-${name}` }, label), control);
  const select = (name, options) =>
    h(
      'select',
      { id: `f-${name}`, name },
      options.map(([value, label]) => h('option', { value }, label)),
    );
  const ruleNames = [...new Set(rules.items.map((r) => r.rule))].sort();
  const ruleSelect = select('rule', [['', 'any'], ...ruleNames.map((r) => [r, r])]);
  const controls = {
    q: h('input', { id: 'f-q', name: 'q', type: 'search', autocomplete: 'off', placeholder: 'web-1, 5f3a…' }),
    rule: ruleSelect,
    severity: select('severity', [['', 'any'], ...SEVERITIES.map((s) => [s, s])]),
    mode: select('mode', [['', 'any'], ...MODES.map((m) => [m.id, m.label])]),
    stale: select('stale', [['', 'any'], ['false', 'reporting'], ['true', 'stale']]),
  };
  const form = h(
    'form',
    { role: 'search', class: 'filters', 'aria-label': 'Filter hosts' },
    field('q', 'Host name or id', controls.q),
    field('rule', 'With finding', controls.rule),
    field('severity', 'With severity', controls.severity),
    field('mode', 'With a service', controls.mode),
    field('stale', 'Reporting', controls.stale),
    h('div', { class: 'buttons' }, h('button', { type: 'submit' }, 'Apply'), h('a', { href: '#/hosts', class: 'button secondary' }, 'Clear')),
  );
  const formParams = () => {
    const out = {};
    for (const name of FILTERS) if (controls[name].value) out[name] = controls[name].value.trim();
    return out;
  };
  const go = (replaceEntry) => {
    const target = hashHref('/hosts', formParams());
    if (target === location.hash) return;
    if (replaceEntry) {
      history.replaceState(null, '', target);
      window.dispatchEvent(new HashChangeEvent('hashchange'));
    } else location.hash = target;
  };
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    go(false);
  });
  for (const name of ['rule', 'severity', 'mode', 'stale']) controls[name].addEventListener('change', () => go(false));
  let typing;
  controls.q.addEventListener('input', () => {
    clearTimeout(typing);
    typing = setTimeout(() => go(true), 300);
  });

  const note = h('div', { class: 'note-slot' });
  const status = h('p', { role: 'status', class: 'result-count', id: 'hosts-status' });
  const results = h('div', { class: 'results' });

  async function load(p, sig, prefetched) {
    for (const name of FILTERS) {
      const value = p.get(name) ?? '';
      if (name === 'rule' && value && ![...ruleSelect.options].some((o) => o.value === value)) ruleSelect.appendChild(h('option', { value }, value));
      if (controls[name] !== document.activeElement) controls[name].value = value;
    }
    const { offset, path } = hostsQuery(p);
    results.setAttribute('aria-busy', 'true');
    const page = prefetched ?? (await get(path, { signal: sig }));
    results.removeAttribute('aria-busy');
    const service = p.get('service');
    replace(
      note,
      service && p.get('port')
        ? h('p', { class: 'note' }, `From the service matrix: the hosts running ${service}${p.get('mode') ? `, ${modeInfo(p.get('mode')).label}` : ''}${p.get('filtered') === 'ipv4' || p.get('filtered') === 'ipv6' ? `, where the firewall drops or restricts IPv${p.get('filtered').slice(3)} clients the sockets take` : ''}.`)
        : null,
    );
    const from = page.total === 0 ? 0 : offset + 1;
    const to = offset + page.items.length;
    status.textContent = page.total === 0 ? 'No host matches.' : `${num(page.total)} host${page.total === 1 ? '' : 's'} match; showing ${num(from)}–${num(to)}.`;
    status.dataset.total = String(page.total);
    const linkFor = (o) => hashHref('/hosts', { ...Object.fromEntries([...FILTERS, ...SERVICE_FILTERS].map((n) => [n, p.get(n)])), service: p.get('service'), offset: o || undefined });
    const pager =
      page.total > PAGE
        ? h(
            'nav',
            { class: 'pager', 'aria-label': 'Pages' },
            offset > 0 ? h('a', { href: linkFor(Math.max(0, offset - PAGE)), rel: 'prev' }, '← Previous') : h('span', { class: 'muted' }, '← Previous'),
            h('span', null, ` page ${num(Math.floor(offset / PAGE) + 1)} of ${num(Math.ceil(page.total / PAGE))} `),
            to < page.total ? h('a', { href: linkFor(offset + PAGE), rel: 'next' }, 'Next →') : h('span', { class: 'muted' }, 'Next →'),
          )
        : null;
    replace(
      results,
      page.items.length
        ? table(
            'Hosts, by name. Readiness: the share of exposed services that take both IPv4 and IPv6 clients.',
            ['Host', 'System', 'Last report', 'IPv6 routing', { label: 'Dual / exposed services', numeric: true }, 'Readiness', 'Open findings'],
            page.items.map(hostRow),
            { class: 'hosts' },
          )
        : null,
      pager,
    );
  }

  await load(params, signal, firstPage);
  return {
    title: 'Hosts',
    node: h('div', { class: 'view hosts' }, h('h1', { tabindex: '-1' }, 'Hosts'), form, note, status, results),
    update: (ctx) => load(ctx.params, ctx.signal),
  };
}

// --- one host ------------------------------------------------------------------------------

const REACH_TEXT = {
  any: 'yes, any address',
  addresses: 'yes, on specific addresses',
  loopback: 'loopback only',
  none: 'no',
};

function v6onlyText(b) {
  if (b.family === 4) return null;
  const value = b.v6only === true ? 'V6ONLY=1' : b.v6only === false ? 'V6ONLY=0' : 'V6ONLY unknown';
  return h('span', { class: `v6only ${b.v6only === false ? 'mapped' : ''}`, title: `read: ${b.v6onlySource}` }, value, h('span', { class: 'sub' }, ` (${b.v6onlySource})`));
}

/** The firewall's answer for a family the socket table lets in from outside; null when the report has none. */
function firewallOf(service, family) {
  const reach = family === 4 ? service.ipv4 : service.ipv6;
  if (reach !== 'any' && reach !== 'addresses') return null;
  return (family === 4 ? service.firewall?.ipv4 : service.firewall?.ipv6) ?? null;
}

/** What a client gets when the firewall has the last word (docs/firewall.md): the words of `dualstack-agent scan`. */
const FIREWALL_WORDS = {
  dropped: { words: 'no (firewall)', mark: '✖ ', cls: 'bad' },
  restricted: { words: 'some sources (firewall)', mark: '▲ ', cls: 'warn' },
  unknown: { words: '? (firewall)', mark: '', cls: 'unknown' },
};

/** Who gets in through a restricting firewall: its prefixes, or the interfaces that accept. */
function allowedText(fw) {
  const parts = [];
  if (fw.allowedSources.length) parts.push(`from ${fw.allowedSources.join(', ')}`);
  if (fw.acceptedOn.length) parts.push(`on ${fw.acceptedOn.join(', ')}${fw.interfaces.length > fw.acceptedOn.length ? ` (not on ${fw.interfaces.filter((i) => !fw.acceptedOn.includes(i)).join(', ')})` : ''}`);
  return parts.length ? `Gets in only ${parts.join('; ')}.` : 'Gets in only from some sources.';
}

function clientsCell(service, family) {
  const reach = family === 4 ? service.ipv4 : service.ipv6;
  const c = service.connections;
  const words = REACH_TEXT[reach] ?? reach;
  const addrs = reach === 'addresses' ? service.bindings.filter((b) => (family === 4 ? b.family === 4 || (b.family === 6 && b.v6only === false && b.address !== '::') : b.family === 6)).map((b) => b.address) : [];
  const viaMapped = family === 4 && reach !== 'none' && !service.bindings.some((b) => b.family === 4) && service.bindings.some((b) => b.family === 6 && b.v6only === false);
  const ok = reach === 'any' || reach === 'addresses';
  const conns = family === 4 ? c.ipv4 + c.mapped : c.ipv6;
  const socket = h('span', { class: ok ? 'ok' : reach === 'loopback' ? 'warn' : 'bad' }, h('span', { 'aria-hidden': 'true' }, ok ? '✔ ' : reach === 'loopback' ? '⌂ ' : '✖ '), words);
  // The socket table's answer, then the firewall's: when it drops, restricts or cannot be
  // judged, that is what a client gets, and the socket's answer follows it.
  const fw = firewallOf(service, family);
  const filtered = fw && FIREWALL_WORDS[fw.verdict];
  let firewall = null;
  if (filtered) {
    const allowed = fw.verdict === 'restricted' ? allowedText(fw) : null;
    firewall = [
      h('span', { class: `fw-verdict ${filtered.cls}`, title: allowed ?? fw.unmodelled ?? null }, filtered.mark ? h('span', { 'aria-hidden': 'true' }, filtered.mark) : null, filtered.words),
      h('div', { class: 'sub' }, 'socket: ', words),
      allowed
        ? h(
            'details',
            { class: 'fw-allowed' },
            h('summary', null, fw.allowedSources.length ? `allowed: ${fw.allowedSources.length} source${fw.allowedSources.length === 1 ? '' : 's'}` : 'allowed: some interfaces'),
            h(
              'ul',
              { class: 'plain mono' },
              fw.allowedSources.map((prefix) => h('li', { dataset: { allowed: prefix } }, prefix)),
              fw.acceptedOn.map((name) => h('li', { dataset: { acceptedOn: name } }, `on ${name}`)),
            ),
          )
        : null,
      fw.verdict === 'unknown' && fw.unmodelled ? h('div', { class: 'sub fw-why' }, fw.unmodelled) : null,
    ];
  }
  return h(
    'td',
    { class: `clients reach-${reach}`, dataset: { reach, firewall: fw?.verdict } },
    firewall ?? socket,
    fw?.verdict === 'accepted' ? h('div', { class: 'sub' }, 'firewall lets them in') : null,
    addrs.length ? h('div', { class: 'sub mono' }, addrs.join(', ')) : null,
    viaMapped ? h('div', { class: 'sub' }, 'seen as ::ffff:a.b.c.d') : null,
    h('div', { class: 'sub', dataset: { connections: conns } }, family === 4 ? `${num(conns)} connected${c.mapped ? ` (${num(c.mapped)} mapped)` : ''}` : `${num(conns)} connected`),
  );
}

/** Where a rule is: its table and chain, and its handle (nftables) or line (iptables-save). */
function ruleWhere(by) {
  const at = by.handle !== null ? `handle ${by.handle}` : by.line !== null ? `line ${by.line}` : by.position === null ? 'chain policy' : `position ${by.position}`;
  return `${by.backend} · ${by.family} ${by.table} · chain ${by.chain} · ${at}`;
}

function ruleRef(by) {
  return [h('code', { class: 'fw-text' }, by.text), h('div', { class: 'sub fw-where' }, ruleWhere(by))];
}

/** The rule that decided each family that the firewall drops, restricts or leaves unknown. */
function firewallRuleCell(service) {
  const items = [4, 6]
    .map((family) => ({ family, fw: firewallOf(service, family) }))
    .filter(({ fw }) => fw && fw.verdict !== 'accepted' && fw.by)
    .map(({ family, fw }) => h('li', { dataset: { family, verdict: fw.verdict } }, h('span', { class: 'fw-family' }, `IPv${family} ${fw.verdict}: `), ruleRef(fw.by)));
  return h('td', { class: 'fw-rule' }, items.length ? h('ul', { class: 'plain' }, items) : h('span', { class: 'muted' }, '–'));
}

/** A socket-activated service: the unit whose Listen line opened the sockets, that line, and where it is. */
function socketUnitLine(u) {
  return h(
    'div',
    { class: 'sub socket-unit', dataset: { socketUnit: u.unit }, title: `PID 1 holds these sockets for ${u.unit}${u.service ? `, which starts ${u.service}` : ''}` },
    h('span', { class: 'mono' }, u.unit),
    ': ',
    h('span', { class: 'mono' }, u.listen),
    u.bindIpv6Only !== 'default' ? h('span', { class: 'mono' }, ` BindIPv6Only=${u.bindIpv6Only}`) : null,
    ' ',
    h('span', { class: 'mono socket-unit-file' }, `(${u.file}:${u.line})`),
  );
}

/** `target`: { service: 'tcp/443', endpoint } when an endpoint's backend link led here: that row is marked. */
function socketTable(services, withRules, target = null, id = 'socket-table') {
  const rows = services.map((svc) => {
    const key = `${svc.proto}/${svc.port}`;
    const targeted = target !== null && target.service === key;
    return h(
      'tr',
      { class: targeted ? 'target' : null, dataset: { service: key, mode: svc.mode, target: targeted ? 'true' : null } },
      h('th', { scope: 'row' }, h('span', { class: 'mono' }, key), targeted && target.endpoint ? h('div', { class: 'target-note' }, h('span', { 'aria-hidden': 'true' }, '◆ '), `serves endpoint ${target.endpoint}`) : null),
      h(
        'td',
        { class: 'process' },
        h('span', { class: 'proc-name' }, svc.process ?? 'unknown'),
        svc.pid !== null ? h('span', { class: 'sub' }, ` pid ${svc.pid}`) : null,
        svc.unit && svc.unit !== svc.socketUnit?.unit ? h('div', { class: 'sub mono' }, svc.unit) : null,
        svc.socketUnit ? socketUnitLine(svc.socketUnit) : null,
        svc.sharedWith.length ? h('div', { class: 'sub' }, `+${svc.sharedWith.length} worker${svc.sharedWith.length === 1 ? '' : 's'}`) : null,
      ),
      h(
        'td',
        { class: 'bindings' },
        h(
          'ul',
          { class: 'plain' },
          svc.bindings.map((b) => h('li', { dataset: { address: b.address } }, h('span', { class: 'mono addr' }, b.address), h('span', { class: 'sub' }, ` IPv${b.family} `), v6onlyText(b))),
        ),
      ),
      clientsCell(svc, 4),
      clientsCell(svc, 6),
      h('td', { class: 'mode-cell' }, h('span', { class: `mode ${modeInfo(svc.mode).cls}`, dataset: { mode: svc.mode } }, modeInfo(svc.mode).label)),
      withRules ? firewallRuleCell(svc) : null,
    );
  });
  return table(
    services.some((svc) => svc.firewall) ? 'Listening sockets per service: who can connect over each family, after the host firewall' : 'Listening sockets per service: who can connect over each family',
    ['Service', 'Process', 'Socket (binding, V6ONLY)', 'IPv4 clients', 'IPv6 clients', 'Mode', ...(withRules ? ['Firewall rule'] : [])],
    rows,
    { class: 'sockets', id },
  );
}

// The words core's namespaceLabel puts before an owner's name (findings' subjects, the scan's table).
const RUNTIME_WORD = { kubernetes: 'pod', docker: 'docker', containerd: 'containerd', podman: 'podman', lxc: 'lxc', nspawn: 'machine', unknown: 'netns' };

/** The host's other network namespaces (containers, pods), each under a heading naming its owner, as `dualstack-agent scan` prints them. */
function namespacesSection(namespaces) {
  if (!namespaces.length) return null;
  const blocks = namespaces.map((ns) => {
    const { owner } = ns;
    const label = `${RUNTIME_WORD[owner.runtime] ?? 'netns'} ${owner.name}`;
    const headingId = `ns-${ns.inode}-h`;
    const details = [
      owner.runtime,
      owner.id ? `container ${owner.id.slice(0, 12)}` : null,
      owner.pod ? `pod ${owner.pod.namespace ? `${owner.pod.namespace}/` : ''}${owner.pod.name ?? '?'} (UID ${owner.pod.uid})` : null,
      `net:[${ns.inode}]`,
      ns.findings ? `${num(ns.findings)} open finding${ns.findings === 1 ? '' : 's'} (under Findings, named ${label})` : 'no findings',
    ].filter(Boolean);
    return h(
      'section',
      { class: 'namespace', 'aria-labelledby': headingId, dataset: { inode: String(ns.inode), runtime: owner.runtime } },
      h('h3', { id: headingId }, label, h('span', { class: 'sub' }, ` ${ns.services.length} service${ns.services.length === 1 ? '' : 's'}`)),
      h('p', { class: 'sub' }, details.join(' · ')),
      ns.services.length ? socketTable(ns.services, false, null, `socket-table-${ns.inode}`) : h('p', { class: 'muted' }, 'No listening services.'),
    );
  });
  return h('section', { id: 'namespaces', 'aria-labelledby': 'namespaces-h', class: 'panel' }, h('h2', { id: 'namespaces-h' }, `Containers (${namespaces.length} network namespace${namespaces.length === 1 ? '' : 's'})`), blocks);
}

const VERDICT_MARK = { accepted: ['✔ ', 'ok'], dropped: ['✖ ', 'bad'], restricted: ['▲ ', 'warn'], unknown: ['? ', 'unknown'] };

function verdictWords(verdict) {
  const [mark, cls] = VERDICT_MARK[verdict] ?? ['? ', 'unknown'];
  return h('span', { class: cls }, h('span', { 'aria-hidden': 'true' }, mark), verdict);
}

/** The firewall as read: whether, why not, the rule sets, and the ICMPv6 that IPv6 needs. */
function firewallSection(fw) {
  const rulesets = fw.rulesets.map((r) =>
    h('tr', { dataset: { backend: r.backend } }, h('th', { scope: 'row' }, r.backend), h('td', { class: 'mono' }, r.command), h('td', { class: 'n' }, num(r.tables)), h('td', { class: 'n' }, num(r.rules))),
  );
  const icmpv6 = fw.icmpv6.map((m) =>
    h(
      'tr',
      { class: m.verdict === 'dropped' ? 'fw-dropped' : null, dataset: { icmpv6: m.name, iface: m.interface, verdict: m.verdict } },
      h('th', { scope: 'row' }, h('span', { class: 'mono' }, m.name), h('span', { class: 'sub' }, ` type ${m.type}`)),
      h('td', { class: 'mono' }, m.interface),
      h(
        'td',
        null,
        verdictWords(m.verdict),
        m.allowedSources.length ? h('div', { class: 'sub mono' }, `from ${m.allowedSources.join(', ')}`) : null,
        m.verdict === 'unknown' && m.unmodelled ? h('div', { class: 'sub fw-why' }, m.unmodelled) : null,
      ),
      h('td', { class: 'fw-rule' }, m.by ? ruleRef(m.by) : h('span', { class: 'muted' }, '–')),
      h('td', null, m.verdict === 'dropped' ? h('strong', null, m.breaks) : h('span', { class: 'sub' }, m.breaks)),
    ),
  );
  const dropped = fw.icmpv6.filter((m) => m.verdict === 'dropped').length;
  const rules = fw.rulesets.reduce((n, r) => n + r.rules, 0);
  return h(
    'section',
    { id: 'firewall', 'aria-labelledby': 'firewall-h', class: 'panel', dataset: { read: String(fw.read) } },
    h('h2', { id: 'firewall-h' }, 'Firewall'),
    fw.read
      ? h('p', { class: 'fw-status' }, yesNo(true, 'read'), `: ${num(rules)} rule${rules === 1 ? '' : 's'} in ${num(fw.rulesets.length)} rule set${fw.rulesets.length === 1 ? '' : 's'}; every listening service is judged per family in the socket table.`)
      : h('p', { class: 'fw-status' }, h('span', { class: 'bad' }, h('span', { 'aria-hidden': 'true' }, '✖ '), fw.why ?? 'firewall not read'), '. Every firewall verdict is unknown.'),
    rulesets.length ? table('Rule sets read: the kernel applies all of them, so a packet must pass every one', ['Backend', 'Command', { label: 'Tables', numeric: true }, { label: 'Rules', numeric: true }], rulesets, { class: 'fw-rulesets' }) : null,
    fw.read
      ? icmpv6.length
        ? table(
            `ICMPv6 that IPv6 cannot work without (RFC 4890), per interface${dropped ? `: ${dropped} dropped` : ''}`,
            ['Message', 'Interface', 'Verdict', 'Deciding rule', 'Without it'],
            icmpv6,
            { class: 'fw-icmpv6' },
          )
        : h('p', { class: 'muted' }, 'No IPv6 interface to judge ICMPv6 on.')
      : null,
  );
}

function routeText(r) {
  if (!r) return '–';
  return `${r.destination}/${r.prefixLength}${r.gateway ? ` via ${r.gateway}` : ''} dev ${r.interface}`;
}

function routingSection(report) {
  const reach = (report.reachability ?? []).map((r) =>
    h(
      'tr',
      { dataset: { family: r.family } },
      h('th', { scope: 'row' }, `IPv${r.family}`),
      h('td', { class: 'mono' }, r.target),
      h('td', null, yesNo(r.reachable, 'routable', 'unreachable', 'unknown'), r.error ? h('div', { class: 'sub mono' }, r.error) : null),
      h('td', { class: 'mono' }, routeText(r.route)),
      h('td', { class: 'mono' }, r.sourceAddress ?? '–'),
      h('td', null, r.note ?? ''),
    ),
  );
  const routes = (report.routes ?? []).map((r) =>
    h(
      'tr',
      null,
      h('td', null, `IPv${r.family}`),
      h('td', { class: 'mono' }, `${r.destination}/${r.prefixLength}`),
      h('td', { class: 'mono' }, r.gateway ?? '–'),
      h('td', { class: 'mono' }, r.interface),
      h('td', { class: 'n' }, String(r.metric)),
      h('td', null, r.origin, r.expires ? ' (expires)' : ''),
      h('td', { class: 'sub' }, r.flags.join(' ')),
    ),
  );
  const defaults = (report.tableDefaults ?? []).map((d) =>
    h('tr', null, h('td', null, `IPv${d.family}`), h('td', null, d.table), h('td', null, d.type), h('td', { class: 'mono' }, d.gateway ?? '–'), h('td', { class: 'mono' }, d.interface ?? '–'), h('td', null, d.protocol ?? '–'), h('td', null, d.expires ? 'yes' : 'no')),
  );
  const addresses = (report.addresses ?? []).map((a) =>
    h('tr', null, h('td', null, `IPv${a.family}`), h('td', { class: 'mono' }, `${a.address}/${a.prefixLength}`), h('td', { class: 'mono' }, a.interface), h('td', null, a.scope), h('td', { class: 'sub' }, a.flags.join(' '))),
  );
  return h(
    'section',
    { id: 'routing', 'aria-labelledby': 'routing-h', class: 'panel' },
    h('h2', { id: 'routing-h' }, 'Routing'),
    table("The kernel's answer: a UDP connect() to a documentation address (no packet is sent)", ['Family', 'Target', 'Routable', 'Route used', 'Source address', 'Note'], reach, { class: 'reachability' }),
    addresses.length ? table('Addresses', ['Family', 'Address', 'Interface', 'Scope', 'Flags'], addresses) : null,
    table('Routes (/proc/net/route and /proc/net/ipv6_route)', ['Family', 'Destination', 'Gateway', 'Interface', { label: 'Metric', numeric: true }, 'Origin', 'Flags'], routes, { class: 'routes' }),
    defaults.length ? table('Default routes per routing table', ['Family', 'Table', 'Type', 'Gateway', 'Interface', 'Protocol', 'Expires'], defaults) : null,
  );
}

const SYSCTL_KEYS = [
  ['accept_ra', 'acceptRa'],
  ['accept_ra_defrtr', 'acceptRaDefrtr'],
  ['autoconf', 'autoconf'],
  ['forwarding', 'forwarding'],
  ['disable_ipv6', 'disableIpv6'],
  ['accept_redirects', 'acceptRedirects'],
  ['accept_source_route', 'acceptSourceRoute'],
  ['use_tempaddr', 'useTempaddr'],
];

function effectiveText(v) {
  if (v === true) return 'on';
  if (v === false) return 'off';
  if (v === null || v === undefined) return '–';
  return String(v);
}

function sysctlSection(report) {
  const sysctl = report.sysctl ?? { bindv6only: null, interfaces: [] };
  const rows = sysctl.interfaces.map((i) =>
    h(
      'tr',
      { dataset: { iface: i.name } },
      h('th', { scope: 'row', class: 'mono' }, i.name),
      SYSCTL_KEYS.map(([raw, eff]) => {
        const r = i.raw[raw];
        const e = i.effective ? i.effective[eff] : undefined;
        const differs = i.effective && typeof e === 'boolean' && r !== null && (r > 0) !== e;
        return h('td', { class: differs ? 'differs' : '' }, h('span', { class: 'mono' }, r === null ? '–' : String(r)), i.effective ? h('span', null, ' → ', h('strong', null, effectiveText(e))) : null, differs ? h('span', { class: 'sr-only' }, ' (the effective value differs from the raw one)') : null);
      }),
    ),
  );
  return h(
    'section',
    { id: 'sysctls', 'aria-labelledby': 'sysctls-h', class: 'panel' },
    h('h2', { id: 'sysctls-h' }, 'IPv6 sysctls'),
    h('p', null, h('span', { class: 'mono' }, 'net.ipv6.bindv6only'), ' = ', h('strong', { dataset: { sysctl: 'bindv6only' } }, sysctl.bindv6only === null ? 'unknown' : String(sysctl.bindv6only)), sysctl.bindv6only === 1 ? ' — programs that bind :: without asking become IPv6-only.' : ''),
    rows.length
      ? table('Per interface: raw value as read → effective value as the kernel applies it (accept_ra is ignored when forwarding=1 unless it is 2; accept_source_route is min(all, interface)). Marked cells differ.', ['Interface', ...SYSCTL_KEYS.map(([k]) => k)], rows, { class: 'sysctls' })
      : h('p', { class: 'muted' }, 'No IPv6 sysctls (IPv6 is off or /proc/sys was not readable).'),
  );
}

function historySection(history) {
  const rows = history.map((p) =>
    h(
      'tr',
      null,
      h('td', null, time(p.collectedAt), h('div', { class: 'sub mono' }, p.collectedAt)),
      h('td', null, yesNo(p.ipv6Routable, 'routes', 'unroutable')),
      h('td', { class: 'n' }, `${num(p.dual)} / ${num(p.exposed)}`),
      h('td', { class: 'n' }, num(p.critical)),
      h('td', { class: 'n' }, num(p.warning)),
    ),
  );
  return h(
    'section',
    { id: 'history', 'aria-labelledby': 'history-h', class: 'panel' },
    h('h2', { id: 'history-h' }, 'Report history'),
    history.length > 1 ? h('figure', { class: 'spark-figure' }, sparkline(history), h('figcaption', { class: 'sub' }, 'Dual-stack share of exposed services per report, oldest left.')) : null,
    table('Reports, newest first', ['Collected', 'IPv6 routing', { label: 'Dual / exposed', numeric: true }, { label: 'Critical', numeric: true }, { label: 'Warning', numeric: true }], rows, { class: 'history' }),
  );
}

function sourcesSection(report) {
  const rows = (report.sources ?? []).map((s) =>
    h('tr', null, h('th', { scope: 'row', class: 'mono' }, s.name), h('td', null, s.ok ? (s.status === 'ok' ? yesNo(true, 'ok') : h('span', { class: 'warn' }, s.status)) : yesNo(false, '', s.status)), h('td', null, s.error ?? s.detail ?? '')),
  );
  return h('details', { class: 'panel sources' }, h('summary', null, h('h2', { class: 'inline' }, 'Sources of this report')), table(null, ['Source', 'Status', 'Detail'], rows));
}

export async function host({ signal, id, params }) {
  const { body: detail, missing } = await getResource(`/api/v1/hosts/${encodeURIComponent(id)}`, { signal });
  if (!detail) return notFoundView('Host not found', missing, '#/hosts', 'All hosts');
  const { host: summary, latestReport: report, findings, history } = detail;
  // Collectors from before namespaces were served send none.
  const namespaces = detail.namespaces ?? [];
  const r = report ?? {};
  // Firewall facts: agents from before the firewall source send none, and then the page is as it was.
  const fw = r.firewall && typeof r.firewall === 'object' ? r.firewall : null;
  // The deciding rules' column only when there is a rule to show (none when the firewall was not read).
  const withRules = detail.services.some((svc) => [4, 6].some((family) => {
    const verdict = firewallOf(svc, family);
    return verdict && verdict.verdict !== 'accepted' && verdict.by;
  }));
  const facts = [
    ['Host id', h('span', { class: 'mono' }, summary.hostId)],
    ['System', `${summary.distro ?? 'unknown distro'}${r.host?.os?.release ? ` ${r.host.os.release}` : ''}, kernel ${summary.kernel ?? 'unknown'}${r.host?.os?.arch ? ` (${r.host.os.arch})` : ''}`],
    ['Last report', h('span', null, time(summary.lastSeen), summary.stale ? h('span', { class: 'badge stale' }, ' ', 'stale') : null)],
    ['First seen', time(summary.firstSeen)],
    ['IPv6 routing', yesNo(summary.ipv6Routable, 'the kernel routes global IPv6', 'the kernel cannot route global IPv6')],
    ['IPv4 routing', yesNo(summary.ipv4Routable, 'routes', 'unroutable')],
    ['Readiness', h('span', null, `${pct(summary.readiness)} (${num(summary.services.dual)} of ${num(summary.services.exposed)} exposed services dual-stack) `, shareBar(summary.readiness))],
    ...(detail.identity ? [['Identity', identityFact(detail.identity)]] : []),
    ['Agent', `${r.agent?.version ?? '?'}${r.host?.privileged === false ? ' — not root: process owners may be missing' : ''}${r.host?.replay ? ' — replayed from a captured /proc tree' : ''}`],
  ];
  // An endpoint's backend link (#/hosts/ID?service=tcp/443&endpoint=www) marks that service's row and scrolls to it.
  const service = params?.get('service') ?? null;
  const target = service ? { service, endpoint: params.get('endpoint') } : null;
  const servicesTable = detail.services.length ? socketTable(detail.services, withRules, target) : null;
  const targetRow = servicesTable?.querySelector('tr[data-target]') ?? null;
  return {
    title: summary.hostname,
    target: targetRow,
    node: h(
      'div',
      { class: 'view host' },
      h('p', { class: 'crumbs' }, h('a', { href: '#/hosts' }, 'Hosts'), ' / '),
      h('h1', { tabindex: '-1' }, summary.hostname),
      target?.endpoint
        ? h(
            'p',
            { class: 'note', dataset: { from: 'endpoint' } },
            'A backend of endpoint ',
            h('a', { href: endpointHref(target.endpoint) }, target.endpoint),
            targetRow ? `: its service on ${service} is marked in the socket table.` : `: this host's latest report has no service on ${service}.`,
          )
        : null,
      h('dl', { class: 'facts' }, facts.map(([k, v]) => [h('dt', null, k), h('dd', null, v)])),
      h(
        'nav',
        { class: 'toc', 'aria-label': 'On this page' },
        h('ul', { class: 'inline' }, [...(detail.identity?.pendingKeys ? [['#identity', 'Duplicate identity']] : []), ['#services', 'Sockets'], ...(namespaces.length ? [['#namespaces', 'Containers']] : []), ...(fw ? [['#firewall', 'Firewall']] : []), ['#findings', 'Findings'], ['#routing', 'Routing'], ['#sysctls', 'Sysctls'], ['#history', 'History']].map(([target, label]) => h('li', null, h('a', { href: target, dataset: { scroll: target.slice(1) } }, label)))),
      ),
      identitySection(summary.hostId, detail.identity),
      h('section', { id: 'services', 'aria-labelledby': 'services-h', class: 'panel' }, h('h2', { id: 'services-h' }, `Sockets (${detail.services.length} services)`), servicesTable ?? h('p', { class: 'muted' }, 'No listening services.')),
      namespacesSection(namespaces),
      fw ? firewallSection(fw) : null,
      findingsSection(findings),
      routingSection(r),
      sysctlSection(r),
      historySection(history),
      sourcesSection(r),
    ),
  };
}
