// What `push` and `run` are told on the command line, checked once, with a one-line error
// naming the option: the collector URL, the token file, durations, sizes, the schedule.
import { readFileSync, statSync } from 'node:fs';
import cron from 'node-cron';

/** A configuration mistake: the CLI prints the message as one line and exits 1. */
export class ShipConfigError extends Error {
  override name = 'ShipConfigError';
}

export const INGEST_PATH = '/api/v1/reports';

/**
 * The ingest endpoint for a --collector value: a base URL (`http://collector:8080`, or one with
 * a path prefix behind a proxy) gets /api/v1/reports appended; a URL already ending in it is
 * kept.
 */
export function collectorEndpoint(value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ShipConfigError(`--collector '${value}' is not a URL (e.g. https://collector.example:8443)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ShipConfigError(`--collector '${value}' must be an http:// or https:// URL`);
  if (url.username || url.password) throw new ShipConfigError('--collector must not carry credentials; the token comes from --token-file');
  if (url.search || url.hash) throw new ShipConfigError(`--collector '${value}' must not have a query or fragment`);
  if (!url.pathname.replace(/\/+$/, '').endsWith(INGEST_PATH)) url.pathname = `${url.pathname.replace(/\/+$/, '')}${INGEST_PATH}`;
  else url.pathname = url.pathname.replace(/\/+$/, '');
  return url;
}

/**
 * Another collector endpoint beside the ingest one (/api/v1/probe-targets,
 * /api/v1/probe-results): the same base, path prefix and all.
 */
export function collectorUrl(ingest: URL, path: string): URL {
  const url = new URL(ingest.href);
  url.pathname = `${url.pathname.slice(0, url.pathname.length - INGEST_PATH.length)}${path}`;
  return url;
}

/** True when the token would cross the network in clear text (http:// to a non-loopback host). */
export function sendsTokenInClear(url: URL): boolean {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return url.protocol === 'http:' && !(host === 'localhost' || host === '::1' || /^127\./.test(host));
}

export interface TokenFile {
  token: string;
  /** Set when the file is readable or writable by group or others (mode & 0o077). */
  warning: string | null;
}

/** Reads a bearer token: the file must exist and hold one token (surrounding whitespace ignored). */
export function readTokenFile(path: string): TokenFile {
  let text: string;
  let mode: number;
  try {
    mode = statSync(path).mode;
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'is not readable by this user' : code === 'EISDIR' ? 'is a directory' : (error as Error).message;
    throw new ShipConfigError(`token file ${path} ${why}`);
  }
  const token = text.trim();
  if (token === '') throw new ShipConfigError(`token file ${path} is empty`);
  // RFC 6750 b64token characters, more or less: anything visible, no spaces or line breaks
  // (a second line would otherwise end up in the Authorization header).
  if (!/^[\x21-\x7e]+$/.test(token)) throw new ShipConfigError(`token file ${path} must hold one token on one line (no spaces or control characters)`);
  const warning = (mode & 0o077) !== 0 ? `token file ${path} is readable by others (mode ${(mode & 0o777).toString(8).padStart(4, '0')}); chmod 600 ${path}` : null;
  return { token, warning };
}

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/** "30s", "5m", "1h", "500ms" -> ms. */
export function parseDuration(value: string, option: string): number {
  const match = /^(\d+)(ms|s|m|h)$/.exec(value.trim());
  if (!match) throw new ShipConfigError(`${option} takes a duration like 30s, 5m or 1h, not '${value}'`);
  return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
}

/** "100M", "512k", "1G", "2048" (bytes) -> bytes. */
export function parseSize(value: string, option: string): number {
  const match = /^(\d+)\s*([kmg]i?b?|b)?$/i.exec(value.trim());
  if (!match) throw new ShipConfigError(`${option} takes a size like 100M or 512k, not '${value}'`);
  const unit = (match[2] ?? 'b').toLowerCase()[0];
  const factor = unit === 'k' ? 1024 : unit === 'm' ? 1024 ** 2 : unit === 'g' ? 1024 ** 3 : 1;
  const bytes = Number(match[1]) * factor;
  if (bytes < 1) throw new ShipConfigError(`${option} must be at least 1 byte`);
  return bytes;
}

/**
 * The cron expression (node-cron, with seconds) that fires every `ms`: whole seconds that
 * divide a minute, whole minutes that divide an hour, whole hours that divide a day. Other
 * intervals drift at the boundary (`*\/7` fires at :56 then :00), so they are refused with a
 * pointer to --schedule.
 */
export function intervalToCron(ms: number, option = '--interval'): string {
  const refuse = () => new ShipConfigError(`${option} ${describeInterval(ms)} does not divide a minute, an hour or a day evenly; use e.g. 30s, 5m, 15m, 1h, or --schedule with a cron expression`);
  if (ms <= 0 || ms % 1000 !== 0) throw refuse();
  const seconds = ms / 1000;
  if (seconds < 60) {
    if (60 % seconds !== 0) throw refuse();
    return seconds === 1 ? '* * * * * *' : `*/${seconds} * * * * *`;
  }
  if (seconds % 60 !== 0) throw refuse();
  const minutes = seconds / 60;
  if (minutes < 60) {
    if (60 % minutes !== 0) throw refuse();
    return minutes === 1 ? '0 * * * * *' : `0 */${minutes} * * * *`;
  }
  if (minutes % 60 !== 0) throw refuse();
  const hours = minutes / 60;
  if (hours === 24) return '0 0 0 * * *';
  if (hours > 24 || 24 % hours !== 0) throw refuse();
  return hours === 1 ? '0 0 * * * *' : `0 0 */${hours} * * *`;
}

export function checkCronExpression(expression: string): string {
  const detail = cron.validateDetailed(expression);
  if (!detail.valid) {
    const why = detail.errors.map((e) => `${e.field}: ${e.message}`).join('; ');
    throw new ShipConfigError(`--schedule '${expression}' is not a cron expression${why ? ` (${why})` : ''}`);
  }
  return expression;
}

export function describeInterval(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
