// Statements sent by name. PostgreSQL parses and plans an unnamed statement on every call; a
// named one is prepared once per connection (node-postgres sends Parse the first time the
// connection sees the name, then only Bind/Execute) and, after a few executions, runs a cached
// plan. Measured with the ingest bench's --pg-statements: planning was 30-210 µs of the
// server's CPU per call of each ingest statement, ~160 µs a report in all.
//
// Only statements from a bounded set of texts get names, so a connection holds a bounded
// number of prepared statements: fixed texts, and multi-row statements once per row count
// (a batch holds at most MAX_BATCH reports). A name stands for exactly one text.
import type pg from 'pg';

const texts = new Map<string, string>();

/** `text` as the statement `name` (for a multi-row text, a name per row count: `name/rows`). */
export function named(name: string, text: string, values?: unknown[]): pg.QueryConfig {
  const known = texts.get(name);
  if (known === undefined) texts.set(name, text);
  // Two texts under one name would make PostgreSQL run the first one's plan for the second.
  else if (known !== text) throw new Error(`statement name '${name}' is already used for another text`);
  return values === undefined ? { name, text } : { name, text, values };
}
