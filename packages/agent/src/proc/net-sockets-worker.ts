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
import { isMainThread, parentPort, workerData, type Worker } from 'node:worker_threads';
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
export function readSocketTableOnWorker(root: ProcRoot, file: SocketFile, options: { fallback?: boolean } = {}): Promise<SocketTableSummary | null> {
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
        if (!fallback) {
          reject(new Error(`the socket table worker did not run: ${(why as Error | undefined)?.message ?? 'it exited without answering'}`, { cause: why }));
          return;
        }
        try {
          resolve(readSocketTable(root, file));
        } catch (error) {
          reject(error);
        }
      });
    let worker: Worker;
    try {
      worker = startWorker(new URL(import.meta.url), { workerData: { kind: JOB_KIND, root: { path: root.path, live: root.live }, file } satisfies Job });
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
