// The agent's capabilities as its systemd unit and drop-ins grant them, for the privilege tests
// that run the built agent as an unprivileged user holding exactly those (setpriv).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

export type CapKey = 'AmbientCapabilities' | 'CapabilityBoundingSet';

/** Capability numbers (linux/capability.h) of the names the unit files use, for CapEff. */
const CAP_NUMBERS: Record<string, number> = { dac_read_search: 2, net_admin: 12, net_raw: 13, sys_ptrace: 19, sys_admin: 21 };

/** The uid the privilege tests run the agent as. */
export const NOBODY = 65534;

/**
 * A capability setting as systemd merges it over the unit then its drop-ins (systemd.exec(5):
 * lists given several times are merged; an empty assignment resets), as setpriv names:
 * CAP_NET_ADMIN -> net_admin.
 */
export function capabilities(files: string[], key: CapKey): string[] {
  const caps = new Set<string>();
  for (const file of files) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (!line.startsWith(`${key}=`)) continue;
      const value = line.slice(key.length + 1).trim();
      if (value === '') caps.clear();
      assert.ok(!value.startsWith('~'), `${file}: ${line}: inverted lists are not parsed here`);
      for (const c of value.split(/\s+/).filter(Boolean)) caps.add(c.toLowerCase().replace(/^cap_/, ''));
    }
  }
  return [...caps].sort();
}

/** /proc/PID/status's CapEff for exactly these capabilities. */
export function capEffMask(caps: string[]): string {
  let mask = 0n;
  for (const c of caps) {
    assert.ok(c in CAP_NUMBERS, `capability number of ${c}`);
    mask |= 1n << BigInt(CAP_NUMBERS[c]!);
  }
  return mask.toString(16).padStart(16, '0');
}

/** setpriv's arguments for nobody holding `caps` ambient, inheritable and bounding, with no_new_privs (as the unit runs). */
export function setprivAs(caps: string[]): string[] {
  const set = ['-all', ...caps.map((c) => `+${c}`)].join(',');
  return ['--reuid', String(NOBODY), '--regid', String(NOBODY), '--clear-groups', `--inh-caps=${set}`, `--ambient-caps=${set}`, `--bounding-set=${set}`, '--no-new-privs'];
}
