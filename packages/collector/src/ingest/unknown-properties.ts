// Properties the report schema does not name are removed before the report is stored (the
// stored body is the one the host API and the dashboard serve). Not refused: an agent of a
// newer minor version sends optional fields this collector does not know yet (schema v1 grows
// by optional fields), and its report must still be stored. The check runs first, compiled:
// only a report that has such properties pays for cleaning and serializing it again.
import { Report } from '@dualstack/core/schema';
import { Compile } from 'typebox/compile';
import Value from 'typebox/value';

/** The schema with additionalProperties: false on every object that does not say otherwise. */
function closed(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(closed);
  if (schema === null || typeof schema !== 'object') return schema;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) out[key] = closed(value);
  const object = schema as { type?: unknown; properties?: unknown; additionalProperties?: unknown };
  if (object.type === 'object' && object.properties !== undefined && object.additionalProperties === undefined) out.additionalProperties = false;
  return out;
}

let closedReport: ReturnType<typeof Compile> | undefined;

/** Whether `report` (valid against the schema) has properties the schema does not name. */
export function hasUnknownProperties(report: unknown): boolean {
  closedReport ??= Compile(closed(Report) as typeof Report);
  return !closedReport.Check(report);
}

/** `report` without the properties the schema does not name (a new value; the argument is left as it was). */
export function withoutUnknownProperties<T>(report: T): T {
  return Value.Clean(Report, structuredClone(report)) as T;
}
