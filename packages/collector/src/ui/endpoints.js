// Endpoint views: the published endpoints (#/endpoints) and one endpoint (#/endpoints/<name>).
// What clients reach, seen from outside by the vantage points: per family a verdict, overall
// and per vantage point, every address with its outcome, the findings and the backing hosts.
import { get, getResource } from './api.js';
import { endpointHref, findingCounts, h, hashHref, hostHref, notFoundView, num, table, time, yesNo } from './dom.js';
import { findingsSection } from './findings.js';

/** Each family verdict as a mark, a word and a class: never colour alone (docs/api.md). */
const VERDICTS = {
  works: { mark: '✔', cls: 'ok', means: 'every address of the family answers' },
  partial: { mark: '▲', cls: 'warn', means: 'some addresses answer, some do not' },
  broken: { mark: '✖', cls: 'bad', means: 'no address answers' },
  unpublished: { mark: '∅', cls: 'warn', means: 'no record of the family (no A or no AAAA)' },
  unresolved: { mark: '✖', cls: 'bad', means: 'the lookup failed (NXDOMAIN, SERVFAIL, timeout …)' },
  untested: { mark: '–', cls: 'unknown', means: 'no vantage point could test it (no route for the family): never counted as broken' },
};
const verdictInfo = (v) => VERDICTS[v] ?? { mark: '?', cls: 'unknown', means: v };

/** A verdict word with its mark; `counts` adds "1/2" (addresses answering / counted) when there were attempts. */
function verdict(v, counts = null, family = null) {
  const info = verdictInfo(v);
  const tally = counts && counts.total > 0 ? h('span', { class: 'tally' }, ` ${num(counts.answering)}/${num(counts.total)}`) : null;
  return h('span', { class: `verdict v-${v} ${info.cls}`, title: info.means, dataset: { verdict: v, family } }, h('span', { 'aria-hidden': 'true' }, `${info.mark} `), v, tally);
}

const OUTCOME_CLASS = { ok: ['✔', 'ok'], unexpected: ['▲', 'warn'], 'not-probed': ['–', 'unknown'] };
function outcome(o) {
  const [mark, cls] = OUTCOME_CLASS[o] ?? ['✖', 'bad'];
  return h('span', { class: `outcome ${cls}`, dataset: { outcome: o } }, h('span', { 'aria-hidden': 'true' }, `${mark} `), o);
}

const sourceText = (source) => (source === 'config' ? 'from the configuration file' : 'declared through the API');

function emptyState() {
  const origin = location.origin;
  return h(
    'section',
    { class: 'panel empty', dataset: { empty: 'endpoints' } },
    h('h2', null, 'No endpoint is declared'),
    h('p', null, 'A published endpoint is a name clients use (a web site, a mail exchanger, a database behind a load balancer). Agents started with ', h('code', null, 'dualstack-agent run --probe'), ' probe each one over IPv4 and IPv6 from where they run, and this page shows what they saw.'),
    h('p', null, 'Declare one in the collector’s configuration file, under ', h('code', null, 'endpoints:'), ' (read at start):'),
    h('pre', { class: 'example' }, h('code', null, ['endpoints:', '  - name: www', '    url: https://www.example.net', '    backends: [web-1]          # optional: the hosts that serve it'].join('\n'))),
    h('p', null, 'or with an admin token, ', h('code', null, 'POST /api/v1/endpoints'), ':'),
    h('pre', { class: 'example' }, h('code', null, `curl -X POST -H "authorization: Bearer $ADMIN_TOKEN" -H 'content-type: application/json' \\\n  -d '{"name":"www","url":"https://www.example.net"}' ${origin}/api/v1/endpoints`)),
    h('p', { class: 'muted' }, 'Schemes, expectations and backends: ', h('a', { href: '/docs' }, 'the API documentation'), '.'),
  );
}

/** One vantage point's two verdicts, as a list item (the endpoints table, the history). */
function vantageVerdicts(v) {
  return h(
    'li',
    { class: v.stale ? 'stale' : null, dataset: { vantage: v.hostId, stale: String(v.stale) } },
    h('span', { class: 'vantage-name' }, v.hostname),
    v.stale ? [' ', h('span', { class: 'badge stale', title: `Its latest probes arrived ${v.receivedAt}: shown, not judged` }, 'stale')] : null,
    h('span', { class: 'pair' }, h('span', { class: 'fv' }, h('span', { class: 'fam' }, 'IPv4 '), verdict(v.ipv4.verdict, v.ipv4, 4)), ' · ', h('span', { class: 'fv' }, h('span', { class: 'fam' }, 'IPv6 '), verdict(v.ipv6.verdict, v.ipv6, 6))),
  );
}

function endpointRow(e) {
  return h(
    'tr',
    { dataset: { endpoint: e.name } },
    h('th', { scope: 'row' }, h('a', { href: endpointHref(e.name) }, e.name), h('div', { class: 'sub' }, sourceText(e.source))),
    h('td', { class: 'mono url' }, e.url),
    h('td', { class: 'family', dataset: { family: '4' } }, verdict(e.families.ipv4, null, 4)),
    h('td', { class: 'family', dataset: { family: '6' } }, verdict(e.families.ipv6, null, 6)),
    h(
      'td',
      { class: 'vantages' },
      e.vantages.length
        ? h('ul', { class: 'plain vantage-list' }, e.vantages.map(vantageVerdicts))
        : h('span', { class: 'muted' }, 'not probed yet: no agent runs with --probe'),
    ),
    h('td', null, findingCounts(e.findings)),
    h('td', null, e.lastProbed ? time(e.lastProbed) : h('span', { class: 'muted' }, 'never')),
  );
}

function legend() {
  return h(
    'ul',
    { class: 'legend verdict-legend', 'aria-label': 'What the verdicts mean' },
    Object.keys(VERDICTS).map((v) => h('li', null, verdict(v), h('span', { class: 'sub' }, `: ${VERDICTS[v].means}`))),
  );
}

export async function endpoints({ signal }) {
  const { items } = await get('/api/v1/endpoints', { signal });
  const stale = items.reduce((n, e) => n + e.vantages.filter((v) => v.stale).length, 0);
  return {
    title: 'Endpoints',
    node: h(
      'div',
      { class: 'view endpoints' },
      h('h1', { tabindex: '-1' }, 'Endpoints'),
      h('p', { class: 'lead' }, 'The names clients use, probed from outside by the vantage points: per family, what a client gets.'),
      items.length === 0
        ? emptyState()
        : [
            table(
              'Published endpoints. IPv4 and IPv6: the worst verdict among the fresh vantage points; per vantage point its own two verdicts (addresses answering / probed).',
              ['Endpoint', 'URL', 'IPv4', 'IPv6', 'Vantage points', 'Open findings', 'Last probed'],
              items.map(endpointRow),
              { class: 'endpoints', id: 'endpoint-table' },
            ),
            stale ? h('p', { class: 'muted', dataset: { staleVantages: stale } }, `${num(stale)} stale vantage point${stale === 1 ? '' : 's'}: shown with its last verdicts, not judged and not counted in the overall verdicts.`) : null,
            legend(),
          ],
    ),
  };
}

// --- one endpoint --------------------------------------------------------------------------

/** The attempt that speaks for an address: its first answering one, else its last (as core decides). */
function decidingAttempt(attempts, family, address) {
  const mine = attempts.filter((a) => a.family === family && a.address === address);
  return mine.find((a) => a.outcome === 'ok') ?? mine[mine.length - 1] ?? null;
}

const ms = (n) => (n === null || n === undefined ? '–' : `${n < 10 ? n.toFixed(1) : Math.round(n)} ms`);

/** "AB:CD:…:EF" -> its first four bytes, the whole on hover. */
const shortFingerprint = (fp) => fp.split(':').slice(0, 4).join(':') + '…';

function tlsFacts(tls) {
  const parts = [
    tls.protocol ? h('span', null, tls.protocol) : null,
    tls.subject ? h('span', null, 'subject ', h('span', { class: 'mono' }, tls.subject)) : null,
    tls.issuer ? h('span', null, 'issuer ', h('span', { class: 'mono' }, tls.issuer)) : null,
    tls.validTo ? h('span', null, 'expires ', h('time', { datetime: tls.validTo, title: tls.validTo }, tls.validTo.slice(0, 10))) : null,
    tls.fingerprint256 ? h('span', { title: `SHA-256 ${tls.fingerprint256}` }, 'SHA-256 ', h('span', { class: 'mono' }, shortFingerprint(tls.fingerprint256))) : null,
  ].filter(Boolean);
  return h(
    'div',
    { class: 'tls', dataset: { authorized: String(tls.authorized) } },
    h('span', { class: 'fact-name' }, 'TLS '),
    parts.flatMap((p, i) => (i ? [' · ', p] : [p])),
    ' · ',
    tls.authorized ? yesNo(true, 'certificate valid') : yesNo(false, '', `certificate not valid${tls.authorizationError ? `: ${tls.authorizationError}` : ''}`),
  );
}

function attemptFacts(a) {
  if (!a) return null;
  return [
    h('div', { class: 'sub timing' }, `connect ${ms(a.connectMs)} · total ${ms(a.totalMs)} · port ${a.port}`),
    a.tls ? tlsFacts(a.tls) : null,
    a.http
      ? h('div', { class: 'http' }, h('span', { class: 'fact-name' }, 'HTTP '), h('strong', null, String(a.http.status)), a.http.server ? [' · server ', h('span', { class: 'mono' }, a.http.server)] : null, a.http.location ? [' · → ', h('span', { class: 'mono' }, a.http.location)] : null)
      : null,
    a.banner ? h('div', { class: 'banner' }, h('span', { class: 'fact-name' }, 'banner '), h('code', null, a.banner)) : null,
  ];
}

const DNS_WORDS = { ok: 'answered', nodata: 'no record (NODATA)', nxdomain: 'no such name (NXDOMAIN)', servfail: 'server failure (SERVFAIL)', refused: 'refused (REFUSED)', timeout: 'timed out', error: 'failed', literal: 'address literal' };

function dnsLine(family, dns) {
  const type = family === 4 ? 'A' : 'AAAA';
  const ttls = [...new Set(dns.addresses.map((a) => a.ttl).filter((t) => t !== null && t !== undefined))];
  return h(
    'div',
    { class: 'dns sub', dataset: { dns: dns.status } },
    h('span', { class: 'fact-name' }, `${type} `),
    DNS_WORDS[dns.status] ?? dns.status,
    dns.status === 'ok' ? `: ${num(dns.addresses.length)} address${dns.addresses.length === 1 ? '' : 'es'}${ttls.length ? `, TTL ${ttls.join('/')}` : ''}` : '',
    dns.cname.length ? h('span', null, ' via ', h('span', { class: 'mono' }, dns.cname.join(' → '))) : null,
    dns.truncated ? ' (truncated: more than followed)' : null,
    dns.error ? h('span', { class: 'mono' }, ` · ${dns.error}`) : null,
  );
}

/** One vantage point's one family: the verdict, the lookup, then every address with its outcome and facts. */
function familyCell(v, f) {
  const fam = v[f === 4 ? 'ipv4' : 'ipv6'];
  const untested = fam.verdict === 'untested';
  return h(
    'td',
    { class: `family-cell v-${fam.verdict}`, dataset: { family: String(f), verdict: fam.verdict } },
    h('div', { class: 'family-verdict' }, verdict(fam.verdict, null, f), fam.total > 0 ? h('span', { class: 'sub' }, ` — ${num(fam.answering)} of ${num(fam.total)} answering`) : null),
    untested ? h('div', { class: 'sub' }, `No IPv${f} attempt from this vantage point (it has no IPv${f} route): not counted as broken.`) : null,
    dnsLine(f, fam.dns),
    fam.addresses.length
      ? h(
          'ul',
          { class: 'plain addresses' },
          fam.addresses.map((r) =>
            h(
              'li',
              { dataset: { address: r.address, outcome: r.outcome } },
              h('span', { class: 'mono addr' }, r.address),
              ' ',
              outcome(r.outcome),
              r.detail && r.outcome !== 'ok' ? h('span', { class: 'sub mono' }, ` ${r.detail}`) : null,
              r.outcome === 'rejected' || r.outcome === 'not-probed' ? null : attemptFacts(decidingAttempt(v.probe.attempts, f, r.address)),
            ),
          ),
        )
      : null,
  );
}

function vantageSection(detail) {
  if (detail.vantages.length === 0) {
    return h(
      'section',
      { id: 'vantages', 'aria-labelledby': 'vantages-h', class: 'panel' },
      h('h2', { id: 'vantages-h' }, 'Vantage points'),
      h('p', { class: 'muted' }, 'Not probed yet: no agent runs with ', h('code', null, '--probe'), ' against this collector, or none has delivered a round since the endpoint was declared.'),
    );
  }
  const rows = detail.vantages.map((v) =>
    h(
      'tr',
      { class: v.stale ? 'stale' : null, dataset: { vantage: v.hostId, stale: String(v.stale) } },
      h(
        'th',
        { scope: 'row' },
        h('span', { class: 'vantage-name' }, v.hostname),
        v.stale ? [' ', h('span', { class: 'badge stale' }, 'stale: not judged')] : null,
        h('div', { class: 'sub mono' }, v.hostId),
        h('div', { class: 'sub' }, 'probed ', time(v.probedAt)),
      ),
      familyCell(v, 4),
      familyCell(v, 6),
    ),
  );
  return h(
    'section',
    { id: 'vantages', 'aria-labelledby': 'vantages-h', class: 'panel' },
    h('h2', { id: 'vantages-h' }, `Vantage points (${detail.vantages.length})`),
    table("Each vantage point's latest probe, per family: the verdict, the DNS answer, and every address with its outcome", ['Vantage point', 'IPv4', 'IPv6'], rows, { class: 'verdict-grid', id: 'verdict-grid' }),
  );
}

function backendsSection(detail) {
  const { endpoint: e } = detail;
  const port = `tcp/${e.address.port}`;
  const rows = detail.backends.map((b) =>
    h(
      'tr',
      { dataset: { backend: b.declared, hostId: b.hostId, found: String(b.found) } },
      h('th', { scope: 'row', class: 'mono' }, b.declared),
      h('td', null, b.hostId ? [h('a', { href: hostHref(b.hostId), class: 'host-link' }, b.hostname ?? b.hostId), h('div', { class: 'sub mono' }, b.hostId)] : h('span', { class: 'warn' }, h('span', { 'aria-hidden': 'true' }, '? '), 'no host reports under this name')),
      h(
        'td',
        null,
        b.found
          ? h('a', { href: hashHref(`/hosts/${encodeURIComponent(b.hostId)}`, { service: port, endpoint: e.name }), class: 'service-link mono' }, port)
          : b.hostId
            ? h('span', { class: 'bad' }, h('span', { 'aria-hidden': 'true' }, '✖ '), `no TCP service on ${port} in its latest report`)
            : h('span', { class: 'muted' }, '–'),
      ),
      h('td', null, b.ipv4 === null ? h('span', { class: 'muted' }, '–') : yesNo(b.ipv4, 'serves', 'does not serve')),
      h('td', null, b.ipv6 === null ? h('span', { class: 'muted' }, '–') : yesNo(b.ipv6, 'serves', 'does not serve')),
    ),
  );
  return h(
    'section',
    { id: 'backends', 'aria-labelledby': 'backends-h', class: 'panel' },
    h('h2', { id: 'backends-h' }, `Backends (${detail.backends.length})`),
    rows.length
      ? table(`The hosts declared to serve it, and what their own latest reports say about ${port}: whether clients of each family reach that service (sockets and host firewall)`, ['Declared as', 'Host', `Service on ${port}`, 'IPv4 clients', 'IPv6 clients'], rows, { class: 'backends' })
      : h('p', { class: 'muted' }, 'No backend declared. ', h('code', null, 'backends:'), ' in the declaration names the hosts that serve it (host ids or hostnames): they are linked here, and endpoint-no-aaaa uses their reports.'),
  );
}

const minute = (iso) => `${iso.slice(0, 16).replace('T', ' ')} UTC`;

/** "2 probes, from … to …" of a vantage point's history, oldest first. */
function probeSpan(results) {
  if (results.length === 0) return 'no probe';
  if (results.length === 1) return `1 probe, ${minute(results[0].probedAt)}`;
  return `${num(results.length)} probes, ${minute(results[0].probedAt)} to ${minute(results[results.length - 1].probedAt)}`;
}

/** A strip of one family's verdicts over time, oldest left: a mark per probe, its time and verdict in words. */
function strip(results, family) {
  const key = family === 4 ? 'ipv4' : 'ipv6';
  return h(
    'ol',
    { class: 'strip', 'aria-label': `IPv${family}, oldest first` },
    results.map((r) => {
      const c = r[key];
      const info = verdictInfo(c.verdict);
      const words = `${r.probedAt}: IPv${family} ${c.verdict}${c.total > 0 ? ` (${c.answering}/${c.total})` : ''}`;
      return h('li', { class: `${info.cls} v-${c.verdict}`, title: words, dataset: { verdict: c.verdict } }, h('span', { 'aria-hidden': 'true' }, info.mark), h('span', { class: 'sr-only' }, words));
    }),
  );
}

function historySection(detail) {
  const items = detail.history.map((v) => {
    const results = [...v.results].reverse();
    return h(
      'li',
      { class: 'history-vantage', dataset: { vantage: v.hostId, probes: results.length } },
      h('h3', null, v.hostname, h('span', { class: 'sub' }, ` ${probeSpan(results)}`)),
      h('div', { class: 'strip-row' }, h('span', { class: 'fam' }, 'IPv4'), strip(results, 4)),
      h('div', { class: 'strip-row' }, h('span', { class: 'fam' }, 'IPv6'), strip(results, 6)),
    );
  });
  return h(
    'section',
    { id: 'history', 'aria-labelledby': 'history-h', class: 'panel' },
    h('h2', { id: 'history-h' }, 'History'),
    items.length ? [h('p', { class: 'muted' }, 'Per vantage point, its last probes, oldest left; each mark is one probe’s verdict (hover for the time).'), h('ul', { class: 'plain history-list' }, items)] : h('p', { class: 'muted' }, 'No probe yet.'),
  );
}

export async function endpoint({ signal, id }) {
  const { body: detail, missing } = await getResource(`/api/v1/endpoints/${encodeURIComponent(id)}`, { signal });
  if (!detail) return notFoundView('Endpoint not found', missing, '#/endpoints', 'All endpoints');
  const e = detail.endpoint;
  const a = e.address;
  const expect = [e.expect?.status !== undefined ? `HTTP ${e.expect.status}` : null, e.expect?.tlsName ? `certificate for ${e.expect.tlsName}` : null].filter(Boolean);
  const lastProbed = detail.vantages.reduce((max, v) => (max === null || v.probedAt > max ? v.probedAt : max), null);
  const facts = [
    ['URL', h('span', { class: 'mono' }, e.url)],
    ['Address', h('span', null, h('span', { class: 'mono' }, a.host), ` · ${a.protocol} on tcp/${a.port}${a.tls ? ' over TLS' : ''}${a.literal ? ` · an IPv${a.literal} literal` : ''}`)],
    ['Expects', expect.length ? expect.join(', ') : a.protocol === 'http' ? 'an HTTP answer below 500' : 'an answer'],
    ['Declared', h('span', null, sourceText(e.source), ', ', time(e.createdAt))],
    ['IPv4', verdict(detail.families.ipv4, null, 4)],
    ['IPv6', verdict(detail.families.ipv6, null, 6)],
    ['Last probed', lastProbed ? time(lastProbed) : 'never'],
  ];
  return {
    title: e.name,
    node: h(
      'div',
      { class: 'view endpoint' },
      h('p', { class: 'crumbs' }, h('a', { href: '#/endpoints' }, 'Endpoints'), ' / '),
      h('h1', { tabindex: '-1' }, e.name),
      h('dl', { class: 'facts overall' }, facts.map(([k, v]) => [h('dt', null, k), h('dd', { dataset: { fact: k } }, v)])),
      h(
        'nav',
        { class: 'toc', 'aria-label': 'On this page' },
        h('ul', { class: 'inline' }, [['vantages', 'Vantage points'], ['findings', 'Findings'], ['backends', 'Backends'], ['history', 'History']].map(([target, label]) => h('li', null, h('a', { href: `#${target}`, dataset: { scroll: target } }, label)))),
      ),
      vantageSection(detail),
      findingsSection(detail.findings, { intro: 'Judged at each read over the fresh vantage points’ latest probes; the evidence names what each one saw.', evidenceOpen: true }),
      backendsSection(detail),
      historySection(detail),
    ),
  };
}
