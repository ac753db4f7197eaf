// What the .deb and .rpm install beside the executable, generated from deploy/ so that the
// packages and install-agent.sh ship the same unit and config (issue 13):
//   packagedAgentUnit()    deploy/systemd/dualstack-agent.service with ExecStart on
//                          /usr/bin/dualstack-agent and the start conditions below; every
//                          other line (the hardening) as it is there
//   packagedAgentConfig()  deploy/config/agent.json without "collector": an agent started
//                          before the administrator names one exits 1 saying so (the unit's
//                          RestartPreventExitStatus=1: no restart loop)
//   stageAgentFiles()      the files both packages install, into a staging tree
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const DEPLOY = join(root, 'deploy');
export const PACKAGE = 'dualstack-agent';
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

/** Writes content (a string, a Buffer, or { from: FILE } to copy) to stage/path with mode. */
export function put(stage, path, content, mode = 0o644) {
  const file = join(stage, path);
  mkdirSync(dirname(file), { recursive: true });
  if (Buffer.isBuffer(content) || typeof content === 'string') writeFileSync(file, content);
  else copyFileSync(content.from, file);
  chmodSync(file, mode);
}

/**
 * The files the .deb and the .rpm both install, into the staging tree `stage`:
 *   usr/lib/dualstack-agent/dualstack-agent   the executable, 0755
 *   usr/lib/dualstack-agent/sockdiag.node     stripped with `strip` (findStrip(arch)), when given
 *   usr/bin/dualstack-agent                   a symlink to the executable
 *   usr/lib/systemd/system/dualstack-agent.service, etc/dualstack/agent.json,
 *   <doc>/examples/<the opt-in drop-ins>
 * `what` names the package in errors (deb, rpm); `config`, agent.json's text, is packagedAgentConfig()'s
 * but where a test builds an older release with another default.
 */
export function stageAgentFiles(stage, { executable, sockdiag = null, strip, doc, what, config = packagedAgentConfig() }) {
  put(stage, `usr/lib/${PACKAGE}/${PACKAGE}`, { from: executable }, 0o755);
  if (sockdiag) {
    put(stage, `usr/lib/${PACKAGE}/sockdiag.node`, { from: sockdiag }, 0o644);
    // build.sh keeps symbols (the sanitizer tests read them); the package does not need them.
    if (!strip) throw new Error(`${what}: no strip for this architecture here (Debian: binutils, binutils-aarch64-linux-gnu) to strip sockdiag.node`);
    execFileSync(strip, ['--strip-unneeded', join(stage, `usr/lib/${PACKAGE}/sockdiag.node`)]);
  }
  mkdirSync(join(stage, 'usr/bin'), { recursive: true });
  symlinkSync(`../lib/${PACKAGE}/${PACKAGE}`, join(stage, 'usr/bin', PACKAGE));
  put(stage, `usr/lib/systemd/system/${UNIT_NAME}`, packagedAgentUnit());
  put(stage, 'etc/dualstack/agent.json', config);
  for (const [name, text] of agentDropIns()) put(stage, `${doc}/examples/${name}`, text);
}
