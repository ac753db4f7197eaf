// What to probe: an endpoint URL given on the command line, or the collector's list
// (GET /api/v1/probe-targets). The collector's list is re-parsed here with the same
// parseEndpointUrl it checked it with: an entry this agent cannot parse is skipped and named.
import { parseEndpointUrl, type EndpointExpect, type ProbeTarget } from '@dualstack/core';

/** A target from a URL; throws EndpointUrlError saying what is wrong with it. */
export function targetFromUrl(url: string, name: string, expect?: EndpointExpect): ProbeTarget {
  const address = parseEndpointUrl(url);
  return { name, url, ...address, ...(expect ? { expect } : {}) };
}

/** A name for an endpoint given only by its URL: host and port, as the name pattern allows. */
export function nameOfUrl(url: string): string {
  const { host, port } = parseEndpointUrl(url);
  return `${host.replace(/[^A-Za-z0-9._-]/g, '_')}_${port}`;
}

export interface TargetList {
  targets: ProbeTarget[];
  timeoutMs: number;
  /** Entries skipped, with why. */
  skipped: string[];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Reads a ProbeTargets body; null when it is not one. */
export function readTargetList(body: unknown): TargetList | null {
  if (!isObject(body) || !Array.isArray(body.targets) || typeof body.timeoutMs !== 'number' || !(body.timeoutMs >= 100)) return null;
  const list: TargetList = { targets: [], timeoutMs: body.timeoutMs, skipped: [] };
  body.targets.forEach((entry, index) => {
    if (!isObject(entry) || typeof entry.name !== 'string' || typeof entry.url !== 'string') {
      list.skipped.push(`targets[${index}] has no name or url`);
      return;
    }
    const expect: EndpointExpect = {};
    if (isObject(entry.expect)) {
      if (typeof entry.expect.status === 'number') expect.status = entry.expect.status;
      if (typeof entry.expect.tlsName === 'string') expect.tlsName = entry.expect.tlsName;
    }
    try {
      list.targets.push(targetFromUrl(entry.url, entry.name, Object.keys(expect).length > 0 ? expect : undefined));
    } catch (error) {
      list.skipped.push(`${entry.name}: ${(error as Error).message}`);
    }
  });
  return list;
}
