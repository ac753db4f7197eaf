// Enrollment (issue 17): an enroll secret is exchanged at POST /api/v1/enroll for a host key
// bound to this host's id, kept 0600 in the state directory and used as the bearer from then
// on. Credentials says which bearer a delivery uses: the host key when there is one, else the
// token file; with a secret configured, it enrolls when there is neither and again when the
// collector answers 401 (the key was revoked), as long as the secret still enrolls.
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import type { EnrollAnswer, EnrollRequest, HostFacts } from '@dualstack/core';
import { AGENT_VERSION } from '../scan.js';
import { collectorUrl, readTokenFile, ShipConfigError } from './config.js';
import { DEFAULT_STATE_DIR } from './paths.js';

export const ENROLL_PATH = '/api/v1/enroll';
export const HOST_KEY_FILE = 'host.key';
export { DEFAULT_STATE_DIR };
const MAX_ANSWER_BYTES = 64 * 1024;

/** The host key stored in `stateDir`, or null when there is none. */
export function readHostKey(stateDir: string): string | null {
  let text: string;
  try {
    text = readFileSync(join(stateDir, HOST_KEY_FILE), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new ShipConfigError(`host key ${join(stateDir, HOST_KEY_FILE)} cannot be read: ${(error as Error).message}`);
  }
  const key = text.trim();
  return key === '' ? null : key;
}

/** Writes the key 0600 (the directory 0700 when made here), whole or not at all (rename). */
export function writeHostKey(stateDir: string, key: string): string {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const file = join(stateDir, HOST_KEY_FILE);
  const temp = `${file}.tmp-${process.pid}`;
  writeFileSync(temp, `${key}\n`, { mode: 0o600 });
  chmodSync(temp, 0o600);
  renameSync(temp, file);
  return file;
}

export class EnrollError extends Error {
  override name = 'EnrollError';
  constructor(
    message: string,
    /** HTTP status, or null when no answer came. */
    readonly status: number | null,
  ) {
    super(message);
  }
}

/**
 * POSTs this host's id, hostname and facts with the secret; stores the key it answers and
 * returns the answer. A pending key (a duplicate identity) is stored too: the collector refuses
 * it (403, reports stay spooled) until an admin accepts it, and then it works with no restart.
 */
export async function enrollHost(options: { ingestUrl: URL; secret: string; host: HostFacts; stateDir: string; timeoutMs: number }): Promise<EnrollAnswer & { file: string }> {
  const url = collectorUrl(options.ingestUrl, ENROLL_PATH);
  const body: EnrollRequest = {
    hostId: options.host.hostId,
    hostname: options.host.hostname,
    facts: { agentVersion: AGENT_VERSION, distro: options.host.os.distro, kernel: options.host.os.kernel, arch: options.host.os.arch },
  };
  let status: number;
  let text = '';
  try {
    const response = await request(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${options.secret}`, 'content-type': 'application/json', accept: 'application/json, application/problem+json', 'user-agent': `dualstack-agent/${AGENT_VERSION}` },
      body: JSON.stringify(body),
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
    });
    status = response.statusCode;
    for await (const chunk of response.body) {
      text += (chunk as Buffer).toString('utf8');
      if (text.length > MAX_ANSWER_BYTES) {
        response.body.destroy();
        break;
      }
    }
  } catch (error) {
    throw new EnrollError(`enrollment at ${url.href} failed: ${(error as Error).message}`, null);
  }
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    // judged below
  }
  const answer = json as Partial<EnrollAnswer> & { detail?: unknown };
  if ((status === 201 || status === 202) && typeof answer?.key === 'string' && /^[\x21-\x7e]+$/.test(answer.key) && answer.hostId === body.hostId) {
    const file = writeHostKey(options.stateDir, answer.key);
    return { ...(answer as EnrollAnswer), file };
  }
  const why = typeof answer?.detail === 'string' ? answer.detail : text.slice(0, 200) || '(no body)';
  throw new EnrollError(`enrollment at ${url.href} refused (${status}): ${why}`, status);
}

export interface CredentialOptions {
  ingestUrl: URL;
  stateDir: string;
  tokenFile: string | null;
  secretFile: string | null;
  timeoutMs: number;
  log: (line: string) => void;
}

/** Which bearer a delivery uses, and getting a host key when there is none or it was revoked. */
export class Credentials {
  private lastToken: string | null = null;

  constructor(private readonly options: CredentialOptions) {}

  /** True when a secret is configured: the agent can enroll. */
  get canEnroll(): boolean {
    return this.options.secretFile !== null;
  }

  /**
   * The host key when the state directory has one, else the token file's token (read again
   * each time: a rotated file needs no restart), else '' (nothing yet: the collector answers
   * 401, and an agent with a secret enrolls).
   */
  current(): string {
    try {
      const key = readHostKey(this.options.stateDir);
      if (key !== null) return (this.lastToken = key);
      if (this.options.tokenFile !== null) return (this.lastToken = readTokenFile(this.options.tokenFile).token);
    } catch (error) {
      if (this.lastToken !== null) {
        this.options.log(`${(error as Error).message}; using the credential read before`);
        return this.lastToken;
      }
      throw error;
    }
    return '';
  }

  /** Whether there is a host key or a token to send (else enrollment comes first). */
  get hasCredential(): boolean {
    return readHostKey(this.options.stateDir) !== null || this.options.tokenFile !== null;
  }

  /**
   * Enrolls with the secret (after a 401, or before the first delivery when there is no
   * credential): true when a new host key is stored. A refusal or a collector out of reach is
   * logged and false: the reports wait in the spool, and the next cycle tries again.
   */
  async enroll(host: HostFacts, why: string): Promise<boolean> {
    if (this.options.secretFile === null) return false;
    try {
      const { token: secret, warning } = readTokenFile(this.options.secretFile);
      if (warning) this.options.log(`warning: ${warning.replace('token file', 'secret file')}`);
      const answer = await enrollHost({ ingestUrl: this.options.ingestUrl, secret, host, stateDir: this.options.stateDir, timeoutMs: this.options.timeoutMs });
      if (answer.state === 'pending') this.options.log(`enrolled as ${answer.hostId} (${why}), but the key is PENDING: ${answer.detail ?? 'a duplicate identity'}; key ${answer.keyId} stored in ${answer.file}`);
      else this.options.log(`enrolled as ${answer.hostId} (${why}): host key ${answer.keyId} stored in ${answer.file}`);
      return true;
    } catch (error) {
      this.options.log(`${(error as Error).message}; reports wait in the spool`);
      return false;
    }
  }
}
