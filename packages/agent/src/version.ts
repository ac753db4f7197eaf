// The agent's version, in a module of its own so that --version and --help load nothing else
// (main.ts). It must follow packages/agent/package.json: scripts/package/build.mjs and sea.mjs
// refuse an artifact whose --version prints another number.
export const AGENT_VERSION = '0.1.0';
