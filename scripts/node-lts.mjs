#!/usr/bin/env node
// Fetches the project's Node.js (the LTS pinned in scripts/package/node-runtime.mjs, the same one
// the executables carry) into a per-user cache and prints the shell lines that put it to use:
//   export PATH='<cache>/<version>/<arch>/bin':"$PATH"
//   export npm_config_nodedir='<cache>/<version>/<arch>'
// The nodedir makes node-gyp (better-sqlite3 under `npm ci`) compile against this runtime's own
// headers (its include/node), not those of a system Node that npm's config may name (nodedir=/usr).
// Runs under any older node that has npm (npm pack fetches the package node-linux-<arch> from the
// npm registry; nothing else is downloaded, nothing installed system-wide). The cache is
// ${XDG_CACHE_HOME:-~/.cache}/dualstack/node-runtime (root's: /var/cache/dualstack/node-runtime);
// a tarball there is checked against the pinned sha512 every time, and fetched only when missing.
// Normally used through scripts/node-lts.sh, which decides whether it is needed at all.
import { chmodSync } from 'node:fs';
import { machine } from 'node:os';
import { join } from 'node:path';
import { machineCache, NODE_RUNTIME, nodeRuntime } from './package/node-runtime.mjs';

const USAGE = `usage: node scripts/node-lts.mjs
Makes sure Node.js ${NODE_RUNTIME.version} (from the npm registry's node-linux-<arch> package, sha512
pinned in scripts/package/node-runtime.mjs) is unpacked in
\${XDG_CACHE_HOME:-~/.cache}/dualstack/node-runtime (as root: /var/cache/dualstack/node-runtime)
and prints the export lines (PATH,
npm_config_nodedir) for a shell to eval. Progress and errors go to stderr.
Usually sourced through scripts/node-lts.sh, which does nothing when node is already >= 24.`;

/** uname -m to the arch names of the node-linux-* packages. */
const ARCH_OF_MACHINE = { x86_64: 'x64', aarch64: 'arm64', arm64: 'arm64' };

/** A POSIX shell single-quoted word. */
const quote = (s) => `'${s.replaceAll("'", `'\\''`)}'`;

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  console.log(USAGE);
  process.exit(0);
}
if (args.length > 0) {
  console.error(`node-lts: unknown argument ${args[0]}\n${USAGE}`);
  process.exit(2);
}

const arch = ARCH_OF_MACHINE[machine()];
if (!arch) {
  console.error(`node-lts: no Node.js package for machine "${machine()}" (known: ${Object.keys(ARCH_OF_MACHINE).join(', ')})`);
  process.exit(1);
}
// Root's is /var/cache/dualstack/node-runtime: the tests run this node as other users (setpriv to nobody).
const cache = machineCache('node-runtime');
console.error(`node-lts: Node.js ${NODE_RUNTIME.version} (node-linux-${arch} from the npm registry) in ${cache}`);
try {
  const runtime = nodeRuntime(arch, { cache });
  const dir = join(runtime.node, '../..');
  // Unpacked in a mkdtemp directory (0700) and renamed into place: opened up, for the same reason.
  chmodSync(dir, 0o755);
  console.log(`export PATH=${quote(join(dir, 'bin'))}:"$PATH"`);
  console.log(`export npm_config_nodedir=${quote(dir)}`);
} catch (error) {
  console.error(`node-lts: ${error.message}`);
  process.exit(1);
}
