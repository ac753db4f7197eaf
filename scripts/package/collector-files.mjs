// What the collector's package installs beside its code, generated from deploy/ so that the
// package and the manual install (docs/operations.md, "The collector") run the same unit with
// the same config (issue 13):
//   packagedCollectorUnit()    deploy/systemd/dualstack-collector.service with ExecStart on the
//                              package's own Node.js and bundle; every other line (the
//                              hardening) as it is there
//   packagedCollectorConfig()  deploy/config/collector.json as it is (JSON, as the collector
//                              reads it; the collector also reads YAML, but one format in deploy/)
//   LAUNCHER                   /usr/lib/dualstack-collector/bin/dualstack-collector, the command
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MAIN_FILE } from './collector-bundle.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const DEPLOY = join(root, 'deploy');
export const COLLECTOR_PACKAGE = 'dualstack-collector';
export const COLLECTOR_UNIT = 'dualstack-collector.service';
/** Where the package's tree goes: its runtime in bin/, its code in lib/ (collector-bundle.mjs). */
export const COLLECTOR_HOME = `/usr/lib/${COLLECTOR_PACKAGE}`;
export const COLLECTOR_CONFIG = '/etc/dualstack/collector.json';
// The runtime and the bundle directly, not through the launcher: no shell between systemd and
// the collector (signals go to node itself).
export const PACKAGED_COLLECTOR_EXEC_START = `ExecStart=${COLLECTOR_HOME}/bin/node ${COLLECTOR_HOME}/lib/${MAIN_FILE} serve --config ${COLLECTOR_CONFIG}`;

/** The packaged unit, from the text of deploy/systemd/dualstack-collector.service. */
export function packagedCollectorUnit(text = readFileSync(join(DEPLOY, 'systemd', COLLECTOR_UNIT), 'utf8')) {
  const execStarts = text.match(/^ExecStart=.*$/gm) ?? [];
  if (execStarts.length !== 1) throw new Error(`packaged unit: deploy/systemd/${COLLECTOR_UNIT} must have exactly one ExecStart=, it has ${execStarts.length}`);
  if (!text.includes(`--config ${COLLECTOR_CONFIG}`)) throw new Error(`packaged unit: deploy/systemd/${COLLECTOR_UNIT} no longer reads --config ${COLLECTOR_CONFIG}, which the package installs`);
  const header = `# Installed by the ${COLLECTOR_PACKAGE} package as /usr/lib/systemd/system/${COLLECTOR_UNIT}, generated\n` +
    `# from deploy/systemd/${COLLECTOR_UNIT} by scripts/package/collector-files.mjs: ExecStart runs the\n` +
    '# package\'s own Node.js; every other line is that unit\'s.\n';
  return header + text.replace(/^ExecStart=.*$/m, PACKAGED_COLLECTOR_EXEC_START);
}

/** The packaged /etc/dualstack/collector.json: deploy/config/collector.json, checked to be JSON. */
export function packagedCollectorConfig(text = readFileSync(join(DEPLOY, 'config/collector.json'), 'utf8')) {
  return `${JSON.stringify(JSON.parse(text), null, 2)}\n`;
}

/**
 * The `dualstack-collector` command (/usr/bin/dualstack-collector links to it): the package's
 * node running its bundle, found from the script's own resolved place, so the same tree also
 * runs unpacked anywhere (the package's test runs it so).
 */
export const LAUNCHER = `#!/bin/sh
# dualstack-collector: the collector's command, run by the Node.js runtime inside its package.
home=$(dirname "$(dirname "$(readlink -f "$0")")")
exec "$home/bin/node" "$home/lib/${MAIN_FILE}" "$@"
`;
