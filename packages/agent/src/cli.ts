#!/usr/bin/env node
// dualstack-agent: scan | capture | sources. Exit codes: 0 done, 1 could not run (usage or
// environment; one line on stderr), 2 a finding at or above --fail-on was present.
import { parseArgs } from 'node:util';
import { existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { procRoot } from './proc/root.js';
import { sources } from './sources.js';
import { scan, AGENT_VERSION } from './scan.js';
import { renderReport } from './render.js';
import { capture } from './capture.js';
import type { Profile } from '@dualstack/core';

export class UsageError extends Error {}

const HELP: Record<string, string> = {
  main: `dualstack-agent ${AGENT_VERSION} — what IPv4 and IPv6 clients can really reach on this server.

Usage: dualstack-agent <command> [options]

Commands:
  scan              read the kernel's view of this host and print the report
  capture DIR       copy what a scan reads into DIR, to replay it with scan --proc-root DIR/proc
  sources           list the sources a scan reads

Run 'dualstack-agent <command> --help' for a command's options.
Exit codes: 0 done; 1 could not run (the reason is printed on one line); 2 a finding at or
above --fail-on was found.`,
  scan: `Usage: dualstack-agent scan [options]

Options:
  --json                   print the report as JSON (schema dualstack.report/v1)
  --proc-root DIR          read /proc from DIR (a captured tree); files a capture keeps beside
                           it (sockdiag.txt, ipv4-addresses.json, reachability.json, host.json)
                           are read from DIR/..
  --host-id ID             host id to report (default: /etc/machine-id, or the capture's)
  --hostname NAME          hostname to report (default: the system's, or the capture's)
  --disable-source NAME    do not run this source (repeatable; see 'dualstack-agent sources')
  --profile hardening      also run the CIS-style hardening rules (off by default: they
                           flag accept_ra, which hosts using SLAAC need)
  --fail-on SEVERITY       exit 2 when a finding of SEVERITY or worse is present
                           (warning or critical), for Ansible and CI
  -h, --help               this help

Runs without root with reduced facts: other users' processes cannot be read, so their
sockets show no process name. The report says so.`,
  capture: `Usage: dualstack-agent capture DIR

Copies the /proc files a scan reads (socket tables, addresses, routes, IPv6 sysctls, and the
fd links, names and cgroups of the processes holding listening sockets) into DIR/proc, and
what the live-only sources saw (ss output, IPv4 addresses, the reachability answers, host
facts) beside it. Replay with: dualstack-agent scan --proc-root DIR/proc`,
  sources: `Usage: dualstack-agent sources

Lists every source with what it reads.`,
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

async function scanCommand(args: string[]): Promise<number> {
  const { values } = parse('scan', () =>
    parseArgs({
      args,
      options: {
        help,
        json: { type: 'boolean' },
        'proc-root': { type: 'string' },
        'host-id': { type: 'string' },
        hostname: { type: 'string' },
        'disable-source': { type: 'string', multiple: true },
        profile: { type: 'string', multiple: true },
        'fail-on': { type: 'string' },
      },
    }),
  );
  if (values.help) {
    process.stdout.write(`${HELP.scan}\n`);
    return 0;
  }
  const rootPath = resolve(values['proc-root'] ?? '/proc');
  if (!existsSync(rootPath) || !statSync(rootPath).isDirectory()) throw new UsageError(`scan: --proc-root ${rootPath} is not a directory`);
  const disabled = new Set(values['disable-source'] ?? []);
  for (const name of disabled) {
    if (!sources.some((s) => s.name === name)) throw new UsageError(`scan: unknown source '${name}' (see 'dualstack-agent sources')`);
  }
  const profiles = values.profile ?? [];
  for (const profile of profiles) {
    if (profile !== 'hardening') throw new UsageError(`scan: unknown profile '${profile}' (known: hardening)`);
  }
  const failOn = values['fail-on'];
  if (failOn !== undefined && failOn !== 'warning' && failOn !== 'critical') throw new UsageError(`scan: --fail-on takes warning or critical, not '${failOn}'`);
  const root = procRoot(rootPath);
  const { report } = await scan(
    {
      procRoot: root,
      captureDir: root.live ? null : dirname(rootPath),
      ...(values['host-id'] ? { hostId: values['host-id'] } : {}),
      ...(values.hostname ? { hostname: values.hostname } : {}),
    },
    disabled,
    profiles as Profile[],
  );
  process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : `${renderReport(report)}\n`);
  if (failOn !== undefined) {
    const worst = failOn === 'critical' ? ['critical'] : ['critical', 'warning'];
    if (report.findings.some((f) => worst.includes(f.severity))) return 2;
  }
  return 0;
}

async function captureCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse('capture', () => parseArgs({ args, options: { help }, allowPositionals: true }));
  if (values.help) {
    process.stdout.write(`${HELP.capture}\n`);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('capture: give exactly one directory to write into');
  const dir = resolve(positionals[0]!);
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new UsageError(`capture: ${dir} exists and is not a directory`);
  const summary = await capture(dir, procRoot('/proc'));
  process.stderr.write(`captured ${summary.files} files (${summary.processes} socket-holding processes) into ${dir}\n`);
  for (const s of summary.sources.filter((x) => x.status !== 'ok')) process.stderr.write(`  ${s.name}: ${s.status}${s.detail ? ` — ${s.detail}` : ''}\n`);
  process.stderr.write(`replay: dualstack-agent scan --proc-root ${dir}/proc\n`);
  return 0;
}

function sourcesCommand(args: string[]): number {
  const { values } = parse('sources', () => parseArgs({ args, options: { help } }));
  if (values.help) {
    process.stdout.write(`${HELP.sources}\n`);
    return 0;
  }
  for (const s of sources) {
    const reads = [...s.paths.map((p) => `/proc/${p}`), ...(s.live ? [s.live] : [])].join('; ');
    process.stdout.write(`${s.name.padEnd(15)} ${s.description}\n${''.padEnd(15)} reads: ${reads}\n`);
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const message = error instanceof UsageError ? error.message : `error: ${(error as Error).message ?? String(error)}`;
    process.stderr.write(`dualstack-agent: ${message}\n`);
    process.exitCode = 1;
  },
);
