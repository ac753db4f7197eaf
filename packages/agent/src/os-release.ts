// The distribution, from os-release(5): /etc/os-release, else /usr/lib/os-release. These are
// the files systeminformation's osInfo() reads for it (through `cat`); osInfo() also runs
// `hostname --fqdn` and a locale query synchronously and reads every MAC address for a
// serial we do not use, which at 100k sockets cost ~150 ms of the scan's main thread
// (~50 ms to load the module, the rest blocked in execSync). systeminformation stays the
// fallback for a host without os-release.
//
// Format (os-release(5)): KEY=value lines; values may be in double or single quotes, with
// backslash escapes inside double quotes; `#` lines are comments; lines without `=` are
// ignored. distro and release are derived as systeminformation derives them, so a host
// reports the same names whichever way they were read: distro = NAME; release = VERSION
// without the distro prefix of PRETTY_NAME and without a "(codename)" suffix, else VERSION_ID.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface OsRelease {
  distro: string | null;
  release: string | null;
}

/** The KEY=value pairs of an os-release text (unquoted, unescaped). */
export function parseOsReleaseFields(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const key = line.slice(0, eq).trim();
    let value = line.slice(eq + 1).trim();
    const quote = value[0];
    if ((quote === '"' || quote === "'") && value.length >= 2 && value.endsWith(quote)) {
      value = value.slice(1, -1);
      if (quote === '"') value = value.replace(/\\(["\\$`])/g, '$1');
    }
    fields.set(key, value);
  }
  return fields;
}

export function parseOsRelease(text: string): OsRelease {
  const fields = parseOsReleaseFields(text);
  const distro = fields.get('NAME') || fields.get('ID') || null;
  let version = fields.get('VERSION') ?? '';
  const pretty = fields.get('PRETTY_NAME') ?? '';
  if (distro !== null && pretty.startsWith(`${distro} `)) version = pretty.slice(distro.length + 1).trim();
  const paren = version.indexOf('(');
  if (paren >= 0) version = version.slice(0, paren).trim();
  return { distro, release: version || fields.get('VERSION_ID') || null };
}

/** os-release under an /etc root (and its /usr/lib beside it), or null when neither exists. */
export function readOsRelease(etcRoot = '/etc'): OsRelease | null {
  for (const file of [join(etcRoot, 'os-release'), join(etcRoot, '..', 'usr', 'lib', 'os-release')]) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw error;
    }
    return parseOsRelease(text);
  }
  return null;
}
