// The report's schema id, importable without loading TypeBox (the agent needs only this).
export const REPORT_SCHEMA = 'dualstack.report/v1';
export const REPORT_SCHEMA_MAJOR = 1;

/** The major version of a `dualstack.report/vN` schema string, or null when it is not one. */
export function schemaMajor(schema: unknown): number | null {
  if (typeof schema !== 'string') return null;
  const match = /^dualstack\.report\/v(\d+)$/.exec(schema);
  return match ? Number(match[1]) : null;
}

/** Probe batches of vantage points (POST /api/v1/probe-results). */
export const PROBE_SCHEMA = 'dualstack.probe/v1';
