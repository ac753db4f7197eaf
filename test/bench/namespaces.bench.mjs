#!/usr/bin/env node
// Namespace scan benchmark (issue 16): N network namespaces (default 200), each with one process
// holding a few sockets (tcp 0.0.0.0:8080, tcp [::]:8443 V6ONLY=1, udp [::]:5353), beside the
// host namespace; the agent's scan with --namespaces host and with --namespaces all, interleaved,
// in the same run: entered by the nsenter batch, entered by the native sock_diag module (issue 14;
// built here by packages/agent/native/build.sh, or --module PATH; loaded as the packaged agent
// would, through DUALSTACK_SOCKDIAG_MODULE), and /proc only. Prints wall time, the namespaces and owners sources' durationMs, peak RSS
// (/usr/bin/time -f %M), the extra cost per 100 namespaces as a multiple of the host scan
// (aim: under 2x), and, with strace, whether any /proc path was opened or read as a link twice.
// Asserts nothing; not run by npm test.
//
//   sudo node test/bench/namespaces.bench.mjs [--namespaces 200] [--reps 3] [--agent path/to/cli.js] [--module sockdiag.node]
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { namespaces: { type: 'string', default: '200' }, reps: { type: 'string', default: '3' }, agent: { type: 'string' }, module: { type: 'string' } } });
const N = Number(values.namespaces);
const REPS = Number(values.reps);
const AGENT = values.agent ?? new URL('../../packages/agent/dist/cli.js', import.meta.url).pathname;
const prefix = `dsbench-ns-${process.pid}`;

const HOLDER = `
import socket, sys, time
held = []
def listen(family, kind, address, port, v6only=None):
    s = socket.socket(family, kind)
    if v6only is not None: s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, v6only)
    s.bind((address, port))
    if kind == socket.SOCK_STREAM: s.listen()
    held.append(s)
listen(socket.AF_INET, socket.SOCK_STREAM, "0.0.0.0", 8080)
listen(socket.AF_INET6, socket.SOCK_STREAM, "::", 8443, 1)
listen(socket.AF_INET6, socket.SOCK_DGRAM, "::", 5353, 0)
print("READY", flush=True)
time.sleep(1e9)
`;

const names = [];
const holders = [];
function cleanup() {
  for (const child of holders) if (child.exitCode === null) try { process.kill(child.pid, 'SIGKILL'); } catch { /* gone */ }
  for (const name of names) spawnSync('ip', ['netns', 'del', name]);
}
process.on('SIGINT', () => { cleanup(); process.exit(130); });
process.on('SIGTERM', () => { cleanup(); process.exit(143); });

async function setUp() {
  for (let i = 0; i < N; i++) {
    const name = `${prefix}-${i}`;
    execFileSync('ip', ['netns', 'add', name]);
    names.push(name);
    execFileSync('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
    const child = spawn('ip', ['netns', 'exec', name, 'python3', '-c', HOLDER], { stdio: ['ignore', 'pipe', 'inherit'] });
    holders.push(child);
    await new Promise((resolve, reject) => {
      child.stdout.once('data', resolve);
      child.once('exit', (code) => reject(new Error(`holder in ${name} exited (${code})`)));
    });
  }
}

// 'proc-only': --namespaces all without CAP_SYS_ADMIN (setpriv drops it from the bounding and
// inheritable sets, so root's effective set lacks it): what /proc alone costs, no namespace entered.
// 'native': entered by the native module; every other mode without it (today's nsenter batch).
function runAgent(mode) {
  const out = join(dir, `scan-${mode}.json`);
  const drop = mode === 'proc-only' ? ['setpriv', '--bounding-set', '-sys_admin', '--inh-caps', '-sys_admin'] : [];
  const env = { ...process.env, DUALSTACK_SOCKDIAG_MODULE: mode === 'native' ? MODULE : '/nonexistent/sockdiag.node' };
  const started = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%M', '-o', join(dir, 'rss'), ...drop, process.execPath, AGENT, 'scan', '--json', '--namespaces', mode === 'host' ? 'host' : 'all'], { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 30, env });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (r.status !== 0) throw new Error(`agent failed: ${r.stderr}`);
  const report = JSON.parse(r.stdout.toString());
  const source = (n) => report.sources.find((s) => s.name === n);
  return { ms, rssMb: Number(readFileSync(join(dir, 'rss'), 'utf8').trim()) * 1024 / 1e6, namespaces: report.namespaces?.length ?? 0, nsSource: source('namespaces'), owners: source('owners')?.durationMs ?? 0, services: (report.namespaces ?? []).reduce((n, x) => n + x.services.length, 0), out };
}

/** Paths under /proc opened or read as a link more than once by the agent (not its children: ss, ip, sh). */
function readTwice() {
  const trace = join(dir, 'strace');
  // Without -f: the agent's main thread, not the children it runs (nsenter, ss and sh open /proc too).
  spawnSync('strace', ['-qq', '-e', 'trace=openat,readlinkat,readlink', '-o', trace, process.execPath, AGENT, 'scan', '--json', '--namespaces', 'all'], { stdio: ['ignore', 'ignore', 'ignore'], maxBuffer: 1 << 30 });
  const seen = new Map();
  for (const line of readFileSync(trace, 'utf8').split('\n')) {
    const m = /^(openat|readlinkat|readlink)\((?:AT_FDCWD, )?"(\/proc\/[^"]+)"/.exec(line);
    if (!m) continue;
    const key = `${m[1] === 'openat' ? 'open' : 'link'} ${m[2]}`;
    seen.set(key, (seen.get(key) ?? 0) + 1);
  }
  return [...seen].filter(([key, n]) => n > 1 && !/\/proc\/self\/(task|fd|stat$|status$|maps)/.test(key) && !/^open \/proc\/\d+\/fd$/.test(key));
}

const LOAD_BEFORE = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const dir = mkdtempSync(join(tmpdir(), 'dsbench-ns-'));
let MODULE = values.module ?? join(dir, 'sockdiag.node');
try {
  if (!values.module) {
    const built = spawnSync(new URL('../../packages/agent/native/build.sh', import.meta.url).pathname, [MODULE], { encoding: 'utf8' });
    if (built.status !== 0) {
      process.stderr.write(`native module not built (${built.stderr.trim()}): the native mode is left out\n`);
      MODULE = null;
    }
  }
  process.stderr.write(`setting up ${N} namespaces...\n`);
  await setUp();
  runAgent('host');
  runAgent('all'); // warm-up
  const host = [];
  const all = [];
  const procOnly = [];
  const native = [];
  if (MODULE) runAgent('native'); // warm-up
  for (let r = 0; r < REPS; r++) {
    host.push(runAgent('host'));
    all.push(runAgent('all'));
    if (MODULE) native.push(runAgent('native'));
    procOnly.push(runAgent('proc-only'));
  }
  const h = median(host.map((x) => x.ms));
  const a = median(all.map((x) => x.ms));
  const perHundred = ((a - h) / N) * 100;
  console.log(`namespaces: ${N} (each 3 sockets, one process); reps: ${REPS}; agent: ${AGENT}`);
  console.log(`| scan | wall ms (median) | peak RSS MB (median) | namespaces source ms | owners ms | namespaces found | their services |`);
  console.log(`|---|---|---|---|---|---|---|`);
  const rows = [['--namespaces host', host], ['--namespaces all (entered by nsenter: CAP_SYS_ADMIN)', all], ...(MODULE ? [['--namespaces all (entered by the native module)', native]] : []), ['--namespaces all, /proc only (no CAP_SYS_ADMIN)', procOnly]];
  for (const [label, runs] of rows) {
    console.log(`| ${label} | ${median(runs.map((x) => x.ms)).toFixed(0)} | ${median(runs.map((x) => x.rssMb)).toFixed(0)} | ${median(runs.map((x) => x.nsSource?.durationMs ?? 0)).toFixed(0)} | ${median(runs.map((x) => x.owners)).toFixed(0)} | ${runs[0].namespaces} | ${runs[0].services} |`);
  }
  console.log(`load average before: ${LOAD_BEFORE}; after: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
  console.log(`raw wall ms: host ${host.map((x) => x.ms.toFixed(0)).join(', ')}; nsenter ${all.map((x) => x.ms.toFixed(0)).join(', ')}${MODULE ? `; native ${native.map((x) => x.ms.toFixed(0)).join(', ')}` : ''}`);
  const perNamespace = (runs) => (median(runs.map((x) => x.nsSource?.durationMs ?? 0)) / N).toFixed(2);
  console.log(`namespaces source per namespace (median): nsenter ${perNamespace(all)} ms${MODULE ? `, native ${perNamespace(native)} ms` : ''}`);
  console.log(`namespaces source: ${all[0].nsSource?.status} ${all[0].nsSource?.detail ?? ''}`);
  if (MODULE) console.log(`namespaces source (native): ${native[0].nsSource?.status} ${native[0].nsSource?.detail ?? ''}`);
  console.log(`extra per 100 namespaces, nsenter: ${perHundred.toFixed(0)} ms = ${(perHundred / h).toFixed(2)}x the host scan (aim < 2x): ${perHundred / h < 2 ? 'MET' : 'MISS'}`);
  if (MODULE) {
    const nativePerHundred = ((median(native.map((x) => x.ms)) - h) / N) * 100;
    console.log(`extra per 100 namespaces, native: ${nativePerHundred.toFixed(0)} ms = ${(nativePerHundred / h).toFixed(2)}x the host scan (aim < 2x): ${nativePerHundred / h < 2 ? 'MET' : 'MISS'}`);
  }
  const p = median(procOnly.map((x) => x.ms));
  const procPerHundred = ((p - h) / N) * 100;
  console.log(`extra per 100 namespaces, /proc only: ${procPerHundred.toFixed(0)} ms = ${(procPerHundred / h).toFixed(2)}x the host scan: ${procPerHundred / h < 2 ? 'MET' : 'MISS'}`);
  if (spawnSync('strace', ['-V']).status === 0) {
    const twice = readTwice();
    console.log(twice.length === 0 ? 'read twice: none (strace of one --namespaces all scan: /proc opens and readlinks)' : `read twice (${twice.length}): ${twice.slice(0, 20).map(([k, n]) => `${k} x${n}`).join('; ')}`);
  }
} finally {
  cleanup();
  rmSync(dir, { recursive: true, force: true });
}
