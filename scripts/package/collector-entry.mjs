// The packaged collector's entry point (bundled by collector-bundle.mjs into
// lib/dualstack-collector.mjs): before the CLI, it loads better-sqlite3's compiled module from
// the package's node_modules/ and, if that fails (missing, or built for another Node.js ABI or
// architecture), says so on one line and exits 1, instead of the stack trace better-sqlite3
// would print at the first database open (or the "Could not locate the bindings file" list).
import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const addon = fileURLToPath(new URL('../node_modules/better-sqlite3/build/Release/better_sqlite3.node', import.meta.url));
const runtime = `Node.js ${process.version} linux-${process.arch}, NODE_MODULE_VERSION ${process.versions.modules}`;
const fail = (why) => {
  process.stderr.write(`dualstack-collector: better-sqlite3's compiled module ${addon} ${why}: reinstall the dualstack-collector package, whose module is built for its own ${runtime}\n`);
  process.exit(1);
};
/** The architecture an ELF file is for (its e_machine), or null when it is no ELF file. */
function elfArch(file) {
  const header = Buffer.alloc(20);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, header, 0, 20, 0);
  } finally {
    closeSync(fd);
  }
  if (header.readUInt32BE(0) !== 0x7f454c46) return null;
  const machine = header.readUInt16LE(18);
  return { 0x3e: 'x64', 0xb7: 'arm64' }[machine] ?? `e_machine 0x${machine.toString(16)}`;
}

if (!existsSync(addon)) fail('is missing');
try {
  createRequire(import.meta.url)(addon);
} catch (error) {
  // Node's messages name the ABI ("compiled against a different Node.js version using
  // NODE_MODULE_VERSION 115 ...") or dlopen's reason ("wrong ELF class"); on one line. For a
  // module of another 64-bit architecture glibc's dlopen says "cannot open shared object file:
  // No such file or directory" of a file that is there, so the module's own ELF header is named.
  const built = elfArch(addon);
  const other = built && built !== process.arch ? `it is built for linux-${built}; ` : '';
  fail(`cannot be loaded by this ${runtime} (${other}${String(error?.message ?? error).replace(/\s+/g, ' ').trim()})`);
}
await import('../../packages/collector/src/cli.ts');
