// dualstack-agent: scan | capture | sources | push | run (loaded by cli.ts, the entry).
// Exit codes: 0 done, 1 could not run (usage or environment; one line on stderr), 2 a finding
// at or above --fail-on was present, 3 the collector rejected the report (push).
import { parseArgs } from 'node:util';
import { runCli } from '@dualstack/core/cli';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { procRoot } from './proc/root.js';
import { AGENT_VERSION } from './version.js';
import { jsonEventLog, LOG_LEVELS, type LogLevel } from './log.js';
import type { Profile, Report } from '@dualstack/core';
import type { ScanOptions } from './sources.js';
import type { Spool } from './ship/index.js';
import { DEFAULT_SPOOL_DIR } from './ship/paths.js';

// The scan side (the sources with their /proc, command and configuration readers, core's rules,
// yaml, node:child_process, node:worker_threads) is most of what loading the agent costs: --version
// and --help took ~100 ms more than \`node -e 0\` with it loaded up front (test/bench/sea.bench.mjs).
// The commands that scan load it first (scanSetup, sources); capture loads its own module.
interface ScanModule { scan: typeof import('./scan.js').scan; sources: typeof import('./sources.js').sources; renderReport: typeof import('./render.js').renderReport }
const loadScan = async (): Promise<ScanModule> => {
  const [{ scan }, { sources }, { renderReport }] = await Promise.all([import('./scan.js'), import('./sources.js'), import('./render.js')]);
  return { scan, sources, renderReport };
};

// The shipping code pulls in undici and node-cron: ~80 ms of start-up on the 2-core bench
// machine (import of ship/index.js 218 ms vs scan.js 132 ms). Only push and run load it, so
// `scan` and `capture` do not pay for it.
type ShipModule = typeof import('./ship/index.js');
/** Set by loadShip(), which push and run await before anything else of theirs. */
let shipLib: ShipModule;
const loadShip = async (): Promise<ShipModule> => (shipLib ??= await import('./ship/index.js'));
// The prober (undici, node:tls, node:dns) likewise: only probe and run --probe load it.
type ProbeModule = typeof import('./probe/index.js');
const loadProbe = async (): Promise<ProbeModule> => import('./probe/index.js');

export class UsageError extends Error {}

const HELP: Record<string, string> = {
  main: `dualstack-agent ${AGENT_VERSION} — what IPv4 and IPv6 clients can really reach on this server.

Usage: dualstack-agent <command> [options]

Commands:
  scan              read the kernel's view of this host and print the report
  capture DIR       copy what a scan reads into DIR, to replay it with scan --proc-root DIR/proc
  sources           list the sources a scan reads
  push              scan once and deliver the report to the collector (spooled if it is down)
  enroll            exchange an enroll secret for this host's own host key (stored 0600)
  run               scan on a schedule and deliver every report, until SIGTERM
                    (with --probe, also probe the collector's endpoints as a vantage point)
  probe URL...      probe published endpoints over IPv4 and IPv6 from here and print what
                    every address answered

Run 'dualstack-agent <command> --help' for a command's options.
Exit codes: 0 done; 1 could not run (the reason is printed on one line); 2 a finding at or
above --fail-on was found (probe: an address did not answer);
3 the collector rejected the report (push).`,
  probe: `Usage: dualstack-agent probe [options] URL...

Probes each endpoint as its clients reach it: resolves A and AAAA with this host's resolver
(TTL, CNAME chain; loopback, link-local, multicast and mapped addresses in an answer are not
followed), connects to every address of both families (at most 16 each), shakes hands with TLS
(SNI = the URL host) for https, smtps, imaps, pop3s and tls, then sends one HTTP GET (http,
https; redirects not followed) or reads the banner (smtp, imap, pop3, ftp, ssh). tcp:// and
tls:// stop after connecting. No collector is involved. See docs/probing.md.

URLs: http(s)://host[:port][/path], smtp(s)://, imap(s)://, pop3(s)://, ftp://, ssh://,
tcp://host:port, tls://host:port; an IPv6 address in brackets: tcp://[2001:db8::1]:5432.

Options:
  --json                   print the results as JSON (a list of EndpointProbe, docs/probing.md)
  --timeout DURATION       budget of each attempt: connect, TLS and the first answer (default 5s)
  --expect-status CODE     every address must answer this HTTP status (default: any below 500)
  --tls-name NAME          the name certificates must be valid for (default: the URL host)
  --concurrency N          attempts in flight at once (default 64)
  -h, --help               this help

Exit codes: 0 every address of every endpoint answered; 2 some did not (or an endpoint had no
address); 1 could not run (a bad URL or option, named on one line).`,
  scan: `Usage: dualstack-agent scan [options]

Options:
  --json                   print the report as JSON (schema dualstack.report/v1)
  --proc-root DIR          read /proc from DIR (a captured tree); what a capture keeps beside
                           it (sockdiag.txt, ipv4-addresses.json, reachability.json, host.json,
                           the ip-*.json command outputs, and etc/) is read from DIR/..
  --etc-root DIR           read network and daemon configuration files from DIR (default: /etc,
                           or the capture's etc/ when replaying; without one those sources are skipped)
  --root DIR               read the files outside /etc (systemd socket units under /run/systemd
                           and /usr/lib/systemd) under DIR, as systemctl --root does (default: /,
                           or the capture directory when replaying)
  --namespaces all|host    all (default): also scan every other network namespace (containers,
                           pods) through its processes, each with its own services and findings;
                           host: only the agent's own namespace
  --host-id ID             host id to report (default: /etc/machine-id, or the capture's)
  --hostname NAME          hostname to report (default: the system's, or the capture's)
  --disable-source NAME    do not run this source (repeatable; see 'dualstack-agent sources')
  --profile hardening      also run the CIS-style hardening rules (off by default: they
                           flag accept_ra, which hosts using SLAAC need)
  --fail-on SEVERITY       exit 2 when a finding of SEVERITY or worse is present
                           (warning or critical), for Ansible and CI
  -h, --help               this help

Runs without root with reduced facts: other users' processes cannot be read, so their
sockets show no process name. The report says so. CAP_DAC_READ_SEARCH and CAP_SYS_PTRACE
(both; what the dualstack-agent systemd unit grants) are enough to name them without root.`,
  capture: `Usage: dualstack-agent capture DIR [--etc-root ETC] [--root ROOT] [--namespaces all|host]

Copies the /proc files a scan reads (socket tables, addresses, routes, IPv6 sysctls, and the
fd links, names and cgroups of the processes holding listening sockets) into DIR/proc, what
the live-only sources saw (ss and ip output, IPv4 addresses, the reachability answers, host
facts) beside it, and the network configuration files into DIR/etc (passwords and keys
replaced by <redacted>; read from ETC, default /etc). The systemd units read outside /etc
(from ROOT, default /) go to DIR/run/... and DIR/usr/lib/..., as on the host. With
--namespaces all (the default) the other network namespaces go along: the net/ files and
cgroup of the process each is read through, the ns/net links, what entering each printed
(DIR/namespaces/net-INODE/) and the files naming their containers (docker's config.v2.json cut
to its Name). Replay with: dualstack-agent scan --proc-root DIR/proc`,
  enroll: `Usage: dualstack-agent enroll --collector URL --secret-file FILE [--state-dir DIR] [options]

Sends this host's id (/etc/machine-id, or --host-id), hostname and facts to the collector with
an enroll secret, and stores the host key it answers in DIR/host.key (mode 600; default DIR
/var/lib/dualstack). push and run then use that key: it writes this host's reports only. When
the collector already has a live key for this host id (a cloned machine with the same
/etc/machine-id), the key is stored but PENDING: refused until an admin accepts it, and the
message says how to give the clone its own id.

Options:
  --collector URL          the collector (default $DUALSTACK_COLLECTOR)
  --secret-file FILE       the enroll secret (token create --role enroll), one line, mode 600
  --state-dir DIR          where host.key goes (default /var/lib/dualstack)
  --timeout DURATION       for each of connect, response headers, response body (default 30s)
  --proc-root DIR, --etc-root DIR, --root DIR, --host-id ID, --hostname NAME    as for 'scan'
  -h, --help               this help

Exit codes: 0 enrolled (the key is live, or pending: a line on stderr says which); 1 could not
run or the collector refused the secret (the reason is printed).`,
  sources: `Usage: dualstack-agent sources

Lists every source with what it reads.`,
  push: `Usage: dualstack-agent push --collector URL --token-file FILE [options]

Scans this host once and delivers the report to the collector. Reports that could not be
delivered earlier wait in the spool and go first, oldest first. When the collector is down
or busy the new report is spooled as well, and goes with the next push or run.

Options:
  --collector URL          the collector, e.g. https://collector.example:8443 (/api/v1/reports
                           is appended); default $DUALSTACK_COLLECTOR
  --token-file FILE        the file holding this agent's bearer token (keep it mode 600);
                           default $DUALSTACK_TOKEN_FILE
  --secret-file FILE       an enroll secret (token create --role enroll): with no host key in
                           --state-dir yet, the agent enrolls first, and again when the
                           collector answers 401 (its key was revoked) while the secret works
  --state-dir DIR          where the host key is kept, host.key, mode 600 (default
                           /var/lib/dualstack); a host key there is used before --token-file
  --spool DIR              where undelivered reports wait (default ${DEFAULT_SPOOL_DIR})
  --spool-max-reports N    keep at most N reports; the oldest are dropped first (default 1000)
  --spool-max-size SIZE    keep at most SIZE of reports, e.g. 100M or 512k (default 100M)
  --timeout DURATION       for each of connect, response headers, response body (default 30s)
  --config FILE            a JSON object whose keys are these long options without the dashes
                           (e.g. {"collector": "https://...", "token-file": "/etc/dualstack/token"});
                           options given on the command line win. Keys only 'run' knows are
                           ignored here, so push and run can share one file
  --proc-root DIR, --etc-root DIR, --root DIR, --namespaces all|host, --host-id ID, --hostname NAME,
  --disable-source NAME, --profile hardening      as for 'dualstack-agent scan'
  -h, --help               this help

Exit codes: 0 delivered, or spooled for later (a line on stderr says which); 1 could not run;
3 the collector rejected the report (its reason is printed). A report rejected for what it
holds is dropped; one refused for the token or the URL (401, 403, 404) stays in the spool.`,
  run: `Usage: dualstack-agent run --collector URL --token-file FILE [options]

Scans on a schedule and delivers each report as push does, until SIGTERM or SIGINT. Each scan
starts after a random delay, so a fleet does not report in the same second, and never while
the previous one still runs. Between scans, spooled reports are retried with exponential
backoff and full jitter, no sooner than the collector's Retry-After. On SIGTERM the push in
flight is abandoned and its report kept in the spool; the process exits 0.

Options:
  --interval DURATION      scan every 30s, 5m, 1h, ... (default 5m; it must divide a minute,
                           an hour or a day)
  --schedule CRON          scan on a cron expression instead (node-cron; an optional first
                           field holds seconds), e.g. '0 */10 * * * *'
  --jitter DURATION        the random delay before each scan is at most this (default a fifth
                           of the interval, at most 30s; 0s for none)
  --log-level LEVEL        fatal, error, warn, info (default), debug, trace or silent
  --probe                  also be a vantage point: each probe round fetches the endpoints
                           from the collector (GET /api/v1/probe-targets), probes them as
                           'dualstack-agent probe' does and delivers one batch
                           (POST /api/v1/probe-results), spooled like reports (files named
                           probe-*.json in the same --spool, bounded by the same limits)
  --probe-interval DURATION  a probe round every 30s, 5m, ... (default 5m; it must divide a
                           minute, an hour or a day); random delay as for scans
  --probe-concurrency N    attempts in flight at once in a round (default 64)
  --collector URL, --token-file FILE, --secret-file FILE, --state-dir DIR, --spool DIR,
  --spool-max-reports N, --spool-max-size SIZE, --timeout DURATION, --config FILE
                           as for 'dualstack-agent push'
  --proc-root DIR, --etc-root DIR, --root DIR, --namespaces all|host, --host-id ID, --hostname NAME,
  --disable-source NAME, --profile hardening      as for 'dualstack-agent scan'
  -h, --help               this help

The token file is read again before each delivery: a rotated token needs no restart.
One JSON line per event on stdout (pino, for journald): delivered, spooled, dropped, rejected,
retrying, with "event" and, where one is meant, "reportId". Mistakes in the options are still
one plain line on stderr with exit code 1.`,
};

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    process.stdout.write(`${HELP.main}\n`);
    return 0;
  }
  if (command === '--version' || command === '-V') {
    process.stdout.write(`${AGENT_VERSION}\n`);
    return 0;
  }
  switch (command) {
    case 'scan':
      return scanCommand(rest);
    case 'capture':
      return captureCommand(rest);
    case 'sources':
      return sourcesCommand(rest);
    case 'enroll':
      return enrollCommand(rest);
    case 'push':
      return pushCommand(rest);
    case 'run':
      return runCommand(rest);
    case 'probe':
      return probeCommand(rest);
    default:
      throw new UsageError(`unknown command '${command}' (try 'dualstack-agent --help')`);
  }
}

/** Runs node:util parseArgs, turning its errors into a usage message for `command`. */
function parse<T>(command: string, run: () => T): T {
  try {
    return run();
  } catch (error) {
    throw new UsageError(`${command}: ${(error as Error).message} (try 'dualstack-agent ${command} --help')`);
  }
}

const help = { type: 'boolean', short: 'h' } as const;

/** The options that say what a scan reads: shared by scan, push and run. */
const scanInputs = {
  'proc-root': { type: 'string' },
  'etc-root': { type: 'string' },
  root: { type: 'string' },
  namespaces: { type: 'string' },
  'host-id': { type: 'string' },
  hostname: { type: 'string' },
  'disable-source': { type: 'string', multiple: true },
  profile: { type: 'string', multiple: true },
} as const;

interface ScanInputValues {
  'proc-root'?: string | undefined;
  'etc-root'?: string | undefined;
  root?: string | undefined;
  namespaces?: string | undefined;
  'host-id'?: string | undefined;
  hostname?: string | undefined;
  'disable-source'?: string[] | undefined;
  profile?: string[] | undefined;
}

interface ScanSetup {
  /** The scan side, loaded by scanSetup. */
  lib: ScanModule;
  options: ScanOptions;
  disabled: Set<string>;
  profiles: Profile[];
}

/** Checks the scan inputs of `command`, naming the wrong one (loading the scan side first). */
async function scanSetup(command: string, values: ScanInputValues): Promise<ScanSetup> {
  const lib = await loadScan();
  const { sources } = lib;
  const rootPath = resolve(values['proc-root'] ?? '/proc');
  if (!existsSync(rootPath) || !statSync(rootPath).isDirectory()) throw new UsageError(`${command}: --proc-root ${rootPath} is not a directory`);
  const disabled = new Set(values['disable-source'] ?? []);
  for (const name of disabled) {
    if (!sources.some((s) => s.name === name)) throw new UsageError(`${command}: unknown source '${name}' (see 'dualstack-agent sources')`);
  }
  const profiles = values.profile ?? [];
  for (const profile of profiles) {
    if (profile !== 'hardening') throw new UsageError(`${command}: unknown profile '${profile}' (known: hardening)`);
  }
  const etcRoot = values['etc-root'] === undefined ? undefined : resolve(values['etc-root']);
  if (etcRoot !== undefined && (!existsSync(etcRoot) || !statSync(etcRoot).isDirectory())) throw new UsageError(`${command}: --etc-root ${etcRoot} is not a directory`);
  const systemRoot = values.root === undefined ? undefined : resolve(values.root);
  if (systemRoot !== undefined && (!existsSync(systemRoot) || !statSync(systemRoot).isDirectory())) throw new UsageError(`${command}: --root ${systemRoot} is not a directory`);
  const namespaces = namespacesOption(command, values.namespaces);
  const root = procRoot(rootPath);
  return {
    lib,
    options: {
      procRoot: root,
      captureDir: root.live ? null : dirname(rootPath),
      namespaces,
      ...(etcRoot !== undefined ? { etcRoot } : {}),
      ...(systemRoot !== undefined ? { root: systemRoot } : {}),
      ...(values['host-id'] ? { hostId: values['host-id'] } : {}),
      ...(values.hostname ? { hostname: values.hostname } : {}),
    },
    disabled,
    profiles: profiles as Profile[],
  };
}

/** --namespaces: all (the default) or host. */
function namespacesOption(command: string, value: string | undefined): 'host' | 'all' {
  if (value === undefined || value === 'all' || value === 'host') return value ?? 'all';
  throw new UsageError(`${command}: --namespaces takes all or host, not '${value}'`);
}

async function scanCommand(args: string[]): Promise<number> {
  const { values } = parse('scan', () =>
    parseArgs({
      args,
      options: {
        help,
        json: { type: 'boolean' },
        ...scanInputs,
        'fail-on': { type: 'string' },
      },
    }),
  );
  if (values.help) {
    process.stdout.write(`${HELP.scan}\n`);
    return 0;
  }
  const setup = await scanSetup('scan', values);
  const failOn = values['fail-on'];
  if (failOn !== undefined && failOn !== 'warning' && failOn !== 'critical') throw new UsageError(`scan: --fail-on takes warning or critical, not '${failOn}'`);
  const { report } = await setup.lib.scan(setup.options, setup.disabled, setup.profiles);
  process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : `${setup.lib.renderReport(report)}\n`);
  if (failOn !== undefined) {
    const worst = failOn === 'critical' ? ['critical'] : ['critical', 'warning'];
    if ([...report.findings, ...(report.namespaces ?? []).flatMap((n) => n.findings)].some((f) => worst.includes(f.severity))) return 2;
  }
  return 0;
}

async function captureCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse('capture', () =>
    parseArgs({ args, options: { help, 'etc-root': { type: 'string' }, root: { type: 'string' }, namespaces: { type: 'string' } }, allowPositionals: true }),
  );
  if (values.help) {
    process.stdout.write(`${HELP.capture}\n`);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('capture: give exactly one directory to write into');
  const dir = resolve(positionals[0]!);
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new UsageError(`capture: ${dir} exists and is not a directory`);
  const etcRoot = resolve(values['etc-root'] ?? '/etc');
  if (values['etc-root'] !== undefined && (!existsSync(etcRoot) || !statSync(etcRoot).isDirectory())) throw new UsageError(`capture: --etc-root ${etcRoot} is not a directory`);
  const systemRoot = resolve(values.root ?? '/');
  if (values.root !== undefined && (!existsSync(systemRoot) || !statSync(systemRoot).isDirectory())) throw new UsageError(`capture: --root ${systemRoot} is not a directory`);
  const { capture } = await import('./capture.js');
  const summary = await capture(dir, procRoot('/proc'), etcRoot, systemRoot, namespacesOption('capture', values.namespaces));
  process.stderr.write(`captured ${summary.files} files (${summary.processes} socket-holding processes) into ${dir}\n`);
  for (const s of summary.sources.filter((x) => x.status !== 'ok')) process.stderr.write(`  ${s.name}: ${s.status}${s.detail ? ` — ${s.detail}` : ''}\n`);
  process.stderr.write(`replay: dualstack-agent scan --proc-root ${dir}/proc\n`);
  return 0;
}

/** The options that say where and how reports go: shared by push and run. */
const shipInputs = {
  collector: { type: 'string' },
  'token-file': { type: 'string' },
  'secret-file': { type: 'string' },
  'state-dir': { type: 'string' },
  spool: { type: 'string' },
  'spool-max-reports': { type: 'string' },
  'spool-max-size': { type: 'string' },
  timeout: { type: 'string' },
} as const;

interface ShipInputValues {
  collector?: string | undefined;
  'token-file'?: string | undefined;
  'secret-file'?: string | undefined;
  'state-dir'?: string | undefined;
  spool?: string | undefined;
  'spool-max-reports'?: string | undefined;
  'spool-max-size'?: string | undefined;
  timeout?: string | undefined;
}

interface ShipSetup {
  url: URL;
  /** The bearer of each delivery: the host key, else the token file; enrollment with a secret. */
  credentials: InstanceType<typeof shipLib.Credentials>;
  spool: Spool;
  timeoutMs: number;
}

/** Runs `check`, turning a ShipConfigError into a usage message for `command`. */
function config<T>(command: string, check: () => T): T {
  try {
    return check();
  } catch (error) {
    if (error instanceof shipLib.ShipConfigError) throw new UsageError(`${command}: ${error.message}`);
    throw error;
  }
}

/** Checks the collector, token file, spool and timeout options (environment as defaults). */
function shipSetup(command: string, values: ShipInputValues, log: (line: string) => void): ShipSetup {
  const collector = values.collector ?? process.env.DUALSTACK_COLLECTOR;
  if (!collector) throw new UsageError(`${command}: --collector URL is required (or set DUALSTACK_COLLECTOR)`);
  const tokenFile = values['token-file'] ?? process.env.DUALSTACK_TOKEN_FILE;
  const secretFile = values['secret-file'];
  const stateDir = resolve(values['state-dir'] ?? shipLib.DEFAULT_STATE_DIR);
  const hostKey = config(command, () => shipLib.readHostKey(stateDir));
  if (!tokenFile && !secretFile && hostKey === null) {
    throw new UsageError(`${command}: --token-file FILE or --secret-file FILE is required (or set DUALSTACK_TOKEN_FILE), unless ${stateDir} holds a host key ('dualstack-agent enroll')`);
  }
  const url = config(command, () => shipLib.collectorEndpoint(collector));
  // Checked now (exists, one line, its mode) so a mistake stops the start, not a delivery.
  for (const [option, file] of [['--token-file', tokenFile], ['--secret-file', secretFile]] as const) {
    if (!file) continue;
    const { warning } = config(command, () => shipLib.readTokenFile(resolve(file)));
    if (warning) log(`warning: ${option === '--secret-file' ? warning.replace('token file', 'secret file') : warning}`);
  }
  if (shipLib.sendsTokenInClear(url)) log(`warning: --collector ${url.origin} is plain http: the token crosses the network in clear text`);
  const maxReports = values['spool-max-reports'];
  if (maxReports !== undefined && !/^[1-9]\d*$/.test(maxReports)) throw new UsageError(`${command}: --spool-max-reports takes a whole number of at least 1, not '${maxReports}'`);
  const maxBytes = values['spool-max-size'] === undefined ? undefined : config(command, () => shipLib.parseSize(values['spool-max-size']!, '--spool-max-size'));
  const timeoutMs = config(command, () => shipLib.parseDuration(values.timeout ?? '30s', '--timeout'));
  if (timeoutMs < 100) throw new UsageError(`${command}: --timeout must be at least 100ms`);
  const spool = new shipLib.Spool({
    dir: resolve(values.spool ?? DEFAULT_SPOOL_DIR),
    ...(maxReports !== undefined ? { maxReports: Number(maxReports) } : {}),
    ...(maxBytes !== undefined ? { maxBytes } : {}),
    log,
  });
  const credentials = new shipLib.Credentials({ ingestUrl: url, stateDir, tokenFile: tokenFile ? resolve(tokenFile) : null, secretFile: secretFile ? resolve(secretFile) : null, timeoutMs, log });
  return { url, credentials, spool, timeoutMs };
}

const logLine = (line: string) => {
  process.stderr.write(`${line}\n`);
};

/** The options of run beyond push's. */
const runInputs = {
  interval: { type: 'string' },
  schedule: { type: 'string' },
  jitter: { type: 'string' },
  'log-level': { type: 'string' },
  'probe-interval': { type: 'string' },
  'probe-concurrency': { type: 'string' },
} as const;

/** The keys an agent --config file may hold: the long options of push and run. */
const configKeys: Record<string, { type: 'string'; multiple?: boolean }> = { ...scanInputs, ...shipInputs, ...runInputs };

/**
 * Fills the options not given on the command line from the --config file (a JSON object keyed
 * by long option names): flags win, then the file, then the environment (DUALSTACK_COLLECTOR,
 * DUALSTACK_TOKEN_FILE). A key neither push nor run knows is an error (a typo must not do
 * nothing silently); a key of the other command is ignored, so both can share one file.
 */
function withConfigFile<T extends { config?: string | undefined }>(command: string, values: T, own: Record<string, unknown>): T {
  const file = values.config;
  if (file === undefined) return values;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(resolve(file), 'utf8'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'is not readable by this user' : `is not valid JSON: ${(error as Error).message}`;
    throw new UsageError(`${command}: --config ${file} ${why}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new UsageError(`${command}: --config ${file} must hold a JSON object`);
  const merged: Record<string, unknown> = { ...values };
  for (const [key, value] of Object.entries(parsed)) {
    const option = configKeys[key];
    if (!option) throw new UsageError(`${command}: --config ${file}: unknown key '${key}' (the keys are the long options of push and run: ${Object.keys(configKeys).join(', ')})`);
    if (!(key in own) || merged[key] !== undefined) continue;
    const scalar = (v: unknown): string => {
      if (typeof v === 'string') return v;
      if (typeof v === 'number' && Number.isFinite(v)) return String(v);
      throw new UsageError(`${command}: --config ${file}: '${key}' must be a string${option.multiple ? ' or a list of strings' : ''}`);
    };
    merged[key] = option.multiple ? (Array.isArray(value) ? value.map(scalar) : [scalar(value)]) : scalar(value);
  }
  return merged as T;
}

async function pushCommand(args: string[]): Promise<number> {
  const parsed = parse('push', () => parseArgs({ args, options: { help, ...scanInputs, ...shipInputs, config: { type: 'string' } } }));
  if (parsed.values.help) {
    process.stdout.write(`${HELP.push}\n`);
    return 0;
  }
  await loadShip();
  const values = withConfigFile('push', parsed.values, { ...scanInputs, ...shipInputs });
  const setup = await scanSetup('push', values);
  const ship = shipSetup('push', values, logLine);
  const { report } = await setup.lib.scan(setup.options, setup.disabled, setup.profiles);
  const { credentials } = ship;
  if (!credentials.hasCredential) await credentials.enroll(report.host, 'no host key yet');
  const delivery = { url: ship.url, spool: ship.spool, timeoutMs: ship.timeoutMs, log: logLine };
  let result = await shipLib.deliver(report, { ...delivery, token: credentials.current() });
  // A revoked host key: enroll again with the secret, then send what waits (this report too).
  if (result.outcome?.kind === 'rejected' && result.outcome.status === 401 && (await credentials.enroll(report.host, `the collector answered 401: ${result.outcome.message}`))) {
    const flush = await shipLib.flushSpool({ ...delivery, token: credentials.current() });
    if (flush.waiting === 0) result = { ...result, fate: 'delivered' };
  }
  switch (result.fate) {
    case 'delivered':
    case 'spooled':
      return 0;
    case 'rejected':
    case 'held':
      return 3;
    case 'dropped':
      throw new Error(`report ${report.reportId} was neither delivered nor spooled`);
  }
}

async function runCommand(args: string[]): Promise<number> {
  const parsed = parse('run', () => parseArgs({ args, options: { help, ...scanInputs, ...shipInputs, ...runInputs, probe: { type: 'boolean' }, config: { type: 'string' } } }));
  if (parsed.values.help) {
    process.stdout.write(`${HELP.run}\n`);
    return 0;
  }
  await loadShip();
  const values = withConfigFile('run', parsed.values, { ...scanInputs, ...shipInputs, ...runInputs });
  const level = values['log-level'] ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(level)) throw new UsageError(`run: --log-level takes ${LOG_LEVELS.join(', ')}, not '${level}'`);
  // JSON lines with a timestamp on stdout: a long-running process's lines are read later, by
  // journald and whatever reads its journal, not as they appear.
  const log = await jsonEventLog(level as LogLevel);
  const setup = await scanSetup('run', values);
  const ship = shipSetup('run', values, log);
  if (values.interval !== undefined && values.schedule !== undefined) throw new UsageError('run: give --interval or --schedule, not both');
  const schedule =
    values.schedule !== undefined
      ? config('run', () => shipLib.checkCronExpression(values.schedule!))
      : config('run', () => shipLib.intervalToCron(shipLib.parseDuration(values.interval ?? '5m', '--interval')));
  const intervalMs = shipLib.scheduleInterval(schedule);
  const jitterMs = values.jitter === undefined ? shipLib.defaultJitter(intervalMs) : config('run', () => shipLib.parseDuration(values.jitter!, '--jitter'));
  if (jitterMs >= intervalMs) throw new UsageError(`run: --jitter ${shipLib.describeInterval(jitterMs)} must be shorter than the interval between scans (${shipLib.describeInterval(intervalMs)})`);

  if (!parsed.values.probe && (parsed.values['probe-interval'] !== undefined || parsed.values['probe-concurrency'] !== undefined)) {
    throw new UsageError('run: --probe-interval and --probe-concurrency need --probe');
  }
  const { credentials } = ship;
  const currentToken = () => credentials.current();
  // The host facts of the latest scan: what an enrollment sends.
  let host: Report['host'] | null = null;
  const loop = new shipLib.AgentLoop({
    schedule,
    jitterMs,
    scan: async () => {
      const { report } = await setup.lib.scan(setup.options, setup.disabled, setup.profiles);
      host = report.host;
      // First run with only a secret: enroll before the first delivery.
      if (!credentials.hasCredential) await credentials.enroll(report.host, 'no host key yet');
      return report;
    },
    token: currentToken,
    delivery: { url: ship.url, spool: ship.spool, timeoutMs: ship.timeoutMs },
    log,
    renewCredential: async (why) => host !== null && credentials.enroll(host, `the collector answered 401: ${why}`),
  });
  const prober = values.probe ? await probeLoop(values, setup.options, ship, currentToken, log) : null;
  const every = values.schedule !== undefined ? `on '${schedule}'` : `every ${shipLib.describeInterval(intervalMs)}`;
  log(`running (pid ${process.pid}): scan ${every} after a random delay of up to ${shipLib.describeInterval(jitterMs)}, deliver to ${ship.url.href}, spool ${ship.spool.dir}`);
  await new Promise<void>((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        log(`${signal} again: exiting now`);
        process.exit(1);
      }
      stopping = true;
      void Promise.all([loop.stop(signal), prober?.stop(signal)]).then(() => resolve(), (error: unknown) => {
        log(`stopping failed: ${(error as Error).message}`);
        resolve();
      });
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    loop.start();
    prober?.start();
  });
  log('stopped');
  // Anything still holding the event loop (a socket closing slowly) must not keep a stopped
  // agent alive: systemd would wait for TimeoutStopSec and then kill it.
  setTimeout(() => process.exit(0), 2000).unref();
  return 0;
}

async function probeCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse('probe', () =>
    parseArgs({
      args,
      allowPositionals: true,
      options: { help, json: { type: 'boolean' }, timeout: { type: 'string' }, 'expect-status': { type: 'string' }, 'tls-name': { type: 'string' }, concurrency: { type: 'string' } },
    }),
  );
  if (values.help) {
    process.stdout.write(`${HELP.probe}\n`);
    return 0;
  }
  if (positionals.length === 0) throw new UsageError("probe: give at least one endpoint URL (try 'dualstack-agent probe --help')");
  const [probe, ship] = await Promise.all([loadProbe(), loadShip()]);
  const timeoutMs = config('probe', () => ship.parseDuration(values.timeout ?? '5s', '--timeout'));
  if (timeoutMs < 100) throw new UsageError('probe: --timeout must be at least 100ms');
  const status = values['expect-status'];
  if (status !== undefined && !(/^\d{3}$/.test(status) && Number(status) >= 100 && Number(status) <= 599)) throw new UsageError(`probe: --expect-status takes an HTTP status 100-599, not '${status}'`);
  const concurrency = values.concurrency ?? '64';
  if (!/^[1-9]\d*$/.test(concurrency)) throw new UsageError(`probe: --concurrency takes a whole number of at least 1, not '${concurrency}'`);
  const expect = { ...(status !== undefined ? { status: Number(status) } : {}), ...(values['tls-name'] !== undefined ? { tlsName: values['tls-name'] } : {}) };
  const targets = positionals.map((url) => {
    try {
      return probe.targetFromUrl(url, probe.nameOfUrl(url), Object.keys(expect).length > 0 ? expect : undefined);
    } catch (error) {
      throw new UsageError(`probe: ${(error as Error).message}`);
    }
  });
  const results = await probe.probeTargets(targets, { resolver: probe.systemResolver(timeoutMs), timeoutMs, concurrency: Number(concurrency), userAgent: `dualstack-agent/${AGENT_VERSION} (endpoint probe)` });
  process.stdout.write(values.json ? `${JSON.stringify(results, null, 2)}\n` : `${probe.renderProbes(results)}\n`);
  return probe.allAnswered(results) ? 0 : 2;
}

/**
 * run --probe: a second loop on its own schedule whose cycles are probe rounds, delivering
 * batches through a spool of probe batches beside the reports' (same directory and bounds).
 */
async function probeLoop(
  values: { 'probe-interval'?: string | undefined; 'probe-concurrency'?: string | undefined },
  scanOptions: ScanOptions,
  ship: ShipSetup,
  token: () => string,
  log: (line: string) => void,
) {
  const probe = await loadProbe();
  const concurrency = values['probe-concurrency'] ?? '64';
  if (!/^[1-9]\d*$/.test(concurrency)) throw new UsageError(`run: --probe-concurrency takes a whole number of at least 1, not '${concurrency}'`);
  const schedule = config('run', () => shipLib.intervalToCron(shipLib.parseDuration(values['probe-interval'] ?? '5m', '--probe-interval'), '--probe-interval'));
  const intervalMs = shipLib.scheduleInterval(schedule);
  const spool = new shipLib.Spool({ dir: ship.spool.dir, maxReports: ship.spool.maxReports, maxBytes: ship.spool.maxBytes, log, kind: shipLib.PROBE_BATCH_KIND });
  const userAgent = `dualstack-agent/${AGENT_VERSION} (endpoint probe)`;
  const targetsUrl = shipLib.collectorUrl(ship.url, '/api/v1/probe-targets');
  const resultsUrl = shipLib.collectorUrl(ship.url, shipLib.PROBE_BATCH_KIND.path);
  log(`probing (pid ${process.pid}): a probe round every ${shipLib.describeInterval(intervalMs)}, targets from ${targetsUrl.href}, batches to ${resultsUrl.href}`);
  return new shipLib.AgentLoop({
    schedule,
    jitterMs: shipLib.defaultJitter(intervalMs),
    cycle: 'probe round',
    scan: probe.vantageRounds({
      targetsUrl,
      token,
      fetchTimeoutMs: ship.timeoutMs,
      vantage: { procRoot: scanOptions.procRoot, hostId: scanOptions.hostId, hostname: scanOptions.hostname },
      version: AGENT_VERSION,
      userAgent,
      round: { concurrency: Number(concurrency), userAgent, resolver: (timeoutMs) => probe.systemResolver(timeoutMs) },
      log,
    }),
    token,
    delivery: { url: resultsUrl, spool, timeoutMs: ship.timeoutMs },
    log,
  });
}

async function enrollCommand(args: string[]): Promise<number> {
  const parsed = parse('enroll', () =>
    parseArgs({ args, options: { help, collector: { type: 'string' }, 'secret-file': { type: 'string' }, 'state-dir': { type: 'string' }, timeout: { type: 'string' }, 'proc-root': { type: 'string' }, 'etc-root': { type: 'string' }, root: { type: 'string' }, 'host-id': { type: 'string' }, hostname: { type: 'string' } } }),
  );
  if (parsed.values.help) {
    process.stdout.write(`${HELP.enroll}\n`);
    return 0;
  }
  await loadShip();
  const values = parsed.values;
  if (!values['secret-file']) throw new UsageError('enroll: --secret-file FILE is required (the enroll secret: dualstack-collector token create --role enroll)');
  const ship = shipSetup('enroll', { ...values, 'token-file': undefined }, logLine);
  const setup = await scanSetup('enroll', values);
  // The host facts exactly as this host's reports will carry them.
  const { report } = await setup.lib.scan(setup.options, setup.disabled, setup.profiles);
  if (!(await ship.credentials.enroll(report.host, "'dualstack-agent enroll'"))) throw new UsageError('enroll: not enrolled (the reason is above)');
  return 0;
}

async function sourcesCommand(args: string[]): Promise<number> {
  const { values } = parse('sources', () => parseArgs({ args, options: { help } }));
  if (values.help) {
    process.stdout.write(`${HELP.sources}\n`);
    return 0;
  }
  const { sources } = await loadScan();
  for (const s of sources) {
    const reads = [...s.paths.map((p) => `/proc/${p}`), ...(s.live ? [s.live] : [])].join('; ');
    process.stdout.write(`${s.name.padEnd(15)} ${s.description}\n${''.padEnd(15)} reads: ${reads}\n`);
  }
  return 0;
}

runCli('dualstack-agent', main, (error) => error instanceof UsageError);
