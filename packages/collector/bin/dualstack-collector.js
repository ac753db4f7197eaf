#!/usr/bin/env node
// `dualstack-collector` as npm links it (node_modules/.bin, npx). npm links a workspace's bin only if the
// file exists when it installs, and dist/ exists only after a build: so the bin is this file,
// kept in the source tree, which runs the built CLI (../dist/cli.js) or, before any build,
// says so on one line and exits 1.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cli = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write(`dualstack-collector: not built yet (${fileURLToPath(cli)} is missing): run \`npm run build\` at the repository root first\n`);
  process.exit(1);
}
await import(cli.href);
