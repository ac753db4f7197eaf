// readSocketTable on a worker thread, so two big socket tables are read on two cores at once.
// Most of a big table's cost is the kernel generating its text inside read(2), on the reader's
// CPU (100k sockets: `cat /proc/net/tcp /proc/net/tcp6` alone ~200 ms), so two readers on two
// threads halve it; the parse itself is the same function, in the same format file.
//
// This module is both sides: the main thread calls readSocketTableOnWorker, which starts a
// worker on this very file (its own URL, so the same code runs from dist/*.js and, under tsx in
// the tests, from src/*.ts: see startWorker); in the worker, the block at the bottom reads the table and posts
// the summary back (structured clone keeps the Map and the plain objects; errors are sent as
// fields and rebuilt, since a clone loses an error's class and own fields).
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { startWorker } from '@dualstack/core/worker';
import { ProcParseError } from './errors.js';
import { readSocketTable, type SocketFile, type SocketTableSummary } from './net-sockets.js';
import type { ProcRoot } from './root.js';

interface Job {
  kind: typeof JOB_KIND;
  root: ProcRoot;
  file: SocketFile;
}

const JOB_KIND = 'dualstack:read-socket-table';

// In the single-file agent, this module's own code bundled alone (scripts/package-agent.mjs
// defines it): the worker then compiles ~50 KB instead of the whole bundle. Unset elsewhere.
declare const __DUALSTACK_SOCKET_WORKER_SOURCE__: string | undefined;
const BUNDLED_WORKER_SOURCE = typeof __DUALSTACK_SOCKET_WORKER_SOURCE__ === 'string' ? __DUALSTACK_SOCKET_WORKER_SOURCE__ : null;

interface SentError {
  message: string;
  stack: string | undefined;
  /** Set for a ProcParseError. */
  parse?: { file: string; line: number; field: string; raw: string };
  /** Set for a system error (open/read of the file). */
  system?: { code?: string; errno?: number; syscall?: string; path?: string };
}

type Reply = { ok: true; summary: SocketTableSummary | null } | { ok: false; error: SentError };

/** Reads the table on a new worker thread; resolves and rejects as readSocketTable returns and throws. */
export function readSocketTableOnWorker(
  root: ProcRoot,
  file: SocketFile,
  options: { fallback?: boolean; onFallback?(reason: string): void } = {},
): Promise<SocketTableSummary | null> {
  const fallback = options.fallback ?? true;
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (done: () => void) => {
      if (settled) return;
      settled = true;
      done();
    };
    // A worker that cannot run (thread or memory limits) must not cost the table: read it here
    // (unless told not to: the tests, which must see the worker itself work).
    const readHere = (why?: unknown) =>
      settle(() => {
        const reason = `the socket table worker did not run: ${(why as Error | undefined)?.message ?? 'it exited without answering'}`;
        if (!fallback) {
          reject(new Error(reason, { cause: why }));
          return;
        }
        options.onFallback?.(reason);
        try {
          resolve(readSocketTable(root, file));
        } catch (error) {
          reject(error);
        }
      });
    let worker: Worker;
    try {
      const workerData = { kind: JOB_KIND, root: { path: root.path, live: root.live }, file } satisfies Job;
      worker = BUNDLED_WORKER_SOURCE !== null ? new Worker(BUNDLED_WORKER_SOURCE, { eval: true, workerData }) : startWorker(new URL(import.meta.url), { workerData });
    } catch (error) {
      readHere(error);
      return;
    }
    worker.once('message', (reply: Reply) => {
      settle(() => (reply.ok ? resolve(reply.summary) : reject(rebuildError(reply.error))));
      void worker.terminate();
    });
    worker.once('error', readHere);
    worker.once('exit', () => readHere());
  });
}

function sendError(error: unknown): SentError {
  const base = { message: (error as Error)?.message ?? String(error), stack: (error as Error)?.stack };
  if (error instanceof ProcParseError) return { ...base, parse: { file: error.file, line: error.line, field: error.field, raw: error.raw } };
  const { code, errno, syscall, path } = (error ?? {}) as NodeJS.ErrnoException;
  return { ...base, system: { ...(code !== undefined ? { code } : {}), ...(errno !== undefined ? { errno } : {}), ...(syscall !== undefined ? { syscall } : {}), ...(path !== undefined ? { path } : {}) } };
}

function rebuildError(sent: SentError): Error {
  let error: Error;
  if (sent.parse) {
    error = new ProcParseError(sent.parse);
    // The reason is only in the message: keep the message the worker's error had.
    error.message = sent.message;
  } else {
    error = Object.assign(new Error(sent.message), sent.system);
  }
  if (sent.stack !== undefined) error.stack = sent.stack;
  return error;
}

if (!isMainThread && parentPort && (workerData as Job | undefined)?.kind === JOB_KIND) {
  const { root, file } = workerData as Job;
  let reply: Reply;
  try {
    reply = { ok: true, summary: readSocketTable(root, file) };
  } catch (error) {
    reply = { ok: false, error: sendError(error) };
  }
  parentPort.postMessage(reply);
}
