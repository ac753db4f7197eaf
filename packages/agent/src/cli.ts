#!/usr/bin/env node
// dualstack-agent's entry. The single-file bundle (scripts/package-agent.mjs) also runs this
// very file as the socket-table worker (net-sockets-worker.ts is bundled in and starts a worker
// on its own URL, which is then the bundle's): on a worker thread the CLI must not run, or it
// would print its usage into the scan's output. So the CLI (main.ts) loads on the main thread
// only.
import { isMainThread } from 'node:worker_threads';

if (isMainThread) await import('./main.js');
