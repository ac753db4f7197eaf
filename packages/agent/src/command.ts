// Runs the iproute2 tools the agent asks (ss, ip): one place that tells a missing tool, which
// a source reports as absent, from one that failed.
import { execFile } from 'node:child_process';

export class CommandMissingError extends Error {
  constructor(readonly binary: string) {
    super(`${binary} (iproute2) is not installed`);
    this.name = 'CommandMissingError';
  }
}

export function runCommand(binary: string, args: readonly string[], options: { maxBuffer: number; timeoutMs?: number }): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(binary, args, { maxBuffer: options.maxBuffer, timeout: options.timeoutMs ?? 30_000 }, (error, stdout, stderr) => {
      if (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') reject(new CommandMissingError(binary));
        else reject(new Error(`${binary} ${args.join(' ')} failed: ${stderr.trim() || error.message}`));
        return;
      }
      resolve(stdout);
    });
  });
}
