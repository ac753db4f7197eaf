// One attempt: one address of one family, within one time budget (connect + TLS + the first
// answer), as a client of the endpoint's scheme would make it: TCP, then TLS with SNI when the
// scheme has it, then one HTTP GET or the banner. Every step's facts are kept even when a
// later step fails. The outcome is the first failure in that order; a certificate not valid
// for the expected name is `unexpected` (the server answered, with another certificate), an
// untrusted chain or a failed handshake is `tls-error`.
import type { Socket } from 'node:net';
import type { AttemptOutcome, ProbeAttempt, ProbeTarget } from '@dualstack/core';
import { connectTcp } from './connect.js';
import { tlsHandshake, type TlsOptions } from './tls.js';
import { httpExchange } from './http.js';
import { readBanner } from './banner.js';
import { msSince, now } from './elapsed.js';

export interface AttemptOptions {
  /** The budget of the whole attempt, in ms. */
  timeoutMs: number;
  /** Trusted CAs instead of the system's (tests). */
  ca?: TlsOptions['ca'];
  /** A context shared by many attempts (a round's: probeSecureContext), instead of `ca`. */
  secureContext?: TlsOptions['secureContext'];
  /** The User-Agent of HTTP probes. */
  userAgent?: string | undefined;
  /** Ends the attempt early (the agent stopping); it is recorded as a timeout. */
  signal?: AbortSignal;
}

/** Probes `address` for `target`. Never throws: every failure is an outcome. */
export async function probeAddress(target: ProbeTarget, family: 4 | 6, address: string, options: AttemptOptions): Promise<ProbeAttempt> {
  const started = now();
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
  const attempt: ProbeAttempt = { family, address, port: target.port, outcome: 'ok', connectMs: null, totalMs: 0 };
  const fail = (outcome: AttemptOutcome, error: string | undefined) => {
    attempt.outcome = outcome;
    if (error !== undefined) attempt.error = error;
  };
  let socket: Socket | null = null;
  try {
    const connected = await connectTcp(address, target.port, family, signal);
    if (!connected.ok) {
      fail(connected.outcome, connected.error);
      return attempt;
    }
    attempt.connectMs = connected.connectMs;
    socket = connected.socket;
    // The certificate's verdict, applied once the application step has answered.
    let tlsVerdict: { outcome: AttemptOutcome; error?: string } = { outcome: 'ok' };
    if (target.tls) {
      const tls = await tlsHandshake(socket, { host: target.host, literal: target.literal, expectName: target.expect?.tlsName, ca: options.ca, secureContext: options.secureContext, signal });
      if (!tls.ok) {
        fail(tls.outcome, tls.error);
        return attempt;
      }
      socket = tls.socket;
      attempt.tls = tls.facts;
      if (!tls.chainTrusted) tlsVerdict = { outcome: 'tls-error', error: tls.facts.authorizationError ?? 'certificate not trusted' };
      else if (!tls.nameValid) tlsVerdict = { outcome: 'unexpected', error: tls.facts.authorizationError ?? 'certificate not valid for the name' };
    }
    let app: { outcome: AttemptOutcome; error?: string | undefined } = { outcome: 'ok' };
    if (target.protocol === 'http') {
      const result = await httpExchange(socket, { scheme: target.tls ? 'https' : 'http', host: target.host, literal: target.literal, port: target.port, path: target.path, expect: target.expect, userAgent: options.userAgent, signal });
      if (result.ok) attempt.http = result.http;
      app = result;
    } else if (target.protocol !== 'tcp') {
      const result = await readBanner(socket, target.protocol, signal);
      if (result.banner !== undefined) attempt.banner = result.banner;
      app = result;
    }
    // An untrusted chain outranks everything after it; a wrong name only an answering server.
    const verdict = tlsVerdict.outcome === 'tls-error' || (tlsVerdict.outcome === 'unexpected' && app.outcome === 'ok') ? tlsVerdict : app;
    fail(verdict.outcome, verdict.error);
    return attempt;
  } catch (error) {
    // A bug or an exotic failure: recorded, never thrown into the round.
    fail('error', (error as Error)?.message ?? String(error));
    return attempt;
  } finally {
    socket?.destroy();
    attempt.totalMs = msSince(started);
  }
}
