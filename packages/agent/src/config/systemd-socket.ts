// systemd socket units, read as systemd loads them (systemd.unit(5)): each NAME.socket from the
// first directory of the unit search path that has it, then its drop-ins NAME.socket.d/*.conf
// from every directory, in file-name order (a drop-in name in an earlier directory hides the
// same name in later ones). /etc/systemd/system is read under --etc-root; /run and /usr/lib
// under the system root (--root: / live, the capture directory on a replay). For each unit
// that listens on an IP address, the service it activates is read the same way for its
// ExecStart=. Pure parse + a thin reader; only read when PID 1 holds a listening socket.
import type { ConfigDirective, ConfigFileStatus, DaemonConfig } from '@dualstack/core';
import { LISTEN_KEYS, parseListenValue, socketUnitState, systemdSocketConfigKnowledge } from '@dualstack/core';
import { ConfigParseError, readIni } from '../config-syntax.js';
import type { EtcRoot } from './etc-root.js';

/** The system unit search path, first wins (path-lookup.c, systemd.unit(5) "Unit File Load Path"). */
export const UNIT_DIRS = [
  '/etc/systemd/system.control',
  '/run/systemd/system.control',
  '/run/systemd/transient',
  '/run/systemd/generator.early',
  '/etc/systemd/system',
  '/etc/systemd/system.attached',
  '/run/systemd/system',
  '/run/systemd/system.attached',
  '/run/systemd/generator',
  '/usr/local/lib/systemd/system',
  '/usr/lib/systemd/system',
  '/lib/systemd/system',
  '/run/systemd/generator.late',
];

const BIND_IPV6_ONLY = ['default', 'both', 'ipv6-only'];

/**
 * The directives of one unit file or drop-in that the knowledge reads: [Socket] lines of a
 * .socket, ExecStart= of a .service. Values systemd refuses for those directives throw,
 * naming file, line and directive (systemd logs them and ignores the line).
 */
export function parseUnitFile(text: string, file: string, unit: string): ConfigDirective[] {
  const keep = new Set(systemdSocketConfigKnowledge.directives);
  const section = unit.endsWith('.socket') ? 'Socket' : 'Service';
  const out: ConfigDirective[] = [];
  for (const s of readIni(text, file, { continuation: true })) {
    if (s.name !== section) continue;
    for (const e of s.entries) {
      if (!keep.has(e.key) || (section === 'Service') !== (e.key === 'ExecStart')) continue;
      if (LISTEN_KEYS.includes(e.key) && e.value !== '' && (e.key === 'ListenStream' || e.key === 'ListenDatagram')) {
        const parsed = parseListenValue(e.value);
        if ('error' in parsed) throw new ConfigParseError({ file, line: e.line, field: e.key, raw: e.raw, reason: `systemd refuses "${e.value}": ${parsed.error}` });
      }
      if (e.key === 'BindIPv6Only' && e.value !== '' && !BIND_IPV6_ONLY.includes(e.value)) {
        throw new ConfigParseError({ file, line: e.line, field: e.key, raw: e.raw, reason: `takes ${BIND_IPV6_ONLY.join(', ')}` });
      }
      out.push({ file, line: e.line, key: e.key, value: e.value, raw: e.raw, context: unit });
    }
  }
  return out;
}

export class UnitTree {
  constructor(
    private readonly etc: EtcRoot,
    private readonly system: EtcRoot,
  ) {}

  private rootFor(path: string): EtcRoot {
    return path.startsWith('/etc/') ? this.etc : this.system;
  }

  /** Every unit file named like `pattern` (`*.socket`), first directory wins. */
  units(pattern: string): Map<string, string> {
    const found = new Map<string, string>();
    for (const dir of UNIT_DIRS) {
      for (const path of this.rootFor(dir).expand(`${dir}/${pattern}`, dir)) {
        const name = path.slice(dir.length + 1);
        if (!found.has(name)) found.set(name, path);
      }
    }
    return found;
  }

  /** The unit file then its drop-ins, in the order systemd applies them. */
  filesOf(unit: string, main: string | undefined): string[] {
    const dropIns = new Map<string, string>();
    for (const dir of UNIT_DIRS) {
      for (const path of this.rootFor(dir).expand(`${dir}/${unit}.d/*.conf`, dir)) {
        const name = path.slice(path.lastIndexOf('/') + 1);
        if (!dropIns.has(name)) dropIns.set(name, path);
      }
    }
    return [...(main ? [main] : []), ...[...dropIns.keys()].sort().map((n) => dropIns.get(n)!)];
  }

  /** A unit's directives and the status of each of its files; null when masked (linked to /dev/null). */
  read(unit: string, main: string | undefined): { directives: ConfigDirective[]; files: ConfigFileStatus[] } | null {
    const directives: ConfigDirective[] = [];
    const files: ConfigFileStatus[] = [];
    for (const file of this.filesOf(unit, main)) {
      const { text, status } = this.rootFor(file).readText(file);
      if (text === null) {
        if (status.detail?.includes('/dev/null')) return null; // masked: PID 1 opens nothing for it
        files.push(status);
        continue;
      }
      try {
        directives.push(...parseUnitFile(text, file, unit));
        files.push(status);
      } catch (error) {
        files.push({ path: file, status: 'unparsable', detail: (error as Error).message });
      }
    }
    return { directives, files };
  }
}

/** Socket units that listen on IP addresses, with the ExecStart= of what they activate; null when none. */
export function readSystemdSockets(etc: EtcRoot, system: EtcRoot | null): DaemonConfig | null {
  if (system === null) return null;
  const tree = new UnitTree(etc, system);
  const directives: ConfigDirective[] = [];
  const files: ConfigFileStatus[] = [];
  const services = tree.units('*.service');
  for (const [unit, main] of tree.units('*.socket')) {
    if (unit.includes('@')) continue; // templates: PID 1 listens for instances only
    const own = tree.read(unit, main);
    if (!own) continue;
    const state = socketUnitState(unit, own.directives);
    // Units without an IP listener (unix sockets, netlink) are no business of this report,
    // but a file that could not be read or parsed is said wherever it is.
    if (!state.listens.some((l) => l.proto !== null && l.address.kind !== 'other')) {
      files.push(...own.files.filter((f) => f.status !== 'read'));
      continue;
    }
    const service = tree.read(state.service, services.get(state.service));
    directives.push(...own.directives, ...(service?.directives ?? []));
    files.push(...own.files, ...(service?.files ?? []));
  }
  if (directives.length === 0 && files.length === 0) return null;
  return { daemon: 'systemd-socket', files, directives };
}
