// Starting a worker thread on a module of ours, from the built .js as from the .ts sources.
// Node runs a worker's module with its own loader: the `--import tsx` hooks of a test run do
// not reach it, and a .ts module fails to load there ("Unknown file extension"). So for a .ts
// module the worker first registers tsx, then imports the module; a built .js module starts
// directly. Node-only: imported by the agent and the collector, never by the browser.
import { Worker, type WorkerOptions } from 'node:worker_threads';

export function startWorker(module: URL, options: WorkerOptions = {}): Worker {
  if (!module.pathname.endsWith('.ts')) return new Worker(module, options);
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(module.href)}); })`;
  return new Worker(boot, { ...options, eval: true });
}
