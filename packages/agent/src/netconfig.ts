// Which network configuration systems this host has, and the default gateways they configure,
// read from the files under an /etc root. A rule that finds no working default route can then
// say where the fix belongs, and compare what the kernel has with what boot will set up.
//
// Formats, per their own documentation:
// - ifupdown: interfaces(5) — /etc/network/interfaces and interfaces.d/*, `iface IF inet|inet6
//   METHOD` stanzas with a `gateway ADDR` option.
// - RHEL ifcfg (initscripts, /usr/share/doc/initscripts*/sysconfig.txt): network-scripts/ifcfg-*
//   with DEVICE=, GATEWAY=, IPV6_DEFAULTGW=addr[%dev]; /etc/sysconfig/network with GATEWAY=,
//   GATEWAYDEV=, IPV6_DEFAULTGW=, IPV6_DEFAULTDEV=.
// - netplan: netplan(5) / netplan-yaml — /etc/netplan/*.yaml, `gateway4:`, `gateway6:`, and
//   `routes:` entries with `to: default` (or ::/0, 0.0.0.0/0) and `via:`.
// - NetworkManager: nm-settings-keyfile(5) — system-connections/*.nmconnection, [ipv4]/[ipv6]
//   `gateway=` and `address1=ADDR/PLEN,GW`, [connection] `interface-name=`.
// - systemd-networkd: systemd.network(5) — /etc/systemd/network/*.network, [Match] Name=,
//   [Network] Gateway= and [Route] Gateway= with Destination= absent or a default prefix.
// Only /etc is read: netplan's /run and /lib files, networkd's /run and /usr/lib units and its
// drop-in directories, ifupdown `source` lines other than interfaces.d/*, and ifcfg route-*
// files are not.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { formatAddress, isValidAddress, parseAddress, type ConfiguredGateway, type Family, type NetworkConfig } from '@dualstack/core';
import { ConfigParseError, readIni, readShellVars, readYaml, type IniSection, type YamlMap, type YamlNode } from './config-syntax.js';

export type ConfigSystem = 'ifupdown' | 'ifcfg' | 'netplan' | 'networkmanager' | 'systemd-networkd';

/**
 * The order in which systems are taken to be in charge when several are present, first wins:
 * - netplan first: it is a generator. At boot it renders its YAML into networkd units or
 *   NetworkManager connections under /run, so its files are the ones an admin must edit.
 * - NetworkManager next: keyfiles in /etc mean NM manages those connections (on RHEL 9 and
 *   later keyfiles replace ifcfg files; NM also reads ifcfg files through its ifcfg-rh plugin).
 * - systemd-networkd: .network files in /etc are written by hand for networkd.
 * - ifupdown, then ifcfg: the classic per-distribution scripts; ifupdown counts only when it
 *   configures an interface other than lo (Debian ships an interfaces file with lo alone).
 * Which daemon is really enabled is not visible from the configuration files alone.
 */
export const SYSTEM_ORDER: readonly ConfigSystem[] = ['netplan', 'networkmanager', 'systemd-networkd', 'ifupdown', 'ifcfg'];

/** Backup and package-manager leftovers initscripts skips (is_ignored_file in network-functions). */
const IFCFG_IGNORED = /(~|\.bak|\.old|\.orig|\.rpmnew|\.rpmorig|\.rpmsave)$/;

function canonical(text: string): string {
  return formatAddress(parseAddress(text));
}

function familyOfText(text: string): Family {
  return parseAddress(text).kind() === 'ipv4' ? 4 : 6;
}

/** A gateway value checked as an address (and, where the key implies one, its family). */
function gatewayAddress(value: string, where: { file: string; line: number; field: string; raw: string }, family?: Family): { gateway: string; family: Family } {
  if (!isValidAddress(value)) throw new ConfigParseError({ ...where, reason: `not an IP address: ${JSON.stringify(value)}` });
  const actual = familyOfText(value);
  if (family !== undefined && actual !== family) throw new ConfigParseError({ ...where, reason: `an IPv${actual} address where IPv${family} is expected` });
  return { gateway: canonical(value), family: actual };
}

/** `default`, or a prefix of length 0 (`::/0`, `0.0.0.0/0`). */
function isDefaultDestination(text: string): boolean {
  if (text === 'default') return true;
  const slash = text.lastIndexOf('/');
  return slash > 0 && text.slice(slash + 1) === '0' && isValidAddress(text.slice(0, slash));
}

/** An interface name that names exactly one interface (no glob, no negation, no list). */
function singleInterface(names: string[]): string | null {
  if (names.length !== 1) return null;
  const name = names[0]!;
  return /[*?[\]!\s]/.test(name) || name === '' ? null : name;
}

// ------------------------------------------------------------------ ifupdown

/** Stanza keywords of interfaces(5); any other word starts an option line of the current iface. */
const IFUPDOWN_STANZAS = /^(iface|mapping|auto|allow-[^\s]+|source|source-directory|no-auto-down|no-scripts|rename|template)$/;

/**
 * interfaces(5): `iface NAME inet|inet6 METHOD` stanzas followed by option lines such as
 * `gateway 192.0.2.1`; a trailing backslash continues a line; lines starting with '#' are
 * comments (end-of-line comments do not exist). Returns every configured interface (lo
 * included) and the gateways. Pure.
 */
export function parseIfupdown(text: string, file: string): { interfaces: string[]; gateways: ConfiguredGateway[] } {
  const interfaces: string[] = [];
  const gateways: ConfiguredGateway[] = [];
  let current: { name: string; family: Family | null } | null = null;
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const lineNo = index + 1;
    let raw = lines[index]!.replace(/\r$/, '');
    while (raw.endsWith('\\') && index + 1 < lines.length) raw = `${raw.slice(0, -1)} ${lines[++index]!.trim()}`;
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const words = line.split(/\s+/);
    const keyword = words[0]!;
    if (IFUPDOWN_STANZAS.test(keyword)) {
      // A mapping stanza has option lines of its own (script, map); the others are one line.
      current = keyword === 'mapping' ? { name: '', family: null } : null;
      if (keyword !== 'iface') continue;
      const [, name, family] = words;
      if (name === undefined || family === undefined) throw new ConfigParseError({ file, line: lineNo, field: 'iface', raw, reason: 'expected iface NAME FAMILY METHOD' });
      if (!interfaces.includes(name)) interfaces.push(name);
      current = { name, family: family === 'inet' ? 4 : family === 'inet6' ? 6 : null };
      continue;
    }
    if (current === null) throw new ConfigParseError({ file, line: lineNo, field: keyword, raw, reason: 'an option outside an iface stanza' });
    if (keyword !== 'gateway' || current.family === null) continue;
    const value = words[1];
    if (value === undefined || words.length > 2) throw new ConfigParseError({ file, line: lineNo, field: 'gateway', raw, reason: 'expected one address' });
    const { gateway, family } = gatewayAddress(value, { file, line: lineNo, field: 'gateway', raw }, current.family);
    gateways.push({ family, gateway, interface: current.name, system: 'ifupdown', file });
  }
  return { interfaces, gateways };
}

// ------------------------------------------------------------------ RHEL ifcfg

/**
 * An ifcfg file: `ifcfg-IF` (kind 'interface': DEVICE= or the file name names the interface)
 * or /etc/sysconfig/network (kind 'network': GATEWAYDEV= and IPV6_DEFAULTDEV= name it, if
 * anything does). IPV6_DEFAULTGW may carry the interface as `addr%dev`, which wins. Pure.
 */
export function parseIfcfg(text: string, file: string, kind: 'interface' | 'network'): ConfiguredGateway[] {
  const vars = readShellVars(text);
  const value = (key: string) => {
    const v = vars.get(key)?.value;
    return v === undefined || v === '' ? null : v;
  };
  const fileDevice = kind === 'interface' ? file.slice(file.lastIndexOf('/') + 1).replace(/^ifcfg-/, '') : null;
  const device = kind === 'interface' ? value('DEVICE') ?? fileDevice : null;
  const gateways: ConfiguredGateway[] = [];
  const gateway4 = value('GATEWAY');
  if (gateway4 !== null) {
    const entry = vars.get('GATEWAY')!;
    const { gateway } = gatewayAddress(gateway4, { file, line: entry.line, field: 'GATEWAY', raw: entry.raw }, 4);
    gateways.push({ family: 4, gateway, interface: kind === 'interface' ? device : value('GATEWAYDEV'), system: 'ifcfg', file });
  }
  const gateway6 = value('IPV6_DEFAULTGW');
  if (gateway6 !== null) {
    const entry = vars.get('IPV6_DEFAULTGW')!;
    const percent = gateway6.indexOf('%');
    const address = percent === -1 ? gateway6 : gateway6.slice(0, percent);
    const zone = percent === -1 ? null : gateway6.slice(percent + 1) || null;
    const { gateway } = gatewayAddress(address, { file, line: entry.line, field: 'IPV6_DEFAULTGW', raw: entry.raw }, 6);
    gateways.push({ family: 6, gateway, interface: zone ?? (kind === 'interface' ? device : value('IPV6_DEFAULTDEV')), system: 'ifcfg', file });
  }
  return gateways;
}

// ------------------------------------------------------------------ netplan

/** Device kinds of a netplan `network:` mapping (netplan(5)); each maps ids to devices. */
const NETPLAN_DEVICE_KINDS = ['ethernets', 'bonds', 'bridges', 'vlans', 'wifis', 'tunnels', 'modems', 'vrfs', 'dummy-devices', 'virtual-ethernets', 'nm-devices'];

/**
 * netplan YAML: `gateway4:`/`gateway6:` (deprecated, still honoured) and `routes:` entries
 * whose `to:` is a default and which have a `via:`. Routes in another table (`table:` other
 * than 254/main) are not default routes of the host and are left out. The interface is the
 * device's `set-name`, else its `match: name:` when that is one name, else the device id when
 * there is no `match:` (then the id is the interface name). Pure.
 */
export function parseNetplan(text: string, file: string): ConfiguredGateway[] {
  const root = readYaml(text, file);
  if (root === null) return [];
  const fail = (node: YamlNode, field: string, reason: string): never => {
    throw new ConfigParseError({ file, line: node.line, field, raw: text.split('\n')[node.line - 1] ?? '', reason });
  };
  const asMap = (node: YamlNode | undefined, field: string): YamlMap | null => {
    if (node === undefined || (node.kind === 'scalar' && node.value === '')) return null;
    if (node.kind !== 'map') return fail(node, field, 'expected a mapping');
    return node;
  };
  const scalar = (node: YamlNode | undefined, field: string): string | null => {
    if (node === undefined) return null;
    if (node.kind !== 'scalar') return fail(node, field, 'expected a single value');
    return node.value === '' ? null : node.value;
  };
  const network = asMap(asMap(root, 'document')?.entries.get('network'), 'network');
  if (network === null) return [];
  const gateways: ConfiguredGateway[] = [];
  for (const kind of NETPLAN_DEVICE_KINDS) {
    const devices = asMap(network.entries.get(kind), kind);
    if (devices === null) continue;
    for (const [id, node] of devices.entries) {
      const device = asMap(node, `${kind}.${id}`);
      if (device === null) continue;
      const match = asMap(device.entries.get('match'), `${kind}.${id}.match`);
      const matchName = match ? scalar(match.entries.get('name'), `${kind}.${id}.match.name`) : null;
      const iface = scalar(device.entries.get('set-name'), `${kind}.${id}.set-name`) ?? (match ? (matchName === null ? null : singleInterface([matchName])) : id);
      const add = (value: string, valueNode: YamlNode, field: string, family?: Family) => {
        const raw = text.split('\n')[valueNode.line - 1] ?? '';
        const parsed = gatewayAddress(value, { file, line: valueNode.line, field, raw }, family);
        gateways.push({ family: parsed.family, gateway: parsed.gateway, interface: iface, system: 'netplan', file });
      };
      for (const [key, family] of [['gateway4', 4], ['gateway6', 6]] as const) {
        const node = device.entries.get(key);
        const value = scalar(node, `${kind}.${id}.${key}`);
        if (value !== null) add(value, node!, `${kind}.${id}.${key}`, family);
      }
      const routes = device.entries.get('routes');
      if (routes === undefined || (routes.kind === 'scalar' && routes.value === '')) continue;
      if (routes.kind !== 'seq') return fail(routes, `${kind}.${id}.routes`, 'expected a list of routes');
      routes.items.forEach((item, index) => {
        const field = `${kind}.${id}.routes[${index}]`;
        const route = asMap(item, field);
        if (route === null) return;
        const to = scalar(route.entries.get('to'), `${field}.to`);
        const via = scalar(route.entries.get('via'), `${field}.via`);
        const table = scalar(route.entries.get('table'), `${field}.table`);
        if (to === null || via === null || !isDefaultDestination(to)) return;
        if (table !== null && table !== '254' && table !== 'main') return;
        add(via, route.entries.get('via')!, `${field}.via`, to === 'default' ? undefined : familyOfText(to.slice(0, to.lastIndexOf('/'))));
      });
    }
  }
  return gateways;
}

// ------------------------------------------------------------------ NetworkManager keyfiles

/**
 * A NetworkManager keyfile: in [ipv4] and [ipv6], `gateway=` and the gateway part of
 * `addressN=ADDR/PLEN,GW` (also `addressesN=`, and the old `ADDR;PLEN;GW;` form). A section
 * with `never-default=true` gives no default route, so its gateways are left out. The
 * interface is [connection] interface-name=, when set. Pure.
 */
export function parseNmKeyfile(text: string, file: string): ConfiguredGateway[] {
  const sections = readIni(text, file);
  const last = (name: string, key: string) => sections.filter((s) => s.name === name).flatMap((s) => s.entries.filter((e) => e.key === key)).pop();
  const iface = last('connection', 'interface-name')?.value || null;
  const gateways: ConfiguredGateway[] = [];
  for (const [sectionName, family] of [['ipv4', 4], ['ipv6', 6]] as const) {
    if (/^(true|yes|1)$/i.test(last(sectionName, 'never-default')?.value ?? '')) continue;
    for (const section of sections.filter((s: IniSection) => s.name === sectionName)) {
      for (const entry of section.entries) {
        let value: string | null = null;
        if (entry.key === 'gateway') value = entry.value;
        else if (/^address(es)?\d*$/.test(entry.key)) {
          const parts = entry.value.includes(',') ? entry.value.split(',') : entry.value.split(';');
          // ADDR/PLEN,GW — or ADDR;PLEN;GW; — the gateway is the last non-empty part after the address.
          const rest = entry.value.includes(',') ? parts.slice(1) : parts.slice(2);
          value = rest.map((p) => p.trim()).find((p) => p !== '') ?? null;
        }
        if (value === null || value === '') continue;
        const { gateway } = gatewayAddress(value, { file, line: entry.line, field: `[${sectionName}] ${entry.key}`, raw: entry.raw }, family);
        if (!gateways.some((g) => g.family === family && g.gateway === gateway)) gateways.push({ family, gateway, interface: iface, system: 'networkmanager', file });
      }
    }
  }
  return gateways;
}

// ------------------------------------------------------------------ systemd-networkd

/**
 * A systemd .network unit: [Network] Gateway= (may repeat) and [Route] sections whose
 * Destination= is absent or a default prefix and whose Table= is absent or main. [Network]
 * Gateway= is shorthand for a [Route] with only a Gateway (systemd.network(5)), so both are
 * default routes. Special values (`_dhcp4`, `_ipv6ra`) are gateways learned at run time, not
 * configured ones. The interface is [Match] Name= when it names one interface. Pure.
 */
export function parseNetworkdUnit(text: string, file: string): ConfiguredGateway[] {
  const sections = readIni(text, file, { continuation: true });
  const names = sections.filter((s) => s.name === 'Match').flatMap((s) => s.entries.filter((e) => e.key === 'Name').flatMap((e) => e.value.split(/\s+/).filter(Boolean)));
  const iface = singleInterface(names);
  const gateways: ConfiguredGateway[] = [];
  const add = (entry: { value: string; line: number; raw: string }, field: string) => {
    if (entry.value === '' || entry.value.startsWith('_')) return;
    const parsed = gatewayAddress(entry.value, { file, line: entry.line, field, raw: entry.raw });
    gateways.push({ family: parsed.family, gateway: parsed.gateway, interface: iface, system: 'systemd-networkd', file });
  };
  for (const section of sections) {
    if (section.name === 'Network') {
      for (const entry of section.entries) if (entry.key === 'Gateway') add(entry, '[Network] Gateway');
    } else if (section.name === 'Route') {
      const get = (key: string) => section.entries.filter((e) => e.key === key).pop();
      const destination = get('Destination')?.value;
      const table = get('Table')?.value;
      const gateway = get('Gateway');
      if (gateway === undefined || (destination !== undefined && !isDefaultDestination(destination))) continue;
      if (table !== undefined && table !== '' && table !== 'main' && table !== '254') continue;
      add(gateway, '[Route] Gateway');
    }
  }
  return gateways;
}

// ------------------------------------------------------------------ the /etc tree

/** The files each system keeps under the /etc root, relative to it, in lexical order. */
export function networkConfigFiles(etcRoot: string): Record<ConfigSystem, string[]> {
  const list = (dir: string, keep: (name: string) => boolean): string[] => {
    let names: string[];
    try {
      names = readdirSync(join(etcRoot, dir));
    } catch {
      return [];
    }
    return names
      .filter((name) => !name.startsWith('.') && keep(name) && isFile(join(etcRoot, dir, name)))
      .sort()
      .map((name) => `${dir}/${name}`);
  };
  const single = (rel: string) => (isFile(join(etcRoot, rel)) ? [rel] : []);
  return {
    netplan: list('netplan', (n) => n.endsWith('.yaml')),
    networkmanager: list('NetworkManager/system-connections', (n) => n.endsWith('.nmconnection')),
    'systemd-networkd': list('systemd/network', (n) => n.endsWith('.network')),
    ifupdown: [...single('network/interfaces'), ...list('network/interfaces.d', (n) => !n.endsWith('~'))],
    ifcfg: [...single('sysconfig/network'), ...list('sysconfig/network-scripts', (n) => n.startsWith('ifcfg-') && !IFCFG_IGNORED.test(n))],
  };
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

export interface NetworkConfigScan {
  config: NetworkConfig;
  /** Files that could not be read or parsed, each with the reason; their systems still count as present. */
  problems: string[];
  /** Every file read, relative to the /etc root. */
  files: string[];
}

/** Reads every system's files under etcRoot; one bad file is a problem, never the end of the scan. */
export function readNetworkConfig(etcRoot: string): NetworkConfigScan {
  const files = networkConfigFiles(etcRoot);
  const problems: string[] = [];
  const gateways: ConfiguredGateway[] = [];
  const present = new Set<ConfigSystem>();
  const read = (rel: string, parse: (text: string) => void): boolean => {
    try {
      parse(readFileSync(join(etcRoot, rel), 'utf8'));
      return true;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      problems.push(code ? `${rel}: cannot read (${code})` : (error as Error).message);
      return false;
    }
  };
  for (const rel of files.netplan) read(rel, (text) => gateways.push(...parseNetplan(text, rel)));
  for (const rel of files.networkmanager) read(rel, (text) => gateways.push(...parseNmKeyfile(text, rel)));
  for (const rel of files['systemd-networkd']) read(rel, (text) => gateways.push(...parseNetworkdUnit(text, rel)));
  for (const system of ['netplan', 'networkmanager', 'systemd-networkd'] as const) if (files[system].length > 0) present.add(system);
  for (const rel of files.ifupdown) {
    const ok = read(rel, (text) => {
      const parsed = parseIfupdown(text, rel);
      gateways.push(...parsed.gateways);
      if (parsed.interfaces.some((name) => name !== 'lo')) present.add('ifupdown');
    });
    if (!ok) present.add('ifupdown');
  }
  for (const rel of files.ifcfg) {
    const isNetworkFile = rel === 'sysconfig/network';
    const ok = read(rel, (text) => {
      const parsed = parseIfcfg(text, rel, isNetworkFile ? 'network' : 'interface');
      gateways.push(...parsed);
      // /etc/sysconfig/network exists on every RHEL-like host, often empty: it counts only when
      // it sets a gateway. ifcfg-lo configures nothing worth naming.
      if (isNetworkFile ? parsed.length > 0 : rel !== 'sysconfig/network-scripts/ifcfg-lo') present.add('ifcfg');
    });
    if (!ok) present.add('ifcfg');
  }
  const systems = SYSTEM_ORDER.filter((s) => present.has(s));
  // Gateways follow the systems' order, so the first one is from the system in charge.
  const rank = (system: string) => SYSTEM_ORDER.indexOf(system as ConfigSystem);
  gateways.sort((a, b) => rank(a.system) - rank(b.system));
  return { config: { systems, gateways }, problems, files: Object.values(files).flat() };
}

/**
 * The /etc root a scan reads: the one asked for; on a live host /etc; on a replay the
 * capture's etc/ directory when the capture has one, else null (the source is skipped).
 */
export function resolveEtcRoot(options: { etcRoot?: string | null; live: boolean; captureDir: string | null }): string | null {
  if (options.etcRoot !== undefined) return options.etcRoot;
  if (options.live) return '/etc';
  if (options.captureDir === null) return null;
  const dir = join(options.captureDir, 'etc');
  try {
    return statSync(dir).isDirectory() ? dir : null;
  } catch {
    return null;
  }
}

/** Keys whose values are secrets (Wi-Fi and 802.1X passwords, VPN and WireGuard keys). */
const SECRET_KEY = /(^|[-_.\s])(psk|password|passwd|passphrase|secret|secrets|pin|private-key|preshared-key|wep-key\d*)$/i;

/**
 * A configuration file as a capture keeps it: secrets replaced by `<redacted>`, everything
 * else unchanged. NetworkManager keyfiles keep only the sections this source reads, since
 * their other sections ([wifi-security], [802-1x], [vpn-secrets], ...) are mostly secrets.
 */
export function redactConfig(rel: string, text: string): string {
  if (rel.endsWith('.nmconnection')) {
    let keep = false;
    const kept = text.split('\n').filter((line, index, lines) => {
      if (index === lines.length - 1 && line === '') return true; // the final newline
      const header = /^\s*\[([^\]]*)\]/.exec(line);
      if (header) keep = ['connection', 'ipv4', 'ipv6'].includes(header[1]!.trim());
      return keep;
    });
    return kept.join('\n');
  }
  return text
    .split('\n')
    .map((line) => {
      // key=value (ifcfg, .network), key: value (netplan YAML), key value (ifupdown wpa-psk).
      const match = /^(\s*-?\s*["']?)([A-Za-z0-9_.-]+)(["']?\s*(?:=|:\s|\s)\s*)(.+)$/.exec(line);
      if (!match || !SECRET_KEY.test(match[2]!)) return line;
      return `${match[1]}${match[2]}${match[3]}<redacted>`;
    })
    .join('\n');
}
