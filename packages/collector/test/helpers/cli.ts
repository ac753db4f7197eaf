// `dualstack-collector` (dist/cli.js) as a real process: its exit code and both outputs.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const COLLECTOR_CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

export function runCollectorCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [COLLECTOR_CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
