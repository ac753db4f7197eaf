// GET /api/v1/probe-targets with the agent's token: the endpoints this vantage point probes
// and the per-attempt budget. A collector without the route (404: older than probing) is told
// apart from a failure, so `run --probe` can say so once and wait.
import { request, type Dispatcher } from 'undici';
import { readTargetList, type TargetList } from './targets.js';

export type TargetsAnswer = { kind: 'ok'; list: TargetList } | { kind: 'missing'; status: number } | { kind: 'failed'; message: string };

export interface FetchTargetsOptions {
  url: URL;
  token: string;
  timeoutMs: number;
  userAgent: string;
  dispatcher?: Dispatcher;
  signal?: AbortSignal;
}

/** The largest target list read (1,000 endpoints are ~200 KiB). */
const MAX_BODY_BYTES = 8 * 1024 * 1024;

export async function fetchProbeTargets(options: FetchTargetsOptions): Promise<TargetsAnswer> {
  let response: Dispatcher.ResponseData;
  try {
    response = await request(options.url, {
      method: 'GET',
      headers: { authorization: `Bearer ${options.token}`, accept: 'application/json', 'user-agent': options.userAgent },
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    return { kind: 'failed', message: `${typeof code === 'string' ? `${code} ` : ''}${(error as Error).message}` };
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of response.body) {
      size += (chunk as Buffer).length;
      if (size > MAX_BODY_BYTES) {
        response.body.destroy();
        return { kind: 'failed', message: `the target list is larger than ${MAX_BODY_BYTES} bytes` };
      }
      chunks.push(chunk as Buffer);
    }
  } catch (error) {
    return { kind: 'failed', message: (error as Error).message };
  }
  if (response.statusCode === 404) return { kind: 'missing', status: 404 };
  if (response.statusCode !== 200) return { kind: 'failed', message: `${response.statusCode} ${Buffer.concat(chunks).toString('utf8').replace(/\s+/g, ' ').slice(0, 200)}` };
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    return { kind: 'failed', message: 'the target list is not JSON' };
  }
  const list = readTargetList(body);
  return list === null ? { kind: 'failed', message: 'the answer is not a target list ({targets, timeoutMs})' } : { kind: 'ok', list };
}
