#!/usr/bin/env node
// Packages the agent as ONE file that the host's Node.js 20+ runs with no node_modules:
//   npm run package:agent                      -> dist-artifacts/dualstack-agent.mjs
//   node scripts/package-agent.mjs --outfile F  (also importable: packageAgent({ outfile }))
// packageAgent({ format: 'cjs' }) builds the CommonJS variant that the self-contained
// executables embed (scripts/package/sea.mjs): Node 24's single executable applications run a
// CommonJS main script only ("mainFormat": "module" came in Node 25).
// and prints the artifact's path and size: `wrote dist-artifacts/dualstack-agent.mjs: N bytes (M MiB)`.
//
// esbuild bundles packages/agent/src/cli.ts with every dependency (undici, node-cron,
// systeminformation, pino, ipaddr.js, @dualstack/core from its TypeScript source, so no build
// is needed first). The agent has no native dependency, so the file runs on any Linux with
// Node.js 20 or newer, whatever its CPU or libc: nothing to compile on the target.
//
// Things that need care in an ESM bundle, handled here:
// - CommonJS dependencies (systeminformation, undici) call require('os') etc.: esbuild's ESM
//   output cannot `require` on its own, so a banner defines `require` with createRequire.
// - The agent imports systeminformation lazily (`await import(...)`): esbuild inlines a static
//   dynamic import into the same file (no splitting), still evaluated only when first used.
// - The socket-table worker (packages/agent/src/proc/net-sockets-worker.ts) would start on the
//   bundle's own URL and so parse and compile all of it (~1.2 MB) on its thread, which at 100k
//   sockets made the bundle ~100 ms slower than the unbundled agent. Its code is bundled a
//   second time, alone (CommonJS, ~50 KB: the table parser, core's ip helpers, ipaddr.js), and
//   given to the main bundle as a string constant, from which the worker starts with eval.
// - Node's built-in modules: in an ESM bundle esbuild keeps them as import statements at the
//   top of the file, so every one the agent uses anywhere (child_process, dgram, tls, crypto...)
//   was loaded at every start, --version's too, although the code using them is evaluated only
//   when its command runs (main.ts). The builtinsOnUse plugin makes each a tiny CommonJS module
//   (`module.exports = require('node:fs')`, with the banner's require), which esbuild evaluates
//   where its first importer is, as in the CommonJS bundle.
// - TypeBox must not be in it: the agent imports only '@dualstack/core' (types and pure code);
//   the bundle is checked for it below and the build fails if it shows up.
import { build } from 'esbuild';
import { chmodSync, mkdirSync, statSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const DEFAULT_OUTFILE = join(root, 'dist-artifacts', 'dualstack-agent.mjs');

const BUILTIN_ON_USE = 'builtin-on-use';
/** esbuild plugin: built-in modules required when their importer is evaluated (see above). */
const builtinsOnUse = {
  name: 'builtins-on-use',
  setup(b) {
    b.onResolve({ filter: /^(node:)?[a-z_/]+$/ }, (args) => {
      const name = args.path.replace(/^node:/, '');
      if (args.namespace === BUILTIN_ON_USE || !isBuiltin(name)) return undefined;
      return { path: `node:${name}`, namespace: BUILTIN_ON_USE };
    });
    b.onLoad({ filter: /.*/, namespace: BUILTIN_ON_USE }, (args) => ({ contents: `module.exports = require(${JSON.stringify(args.path)});`, loader: 'js' }));
    b.onResolve({ filter: /.*/, namespace: BUILTIN_ON_USE }, (args) => ({ path: args.path, external: true }));
  },
};

/**
 * Builds the single-file agent; resolves to its path, size in bytes, the bundled packages and
 * every source file inside it (absolute paths, the worker's too: what an SBOM lists).
 */
export async function packageAgent({ outfile = DEFAULT_OUTFILE, minify = true, format = 'esm' } = {}) {
  if (format !== 'esm' && format !== 'cjs') throw new Error(`packageAgent: format must be "esm" or "cjs", not ${JSON.stringify(format)}`);
  mkdirSync(dirname(outfile), { recursive: true });
  const alias = { '@dualstack/core': join(root, 'packages/core/src') }; // the directory, so subpaths map too
  const tsconfig = join(root, 'packages/agent/tsconfig.json');
  const worker = await build({
    entryPoints: [join(root, 'packages/agent/src/proc/net-sockets-worker.ts')],
    write: false,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    minify,
    keepNames: true,
    logLevel: 'error',
    metafile: true,
    alias,
    tsconfig,
    // Only the worker side runs from this copy; the main-thread starter is never called there.
    define: { 'import.meta.url': 'undefined' },
  });
  const workerSource = worker.outputFiles[0].text;
  // CommonJS: main.ts itself (cli.ts guards it with a top-level await, which CommonJS cannot
  // hold; an executable's main script runs on the main thread only, its worker from the string).
  const cjs = format === 'cjs';
  const result = await build({
    entryPoints: [join(root, cjs ? 'packages/agent/src/main.ts' : 'packages/agent/src/cli.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format,
    target: 'node20',
    minify,
    keepNames: true, // error names (ShipConfigError, ...) stay readable in messages
    legalComments: 'eof',
    metafile: true,
    logLevel: 'warning',
    alias,
    tsconfig,
    plugins: cjs ? [] : [builtinsOnUse],
    define: {
      __DUALSTACK_SOCKET_WORKER_SOURCE__: JSON.stringify(workerSource),
      // CommonJS has no import.meta, and a dependency reads import.meta.url when it loads
      // (node-cron, behind push and run: fileURLToPath(undefined) threw there, so the
      // executables could scan but not deliver): the file's own URL stands in for it.
      ...(cjs ? { 'import.meta.url': '__dualstackImportMetaUrl' } : {}),
    },
    // The other import.meta uses (core's startWorker: import.meta.resolve) start the worker from
    // a module file, a path the bundle never takes (its worker starts from the string).
    logOverride: cjs ? { 'empty-import-meta': 'silent' } : {},
    banner: {
      js: cjs
        ? ['// dualstack-agent, the CommonJS bundle inside the self-contained executables (scripts/package/sea.mjs).',
            // In an executable __filename is process.execPath (Node's SEA docs).
            "var __dualstackImportMetaUrl = require('node:url').pathToFileURL(typeof __filename === 'string' ? __filename : process.execPath).href;",
          ].join('\n')
        : [
            '// dualstack-agent, a single-file bundle (scripts/package-agent.mjs). Run: node dualstack-agent.mjs --help',
            "import { createRequire as __dualstackCreateRequire } from 'node:module';",
            'const require = __dualstackCreateRequire(import.meta.url);',
          ].join('\n'),
    },
  });
  // The plugin's stand-ins for built-in modules are no source file of the bundle.
  const inputs = Object.keys(result.metafile.inputs).filter((p) => !p.startsWith(`${BUILTIN_ON_USE}:`));
  const packages = [...new Set(inputs.map((p) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(p)?.[1]).filter(Boolean))].sort();
  if (packages.includes('typebox') || packages.includes('@sinclair/typebox')) {
    throw new Error('the agent bundle contains TypeBox: something imports @dualstack/core/schema');
  }
  chmodSync(outfile, 0o755);
  // esbuild's metafile paths are relative to its working directory, the process's.
  const files = [...new Set([...Object.keys(worker.metafile.inputs), ...inputs].map((p) => resolve(p)))].sort();
  return { outfile, bytes: statSync(outfile).size, packages, inputs: files };
}

/** "wrote PATH: BYTES bytes (MiB MiB)", what the script prints when it finishes. */
export function formatArtifact(path, bytes) {
  return `wrote ${path}: ${bytes} bytes (${(bytes / 1024 / 1024).toFixed(2)} MiB)`;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({ options: { outfile: { type: 'string' }, 'no-minify': { type: 'boolean' } } });
  const { outfile, bytes, packages } = await packageAgent({
    outfile: resolve(values.outfile ?? DEFAULT_OUTFILE),
    minify: !values['no-minify'],
  });
  // The artifact's path and size, measured here (the README does not keep a copy that ages).
  process.stdout.write(`${formatArtifact(relative(process.cwd(), outfile) || outfile, bytes)}; bundled: ${packages.join(', ')}\n`);
}
