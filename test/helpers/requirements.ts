// The one gate of every test that needs something this machine may lack: a program (ip, ss,
// python3, setpriv, useradd, systemd-analyze, prometheus-alertmanager), Chromium, root with a
// working `ip netns`.
//
// Locally a missing requirement skips the test and says why. Under CI (CI=true: .ci/run sets
// it, as CI services do) it fails the run instead, naming the Debian package that provides it:
// .ci/run installs every one of them, so a skip there means the kernel-checked (or browser,
// or Alertmanager) tests silently proved nothing.
//
//   test('x', { skip: skipUnlessCommands({ ss: 'iproute2' }) }, ...)
//   describe('y', { skip: skipUnlessAvailable(chromiumMissing(), 'chromium') }, ...)
//   if (!found) return t.skip(skipUnlessAvailable('this systemd-analyze has no --offline', 'systemd'));
//
// The gate runs where the skip is decided: at module load for a `skip:` option (under CI the
// test file then fails to load, with the message below), inside the test for t.skip().
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

export type Env = Readonly<Record<string, string | undefined>>;

/** CI runs: `CI=true` (GitHub Actions, GitLab, .ci/run). */
export function underCi(env: Env = process.env): boolean {
  return env.CI === 'true';
}

export class MissingRequirementError extends Error {
  override name = 'MissingRequirementError';
}

/** What provides a requirement: a Debian package name, or what to do when it is not a package (root). */
export type Provider = string | { how: string };

function remedy(provider: Provider): string {
  if (typeof provider !== 'string') return provider.how;
  return `install the Debian package${provider.includes(' ') ? 's' : ''} ${provider} (apt-get install -y ${provider}; .ci/run does)`;
}

/**
 * `missing`: why the test cannot run here (non-empty), or false/null/undefined when it can.
 * Returns false when it can run; otherwise, locally, the skip reason (what is missing and what
 * provides it). Under CI it throws a MissingRequirementError naming the provider.
 */
export function skipUnlessAvailable(missing: string, provider: Provider, env?: Env): string;
export function skipUnlessAvailable(missing: string | false | null | undefined, provider: Provider, env?: Env): string | false;
export function skipUnlessAvailable(missing: string | false | null | undefined, provider: Provider, env: Env = process.env): string | false {
  if (!missing) return false;
  const reason = `${missing}: ${remedy(provider)}`;
  if (underCi(env)) {
    throw new MissingRequirementError(`CI=true and a test requirement is missing: ${reason}. Under CI a missing requirement fails the run instead of skipping the test.`);
  }
  return reason;
}

/** The path of an executable `name` on PATH (as `command -v` finds it), or null. */
export function findOnPath(name: string, env: Env = process.env): string | null {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const path = join(dir, name);
    try {
      if (!statSync(path).isFile()) continue;
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      /* not here */
    }
  }
  return null;
}

/**
 * Programs a test runs, each with the Debian package that provides it, e.g.
 * `{ setpriv: 'util-linux', ss: 'iproute2' }`: false when all are on PATH, else
 * skipUnlessAvailable() for the missing ones.
 */
export function skipUnlessCommands(commands: Readonly<Record<string, string>>, env: Env = process.env): string | false {
  const missing = Object.entries(commands).filter(([command]) => findOnPath(command, env) === null);
  if (missing.length === 0) return false;
  const names = missing.map(([command]) => command).join(', ');
  const packages = [...new Set(missing.map(([, pkg]) => pkg))].join(' ');
  return skipUnlessAvailable(`${names} not found on PATH`, packages, env);
}
