// How both command-line tools end: the exit code main() returns (a negative one means "keep
// running": a server), a one-line message on stderr when it throws (the message alone for the
// tool's own usage errors, `error: ...` otherwise), and a quiet exit 0 when stdout is a pipe
// whose reader stopped early (`| head`) instead of an unhandled EPIPE with a stack trace.
// Node-only: imported by the agent's and the collector's entry, never by the browser.
export function runCli(name: string, main: (argv: string[]) => Promise<number>, isUsageError: (error: unknown) => boolean): void {
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
  main(process.argv.slice(2)).then(
    (code) => {
      if (code >= 0) process.exitCode = code;
    },
    (error: unknown) => {
      const message = isUsageError(error) ? (error as Error).message : `error: ${(error as Error).message ?? String(error)}`;
      process.stderr.write(`${name}: ${message}\n`);
      process.exitCode = 1;
    },
  );
}
