#!/usr/bin/env node
// Firewall benchmark: what the agent's firewall source costs on a big rule set, against
// `nft -j list ruleset` itself on the same rule set.
//
//   node test/bench/firewall.bench.mjs [--rules 5000] [--services 1000] [--reps 5] [--profile DIR]
//   node test/bench/firewall.bench.mjs --print-ruleset > ruleset.nft     # the generated rule set only
//
// Needs root (ip netns), nft, and a build (npx turbo run build: it loads
// packages/agent/dist/firewall/nft-json.js, packages/core/dist/index.js and runs
// packages/agent/dist/cli.js). It creates a network namespace, loads a generated nftables rule
// set of --rules rules into it (an inet table with base chains on prerouting and input, jumps,
// a verdict map, named sets of prefixes and ports, port ranges, a few hundred saddr rules),
// starts ONE listener process holding --services TCP sockets on [::] with V6ONLY=0 (one
// service each, reachable over both families), then re-runs itself inside the namespace
// (--inner): one untimed agent scan gives the services and addresses the agent sees; then,
// after an untimed warm-up round, --reps interleaved rounds of
//   nft -j list ruleset                  the baseline (wall time, to /dev/null)
//   worker                               a fresh Node process that imports the agent's parser and
//                                        core's evaluator, reads the saved JSON, parses it
//                                        (parseNftJson) and evaluates every service x family
//                                        (serviceFirewall), timing each step itself; under
//                                        /usr/bin/time for its peak RSS
//   agent scan --json                    the whole scan, and the same with
//   agent scan --json --disable-source firewall
// Medians are printed, with ratios to the nft baseline. Prints figures and asserts nothing; not
// part of `npm test`. See README.md in this folder. Traffic: none (the listeners are never
// connected to); addresses are documentation prefixes (RFC 5737, RFC 3849).
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');
const SELF = fileURLToPath(import.meta.url);
const PARSER = join(root, 'packages/agent/dist/firewall/nft-json.js');
const CORE = join(root, 'packages/core/dist/index.js');
const FIRST_PORT = 20000;
const PORTS_PER_CHAIN = 25;

const { values: opts } = parseArgs({
  options: {
    rules: { type: 'string', default: '5000' },
    services: { type: 'string', default: '1000' },
    reps: { type: 'string', default: '5' }, // rounds of nft -j, node -e 0 and parse
    'eval-reps': { type: 'string', default: '1' }, // evaluations of every service (minutes each today)
    'scan-reps': { type: 'string', default: '1' }, // whole agent scans with and without the firewall (0: none)
    agent: { type: 'string', default: 'packages/agent/dist/cli.js' },
    profile: { type: 'string' }, // directory: one more evaluation under --cpu-prof, summarized
    'profile-services': { type: 'string', default: '50' }, // ... of the first N services
    'print-ruleset': { type: 'boolean', default: false },
    inner: { type: 'boolean', default: false }, // internal: measuring inside the namespace
    work: { type: 'string' }, // internal: the outer process's temp directory
    worker: { type: 'string' }, // internal: the nft JSON file to parse and evaluate
    'services-file': { type: 'string' }, // internal: the worker's services and addresses
    'parse-only': { type: 'boolean', default: false }, // internal: the worker does not evaluate
    limit: { type: 'string' }, // internal: the worker evaluates the first N services only
    listen: { type: 'string' }, // internal: hold this many listening sockets
  },
});

const log = (...a) => process.stderr.write(`[firewall.bench] ${a.join(' ')}\n`);
const median = (xs) => {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};

// =============================================================================================
// the rule set

/**
 * An nftables script of exactly `total` rules in one inet table, shaped like a real server's:
 * a raw-priority prerouting chain (reverse-path filter, notrack), an input chain with policy
 * drop (conntrack, loopback, blocklists as named interval sets of IPv4 and IPv6 prefixes, an
 * ICMPv6 chain, management ports behind admin prefix sets, a port set with a range, a tenants
 * chain of saddr rules, a verdict map of port ranges jumping to per-range service chains, a
 * long compatibility chain of port ranges and port sets, a log rule), and the service chains.
 * Service ports FIRST_PORT.. get their outcome by port % 8: 0 and 4 accepted; 3 and 7
 * accepted after a rate limit; 1 restricted to the admin prefix sets; 2 and 6 rejected; 5 no
 * verdict in its service chain (a port nobody opened: policy drop at the end of input), except
 * from the tenants that have a saddr rule for it (restricted). Returns the script, what it
 * holds, and the verdict counts per family that the rules give.
 */
export function makeRuleset(total, services) {
  const chains = new Map();
  let rules = 0;
  const add = (chain, text) => {
    if (!chains.has(chain)) chains.set(chain, []);
    chains.get(chain).push(text);
    rules++;
  };
  const v4 = (n) => `${['192.0.2', '198.51.100', '203.0.113'][Math.floor(n / 256) % 3]}.${n % 256}`;
  const blocklist4 = [];
  for (let i = 0; i < 256; i++) blocklist4.push(`198.51.100.${i}`);
  for (let i = 0; i < 64; i++) blocklist4.push(`203.0.113.${i * 4}/30`);
  const blocklist6 = [];
  for (let i = 0; i < 1000; i++) blocklist6.push(`2001:db8:ff00:${i.toString(16)}::/64`);
  const admin4 = ['192.0.2.0/28'];
  const admin6 = ['2001:db8:a::/48', '2001:db8:b:1::/64'];
  const ports = Array.from({ length: services }, (_, i) => FIRST_PORT + i);
  const svcChains = Math.ceil(services / PORTS_PER_CHAIN);

  add('prerouting', 'fib saddr . iif oif missing counter drop');
  add('prerouting', 'udp dport 53 notrack');
  add('prerouting', 'udp sport 53 notrack');

  add('input', 'ct state established,related accept');
  add('input', 'ct state invalid counter drop');
  add('input', 'iifname "lo" accept');
  add('input', 'ip saddr @blocklist4 counter drop');
  add('input', 'ip6 saddr @blocklist6 counter drop');
  add('input', 'meta l4proto ipv6-icmp jump icmpv6_in');
  add('input', 'meta l4proto icmp accept');
  add('input', 'tcp dport @mgmt_ports jump mgmt');
  add('input', 'tcp dport @web_ports accept');
  add('input', 'meta l4proto tcp jump tenants');
  const vmap = [];
  for (let c = 0; c < svcChains; c++) {
    const lo = FIRST_PORT + c * PORTS_PER_CHAIN;
    vmap.push(`${lo}-${lo + PORTS_PER_CHAIN - 1} : jump svc_${String(c).padStart(2, '0')}`);
  }
  add('input', `tcp dport vmap { ${vmap.join(', ')} }`);
  add('input', 'jump compat');
  add('input', 'limit rate 5/minute burst 10 packets log prefix "input drop: " level info');

  add('icmpv6_in', 'icmpv6 type { destination-unreachable, packet-too-big, time-exceeded, parameter-problem, echo-request, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert } accept');
  add('icmpv6_in', 'counter drop');
  add('mgmt', 'ip saddr @admin4 accept');
  add('mgmt', 'ip6 saddr @admin6 accept');
  add('mgmt', 'counter drop');

  // Tenants: per-client openings of the otherwise closed ports (port % 8 == 5), saddr first
  // as iptables-translate writes them.
  const closed = ports.filter((p) => p % 8 === 5);
  const tenant = { ipv4: new Set(), ipv6: new Set() };
  for (let i = 0; i < 150; i++) {
    const port = closed[i % closed.length];
    add('tenants', `ip saddr ${v4(16 + i)} tcp dport ${port} accept`);
    tenant.ipv4.add(port);
  }
  for (let i = 0; i < 50; i++) {
    const port = closed[(i * 3) % closed.length];
    add('tenants', `ip6 saddr 2001:db8:10:${i.toString(16)}::/64 tcp dport ${port} accept`);
    tenant.ipv6.add(port);
  }

  for (let c = 0; c < svcChains; c++) {
    const chain = `svc_${String(c).padStart(2, '0')}`;
    add(chain, 'counter');
    for (let p = FIRST_PORT + c * PORTS_PER_CHAIN; p < Math.min(FIRST_PORT + (c + 1) * PORTS_PER_CHAIN, FIRST_PORT + services); p++) {
      switch (p % 8) {
        case 0:
        case 4:
          add(chain, `tcp dport ${p} ct state new accept`);
          add(chain, `udp dport ${p} accept`);
          break;
        case 1:
          add(chain, `tcp dport ${p} ip saddr @admin4 accept`);
          add(chain, `tcp dport ${p} ip6 saddr @admin6 accept`);
          break;
        case 2:
        case 6:
          add(chain, `tcp dport ${p} counter reject with tcp reset`);
          add(chain, `udp dport ${p} counter drop`);
          break;
        case 5:
          add(chain, `tcp dport ${p} counter`);
          add(chain, `udp dport ${p} counter`);
          break;
        default:
          add(chain, `tcp dport ${p} ct state new limit rate 50/second accept`);
          add(chain, `tcp dport ${p} counter drop`);
      }
    }
  }

  // Compatibility chain: what is left of an older rule set, ranges and sets above the services.
  const padding = total - rules;
  if (padding < 0) throw new Error(`--rules ${total} is fewer than the ${rules} rules of the skeleton for ${services} services`);
  for (let i = 0; i < padding; i++) {
    const base = 30000 + (i % 3000) * 10;
    switch (i % 4) {
      case 0: add('compat', `tcp dport ${base}-${base + 4} accept`); break;
      case 1: add('compat', `udp dport { ${base}, ${base + 1}, ${base + 2} } accept`); break;
      case 2: add('compat', `tcp dport { ${base + 5}, ${base + 6} } ct state new counter accept`); break;
      default: add('compat', `meta l4proto tcp th dport ${base + 7} counter accept`);
    }
  }
  const expected = {};
  for (const family of ['ipv4', 'ipv6']) {
    for (const p of ports) {
      const v = p % 8 === 1 || (p % 8 === 5 && tenant[family].has(p)) ? 'restricted' : p % 8 === 2 || p % 8 === 6 || p % 8 === 5 ? 'dropped' : 'accepted';
      expected[`${family} ${v}`] = (expected[`${family} ${v}`] ?? 0) + 1;
    }
  }

  const base = {
    prerouting: 'type filter hook prerouting priority raw; policy accept;',
    input: 'type filter hook input priority filter; policy drop;',
  };
  const out = ['table inet filter {'];
  out.push(`  set blocklist4 { type ipv4_addr; flags interval; elements = { ${blocklist4.join(', ')} } }`);
  out.push(`  set blocklist6 { type ipv6_addr; flags interval; elements = { ${blocklist6.join(', ')} } }`);
  out.push(`  set admin4 { type ipv4_addr; flags interval; elements = { ${admin4.join(', ')} } }`);
  out.push(`  set admin6 { type ipv6_addr; flags interval; elements = { ${admin6.join(', ')} } }`);
  out.push('  set mgmt_ports { type inet_service; elements = { 22, 5666, 9100 } }');
  out.push('  set web_ports { type inet_service; flags interval; elements = { 80, 443, 8000-8099 } }');
  for (const [name, lines] of chains) {
    out.push(`  chain ${name} {`);
    if (base[name]) out.push(`    ${base[name]}`);
    for (const l of lines) out.push(`    ${l}`);
    out.push('  }');
  }
  out.push('}');
  return {
    script: `${out.join('\n')}\n`,
    rules,
    chains: chains.size,
    setElements: blocklist4.length + blocklist6.length + admin4.length + admin6.length + 3 + 3,
    saddrRules: [...chains.values()].flat().filter((l) => /\bsaddr\b/.test(l) && !/^fib/.test(l)).length,
    expected,
  };
}

// =============================================================================================
// the listener: one process, N sockets on [::] V6ONLY=0 (dual-stack), held until SIGTERM

async function listen(n) {
  const net = await import('node:net');
  const servers = [];
  for (let i = 0; i < n; i++) {
    const s = net.createServer();
    await new Promise((res, rej) => {
      s.once('error', rej);
      s.listen({ host: '::', port: FIRST_PORT + i, ipv6Only: false, backlog: 16 }, res);
    });
    servers.push(s);
  }
  process.stdout.write(`READY ${servers.length}\n`);
  process.on('SIGTERM', () => process.exit(0));
  setInterval(() => {}, 1 << 30);
}

// =============================================================================================
// the worker: parse (and evaluate) in a fresh process, timing each step itself

async function worker(file, servicesFile, evaluate, limit) {
  const t0 = performance.now();
  const { parseNftJson } = await import(pathToFileURL(PARSER).href);
  const { serviceFirewall } = await import(pathToFileURL(CORE).href);
  const tImport = performance.now() - t0;
  const all = JSON.parse(readFileSync(servicesFile, 'utf8'));
  const services = limit ? all.services.slice(0, limit) : all.services;
  const text = readFileSync(file, 'utf8');

  let t = performance.now();
  JSON.parse(text);
  const tJson = performance.now() - t;
  t = performance.now();
  const ruleset = parseNftJson(text);
  const tParse = performance.now() - t;
  const rules = ruleset.tables.reduce((n, tb) => n + tb.chains.reduce((m, c) => m + c.rules.length, 0), 0);
  if (!evaluate) {
    process.stdout.write(`${JSON.stringify({ tImport, tJson, tParse, rules })}\n`);
    return;
  }
  const verdicts = {};
  const perVerdict = {};
  t = performance.now();
  for (const service of services) {
    for (const family of ['ipv4', 'ipv6']) {
      // One family at a time (serviceFirewall does both), to time each verdict's evaluations.
      const one = { ...service, [family === 'ipv4' ? 'ipv6' : 'ipv4']: 'none' };
      const t1 = performance.now();
      const v = serviceFirewall([ruleset], one, all.addresses)[family]?.verdict ?? 'none';
      const ms = performance.now() - t1;
      verdicts[`${family} ${v}`] = (verdicts[`${family} ${v}`] ?? 0) + 1;
      (perVerdict[v] ??= []).push(ms);
    }
  }
  const tEval = performance.now() - t;
  const evalByVerdict = Object.fromEntries(Object.entries(perVerdict).map(([v, xs]) => [v, { n: xs.length, medianMs: median(xs), maxMs: Math.max(...xs) }]));
  process.stdout.write(`${JSON.stringify({ tImport, tJson, tParse, tEval, rules, services: services.length, verdicts, evalByVerdict })}\n`);
}

// =============================================================================================
// inside the namespace: run and time, print one `RESULT {json}` line

function inner() {
  const reps = Number(opts.reps);
  const agentPath = resolve(root, opts.agent);
  const timeBin = ['/usr/bin/time', '/bin/time'].find((p) => existsSync(p));
  const work = opts.work; // made and removed by the outer process, also when this one is killed
  const devnull = openSync('/dev/null', 'w');
  const node = process.execPath;
  const run = (argv, out = devnull) => {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(argv[0], argv.slice(1), { cwd: root, stdio: ['ignore', out, 'pipe'], maxBuffer: 64 << 20, timeout: 3_600_000 });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.status !== 0) throw new Error(`${argv.join(' ')}: exit ${r.status ?? r.signal}: ${r.stderr?.toString().slice(0, 500)}`);
    return ms;
  };
  /** argv under GNU time: wall ms, peak RSS in kB (%M: ru_maxrss), stdout text. */
  const measured = (argv) => {
    const out = join(work, 'out.txt');
    const rssFile = join(work, 'rss.txt');
    const fd = openSync(out, 'w');
    const ms = run(timeBin ? [timeBin, '-f', '%M', '-o', rssFile, ...argv] : argv, fd);
    closeSync(fd);
    const kb = timeBin ? Number(readFileSync(rssFile, 'utf8').trim().split('\n').pop()) : NaN;
    return { ms, kb, stdout: readFileSync(out, 'utf8') };
  };

  // The services and addresses as the agent sees them (untimed; the firewall is not needed for them).
  const report = JSON.parse(measured([node, agentPath, 'scan', '--json', '--disable-source', 'firewall']).stdout);
  const servicesFile = join(work, 'services.json');
  writeFileSync(servicesFile, JSON.stringify({ services: report.services, addresses: report.addresses }));
  const nftFile = join(work, 'ruleset.json');
  writeFileSync(nftFile, measured(['nft', '-j', 'list', 'ruleset']).stdout);

  const workerArgv = (...extra) => [node, SELF, '--worker', nftFile, '--services-file', servicesFile, ...extra];
  const agentArgv = [node, agentPath, 'scan', '--json'];
  const res = {
    reps, services: report.services.length, exposed: report.services.filter((s) => s.ipv4 === 'any' && s.ipv6 === 'any').length,
    nftBytes: readFileSync(nftFile).length, nft: [], startup: [], parse: [], evaluate: [], scan: [], scanNoFw: [], firewall: null, profile: null,
  };

  // warm-up (page cache, code cache): not recorded
  run(['nft', '-j', 'list', 'ruleset']); run([node, '-e', '0']); run(workerArgv('--parse-only'));
  for (let i = 0; i < reps; i++) {
    log(`round ${i + 1}/${reps}: nft -j, node -e 0, parse`);
    res.nft.push(measured(['nft', '-j', 'list', 'ruleset']));
    res.startup.push(measured([node, '-e', '0']));
    const w = measured(workerArgv('--parse-only'));
    res.parse.push({ ms: w.ms, kb: w.kb, ...JSON.parse(w.stdout) });
  }
  for (let i = 0; i < Number(opts['eval-reps']); i++) {
    log(`evaluation ${i + 1}/${opts['eval-reps']}: ${res.services} services x 2 families`);
    const w = measured(workerArgv());
    res.evaluate.push({ ms: w.ms, kb: w.kb, ...JSON.parse(w.stdout) });
  }
  for (let i = 0; i < Number(opts['scan-reps']); i++) {
    log(`agent scan ${i + 1}/${opts['scan-reps']}: with and without the firewall source`);
    const withFw = measured(agentArgv);
    const r = JSON.parse(withFw.stdout);
    res.firewall = { source: r.sources.find((x) => x.name === 'firewall'), rulesets: r.firewall?.rulesets };
    res.scan.push({ ms: withFw.ms, kb: withFw.kb });
    const without = measured([...agentArgv, '--disable-source', 'firewall']);
    res.scanNoFw.push({ ms: without.ms, kb: without.kb });
  }
  if (opts.profile) {
    const dir = resolve(opts.profile);
    log(`profile: ${opts['profile-services']} services x 2 families, --cpu-prof into ${dir}`);
    run([node, '--cpu-prof', '--cpu-prof-dir', dir, ...workerArgv('--limit', opts['profile-services']).slice(1)]);
    const file = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(dir, f)).sort().pop();
    res.profile = { file, services: Number(opts['profile-services']), ...summarizeProfile(JSON.parse(readFileSync(file, 'utf8'))) };
  }
  closeSync(devnull);
  process.stdout.write(`RESULT ${JSON.stringify(res)}\n`);
}

/** Self time per function (ms, share) from a .cpuprofile, the top 15, and the evaluator's and parser's totals. */
function summarizeProfile(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  const deltas = profile.timeDeltas ?? [];
  profile.samples.forEach((id, i) => {
    const n = byId.get(id);
    const f = n.callFrame;
    const file = (f.url || '').replace(/^file:\/\//, '').replace(`${root}/`, '');
    const key = `${f.functionName || '(anonymous)'} ${file ? `${file}:${f.lineNumber + 1}` : ''}`.trim();
    self.set(key, (self.get(key) ?? 0) + (deltas[i] ?? 0) / 1000);
  });
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const top = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 15).map(([fn, ms]) => ({ fn, ms, share: ms / total }));
  const byPackage = new Map();
  for (const [fn, ms] of self) {
    const where = /node_modules\/([^/]+)/.exec(fn)?.[1] ?? /packages\/(\w+)\/dist\/(\S+?)\.js/.exec(fn)?.slice(1).join(' ') ?? (/\(garbage collector\)/.test(fn) ? 'GC' : 'other');
    byPackage.set(where, (byPackage.get(where) ?? 0) + ms);
  }
  return { totalMs: total, top, byPackage: [...byPackage.entries()].sort((a, b) => b[1] - a[1]).slice(0, 8) };
}

// =============================================================================================
// outside: namespace, rule set, listener, tables

const state = { ns: null, listener: null, innerChild: null, work: null, exiting: false };

function sh(argv, { quiet = false, input } = {}) {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', input });
  if (r.status !== 0 && !quiet) throw new Error(`${argv.join(' ')}: exit ${r.status}: ${(r.stderr || r.error?.message || '').trim()}`);
  return r;
}

function forwardStderr(stream, prefix = '') {
  let buf = '';
  stream.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (line && !/Failed to find cgroup2 mount/.test(line)) process.stderr.write(`${prefix}${line}\n`);
    }
  });
}

const exited = (child) => new Promise((res) => {
  if (child.exitCode !== null || child.signalCode !== null) res();
  else child.once('exit', () => res());
});

async function stopChild(child, ms = 10000) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  try { process.kill(child.pid, 'SIGTERM'); } catch { /* gone */ }
  const t = setTimeout(() => { try { process.kill(child.pid, 'SIGKILL'); } catch { /* gone */ } }, ms);
  await exited(child);
  clearTimeout(t);
}

function deleteNamespace(ns) {
  if (!ns) return;
  // Anything still inside OUR namespace is ours: kill those pids, then delete it.
  const pids = sh(['ip', 'netns', 'pids', ns], { quiet: true }).stdout?.split(/\s+/).filter(Boolean).map(Number) ?? [];
  for (const pid of pids) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
  if (pids.length) spawnSync('sleep', ['0.2']);
  sh(['ip', 'netns', 'del', ns], { quiet: true });
}

async function cleanup() {
  await stopChild(state.innerChild, 2000);
  await stopChild(state.listener);
  deleteNamespace(state.ns);
  if (state.work) rmSync(state.work, { recursive: true, force: true });
  state.innerChild = state.listener = state.ns = state.work = null;
}

async function cleanupAndExit(code) {
  if (state.exiting) return;
  state.exiting = true;
  try { await cleanup(); } finally { process.exit(code); }
}

async function startListener(ns, n) {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, SELF, '--listen', String(n)], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  state.listener = child;
  forwardStderr(child.stderr);
  return new Promise((res, rej) => {
    let out = '';
    const timer = setTimeout(() => rej(new Error('listener: no READY within 60 s')), 60_000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = /READY (\d+)/.exec(out);
      if (m) { clearTimeout(timer); res(Number(m[1])); }
    });
    child.on('exit', (code, sig) => { clearTimeout(timer); rej(new Error(`listener exited (${code ?? sig}) before READY`)); });
  });
}

async function runInner(ns) {
  const pass = ['reps', 'eval-reps', 'scan-reps', 'agent', 'profile-services'].flatMap((k) => [`--${k}`, opts[k]]);
  const args = [SELF, '--inner', '--work', state.work, ...pass, ...(opts.profile ? ['--profile', resolve(opts.profile)] : [])];
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  state.innerChild = child;
  forwardStderr(child.stderr, '  ');
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  await exited(child);
  state.innerChild = null;
  const m = /^RESULT (.*)$/m.exec(out);
  if (!m) throw new Error(`inner run failed (exit ${child.exitCode ?? child.signalCode}): ${out.slice(0, 500)}`);
  return JSON.parse(m[1]);
}

const fmt = (ms) => (ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2));
const mb = (kb) => (kb * 1024 / 1e6).toFixed(0);

async function outer() {
  if (process.getuid?.() !== 0) throw new Error('needs root (ip netns)');
  for (const f of [PARSER, CORE, resolve(root, opts.agent)]) if (!existsSync(f)) throw new Error(`${f} missing: npx turbo run build first`);
  if (!['/usr/bin/time', '/bin/time'].some((p) => existsSync(p))) log('no GNU time at /usr/bin/time (apt-get install -y time): peak RSS not measured');
  const services = Number(opts.services);
  const generated = makeRuleset(Number(opts.rules), services);
  console.log(`firewall bench: node ${process.version}, ${cpus().length} CPUs, kernel ${release()}, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')} (other work on the machine shows up as noise)`);
  console.log(`rule set: ${generated.rules} rules in ${generated.chains} chains of one inet table, ${generated.setElements} named set elements, ${generated.saddrRules} rules matching saddr; ${services} TCP services on [::] V6ONLY=0 held by one listener process`);

  state.work = mkdtempSync(join(tmpdir(), 'dualstack-fwbench-'));
  chmodSync(state.work, 0o755);
  const ns = `dsbench-fw-${process.pid}`;
  sh(['ip', 'netns', 'add', ns]);
  state.ns = ns;
  sh(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
  // One interface with a global address of each family: where clients from outside arrive.
  sh(['ip', '-n', ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0p']);
  sh(['ip', '-n', ns, 'link', 'set', 'eth0', 'up']);
  sh(['ip', '-n', ns, 'link', 'set', 'eth0p', 'up']);
  sh(['ip', '-n', ns, 'addr', 'add', '192.0.2.2/24', 'dev', 'eth0']);
  sh(['ip', '-n', ns, '-6', 'addr', 'add', '2001:db8:1::2/64', 'dev', 'eth0', 'nodad']);
  const t0 = process.hrtime.bigint();
  sh(['ip', 'netns', 'exec', ns, 'nft', '-f', '-'], { input: generated.script });
  log(`rule set loaded in ${fmt(Number(process.hrtime.bigint() - t0) / 1e6)} ms`);
  log(`listener holds ${await startListener(ns, services)} sockets`);

  const r = await runInner(ns);
  await cleanup();

  const nft = median(r.nft.map((x) => x.ms));
  const ratio = (ms) => `${(ms / nft).toFixed(1)}x`;
  const m = (xs, k) => median(xs.map((x) => x[k]));
  console.log(`the agent sees ${r.services} services, ${r.exposed} of them reachable over both families; nft -j prints ${(r.nftBytes / 1e6).toFixed(2)} MB of JSON`);
  console.log(`medians: ${r.reps} rounds of nft/startup/parse, ${r.evaluate.length} evaluation(s), ${r.scan.length} scan(s) of each kind\n`);
  const rows = [
    ['nft -j list ruleset (baseline)', nft, m(r.nft, 'kb')],
    ['node -e 0 (Node start-up)', m(r.startup, 'ms'), m(r.startup, 'kb')],
    ['parse process, wall (start-up, imports, read, parse)', m(r.parse, 'ms'), m(r.parse, 'kb')],
    ['  import the parser and core', m(r.parse, 'tImport'), NaN],
    ['  JSON.parse alone', m(r.parse, 'tJson'), NaN],
    ['  parseNftJson (JSON.parse included)', m(r.parse, 'tParse'), NaN],
    [`evaluation process, wall (+ parse and ${r.services} x 2 evaluations)`, m(r.evaluate, 'ms'), m(r.evaluate, 'kb')],
    [`  serviceFirewall, ${r.services} services x 2 families`, m(r.evaluate, 'tEval'), NaN],
    ...(r.scan.length ? [
      ['agent scan --json', m(r.scan, 'ms'), m(r.scan, 'kb')],
      ['agent scan --json --disable-source firewall', m(r.scanNoFw, 'ms'), m(r.scanNoFw, 'kb')],
    ] : []),
  ];
  console.log(`${'step'.padEnd(66)} ${'ms'.padStart(9)} ${'x nft -j'.padStart(9)} ${'peak RSS MB'.padStart(12)}`);
  for (const [name, ms, kb] of rows) console.log(`${name.padEnd(66)} ${fmt(ms).padStart(9)} ${ratio(ms).padStart(9)} ${(Number.isFinite(kb) ? mb(kb) : '').padStart(12)}`);
  if (r.evaluate.length) {
    const e = r.evaluate[0];
    console.log(`\nper evaluation (one service, one family, one interface): ${fmt((e.tEval / (e.services * 2)) * 1000)} µs on average; by verdict: ${Object.entries(e.evalByVerdict).map(([v, x]) => `${v} ${x.n} x median ${fmt(x.medianMs)} ms (max ${fmt(x.maxMs)})`).join(', ')}`);
    console.log(`verdicts evaluated: ${JSON.stringify(sortKeys(e.verdicts))}`);
    console.log(`what the rules say:  ${JSON.stringify(sortKeys(generated.expected))}`);
  }
  if (r.scan.length) console.log(`firewall source in the scan (scan - scan without it): ${fmt(m(r.scan, 'ms') - m(r.scanNoFw, 'ms'))} ms; source ${r.firewall?.source?.status}, read ${JSON.stringify(r.firewall?.rulesets)}`);
  console.log(`raw: nft ${r.nft.map((x) => fmt(x.ms)).join(' ')} | parseNftJson ${r.parse.map((x) => fmt(x.tParse)).join(' ')} | evaluation ${r.evaluate.map((x) => fmt(x.tEval)).join(' ')} | scan ${r.scan.map((x) => fmt(x.ms)).join(' ')} | without firewall ${r.scanNoFw.map((x) => fmt(x.ms)).join(' ')}`);
  if (r.profile) {
    console.log(`\nprofile of one evaluation process, first ${r.profile.services} services x 2 families (${r.profile.file}), self time of ${fmt(r.profile.totalMs)} ms sampled:`);
    for (const t of r.profile.top) console.log(`  ${fmt(t.ms).padStart(8)} ms ${(t.share * 100).toFixed(1).padStart(5)}%  ${t.fn}`);
    console.log(`  by package: ${r.profile.byPackage.map(([k, ms]) => `${k} ${((ms / r.profile.totalMs) * 100).toFixed(0)}%`).join(', ')}`);
  }
}

const sortKeys = (o) => Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));

// =============================================================================================

if (process.argv[1] !== SELF) {
  // imported (makeRuleset): run nothing
} else if (opts['print-ruleset']) process.stdout.write(makeRuleset(Number(opts.rules), Number(opts.services)).script);
else if (opts.listen) await listen(Number(opts.listen));
else if (opts.worker) await worker(opts.worker, opts['services-file'], !opts['parse-only'], opts.limit ? Number(opts.limit) : 0);
else if (opts.inner) inner();
else {
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => { log(`${sig}: cleaning up`); cleanupAndExit(130); });
  await outer().then(() => cleanupAndExit(0), (err) => { if (!state.exiting) log('FAILED:', err?.stack ?? String(err)); cleanupAndExit(1); });
}
