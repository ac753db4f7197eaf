// The TCP connect of one attempt: to one address (no lookup), ended by the attempt's signal.
// The system's error code decides the outcome: refused, timeout, unreachable, reset.
import { connect, type Socket } from 'node:net';
import type { AttemptOutcome } from '@dualstack/core';
import { msSince, now } from './elapsed.js';

/** How a failed step ended: the outcome, and the code or reason kept as `error`. */
export interface StepFailure {
  outcome: AttemptOutcome;
  error: string;
}

/** The attempt outcome of a socket error code. Pure. */
export function outcomeOfCode(code: string | undefined): AttemptOutcome {
  switch (code) {
    case 'ECONNREFUSED':
      return 'refused';
    case 'ETIMEDOUT':
      return 'timeout';
    case 'ENETUNREACH':
    case 'EHOSTUNREACH':
    case 'EHOSTDOWN':
    case 'ENETDOWN':
    case 'EADDRNOTAVAIL':
      return 'unreachable';
    case 'ECONNRESET':
    case 'EPIPE':
    case 'ECONNABORTED':
      return 'reset';
    default:
      return 'error';
  }
}

/** A failure from an error thrown in a step; a fired attempt signal is a timeout. */
export function failureOf(error: unknown, signal: AbortSignal): StepFailure {
  if (signal.aborted) return { outcome: 'timeout', error: reasonOf(signal) };
  const code = (error as { code?: unknown } | null)?.code;
  const text = typeof code === 'string' ? code : ((error as Error)?.message ?? String(error));
  return { outcome: outcomeOfCode(typeof code === 'string' ? code : undefined), error: text };
}

/** 'timed out after N ms' for the attempt's own timeout, the abort reason otherwise. */
export function reasonOf(signal: AbortSignal): string {
  const reason = signal.reason as { name?: string; message?: string } | undefined;
  return reason?.name === 'TimeoutError' || reason === undefined ? 'timed out' : (reason.message ?? 'aborted');
}

export type ConnectResult = { ok: true; socket: Socket; connectMs: number } | ({ ok: false; connectMs: null } & StepFailure);

/** Connects to address:port; the socket is destroyed if the signal fires first. */
export function connectTcp(address: string, port: number, family: 4 | 6, signal: AbortSignal): Promise<ConnectResult> {
  const started = now();
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve({ ok: false, connectMs: null, outcome: 'timeout', error: reasonOf(signal) });
      return;
    }
    const socket = connect({ host: address, port, family, noDelay: true });
    const onAbort = () => {
      socket.destroy();
      resolve({ ok: false, connectMs: null, outcome: 'timeout', error: reasonOf(signal) });
    };
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => {
      signal.removeEventListener('abort', onAbort);
      // Later steps listen for their own errors; one arriving between steps must not throw.
      socket.removeAllListeners('error');
      socket.on('error', () => undefined);
      resolve({ ok: true, socket, connectMs: msSince(started) });
    });
    socket.once('error', (error) => {
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve({ ok: false, connectMs: null, ...failureOf(error, signal) });
    });
  });
}
