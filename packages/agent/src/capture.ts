// `dualstack-agent capture DIR`: copies what the sources read into DIR so that a scan can be
// replayed anywhere with `--proc-root DIR/proc` (bug reports, test fixtures). The /proc files
// are copied as they are; what the live-only sources saw is stored beside them, and the
// network configuration files go to DIR/etc (with their secrets redacted).
import { mkdirSync, readFileSync, readdirSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ipv6ConfKeys } from './proc/sysctl-ipv6.js';
import { listProcDir, procPath, readProcText, type ProcRoot } from './proc/root.js';
import { captureFiles, type CaptureFile, type CapturedHost, type Facts } from './sources.js';
import { networkConfigFiles, redactConfig } from './netconfig.js';
import { runSources } from './scan.js';
import { capturedNamespaceDir, enteredFiles } from './namespaces/scan.js';

const copiedProcFiles = ['net/tcp', 'net/tcp6', 'net/udp', 'net/udp6', 'net/if_inet6', 'net/ipv6_route', 'net/route', 'sys/kernel/osrelease', 'sys/net/ipv6/bindv6only'];
const processFiles = ['comm', 'stat', 'cgroup', 'status'];
/** What a replay reads of another namespace, under the pid it is read through. */
const namespaceProcFiles = ['net/tcp', 'net/tcp6', 'net/udp', 'net/udp6', 'net/if_inet6', 'net/fib_trie', 'net/route', 'net/ipv6_route', 'cgroup', 'comm'];

export interface CaptureSummary {
  files: number;
  processes: number;
  sources: { name: string; status: string; detail?: string }[];
}

export async function capture(dir: string, root: ProcRoot, etcRoot = '/etc', systemRoot = '/', namespaces: 'host' | 'all' = 'all'): Promise<CaptureSummary> {
  const procDir = join(dir, 'proc');
  let files = 0;
  const writeProc = (rel: string, text: string) => {
    const target = join(procDir, rel);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, text, 'latin1');
    files++;
  };
  for (const rel of copiedProcFiles) {
    const text = readProcText(root, rel);
    if (text !== null) writeProc(rel, text);
  }
  for (const name of listProcDir(root, 'sys/net/ipv6/conf') ?? []) {
    for (const key of ipv6ConfKeys) {
      const text = readProcText(root, `sys/net/ipv6/conf/${name}/${key}`);
      if (text !== null) writeProc(`sys/net/ipv6/conf/${name}/${key}`, text);
    }
  }

  const { facts, statuses } = await runSources({ procRoot: root, captureDir: null, etcRoot, root: systemRoot, namespaces });
  const namespaceFiles = captureNamespaces(dir, root, facts.namespaces, writeProc); // writeProc counts its own
  files += namespaceFiles;
  const pids = new Set<number>();
  for (const owners of facts.owners?.owners.values() ?? []) for (const owner of owners) pids.add(owner.pid);
  const wantedLinks = new Set<string>();
  for (const summary of [...Object.values(facts.sockets), ...(facts.namespaces?.namespaces ?? []).flatMap((n) => Object.values(n.sockets))]) {
    for (const s of summary.listening) wantedLinks.add(`socket:[${s.inode}]`);
  }
  for (const pid of pids) {
    for (const file of processFiles) {
      const text = readProcText(root, `${pid}/${file}`);
      if (text !== null) writeProc(`${pid}/${file}`, text);
    }
    mkdirSync(join(procDir, String(pid), 'fd'), { recursive: true });
    let fds: string[];
    try {
      fds = readdirSync(procPath(root, `${pid}/fd`));
    } catch {
      continue; // exited since the scan (ENOENT) or unreadable: like a socket closed meanwhile
    }
    for (const fd of fds) {
      try {
        const link = readlinkSync(procPath(root, `${pid}/fd/${fd}`));
        if (wantedLinks.has(link)) {
          symlinkSync(link, join(procDir, String(pid), 'fd', fd));
          files++;
        }
      } catch {
        /* closed meanwhile */
      }
    }
    try {
      symlinkSync(readlinkSync(procPath(root, `${pid}/exe`)), join(procDir, String(pid), 'exe'));
    } catch {
      /* kernel thread or unreadable */
    }
  }

  const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
  if (facts.v6onlyText !== null) writeFileSync(join(dir, captureFiles.sockdiag), facts.v6onlyText);
  writeFileSync(join(dir, captureFiles.ipv4Addresses), json(facts.addresses4));
  writeFileSync(join(dir, captureFiles.reachability), json(facts.reachability));
  if (facts.host) writeFileSync(join(dir, captureFiles.host), json(facts.host satisfies CapturedHost));
  // Command output as ip printed it, so a replay parses exactly what the live scan parsed.
  for (const [file, text] of Object.entries(facts.commandOutputs) as Array<[CaptureFile, string]>) writeFileSync(join(dir, file), text);
  // Always made, even empty: a replay then reports "no configuration found", not "not captured".
  mkdirSync(join(dir, 'etc'), { recursive: true });
  const daemonFiles = facts.configFiles.map((path) => path.replace(/^\/etc\//, ''));
  for (const rel of [...new Set([...Object.values(networkConfigFiles(etcRoot)).flat(), ...daemonFiles])]) {
    let text: string;
    try {
      text = readFileSync(join(etcRoot, rel), 'utf8');
    } catch {
      continue; // unreadable: the netconfig source already reports it
    }
    const target = join(dir, 'etc', rel);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, redactConfig(rel, text));
    files++;
  }
  // Files outside /etc (systemd units under /run and /usr/lib) go where they stand on the host,
  // so that the capture directory is the replay's --root.
  for (const path of facts.systemFiles) {
    try {
      const target = join(dir, path);
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, readFileSync(join(systemRoot, path)));
      files++;
    } catch {
      /* gone meanwhile: the daemon-config source already said what it read */
    }
  }
  return { files, processes: pids.size, sources: statuses.map(({ name, status, detail }) => ({ name, status, ...(detail ? { detail } : {}) })) };
}


/**
 * The other namespaces as a replay finds them: proc/self/ns/net (which one is the host's), each
 * namespace's ns/net link and net/ files under the pid it was read through, what entering it
 * printed, and the files that named its owner (as much of each as the scan used).
 */
function captureNamespaces(dir: string, root: ProcRoot, scan: Facts['namespaces'], writeProc: (rel: string, text: string) => void): number {
  if (!scan?.discovery.self) return 0;
  let files = 0;
  const link = (rel: string, target: string) => {
    const path = join(dir, 'proc', rel);
    mkdirSync(dirname(path), { recursive: true });
    try {
      symlinkSync(target, path);
      files++;
    } catch {
      /* already made */
    }
  };
  link('self/ns/net', scan.discovery.self);
  for (const ns of scan.namespaces) {
    link(`${ns.pid}/ns/net`, ns.link);
    for (const rel of namespaceProcFiles) {
      const text = readProcText(root, `${ns.pid}/${rel}`);
      if (text !== null) writeProc(`${ns.pid}/${rel}`, text);
    }
    const entered = join(dir, capturedNamespaceDir(ns.inode));
    for (const [key, file] of Object.entries(enteredFiles) as Array<[keyof typeof enteredFiles, string]>) {
      const text = ns.entered?.[key];
      if (text == null) continue;
      mkdirSync(entered, { recursive: true });
      writeFileSync(join(entered, file), text);
      files++;
    }
    for (const { path, keep } of ns.ownerFiles) {
      const target = join(dir, path);
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, keep);
      files++;
    }
  }
  return files;
}
