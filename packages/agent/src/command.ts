// Runs the tools the agent asks (ss and ip from iproute2, nft, iptables-save): one place that
// tells a missing tool, which a source reports as absent, from one that failed.
import { execFile } from 'node:child_process';

export class CommandMissingError extends Error {
  constructor(
    readonly binary: string,
    readonly debianPackage = 'iproute2',
  ) {
    super(`${binary} (${debianPackage}) is not installed`);
    this.name = 'CommandMissingError';
  }
}

/** The tool ran and said no: its stderr is kept so a source can tell "not permitted" apart. */
export class CommandFailedError extends Error {
  constructor(
    readonly binary: string,
    readonly args: readonly string[],
    readonly stderr: string,
    cause: string,
  ) {
    super(`${binary} ${args.join(' ')} failed: ${stderr.trim() || cause}`);
    this.name = 'CommandFailedError';
  }
}

export function runCommand(binary: string, args: readonly string[], options: { maxBuffer: number; timeoutMs?: number; debianPackage?: string }): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(binary, args, { maxBuffer: options.maxBuffer, timeout: options.timeoutMs ?? 30_000 }, (error, stdout, stderr) => {
      if (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') reject(new CommandMissingError(binary, options.debianPackage));
        else reject(new CommandFailedError(binary, args, stderr, error.message));
        return;
      }
      resolve(stdout);
    });
  });
}
