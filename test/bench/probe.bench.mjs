#!/usr/bin/env node
// Probe benchmark (issue 12): one probe round of the agent over N published HTTPS endpoints,
// both families, from a vantage namespace against real servers in another, beside curl making
// the same connections one after another, measured in the same run.
//
//   node --import tsx test/bench/probe.bench.mjs [--endpoints 1000] [--concurrency 64] [--reps 3]
//                                                [--curl-sample N] [--timeout 5s] [--agent PATH]
//
// Needs root (ip netns), nginx, dnsmasq (dnsmasq-base), openssl, curl, xargs, GNU time at
// /usr/bin/time, and a build (npx turbo run build: packages/agent/dist/cli.js). Prints figures
// and asserts nothing (exit 2 only when a run did not make or answer every connection, so the
// figures would not compare); not part of `npm test`. See README.md in this folder.
//
//   server namespace                                     prober namespace
//   dnsmasq on 192.0.2.1:53: A and AAAA of N names  eth0 resolv.conf -> 192.0.2.1 (/etc/netns/NAME)
//   nginx (one P-256 certificate for *.example.net, <==> default routes via 192.0.2.1 and
//   HTTP 200) on PORTS ports, 0.0.0.0 and [::];          2001:db8:12::1
//   the endpoints' addresses on lo: 198.51.100.K/32
//   and 2001:db8:51::K/128
//
// Endpoint i is https://epNNNN.example.net:(8000 + i % PORTS)/ with one A 198.51.100.K and one
// AAAA 2001:db8:51::K, K = 1 + floor(i / PORTS): every endpoint has its own address:port in
// each family, so a round is 2N distinct TCP connections, each with its own TLS handshake (SNI
// = the name, chain and name checked against the test CA) and one GET. Each rep runs, inside
// the prober namespace and under /usr/bin/time (wall, user+sys CPU, peak RSS of the process
// and its children):
//   agent       node cli.js probe --json --concurrency C URL... (NODE_EXTRA_CA_CERTS = the CA)
//   curl loop   xargs -n 1 curl -4 (then -6) ... URL: a process per connection, one at a time,
//               as a shell loop over the list would do it (the issue's baseline)
//   curl one    one curl -4 (then -6) process given every URL (-K file): its transfers in turn,
//               with no process start-up per connection (a harder baseline)
// curl may be timed on the first --curl-sample endpoints and scaled to N (printed when so).
// Traffic stays between the two namespaces; documentation prefixes only (RFC 5737, RFC 3849).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const HELP = `Usage: node --import tsx test/bench/probe.bench.mjs [options]

One probe round of the agent (dualstack-agent probe --json) over N HTTPS endpoints, IPv4 and
IPv6, against nginx and dnsmasq in a network namespace, beside sequential curl in the same run.
Needs root. Prints figures, asserts nothing.

Options:
  --endpoints N      endpoints (default 1000; 2N connections)
  --concurrency N    the agent's --concurrency (default 64)
  --reps N           rounds of agent and curl, medians printed (default 3)
  --curl-sample N    time curl on the first N endpoints only and scale to --endpoints
                     (default: all of them)
  --timeout DUR      the agent's --timeout and curl's --max-time (default 5s)
  --agent PATH       the agent's cli.js (default packages/agent/dist/cli.js)
  -h, --help         this help

Exit codes: 0 figures printed; 2 figures printed but some run did not make or answer every
connection (they do not compare); 1 could not run.`;

const { values: opts } = parseArgs({
  options: {
    endpoints: { type: 'string', default: '1000' },
    concurrency: { type: 'string', default: '64' },
    reps: { type: 'string', default: '3' },
    'curl-sample': { type: 'string' },
    timeout: { type: 'string', default: '5s' },
    agent: { type: 'string', default: 'packages/agent/dist/cli.js' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (opts.help) {
  console.log(HELP);
  process.exit(0);
}

const wholeNumber = (name, min) => {
  const v = opts[name];
  if (!/^\d+$/.test(v) || Number(v) < min) {
    console.error(`probe.bench: --${name} takes a whole number of at least ${min}, not '${v}'`);
    process.exit(1);
  }
  return Number(v);
};
const ENDPOINTS = wholeNumber('endpoints', 1);
const CONCURRENCY = wholeNumber('concurrency', 1);
const REPS = wholeNumber('reps', 1);
const SAMPLE = opts['curl-sample'] === undefined ? ENDPOINTS : Math.min(wholeNumber('curl-sample', 1), ENDPOINTS);
const TIMEOUT_S = (() => {
  const m = /^(\d+(?:\.\d+)?)(ms|s)$/.exec(opts.timeout);
  if (!m) {
    console.error(`probe.bench: --timeout takes a duration such as 5s or 1500ms, not '${opts.timeout}'`);
    process.exit(1);
  }
  return m[2] === 'ms' ? Number(m[1]) / 1000 : Number(m[1]);
})();
const AGENT = resolve(root, opts.agent);

// Ports per address: nginx counts every listening socket against worker_connections (512 by
// default), so the endpoints spread over more addresses rather than more ports.
const PORTS = Math.min(100, ENDPOINTS);
const FIRST_PORT = 8000;
const ADDRESSES = Math.ceil(ENDPOINTS / PORTS);
if (ADDRESSES > 254) {
  console.error(`probe.bench: --endpoints ${ENDPOINTS} needs ${ADDRESSES} addresses per family; at most ${254 * PORTS} endpoints`);
  process.exit(1);
}
const LINK = { server4: '192.0.2.1', prober4: '192.0.2.2', server6: '2001:db8:12::1', prober6: '2001:db8:12::2' };
const digits = Math.max(4, String(ENDPOINTS - 1).length);
const endpoint = (i) => {
  const k = 1 + Math.floor(i / PORTS);
  return { host: `ep${String(i).padStart(digits, '0')}.example.net`, port: FIRST_PORT + (i % PORTS), a: `198.51.100.${k}`, aaaa: `2001:db8:51::${k.toString(16)}` };
};
const ALL = Array.from({ length: ENDPOINTS }, (_, i) => endpoint(i));
const urlOf = (e) => `https://${e.host}:${e.port}/`;

const log = (...a) => process.stderr.write(`[probe.bench] ${a.join(' ')}\n`);
const median = (xs) => {
  const v = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (!v.length) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};
const count = (xs) => xs.reduce((acc, x) => ((acc[x] = (acc[x] ?? 0) + 1), acc), {});

// ---------------------------------------------------------------------------------------------
// teardown: the namespaces (and every process in them, by pid), /etc/netns/NAME, the temp dir.
// This process handles the signals itself (so netns.ts installs only its exit hook): a signal
// tears everything down and exits; process exit runs netns.ts's synchronous backstop.

const state = { namespaces: [], daemons: [], etcDirs: [], work: null, exiting: false };
const removeFiles = () => {
  for (const d of state.etcDirs.splice(0)) rmSync(d, { recursive: true, force: true });
  if (state.work) rmSync(state.work, { recursive: true, force: true });
  state.work = null;
};
process.on('exit', removeFiles);
async function teardown() {
  await Promise.allSettled(state.daemons.splice(0).map((d) => d.stop()));
  await Promise.allSettled(state.namespaces.splice(0).map((ns) => ns.destroy()));
  removeFiles();
}
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    if (state.exiting) return;
    state.exiting = true;
    log(`${sig}: cleaning up`);
    teardown().finally(() => process.exit(130));
  });
}

// Imported after the handlers above, so netns.ts leaves the signals to this file.
const helpers = await Promise.all([import('../helpers/netns.ts'), import('../helpers/endpoint-daemons.ts')]).catch((error) => {
  console.error(`probe.bench: cannot load test/helpers/*.ts (${error.code ?? error.message}); run it as: node --import tsx test/bench/probe.bench.mjs`);
  process.exit(1);
});
const [{ Netns, linkVeth, addAddress }, { makeCertificates, startDnsmasq, startNginx }] = helpers;

// ---------------------------------------------------------------------------------------------
// the topology

async function build() {
  state.work = mkdtempSync(join(tmpdir(), 'ds-probe-bench-'));
  const server = await Netns.create('pbsrv');
  state.namespaces.push(server);
  const prober = await Netns.create('pbcli');
  state.namespaces.push(prober);
  await linkVeth(server, 'eth0', prober, 'eth0');
  await addAddress(server, 'eth0', `${LINK.server4}/24`);
  await addAddress(server, 'eth0', `${LINK.server6}/64`);
  await addAddress(prober, 'eth0', `${LINK.prober4}/24`);
  await addAddress(prober, 'eth0', `${LINK.prober6}/64`);
  await prober.ip('route', 'add', 'default', 'via', LINK.server4);
  await prober.ip('-6', 'route', 'add', 'default', 'via', LINK.server6);
  for (let k = 1; k <= ADDRESSES; k++) {
    await addAddress(server, 'lo', `198.51.100.${k}/32`);
    await addAddress(server, 'lo', `2001:db8:51::${k.toString(16)}/128`);
  }
  // The prober's resolver: `ip netns exec` bind-mounts this over /etc/resolv.conf (glibc for
  // curl, c-ares for the agent).
  const etc = join('/etc/netns', prober.name);
  mkdirSync(etc, { recursive: true });
  state.etcDirs.push(etc);
  writeFileSync(join(etc, 'resolv.conf'), `nameserver ${LINK.server4}\noptions timeout:1 attempts:2\n`);

  const certs = makeCertificates(state.work);
  const sites = Array.from({ length: PORTS }, (_, p) => ({ port: FIRST_PORT + p, cert: certs.main, status: 200, body: 'ok' }));
  state.daemons.push(await startNginx(server, state.work, sites));
  const hosts = Object.fromEntries(ALL.map((e) => [e.host, [e.a, e.aaaa]]));
  const last = ALL[ALL.length - 1];
  state.daemons.push(
    await startDnsmasq(server, [LINK.server4], { hosts }, async () => {
      const r = await prober.exec('getent', ['ahostsv6', last.host], { timeoutMs: 5000 });
      return r.stdout.includes(last.aaaa);
    }),
  );
  // Every family's path answers before anything is timed.
  for (const family of ['-4', '-6']) {
    const r = await prober.exec('curl', ['-sS', family, '--cacert', certs.caFile, '-o', '/dev/null', '-w', '%{http_code}', urlOf(last)], { timeoutMs: 15_000 });
    if (r.stdout !== '200') throw new Error(`curl ${family} ${urlOf(last)} in ${prober.name}: ${r.stdout} ${r.stderr}`);
  }
  return { server, prober, caFile: certs.caFile };
}

// ---------------------------------------------------------------------------------------------
// measuring

const TIME_FORMAT = 'BENCHTIME %e %U %S %M';
/** The figures /usr/bin/time printed last on stderr: wall s, CPU s (user + sys), peak RSS MB. */
function timeOf(stderr) {
  const m = [...stderr.matchAll(/^BENCHTIME (\S+) (\S+) (\S+) (\d+)$/gm)].at(-1);
  if (!m) throw new Error(`no /usr/bin/time figures in: ${stderr.slice(-500)}`);
  return { wall: Number(m[1]), cpu: Number(m[2]) + Number(m[3]), rssMB: (Number(m[4]) * 1024) / 1e6 };
}

async function runAgent(t, urls) {
  const args = [`NODE_EXTRA_CA_CERTS=${t.caFile}`, '/usr/bin/time', '-f', TIME_FORMAT, process.execPath, AGENT, 'probe', '--json', '--concurrency', String(CONCURRENCY), '--timeout', opts.timeout, ...urls];
  const r = await t.prober.exec('env', args, { timeoutMs: 600_000 });
  if (r.code !== 0 && r.code !== 2) throw new Error(`agent probe exited ${r.code}: ${r.stderr.slice(-1000)}`);
  const results = JSON.parse(r.stdout);
  const attempts = results.flatMap((p) => p.attempts);
  const starts = results.map((p) => Date.parse(p.probedAt));
  const ends = results.map((p) => Date.parse(p.probedAt) + p.durationMs);
  return {
    ...timeOf(r.stderr),
    exit: r.code,
    // From the results' own clocks: first resolve to last answer, without Node start-up,
    // module loading and the JSON output.
    round: (Math.max(...ends) - Math.min(...starts)) / 1000,
    endpoints: results.length,
    attempts: attempts.length,
    outcomes: count(attempts.map((a) => `IPv${a.family} ${a.outcome}`)),
    distinct: new Set(attempts.map((a) => `${a.address}:${a.port}`)).size,
    dns: count(results.flatMap((p) => [`A ${p.dns.a.status}`, `AAAA ${p.dns.aaaa.status}`])),
    attemptMs: median(attempts.map((a) => a.totalMs)),
  };
}

const CURL_W = '%{http_code} %{remote_ip} %{remote_port} %{time_total}\\n';
/** The answers curl wrote with -w: one line per transfer. */
function curlAnswers(stdout) {
  const lines = stdout.split('\n').filter(Boolean).map((l) => l.split(' '));
  return { statuses: lines.map((l) => l[0]), distinct: new Set(lines.map((l) => `${l[1]}:${l[2]}`)).size, seconds: lines.map((l) => Number(l[3])) };
}

/** Sequential curl over `urls` in one family: a process per URL (xargs -n 1) or one process (-K). */
async function runCurl(t, family, urls, mode) {
  const common = ['-sS', `-${family}`, '--cacert', t.caFile, '--max-time', String(TIMEOUT_S), '-w', CURL_W];
  const file = join(state.work, `urls-${family}-${mode}`);
  let args;
  if (mode === 'loop') {
    writeFileSync(file, `${urls.join('\n')}\n`);
    args = ['-f', TIME_FORMAT, 'xargs', '-d', '\\n', '-n', '1', '-a', file, 'curl', ...common, '-o', '/dev/null'];
  } else {
    writeFileSync(file, urls.map((u) => `url = "${u}"\noutput = "/dev/null"\n`).join(''));
    args = ['-f', TIME_FORMAT, 'curl', ...common, '-K', file];
  }
  const r = await t.prober.exec('/usr/bin/time', args, { timeoutMs: 3_600_000 });
  return { ...timeOf(r.stderr), ...curlAnswers(r.stdout), exit: r.code };
}

/** Both families, one after the other; times added, scaled from the sample to every endpoint. */
async function runCurlBoth(t, mode) {
  const urls = ALL.slice(0, SAMPLE).map(urlOf);
  const [v4, v6] = [await runCurl(t, 4, urls, mode), await runCurl(t, 6, urls, mode)];
  const scale = ENDPOINTS / SAMPLE;
  return {
    wall: (v4.wall + v6.wall) * scale,
    cpu: (v4.cpu + v6.cpu) * scale,
    rssMB: Math.max(v4.rssMB, v6.rssMB),
    ok: [...v4.statuses, ...v6.statuses].filter((s) => s === '200').length,
    transfers: v4.statuses.length + v6.statuses.length,
    distinct: v4.distinct + v6.distinct,
    transferMs: median([...v4.seconds, ...v6.seconds]) * 1000,
    exits: [v4.exit, v6.exit],
  };
}

// ---------------------------------------------------------------------------------------------
// the run

const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : 'n/a');
const f2 = (x) => (Number.isFinite(x) ? x.toFixed(2) : 'n/a');
const TARGET_SPEEDUP = 10;
const TARGET_RSS_MB = 150;

async function main() {
  if (process.getuid?.() !== 0) throw new Error('needs root (ip netns)');
  const connections = 2 * ENDPOINTS;
  console.log(`probe bench: node ${process.version}, ${cpus().length} CPUs, kernel ${release()}, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')} (other work on the machine shows up as noise)`);
  console.log(`${ENDPOINTS} endpoints https://epNNNN.example.net:PORT/ (A + AAAA each; ${ADDRESSES} address(es) per family x ${PORTS} ports), ${connections} connections with TLS, agent --concurrency ${CONCURRENCY} --timeout ${opts.timeout}, ${REPS} rep(s)`);
  if (SAMPLE < ENDPOINTS) console.log(`curl timed on the first ${SAMPLE} endpoints (${2 * SAMPLE} connections) and scaled x${f2(ENDPOINTS / SAMPLE)} to ${ENDPOINTS}`);
  log('building the namespaces, nginx and dnsmasq');
  const t = await build();
  const urls = ALL.map(urlOf);
  log('warm-up (untimed)');
  await runAgent(t, urls.slice(0, Math.min(20, urls.length)));
  const runs = { agent: [], loop: [], one: [] };
  for (let rep = 1; rep <= REPS; rep++) {
    log(`rep ${rep}/${REPS}: agent`);
    runs.agent.push(await runAgent(t, urls));
    log(`rep ${rep}/${REPS}: curl, a process per connection`);
    runs.loop.push(await runCurlBoth(t, 'loop'));
    log(`rep ${rep}/${REPS}: curl, one process`);
    runs.one.push(await runCurlBoth(t, 'one'));
  }
  return report(runs, connections);
}

function report(runs, connections) {
  const m = (xs, key) => median(xs.map((x) => x[key]));
  const agent = { wall: m(runs.agent, 'wall'), cpu: m(runs.agent, 'cpu'), rssMB: m(runs.agent, 'rssMB'), round: m(runs.agent, 'round') };
  const loop = { wall: m(runs.loop, 'wall'), cpu: m(runs.loop, 'cpu'), rssMB: m(runs.loop, 'rssMB') };
  const one = { wall: m(runs.one, 'wall'), cpu: m(runs.one, 'cpu'), rssMB: m(runs.one, 'rssMB') };
  const perConn = (cpu) => (cpu * 1000) / connections;
  const rows = [
    ['agent probe --json (whole process)', agent, ''],
    ['  the round alone (from its results)', { wall: agent.round }, 'first resolve to last answer, without Node start-up and JSON output'],
    ['curl, a process per connection', loop, SAMPLE < ENDPOINTS ? 'scaled from the sample' : ''],
    ['curl, one process, URLs in turn', one, SAMPLE < ENDPOINTS ? 'scaled from the sample' : ''],
  ];
  console.log(`\n== ${ENDPOINTS} endpoints, ${connections} connections: median of ${REPS} rep(s); a probe is one address of one family (one connection) ==`);
  console.log(`  ${'command'.padEnd(38)}${'wall s'.padStart(8)}${'CPU s'.padStart(8)}${'ms CPU/probe'.padStart(13)}${'peak RSS MB'.padStart(13)}${'curl loop/x'.padStart(13)}`);
  for (const [name, r, note] of rows) {
    const cells = [f2(r.wall), f2(r.cpu), f2(perConn(r.cpu)), f1(r.rssMB), `${f1(loop.wall / r.wall)}x`];
    console.log(`  ${name.padEnd(38)}${cells[0].padStart(8)}${cells[1].padStart(8)}${cells[2].padStart(13)}${cells[3].padStart(13)}${cells[4].padStart(13)}  ${note}`);
  }
  const speedLoop = loop.wall / agent.wall;
  const speedOne = one.wall / agent.wall;
  const pass = (ok) => (ok ? 'PASS' : 'MISS');
  console.log(`\n  agent vs sequential curl (wall): ${f1(speedLoop)}x faster than a process per connection, ${f1(speedOne)}x faster than one curl process  target >= ${TARGET_SPEEDUP}x: ${pass(speedLoop >= TARGET_SPEEDUP)} (loop), ${pass(speedOne >= TARGET_SPEEDUP)} (one process)`);
  console.log(`  agent CPU: ${f2(perConn(agent.cpu))} ms per connection (${f2((agent.cpu * 1000) / ENDPOINTS)} ms per endpoint) vs curl ${f2(perConn(loop.cpu))} (loop) / ${f2(perConn(one.cpu))} (one process)`);
  console.log(`  agent peak RSS: ${f1(agent.rssMB)} MB (max of reps ${f1(Math.max(...runs.agent.map((r) => r.rssMB)))})  target < ${TARGET_RSS_MB} MB: ${pass(agent.rssMB < TARGET_RSS_MB)}`);
  const a = runs.agent.at(-1);
  console.log(`\n  agent, last rep: exit ${a.exit}, ${a.endpoints} endpoints, ${a.attempts} attempts to ${a.distinct} distinct address:port; outcomes ${JSON.stringify(a.outcomes)}; DNS ${JSON.stringify(a.dns)}; median attempt ${f1(a.attemptMs)} ms (connect + TLS + GET, ${CONCURRENCY} in flight)`);
  const l = runs.loop.at(-1);
  const o = runs.one.at(-1);
  console.log(`  curl, last rep: loop ${l.ok}/${l.transfers} HTTP 200 to ${l.distinct} distinct address:port, median transfer ${f1(l.transferMs)} ms, exits ${l.exits.join(',')}; one process ${o.ok}/${o.transfers} HTTP 200, ${o.distinct} distinct, median ${f1(o.transferMs)} ms, exits ${o.exits.join(',')}`);
  // Figures compare like with like only when every run made and answered every connection.
  const agentOk = runs.agent.every((r) => r.attempts === connections && r.distinct === connections && (r.outcomes['IPv4 ok'] ?? 0) + (r.outcomes['IPv6 ok'] ?? 0) === connections);
  const curlOk = [...runs.loop, ...runs.one].every((r) => r.ok === 2 * SAMPLE && r.distinct === 2 * SAMPLE);
  console.log(`  check: ${agentOk && curlOk ? 'every run made and answered every connection' : `NOT COMPARABLE: ${agentOk ? '' : 'the agent '}${agentOk || curlOk ? '' : 'and '}${curlOk ? '' : 'curl '}did not make or answer every connection (see above)`}`);
  const raw = (xs, key) => xs.map((x) => f2(x[key])).join(' ');
  console.log(`  raw: agent wall ${raw(runs.agent, 'wall')} | round ${raw(runs.agent, 'round')} | CPU ${raw(runs.agent, 'cpu')} | RSS ${raw(runs.agent, 'rssMB')} | curl loop wall ${raw(runs.loop, 'wall')} CPU ${raw(runs.loop, 'cpu')} | curl one wall ${raw(runs.one, 'wall')} CPU ${raw(runs.one, 'cpu')}`);
  console.log(`  load average at the end: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  return agentOk && curlOk;
}

let code = 0;
try {
  if (!(await main())) code = 2;
} catch (error) {
  if (!state.exiting) log('FAILED:', error?.stack ?? String(error));
  code = 1;
} finally {
  if (!state.exiting) {
    await teardown();
    process.exit(code);
  }
}
