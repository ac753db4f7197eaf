#!/usr/bin/env node
// Scan benchmark: the agent's socket scan against `ss -tan` on the same sockets.
//
//   node test/bench/scan.bench.mjs [--sizes 1000,10000,100000] [--reps 5] [--agent packages/agent/dist/cli.js] [--module sockdiag.node | --no-native]
//        [--node PATH] [--executable PATH]
//
// Needs root (ip netns). For each size it creates a fresh network namespace, starts
// socket-load.mjs inside it (N sockets on loopback), then re-runs this script inside the
// namespace (`--inner`) so every command is timed from inside the namespace without the cost
// of `ip netns exec` itself. Repetitions are interleaved (node -e 0, ss -tan, ss -tanp, agent,
// agent under /usr/bin/time) after one untimed warm-up round; medians are reported. With the
// native sock_diag module (issue 14: built here by packages/agent/native/build.sh when gcc is
// there, or --module PATH) the agent also runs with it loaded (DUALSTACK_SOCKDIAG_MODULE), as the
// packaged agent would: every socket table from one sock_diag dump each, V6ONLY without ss; the
// plain agent runs are kept on /proc + ss (what the .mjs bundle does: --agent takes it too).
// --executable PATH: the native runs are that self-contained executable itself (the packaged
// agent: `PATH scan --json`, its sockdiag.node beside it, as the packages install it) instead of
// `node --agent` with the module. --node PATH: the runtime for `node -e 0` and the plain agent
// runs (e.g. the executable's own Node.js 24, so the .mjs bundle runs on the same runtime).
// Prints figures, asserts nothing; not part of `npm test`. See README.md in this folder.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');
const SELF = fileURLToPath(import.meta.url);
const LOAD = join(here, 'socket-load.mjs');
const NAIVE = join(here, 'naive-socket-read.mjs');
const SOCKET_SOURCES = ['tcp', 'tcp6', 'udp', 'udp6'];
const TARGET_SCAN_RATIO = 1.5; // agent wall time / ss -tan wall time, at 100k sockets
const TARGET_OWNERS_RATIO = 2; // owners source / socket parse sources
const TARGET_RSS_MB = 100; // agent peak RSS, MB = 10^6 bytes
const TARGET_NATIVE_RATIO = 1; // native agent wall time / ss -tan wall time, at 100k sockets (issue 14)

const { values: opts } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1000,10000,100000' },
    reps: { type: 'string', default: '5' },
    agent: { type: 'string', default: 'packages/agent/dist/cli.js' },
    'ready-timeout': { type: 'string', default: '600' }, // seconds for socket-load to open everything
    inner: { type: 'boolean', default: false }, // internal: measuring inside the namespace
    module: { type: 'string' }, // the native sock_diag module; built when not given
    'no-native': { type: 'boolean', default: false },
    executable: { type: 'string' },
    node: { type: 'string' },
  },
});

const log = (...a) => process.stderr.write(`[scan.bench] ${a.join(' ')}\n`);
const median = (xs) => {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};

// (entry point at the end of the file, after every declaration)

// =============================================================================================
// inside the namespace: run and time the commands, print one `RESULT {json}` line

function inner() {
  const reps = Number(opts.reps);
  const agentPath = resolve(root, opts.agent);
  const agentPresent = existsSync(agentPath);
  const timeBin = ['/usr/bin/time', '/bin/time'].find((p) => existsSync(p));
  const work = mkdtempSync(join(tmpdir(), 'dualstack-bench-'));
  const devnull = openSync('/dev/null', 'w');

  // Runs argv with stdout to `out` (fd), returns { ms, status, stderr }.
  const run = (argv, out = devnull, env = process.env) => {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(argv[0], argv.slice(1), { cwd: root, env, stdio: ['ignore', out, 'pipe'], maxBuffer: 64 << 20, timeout: 600_000 });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    return { ms, status: r.status, signal: r.signal, error: r.error, stderr: r.stderr?.toString() ?? '' };
  };

  const node = opts.node ? resolve(opts.node) : process.execPath;
  const agentArgv = [node, agentPath, 'scan', '--json'];
  const nativeArgv = opts.executable ? [resolve(opts.executable), 'scan', '--json'] : agentArgv;
  const agentOut = join(work, 'agent.json');
  const rssFile = join(work, 'rss.txt');

  // The plain runs stay on ss; 'native' loads the module as the packaged agent does.
  const ssEnv = { ...process.env, DUALSTACK_SOCKDIAG_MODULE: '/nonexistent/sockdiag.node' };
  const nativeEnv = opts.executable ? { ...process.env } : opts.module ? { ...process.env, DUALSTACK_SOCKDIAG_MODULE: opts.module } : null;
  const runAgent = (env = ssEnv, argv = agentArgv) => {
    const fd = openSync(agentOut, 'w');
    const r = run(argv, fd, env);
    closeSync(fd);
    const text = readFileSync(agentOut, 'utf8');
    let json = null;
    let parseError = null;
    try { json = JSON.parse(text); } catch (err) { parseError = `${err.message} (stdout ${text.length} bytes: ${text.slice(0, 200)})`; }
    return { ...r, json, parseError, bytes: text.length };
  };

  // Peak RSS: GNU time's %M is ru_maxrss from wait4(), i.e. the kernel's high-water mark of the
  // agent's resident set over its whole life (max over it and any children it waited for),
  // taken after it exited. Fallback without /usr/bin/time: a --import hook that reads VmHWM of
  // /proc/self/status on 'exit' (misses children and signal deaths).
  const runAgentRss = (env = ssEnv, argv = agentArgv) => {
    if (timeBin) {
      const fd = openSync(agentOut, 'w');
      const r = run([timeBin, '-f', '%M', '-o', rssFile, ...argv], fd, env);
      closeSync(fd);
      const kb = Number(readFileSync(rssFile, 'utf8').trim().split('\n').pop());
      return { kb, how: `${timeBin} -f %M`, status: r.status, stderr: r.stderr };
    }
    if (argv !== agentArgv) return { kb: NaN, how: 'not measured: an executable takes no --import hook (install GNU time)', status: null, stderr: '' };
    const hook = `data:text/javascript,${encodeURIComponent(
      `import{readFileSync as r,writeFileSync as w}from'node:fs';process.on('exit',()=>{const m=/VmHWM:\\s+(\\d+)/.exec(r('/proc/self/status','utf8'));w(process.env.DUALSTACK_BENCH_HWM,m?m[1]:'')})`,
    )}`;
    const fd = openSync(agentOut, 'w');
    const r = run([node, '--import', hook, ...agentArgv.slice(1)], fd, { ...env, DUALSTACK_BENCH_HWM: rssFile });
    closeSync(fd);
    const kb = Number(readFileSync(rssFile, 'utf8').trim());
    return { kb, how: 'VmHWM at exit (--import hook)', status: r.status, stderr: r.stderr };
  };

  const count = spawnSync('ss', ['-Htan'], { encoding: 'utf8', maxBuffer: 256 << 20 });
  const lines = count.stdout.split('\n').filter(Boolean);
  const states = {};
  for (const l of lines) { const s = l.split(/\s+/, 1)[0]; states[s] = (states[s] ?? 0) + 1; }

  const res = { sockets: lines.length, states, reps, agentPath, agentPresent, startup: [], ssTan: [], ssTanp: [], naive: [], naiveRssKb: NaN, agent: [], rss: [], rssHow: null, agentErrors: [], sources: [], native: [], nativeSockdiag: [], nativeDetail: null, nativeSources: [], nativeRss: [], nativeErrors: [] };

  // warm-up round (page cache, code cache): not recorded
  run([node, '-e', '0']); run(['ss', '-tan']); run(['ss', '-tanp']); run([node, NAIVE]);
  if (agentPresent) runAgent();
  if (timeBin) {
    run([timeBin, '-f', '%M', '-o', rssFile, node, NAIVE]);
    res.naiveRssKb = Number(readFileSync(rssFile, 'utf8').trim().split('\n').pop());
  }

  for (let i = 0; i < reps; i++) {
    log(`rep ${i + 1}/${reps}`);
    res.startup.push(run([node, '-e', '0']).ms);
    res.ssTan.push(run(['ss', '-tan']).ms);
    res.ssTanp.push(run(['ss', '-tanp']).ms);
    res.naive.push(run([node, NAIVE]).ms);
    if (!agentPresent) continue;
    const a = runAgent();
    if (a.status !== 0 || !a.json) {
      res.agentErrors.push(`exit ${a.status ?? a.signal}${a.error ? ` ${a.error.message}` : ''}: ${a.parseError ?? ''} ${a.stderr.trim().split('\n').slice(-5).join(' | ')}`.trim());
    }
    res.agent.push(a.ms);
    const report = a.json?.sources ? a.json : a.json?.report;
    res.sources.push(Array.isArray(report?.sources) ? report.sources.map(({ name, status, ok, durationMs, error }) => ({ name, status, ok, durationMs, error })) : null);
    if (nativeEnv) {
      const n = runAgent(nativeEnv, nativeArgv);
      const sockdiag = n.json?.sources?.find((x) => x.name === 'sockdiag');
      res.native.push(n.ms);
      res.nativeSockdiag.push(sockdiag?.durationMs ?? NaN);
      res.nativeDetail ??= n.json?.sources?.find((x) => x.name === 'tcp')?.detail ?? `exit ${n.status}: ${n.stderr.slice(-200)}`;
      res.nativeSources.push(n.json?.sources?.map(({ name, durationMs, detail }) => ({ name, durationMs, detail })) ?? null);
      if (n.status !== 0 || !n.json) res.nativeErrors.push(`exit ${n.status ?? n.signal}: ${n.parseError ?? ''} ${n.stderr.trim().split('\n').slice(-3).join(' | ')}`);
      // Every table must have come from the dump, or these are not native figures.
      const notNative = n.json?.sources?.filter((x) => SOCKET_SOURCES.includes(x.name) && !x.detail?.startsWith('sock_diag (native')).map((x) => `${x.name}: ${x.detail}`);
      if (notNative?.length) res.nativeErrors.push(`not native: ${notNative.join('; ')}`);
      res.nativeRss.push(runAgentRss(nativeEnv, nativeArgv).kb);
    }
    if (i === 0) res.outputBytes = a.bytes;
    const m = runAgentRss();
    res.rss.push(m.kb);
    res.rssHow = m.how;
  }
  rmSync(work, { recursive: true, force: true });
  process.stdout.write(`RESULT ${JSON.stringify(res)}\n`);
}

// =============================================================================================
// outside: namespaces, socket-load, tables

const state = { ns: null, load: null, innerChild: null, exiting: false, module: null };

function sh(argv, { quiet = false } = {}) {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8' });
  if (r.status !== 0 && !quiet) throw new Error(`${argv.join(' ')}: exit ${r.status}: ${(r.stderr || r.error?.message || '').trim()}`);
  return r;
}

// Filter the harmless "Failed to find cgroup2 mount" that `ip netns exec` prints on some hosts.
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
  // Anything still inside OUR namespace is ours (socket-load workers): kill those pids first,
  // otherwise the namespace would live on, invisible, after `ip netns del`.
  const pids = sh(['ip', 'netns', 'pids', ns], { quiet: true }).stdout?.split(/\s+/).filter(Boolean).map(Number) ?? [];
  for (const pid of pids) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
  if (pids.length) spawnSync('sleep', ['0.2']);
  sh(['ip', 'netns', 'del', ns], { quiet: true });
}

async function cleanup() {
  await stopChild(state.innerChild, 2000);
  await stopChild(state.load);
  deleteNamespace(state.ns);
  state.innerChild = state.load = state.ns = null;
}

async function cleanupAndExit(code) {
  if (state.exiting) return;
  state.exiting = true;
  try { await cleanup(); } finally { process.exit(code); }
}

for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  if (!opts.inner) process.on(sig, () => { log(`${sig}: cleaning up`); cleanupAndExit(130); });
}

async function startLoad(ns, total) {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, LOAD, '--total', String(total)], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  state.load = child;
  forwardStderr(child.stderr);
  const timeoutMs = Number(opts['ready-timeout']) * 1000;
  return new Promise((res, rej) => {
    let out = '';
    const timer = setTimeout(() => rej(new Error(`socket-load: no READY within ${opts['ready-timeout']} s`)), timeoutMs);
    child.stdout.on('data', (d) => {
      out += d;
      const m = /READY (\d+)/.exec(out);
      if (m) { clearTimeout(timer); res(Number(m[1])); }
    });
    child.on('exit', (code, sig) => { clearTimeout(timer); rej(new Error(`socket-load exited (${code ?? sig}) before READY`)); });
  });
}

async function runInner(ns) {
  const native = opts.executable ? ['--executable', resolve(opts.executable)] : state.module ? ['--module', state.module] : [];
  if (opts.node) native.push('--node', resolve(opts.node));
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, SELF, '--inner', '--reps', opts.reps, '--agent', opts.agent, ...native], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
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

async function outer() {
  if (process.getuid?.() !== 0) throw new Error('needs root (ip netns)');
  const sizes = opts.sizes.split(',').map((s) => Number(s.trim()));
  if (sizes.some((n) => !Number.isInteger(n) || n < 10)) throw new Error(`bad --sizes ${opts.sizes}`);
  const summary = [];
  if (opts.executable) log(`native runs: the executable ${resolve(opts.executable)} (its module beside it)`);
  else if (opts.module) state.module = resolve(opts.module);
  else if (!opts['no-native']) {
    const built = join(mkdtempSync(join(tmpdir(), 'dualstack-bench-native-')), 'sockdiag.node');
    const r = spawnSync(join(root, 'packages/agent/native/build.sh'), [built], { encoding: 'utf8' });
    if (r.status === 0) state.module = built;
    else log(`native module not built (${r.stderr.trim().slice(0, 200)}): no native runs`);
  }
  console.log(`scan bench: node ${process.version}, ${cpus().length} CPUs, kernel ${release()}, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')} (other work on the machine shows up as noise)`);
  for (const size of sizes) {
    const ns = `dsbench-${process.pid}-${size}`;
    log(`--- ${size} sockets: namespace ${ns}`);
    sh(['ip', 'netns', 'add', ns]);
    state.ns = ns;
    sh(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    // per-namespace sysctl: deep accept backlog. socket-load.mjs widens
    // net.ipv4.ip_local_port_range itself (above its listener ports 2000..2000+L).
    sh(['ip', 'netns', 'exec', ns, 'sysctl', '-q', '-w', 'net.core.somaxconn=8192'], { quiet: true });
    const t0 = performance.now();
    const opened = await startLoad(ns, size);
    log(`socket-load READY ${opened} after ${Math.round(performance.now() - t0)} ms`);
    const r = await runInner(ns);
    r.size = size;
    r.opened = opened;
    await stopChild(state.load);
    state.load = null;
    deleteNamespace(ns);
    state.ns = null;
    summary.push(printSize(r));
  }
  printSummary(summary);
}

// ---------------------------------------------------------------------------------------------
// tables

const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : 'n/a');
const f2 = (x) => (Number.isFinite(x) ? x.toFixed(2) : 'n/a');
const verdict = (ok) => (ok === null ? '' : ok ? 'PASS' : 'MISS');

function printSize(r) {
  const startup = median(r.startup);
  const ssTan = median(r.ssTan);
  const ssTanp = median(r.ssTanp);
  const naive = median(r.naive);
  const agent = r.agentPresent ? median(r.agent) : NaN;
  const perRun = (name) => r.sources.map((s) => s?.find((x) => x.name === name)?.durationMs);
  const parse = median(r.sources.map((s) => {
    if (!s) return NaN;
    const xs = SOCKET_SOURCES.map((n) => s.find((x) => x.name === n)?.durationMs).filter((d) => typeof d === 'number');
    return xs.length ? xs.reduce((a, b) => a + b, 0) : NaN;
  }));
  const owners = median(perRun('owners'));
  const rssMB = median(r.rss) * 1024 / 1e6;
  const rssMaxMB = Math.max(...r.rss.filter(Number.isFinite)) * 1024 / 1e6;
  const scanRatio = agent / ssTan;
  const ownersRatio = owners / parse;
  const chk = (x, ok) => (Number.isFinite(x) ? ok : null);
  const at100k = r.size >= 100000 ? '' : ' (target is set at 100k)';

  const nativeRuns = r.nativeSources ?? [];
  const nativeParse = median(nativeRuns.map((s) => (s ? SOCKET_SOURCES.map((n) => s.find((x) => x.name === n)?.durationMs ?? NaN).reduce((a, b) => a + b, 0) : NaN)));
  const nativeOf = (name) => median(nativeRuns.map((s) => s?.find((x) => x.name === name)?.durationMs));
  const native = r.native.length ? median(r.native) : NaN;
  const nativeRatio = native / ssTan;
  const nativeRssMB = median(r.nativeRss ?? []) * 1024 / 1e6;
  const rows = [
    ['sockets open (ss -Htan lines)', `${r.sockets}`, `${Object.entries(r.states).map(([k, v]) => `${k} ${v}`).join(', ')}; socket-load said ${r.opened}`, ''],
    ['node -e 0 (Node startup)', f1(startup), 'ms; included in the agent total below', ''],
    ['ss -tan', f1(ssTan), 'ms', ''],
    ['ss -tanp', f1(ssTanp), `ms = ${f1(ssTanp / ssTan)}x ss -tan`, ''],
    ['naive read-split-parse (tcp, tcp6)', f1(naive), `ms = ${f2(naive / ssTan)}x ss -tan; peak RSS ${f1(r.naiveRssKb * 1024 / 1e6)} MB (naive-socket-read.mjs)`, ''],
    ['agent scan --json, total', f1(agent), `ms (wall, whole process) = ${f2(agent / naive)}x the naive read`, ''],
    ['agent / ss -tan', f2(scanRatio), `x  target <= ${TARGET_SCAN_RATIO}x${at100k}`, verdict(chk(scanRatio, scanRatio <= TARGET_SCAN_RATIO))],
    ['agent - node startup', f1(agent - startup), `ms = ${f2((agent - startup) / ssTan)}x ss -tan (info)`, ''],
    ['socket parse (tcp+tcp6+udp+udp6)', f1(parse), 'ms (agent JSON durationMs)', ''],
    ['owners (/proc/[pid]/fd)', f1(owners), 'ms (agent JSON durationMs)', ''],
    ['owners / socket parse', f2(ownersRatio), `x  target <= ${TARGET_OWNERS_RATIO}x`, verdict(chk(ownersRatio, ownersRatio <= TARGET_OWNERS_RATIO))],
    ...(r.native.length ? [
      ['agent scan, native sock_diag', f1(native), `ms = ${f2(native / agent)}x the /proc + ss agent (${r.nativeDetail})`, ''],
      ['native agent / ss -tan', f2(nativeRatio), `x  target < ${TARGET_NATIVE_RATIO}x${at100k}`, verdict(chk(nativeRatio, nativeRatio < TARGET_NATIVE_RATIO))],
      ['socket tables: /proc / native', `${f1(parse)} / ${f1(nativeParse)}`, `ms (tcp+tcp6+udp+udp6 durationMs; native tcp ${f1(nativeOf('tcp'))}, tcp6 ${f1(nativeOf('tcp6'))})`, ''],
      ['sockdiag source: ss / native', `${f1(median(perRun('sockdiag')))} / ${f1(median(r.nativeSockdiag))}`, 'ms (agent JSON durationMs)', ''],
      ['native agent peak RSS', f1(nativeRssMB), `MB  target < ${TARGET_RSS_MB} MB`, verdict(chk(nativeRssMB, nativeRssMB < TARGET_RSS_MB))],
    ] : []),
    ['agent peak RSS', f1(rssMB), `MB (max of reps ${f1(rssMaxMB)})  target < ${TARGET_RSS_MB} MB`, verdict(chk(rssMB, rssMB < TARGET_RSS_MB))],
  ];
  console.log(`\n== ${r.size} sockets requested: median of ${r.reps} reps ==`);
  for (const [a, b, c, d] of rows) console.log(`  ${a.padEnd(34)} ${b.padStart(10)}  ${c.padEnd(60)} ${d}`);
  if (!r.agentPresent) console.log(`  agent: ${r.agentPath} not found (not built yet?) - agent rows are n/a`);
  if (r.nativeErrors?.length) console.log(`  native agent errors (${r.nativeErrors.length}):\n    ${[...new Set(r.nativeErrors)].join('\n    ')}`);
  if (nativeRuns.some(Boolean)) {
    const names = [...new Set(nativeRuns.flatMap((s) => (s ?? []).map((x) => x.name)))];
    console.log(`  native agent sources (median durationMs): ${names.map((n) => ({ n, ms: nativeOf(n) })).sort((a, b) => (b.ms || 0) - (a.ms || 0)).map((d) => `${d.n} ${f1(d.ms)}`).join(', ')}`);
  }
  if (r.agentErrors.length) console.log(`  agent errors (${r.agentErrors.length}/${r.reps}):\n    ${[...new Set(r.agentErrors)].join('\n    ')}`);
  const names = [...new Set(r.sources.flatMap((s) => (s ?? []).map((x) => x.name)))];
  if (names.length) {
    const detail = names.map((n) => ({ n, ms: median(perRun(n)), bad: r.sources.flatMap((s) => (s ?? []).filter((x) => x.name === n && (x.ok === false || (x.status && x.status !== 'ok')))) }))
      .sort((a, b) => (b.ms || 0) - (a.ms || 0));
    console.log(`  all agent sources (median durationMs): ${detail.map((d) => `${d.n} ${f1(d.ms)}`).join(', ')}`);
    for (const d of detail) if (d.bad.length) console.log(`    source ${d.n}: status ${d.bad[0].status} ok=${d.bad[0].ok} ${d.bad[0].error ? `error ${JSON.stringify(d.bad[0].error).slice(0, 200)}` : ''}`);
  } else if (r.agentPresent) {
    console.log('  agent JSON had no sources[] (looked at .sources and .report.sources)');
  }
  if (r.outputBytes !== undefined) console.log(`  agent JSON output: ${r.outputBytes} bytes; peak RSS measured with ${r.rssHow}`);
  console.log(`  raw ms: startup ${r.startup.map(f1).join(' ')} | ss -tan ${r.ssTan.map(f1).join(' ')} | ss -tanp ${r.ssTanp.map(f1).join(' ')} | naive ${r.naive.map(f1).join(' ')} | agent ${r.agent.map(f1).join(' ')} | native ${r.native.map(f1).join(' ')} | rss kB ${r.rss.join(' ')} | native rss kB ${(r.nativeRss ?? []).join(' ')}`);
  return { size: r.size, sockets: r.sockets, startup, ssTan, ssTanp, naive, agent, scanRatio, parse, owners, ownersRatio, rssMB, native, nativeRatio, nativeParse, nativeRssMB };
}

function printSummary(rows) {
  console.log('\n== summary (medians; ms unless noted) ==');
  const head = ['sockets', 'node -e 0', 'ss -tan', 'ss -tanp', 'naive', 'agent', 'agent/ss', 'agent/nv', 'parse', 'owners', 'own/parse', 'RSS MB', 'native', 'native/ss', 'nat.parse', 'nat.RSS'];
  console.log(`  ${head.map((h) => h.padStart(10)).join('')}`);
  for (const r of rows) {
    const cells = [String(r.sockets), f1(r.startup), f1(r.ssTan), f1(r.ssTanp), f1(r.naive), f1(r.agent), f2(r.scanRatio), f2(r.agent / r.naive), f1(r.parse), f1(r.owners), f2(r.ownersRatio), f1(r.rssMB), f1(r.native), f2(r.nativeRatio), f1(r.nativeParse), f1(r.nativeRssMB)];
    console.log(`  ${cells.map((c) => c.padStart(10)).join('')}`);
  }
  console.log(`  targets at 100k: agent/ss <= ${TARGET_SCAN_RATIO}x, owners/parse <= ${TARGET_OWNERS_RATIO}x, peak RSS < ${TARGET_RSS_MB} MB; native/ss < ${TARGET_NATIVE_RATIO}x (issue 14), its RSS < ${TARGET_RSS_MB} MB`);
}

// =============================================================================================

if (opts.inner) inner();
else outer().catch((err) => { if (!state.exiting) log('FAILED:', err?.stack ?? String(err)); cleanupAndExit(1); });
