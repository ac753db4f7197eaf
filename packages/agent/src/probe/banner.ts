// The first line a server sends after connecting (SMTP, IMAP, POP3, FTP, SSH): the banner, and
// whether it is the protocol's greeting. A line of another protocol (or none) is a
// protocol-error; the protocol's own refusal (SMTP 554, IMAP * BYE, POP3 -ERR) is unexpected.
import type { Socket } from 'node:net';
import type { AttemptOutcome, EndpointProtocol } from '@dualstack/core';
import { failureOf, reasonOf, type StepFailure } from './connect.js';

export type BannerProtocol = Exclude<EndpointProtocol, 'http' | 'tcp'>;

/** A first line longer than this is cut (and is not a greeting any of these protocols sends). */
const MAX_LINE_BYTES = 1024;
/** The schema keeps at most 200 characters of a banner. */
const MAX_BANNER_CHARS = 200;

/** What a greeting line says for `protocol`. Pure. */
export function judgeBanner(protocol: BannerProtocol, line: string): { outcome: AttemptOutcome; error?: string } {
  const refused = (error: string) => ({ outcome: 'unexpected' as const, error });
  const wrong = { outcome: 'protocol-error' as const, error: `not a${protocol === 'imap' ? 'n' : ''} ${protocol.toUpperCase()} greeting` };
  switch (protocol) {
    case 'smtp':
    case 'ftp':
      // RFC 5321 §4.2 / RFC 959 §4.2: a three-digit reply code, then a space or a hyphen.
      if (/^220[ -]/.test(line) || line === '220') return { outcome: 'ok' };
      return /^[1-5]\d\d([ -]|$)/.test(line) ? refused(`greeting ${line.slice(0, 3)}, not 220`) : wrong;
    case 'imap':
      // RFC 9051 §7.1: * OK, * PREAUTH or * BYE.
      if (/^\* (OK|PREAUTH)\b/i.test(line)) return { outcome: 'ok' };
      return /^\* BYE\b/i.test(line) ? refused('greeting * BYE') : wrong;
    case 'pop3':
      // RFC 1939 §4: +OK or -ERR.
      if (/^\+OK\b/.test(line)) return { outcome: 'ok' };
      return /^-ERR\b/.test(line) ? refused('greeting -ERR') : wrong;
    case 'ssh':
      // RFC 4253 §4.2: SSH-protoversion-softwareversion; 1.99 is a server speaking 2.0 as well.
      if (/^SSH-(2\.0|1\.99)-/.test(line)) return { outcome: 'ok' };
      return /^SSH-\d/.test(line) ? refused(`protocol version ${line.split('-')[1]}`) : wrong;
  }
}

export type BannerResult = { ok: true; banner: string; outcome: AttemptOutcome; error?: string } | ({ ok: false; banner?: string } & StepFailure);

/** Reads the first line (up to CRLF or LF) from the socket, then closes it. */
export function readBanner(socket: Socket, protocol: BannerProtocol, signal: AbortSignal): Promise<BannerResult> {
  return new Promise((resolve) => {
    let buffer = Buffer.alloc(0);
    let settled = false;
    const finish = (result: BannerResult) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      socket.removeListener('data', onData);
      socket.destroy();
      resolve(result);
    };
    const partial = () => (buffer.length > 0 ? { banner: clip(buffer.toString('latin1')) } : {});
    const onAbort = () => finish({ ok: false, outcome: 'timeout', error: `${reasonOf(signal)} waiting for the banner`, ...partial() });
    const onData = (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      const end = buffer.indexOf(0x0a);
      if (end === -1 && buffer.length < MAX_LINE_BYTES) return;
      const line = buffer
        .subarray(0, end === -1 ? MAX_LINE_BYTES : end)
        .toString('latin1')
        .replace(/\r$/, '');
      finish({ ok: true, banner: clip(line), ...judgeBanner(protocol, line) });
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    socket.on('data', onData);
    socket.once('error', (error) => finish({ ok: false, ...failureOf(error, signal), ...partial() }));
    socket.once('end', () => finish({ ok: false, outcome: 'protocol-error', error: buffer.length > 0 ? 'closed in the middle of the first line' : 'closed without a greeting', ...partial() }));
  });
}

function clip(line: string): string {
  // Control characters would garble the table and the logs.
  const clean = line.replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '?');
  return clean.length > MAX_BANNER_CHARS ? clean.slice(0, MAX_BANNER_CHARS) : clean;
}
