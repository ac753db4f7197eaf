// Per-socket IPV6_V6ONLY, which /proc does not show. sock_diag knows it; `ss -e` prints it as
// `v6only:0|1` for every AF_INET6 socket. Where ss is missing the flag is inferred.
import { runCommand } from './command.js';
import { ProcParseError } from './proc/errors.js';

export const SS_ARGS = ['-H', '-l', '-n', '-e', '-A', 'inet'];

/** Parses `ss -Hlne -A inet` output: socket inode -> V6ONLY. Pure. */
export function parseSsV6only(text: string, file = 'ss -Hlne -A inet'): Map<number, boolean> {
  const flags = new Map<number, boolean>();
  text.split('\n').forEach((line, index) => {
    if (line.trim() === '') return;
    const inode = /(?:^|\s)ino:(\d+)(?:\s|$)/.exec(line);
    const v6only = /(?:^|\s)v6only:([01])(?:\s|$)/.exec(line);
    if (!v6only) return; // AF_INET sockets carry no v6only field
    if (!inode) throw new ProcParseError({ file, line: index + 1, field: 'ino', raw: line, reason: 'a v6only socket without an inode' });
    flags.set(Number(inode[1]), v6only[1] === '1');
  });
  return flags;
}

/** Runs ss; rejects with CommandMissingError when it is not installed. */
export function runSs(binary = 'ss'): Promise<string> {
  return runCommand(binary, SS_ARGS, { maxBuffer: 256 * 1024 * 1024 });
}
