// The TLS handshake of one attempt, on the connected socket: SNI is the URL host (never an
// address literal, which RFC 6066 §3 forbids in server_name), the chain is checked against the
// system's CAs and the certificate against expect.tlsName or the URL host. The handshake
// completes even when either check fails, so the certificate is always recorded.
import { checkServerIdentity, connect, createSecureContext, type DetailedPeerCertificate, type PeerCertificate, type SecureContext, type TLSSocket } from 'node:tls';
import type { Socket } from 'node:net';
import type { TlsFacts } from '@dualstack/core';
import { failureOf, type StepFailure } from './connect.js';

export interface TlsOptions {
  /** The URL host: SNI when it is a name, and the name checked when expect.tlsName is unset. */
  host: string;
  /** 4 or 6 when the URL names an address (no SNI), null for a name. */
  literal: 4 | 6 | null;
  /** expect.tlsName: the name the certificate must be valid for. */
  expectName?: string | undefined;
  /** Trusted CAs instead of the system's (tests; operators use NODE_EXTRA_CA_CERTS). */
  ca?: string | Buffer | Array<string | Buffer> | undefined;
  /** The round's context (probeSecureContext), used instead of `ca`; without it, one per connection. */
  secureContext?: SecureContext | undefined;
  signal: AbortSignal;
}

/**
 * One client context for many handshakes: the trusted CAs (`ca`, else the system's and
 * NODE_EXTRA_CA_CERTS) loaded once. tls.connect without it builds an OpenSSL context per
 * connection, freed only when V8 collects it: at 1,000 endpoints about 20 MB of peak RSS and
 * a tenth of the round's CPU (test/bench/README.md). Sessions are not resumed through it: Node
 * keeps no client session cache, so every attempt still makes a full handshake.
 */
export function probeSecureContext(ca?: TlsOptions['ca']): SecureContext {
  return createSecureContext(ca !== undefined ? { ca } : {});
}

/**
 * After the handshake: `chainTrusted` (the chain verified) and `nameValid` (the certificate
 * is valid for the expected name) are what the outcome is decided on (tls-error, unexpected).
 */
export type TlsResult =
  | { ok: true; socket: TLSSocket; facts: TlsFacts; chainTrusted: boolean; nameValid: boolean }
  | ({ ok: false; facts?: undefined } & StepFailure);

/** "CN=R3, O=Let's Encrypt, C=US" from a certificate's subject or issuer object. */
export function formatName(name: PeerCertificate['issuer'] | undefined): string | null {
  if (!name) return null;
  const parts = Object.entries(name).flatMap(([key, value]) => (Array.isArray(value) ? value.map((v) => `${key}=${v}`) : [`${key}=${value}`]));
  return parts.length > 0 ? parts.join(', ') : null;
}

/** The recorded facts of a peer certificate. Pure. */
export function certificateFacts(cert: PeerCertificate | DetailedPeerCertificate | null, protocol: string | null): Omit<TlsFacts, 'authorized' | 'authorizationError'> {
  const empty = cert === null || Object.keys(cert).length === 0;
  if (empty) return { protocol, subject: null, san: [], issuer: null, validTo: null, fingerprint256: null };
  const cn = cert.subject?.CN;
  const validTo = cert.valid_to ? new Date(cert.valid_to) : null;
  return {
    protocol,
    subject: Array.isArray(cn) ? (cn[0] ?? null) : (cn ?? null),
    san: cert.subjectaltname ? cert.subjectaltname.split(', ').filter(Boolean) : [],
    issuer: formatName(cert.issuer),
    validTo: validTo && !Number.isNaN(validTo.getTime()) ? validTo.toISOString() : null,
    fingerprint256: cert.fingerprint256 ?? null,
  };
}

/** Handshakes on `socket`; on failure the socket is destroyed. */
export function tlsHandshake(socket: Socket, options: TlsOptions): Promise<TlsResult> {
  const { signal } = options;
  return new Promise((resolve) => {
    const tls = connect({
      socket,
      ...(options.literal === null ? { servername: options.host } : {}),
      // Both checks are made below, after the handshake, so a bad certificate is still seen.
      rejectUnauthorized: false,
      checkServerIdentity: () => undefined,
      ...(options.secureContext !== undefined ? { secureContext: options.secureContext } : options.ca !== undefined ? { ca: options.ca } : {}),
      ALPNProtocols: ['http/1.1'],
    });
    const onAbort = () => {
      tls.destroy();
      resolve({ ok: false, ...failureOf(null, signal) });
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    tls.once('secureConnect', () => {
      signal.removeEventListener('abort', onAbort);
      tls.removeAllListeners('error');
      tls.on('error', () => undefined);
      const cert = tls.getPeerCertificate();
      const name = options.expectName ?? options.host;
      const chainTrusted = tls.authorized;
      const identity = Object.keys(cert).length > 0 ? checkServerIdentity(name, cert) : new Error('no certificate');
      const nameValid = identity === undefined;
      const facts: TlsFacts = { ...certificateFacts(cert, tls.getProtocol()), authorized: chainTrusted && nameValid };
      const problem = !chainTrusted ? String(tls.authorizationError ?? 'not trusted') : identity?.message;
      if (problem !== undefined) facts.authorizationError = problem;
      resolve({ ok: true, socket: tls, facts, chainTrusted, nameValid });
    });
    tls.once('error', (error) => {
      signal.removeEventListener('abort', onAbort);
      tls.destroy();
      const failure = failureOf(error, signal);
      // A handshake that fails (an alert, a reset, a server not speaking TLS) is a TLS failure.
      resolve({ ok: false, outcome: failure.outcome === 'timeout' ? 'timeout' : 'tls-error', error: failure.error });
    });
  });
}
