// What the .deb and .rpm install beside the executable, generated from deploy/ so that the
// packages and install-agent.sh ship the same unit and config (issue 13):
//   packagedAgentUnit()    deploy/systemd/dualstack-agent.service with ExecStart on
//                          /usr/bin/dualstack-agent and the start conditions below; every
//                          other line (the hardening) as it is there
//   packagedAgentConfig()  deploy/config/agent.json without "collector": an agent started
//                          before the administrator names one exits 1 saying so (the unit's
//                          RestartPreventExitStatus=1: no restart loop)
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const DEPLOY = join(root, 'deploy');
export const UNIT_NAME = 'dualstack-agent.service';
export const PACKAGED_EXEC_START = 'ExecStart=/usr/bin/dualstack-agent run --config /etc/dualstack/agent.json';
/** The credentials whose presence starts the packaged agent (either one). */
export const CREDENTIALS = ['/etc/dualstack/token', '/etc/dualstack/enroll-secret'];

// A ConditionPathExists= and not only the agent's own exit 1: a condition not met leaves the
// unit inactive ("start condition unmet"), not failed, so a freshly installed host shows no
// failed unit at every boot (systemctl --failed, monitoring), and systemd starts it by itself
// at the next boot or `systemctl start` once a credential is there.
const CONDITIONS = [
  '# Packaged: enabled at install, started only once a credential is configured (either file;',
  '# the "|" makes them alternatives). Until then the unit stays inactive, not failed.',
  ...CREDENTIALS.map((path) => `ConditionPathExists=|${path}`),
];

/** The packaged unit, from the text of deploy/systemd/dualstack-agent.service. */
export function packagedAgentUnit(text = readFileSync(join(DEPLOY, 'systemd', UNIT_NAME), 'utf8')) {
  const execStarts = text.match(/^ExecStart=.*$/gm) ?? [];
  if (execStarts.length !== 1) throw new Error(`packaged unit: deploy/systemd/${UNIT_NAME} must have exactly one ExecStart=, it has ${execStarts.length}`);
  const service = text.indexOf('\n[Service]');
  if (!text.startsWith('#') || service < 0 || !text.includes('\n[Unit]\n')) throw new Error(`packaged unit: deploy/systemd/${UNIT_NAME} has no [Unit] section before [Service]`);
  const header = `# Installed by the dualstack-agent package as /usr/lib/systemd/system/${UNIT_NAME}, generated from\n` +
    `# deploy/systemd/${UNIT_NAME} by scripts/package/packaged-files.mjs: ExecStart and the start\n# conditions differ, every other line is that unit's.\n`;
  const unitPart = text.slice(0, service).replace(/\n+$/, '\n');
  return header + unitPart + CONDITIONS.join('\n') + '\n' + text.slice(service).replace(/^ExecStart=.*$/m, PACKAGED_EXEC_START);
}

/** The packaged /etc/dualstack/agent.json, from deploy/config/agent.json. */
export function packagedAgentConfig(text = readFileSync(join(DEPLOY, 'config/agent.json'), 'utf8')) {
  const config = JSON.parse(text);
  delete config.collector;
  return `${JSON.stringify(config, null, 2)}\n`;
}

/** The opt-in drop-ins, shipped as examples: [name, text]. */
export function agentDropIns() {
  const dir = join(DEPLOY, 'systemd', `${UNIT_NAME}.d`);
  return ['firewall.conf', 'namespaces.conf'].map((name) => [name, readFileSync(join(dir, name), 'utf8')]);
}
