// The collector's code for its package (issue 13), bundled by esbuild as the agent's is
// (scripts/package-agent.mjs), into a directory laid out as the package installs it under
// /usr/lib/dualstack-collector:
//   lib/dualstack-collector.mjs   the CLI (collector-entry.mjs first: the better-sqlite3 check)
//   lib/ingest-thread.mjs         the ingest writer's worker thread (db/ingest-thread.ts alone)
//   lib/evaluation-thread.mjs     the alert evaluation's worker thread (db/evaluation-thread.ts alone)
//   ui/                           the dashboard (plugins/ui.ts reads ../ui/ beside its module)
//   node_modules/                 what is read from files at run time, nothing else:
//     better-sqlite3/ (its JS, package.json; the compiled module is added by collector-deb.mjs),
//     bindings/, file-uri-to-path/ (how better-sqlite3 finds the module), and the files bundled
//     packages read through __dirname (RUNTIME_FILES)
//
// Why these pieces:
// - better-sqlite3 stays a package: its JS loads the compiled module with `bindings`, which looks
//   for build/Release/better_sqlite3.node above the requiring file; a package beside the bundle
//   is the layout it expects, unchanged.
// - db/ingest-thread.ts and db/evaluation-thread.ts each start a worker on their own module URL;
//   inside the bundle that URL is the whole CLI, which would run again on the worker thread. The
//   bundle points each at its own lib/*.mjs instead (the plugin's onLoad), which is that module
//   bundled alone.
// - A bundled CommonJS module that reads a file beside itself uses __dirname; in an ES module
//   bundle there is none, so each such module gets its own, its directory as it was in
//   node_modules, now under the package's node_modules/ (RUNTIME_FILES says which files go there;
//   a new package using __dirname fails the build until it is looked at and listed).
import { build } from 'esbuild';
import { cpSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const NODE_MODULES = join(root, 'node_modules');
/** The modules that start a worker thread on themselves, and the file each is bundled alone into. */
export const WORKERS = [
  { source: join(root, 'packages/collector/src/db/ingest-thread.ts'), file: 'ingest-thread.mjs' },
  { source: join(root, 'packages/collector/src/db/evaluation-thread.ts'), file: 'evaluation-thread.mjs' },
];
const WORKER_URL = 'new RequestThread(new URL(import.meta.url),';
export const MAIN_FILE = 'dualstack-collector.mjs';

/** The packages kept as files: better-sqlite3 and what it requires. */
const EXTERNAL = ['better-sqlite3'];
const EXTERNAL_FILES = {
  'better-sqlite3': ['package.json', 'lib', 'LICENSE'],
  bindings: ['package.json', 'bindings.js', 'LICENSE.md'],
  'file-uri-to-path': ['package.json', 'index.js', 'LICENSE'],
};
/**
 * Every bundled package whose code uses __dirname, with the files of it read at run time (copied
 * to the package's node_modules/) or none, with the reason.
 */
export const RUNTIME_FILES = {
  '@fastify/swagger-ui': ['static', 'LICENSE'], // /docs: its static/ folder and static/logo.svg
  '@fastify/swagger': [], // its package.json, for an OpenAPI info the collector sets itself
  pino: [], // transports' worker files: the collector configures no transport
  'thread-stream': [], // the same (pino's transports)
};

const BANNER = [
  "import { createRequire as __dualstackCreateRequire } from 'node:module';",
  "import { dirname as __dualstackDirname, join as __dualstackJoin } from 'node:path';",
  "import { fileURLToPath as __dualstackFileURLToPath } from 'node:url';",
  // CommonJS dependencies require() built-in modules: an ES module bundle needs this to let them.
  'const require = __dualstackCreateRequire(import.meta.url);',
  // lib/<bundle> -> the package root's node_modules/, where __dirname users find their files.
  'const __dualstackNodeModules = __dualstackJoin(__dualstackDirname(__dualstackFileURLToPath(import.meta.url)), "..", "node_modules");',
].join('\n');

/** The package a node_modules path belongs to ("@scope/name" or "name"), or null. */
function packageOf(path) {
  return /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(path)?.[1] ?? null;
}

/** esbuild plugin: per-module __dirname for bundled node_modules code, and the worker's URL. */
function collectorPlugin(usesDirname) {
  return {
    name: 'dualstack-collector-package',
    setup(b) {
      b.onLoad({ filter: /node_modules\/.*\.c?js$/ }, (args) => {
        const text = readFileSync(args.path, 'utf8');
        if (!/\b__dirname\b/.test(text)) return undefined;
        const pkg = packageOf(args.path);
        usesDirname.add(pkg);
        const dir = relative(NODE_MODULES, dirname(args.path));
        return { contents: `var __dirname = __dualstackJoin(__dualstackNodeModules, ${JSON.stringify(dir)});\n${text}`, loader: 'js' };
      });
      b.onLoad({ filter: /db\/[a-z-]+-thread\.ts$/ }, (args) => {
        const worker = WORKERS.find((w) => w.source === args.path);
        if (!worker || b.initialOptions.entryPoints[0] === worker.source) return undefined;
        const text = readFileSync(args.path, 'utf8');
        if (text.split(WORKER_URL).length !== 2) throw new Error(`collector bundle: ${relative(root, worker.source)} no longer starts its worker with "${WORKER_URL}" exactly once: update scripts/package/collector-bundle.mjs`);
        return { contents: text.replace(WORKER_URL, `new RequestThread(new URL('./${worker.file}', import.meta.url),`), loader: 'ts' };
      });
    },
  };
}

async function bundle(entry, outfile, usesDirname) {
  const result = await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    minify: true,
    keepNames: true, // error names stay readable in messages
    legalComments: 'eof',
    metafile: true,
    logLevel: 'error',
    external: [...EXTERNAL, 'pg-native'], // pg-native: pg's optional native client, not used
    alias: { '@dualstack/core': join(root, 'packages/core/src'), '@dualstack/collector': join(root, 'packages/collector/src') },
    tsconfig: join(root, 'packages/collector/tsconfig.json'),
    banner: { js: BANNER },
    plugins: [collectorPlugin(usesDirname)],
  });
  return Object.keys(result.metafile.inputs).map((p) => resolve(p));
}

/**
 * Builds the collector's tree into `dir` (see the top of this file); resolves to the bundled
 * source files (for the SBOM) and the external packages' directories.
 */
export async function bundleCollector({ dir }) {
  const usesDirname = new Set();
  const lib = join(dir, 'lib');
  mkdirSync(lib, { recursive: true });
  const inputs = new Set([
    ...(await bundle(join(dirname(fileURLToPath(import.meta.url)), 'collector-entry.mjs'), join(lib, MAIN_FILE), usesDirname)),
  ]);
  for (const worker of WORKERS) for (const input of await bundle(worker.source, join(lib, worker.file), usesDirname)) inputs.add(input);
  const unlisted = [...usesDirname].filter((p) => !(p in RUNTIME_FILES));
  if (unlisted.length > 0) throw new Error(`collector bundle: ${unlisted.join(', ')} read files beside their code (__dirname): list what they read in RUNTIME_FILES (scripts/package/collector-bundle.mjs)`);
  cpSync(join(root, 'packages/collector/src/ui'), join(dir, 'ui'), { recursive: true });
  const copied = [];
  for (const [pkg, files] of [...Object.entries(EXTERNAL_FILES), ...Object.entries(RUNTIME_FILES)]) {
    for (const file of files) cpSync(join(NODE_MODULES, pkg, file), join(dir, 'node_modules', pkg, file), { recursive: true });
    if (files.length > 0) copied.push(join(NODE_MODULES, pkg, 'package.json'));
  }
  // The external packages' own source files, for the SBOM's list of what is inside.
  for (const pkg of Object.keys(EXTERNAL_FILES)) inputs.add(join(NODE_MODULES, pkg, 'package.json'));
  return { inputs: [...inputs].sort(), copied };
}
