// The packaged collector's entry point (bundled by collector-bundle.mjs into
// lib/dualstack-collector.mjs): before the CLI, it loads better-sqlite3's compiled module from
// the package's node_modules/ and, if that fails (missing, or built for another Node.js ABI or
// architecture), says so on one line and exits 1, instead of the stack trace better-sqlite3
// would print at the first database open (or the "Could not locate the bindings file" list).
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const addon = fileURLToPath(new URL('../node_modules/better-sqlite3/build/Release/better_sqlite3.node', import.meta.url));
const runtime = `Node.js ${process.version} linux-${process.arch}, NODE_MODULE_VERSION ${process.versions.modules}`;
const fail = (why) => {
  process.stderr.write(`dualstack-collector: better-sqlite3's compiled module ${addon} ${why}: reinstall the dualstack-collector package, whose module is built for its own ${runtime}\n`);
  process.exit(1);
};
if (!existsSync(addon)) fail('is missing');
try {
  createRequire(import.meta.url)(addon);
} catch (error) {
  // Node's messages name the ABI ("compiled against a different Node.js version using
  // NODE_MODULE_VERSION 115 ...") or dlopen's reason ("wrong ELF class"); on one line.
  fail(`cannot be loaded by this ${runtime} (${String(error?.message ?? error).replace(/\s+/g, ' ').trim()})`);
}
await import('../../packages/collector/src/cli.ts');
