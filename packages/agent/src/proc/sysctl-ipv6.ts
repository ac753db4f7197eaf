// /proc/sys/net/ipv6: bindv6only and, per all/default/interface, the conf values that decide
// whether IPv6 gets addresses and routes. One integer per file.
import { effectiveSysctls, type InterfaceSysctls, type InterfaceSysctlsRaw, type Sysctls } from '@dualstack/core';
import { ProcParseError } from './errors.js';
import { listProcDir, readProcText, type ProcRoot } from './root.js';

export const ipv6ConfKeys = [
  'accept_ra',
  'accept_ra_defrtr',
  'autoconf',
  'forwarding',
  'disable_ipv6',
  'accept_redirects',
  'accept_source_route',
  'use_tempaddr',
] as const satisfies ReadonlyArray<keyof InterfaceSysctlsRaw>;

/** Parses one sysctl file's text: a single (possibly negative) integer. Pure. */
export function parseSysctlInteger(text: string, file: string): number {
  const value = text.trim();
  if (!/^-?\d+$/.test(value)) throw new ProcParseError({ file, line: 1, field: 'value', raw: text, reason: 'expected one integer' });
  return Number(value);
}

/** Where the sysctl files come from: a proc root, or a dump taken inside another namespace. */
export interface SysctlFiles {
  /** Entries of a directory (rel to the proc root, e.g. sys/net/ipv6/conf); null when absent. */
  list(rel: string): string[] | null;
  read(rel: string): string | null;
}

/** Raw values and, for real interfaces, what the kernel does with them. null: IPv6 is off. */
export function readIpv6Sysctls(root: ProcRoot): Sysctls | null {
  return ipv6SysctlsFrom({ list: (rel) => listProcDir(root, rel), read: (rel) => readProcText(root, rel) });
}

/** The same from any SysctlFiles. */
export function ipv6SysctlsFrom(files: SysctlFiles): Sysctls | null {
  const readInteger = (rel: string): number | null => {
    const text = files.read(rel);
    return text === null ? null : parseSysctlInteger(text, rel);
  };
  const names = files.list('sys/net/ipv6/conf');
  if (names === null) return null;
  const rawOf = (name: string): InterfaceSysctlsRaw => {
    const raw = {} as InterfaceSysctlsRaw;
    for (const key of ipv6ConfKeys) raw[key] = readInteger(`sys/net/ipv6/conf/${name}/${key}`);
    return raw;
  };
  const all = names.includes('all') ? rawOf('all') : null;
  const ordered = [...names].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  const interfaces: InterfaceSysctls[] = ordered.map((name) => {
    const raw = name === 'all' && all ? all : rawOf(name);
    const isInterface = name !== 'all' && name !== 'default';
    return { name, raw, effective: isInterface ? effectiveSysctls(raw, all) : null };
  });
  return { bindv6only: readInteger('sys/net/ipv6/bindv6only'), interfaces };
}

const rank = (name: string): number => (name === 'all' ? 0 : name === 'default' ? 1 : 2);
