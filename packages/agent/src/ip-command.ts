// Running iproute2's `ip -j` and reading its JSON, shared by the sources that ask ip(8) what
// /proc does not show (routing tables by id, policy rules, neighbour flags). The parsers stay
// pure: they take the command's output text and name the command in every error.
import { runCommand } from './command.js';

/** Output of an `ip -j` command that is not what iproute2 prints: names the command, entry and field. */
export class CommandOutputError extends Error {
  readonly command: string;
  /** Index of the JSON array entry at fault, or null when the output as a whole is. */
  readonly entry: number | null;
  readonly field: string;
  readonly raw: string;
  constructor(opts: { command: string; entry: number | null; field: string; raw: string; reason: string }) {
    const where = opts.entry === null ? '' : ` entry ${opts.entry}`;
    super(`${opts.command}:${where} bad ${opts.field} (${opts.reason}): ${opts.raw.slice(0, 200)}`);
    this.name = 'CommandOutputError';
    this.command = opts.command;
    this.entry = opts.entry;
    this.field = opts.field;
    this.raw = opts.raw;
  }
}

export type JsonObject = Record<string, unknown>;

/** The entries of an `ip -j ... show` output: a JSON array of objects. Empty output reads as []. */
export function parseIpJsonArray(text: string, command: string): JsonObject[] {
  // ip prints nothing at all (not even "[]") for some empty dumps in older versions.
  if (text.trim() === '') return [];
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new CommandOutputError({ command, entry: null, field: 'output', raw: text, reason: `not JSON: ${(error as Error).message}` });
  }
  if (!Array.isArray(value)) throw new CommandOutputError({ command, entry: null, field: 'output', raw: text, reason: 'expected a JSON array' });
  value.forEach((entry, index) => {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      throw new CommandOutputError({ command, entry: index, field: 'entry', raw: JSON.stringify(entry), reason: 'expected an object' });
    }
  });
  return value as JsonObject[];
}

/** Typed field access for one entry; every mismatch is a CommandOutputError naming the field. */
export class EntryReader {
  /**
   * `entry` is the object read; for an object nested in an entry (a nexthop), `prefix` names
   * its place (`nexthops[1].`) and `whole` is the entry, shown in errors.
   */
  constructor(
    readonly command: string,
    readonly index: number,
    readonly entry: JsonObject,
    readonly prefix = '',
    readonly whole: JsonObject = entry,
  ) {}

  /** A reader for an object nested under `field` of this entry. */
  nested(field: string, value: unknown): EntryReader {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) this.fail(field, `expected an object, got ${JSON.stringify(value)}`);
    return new EntryReader(this.command, this.index, value as JsonObject, `${this.prefix}${field}.`, this.whole);
  }

  fail(field: string, reason: string): never {
    throw new CommandOutputError({ command: this.command, entry: this.index, field: `${this.prefix}${field}`, raw: JSON.stringify(this.whole), reason });
  }

  has(field: string): boolean {
    return Object.hasOwn(this.entry, field);
  }

  optionalString(field: string): string | null {
    if (!this.has(field)) return null;
    const value = this.entry[field];
    if (typeof value !== 'string') this.fail(field, `expected a string, got ${JSON.stringify(value)}`);
    return value;
  }

  string(field: string): string {
    const value = this.optionalString(field);
    if (value === null) this.fail(field, 'missing');
    return value;
  }

  optionalInteger(field: string): number | null {
    if (!this.has(field)) return null;
    const value = this.entry[field];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) this.fail(field, `expected a non-negative integer, got ${JSON.stringify(value)}`);
    return value;
  }

  integer(field: string): number {
    const value = this.optionalInteger(field);
    if (value === null) this.fail(field, 'missing');
    return value;
  }

  /** ip prints a set flag as `"name": null` (print_null), and omits an unset one. */
  flag(field: string): boolean {
    if (!this.has(field)) return false;
    const value = this.entry[field];
    if (value === null || value === true) return true;
    if (value === false) return false;
    return this.fail(field, `expected a flag (null), got ${JSON.stringify(value)}`);
  }

  optionalStringArray(field: string): string[] | null {
    if (!this.has(field)) return null;
    const value = this.entry[field];
    if (!Array.isArray(value) || !value.every((v): v is string => typeof v === 'string')) {
      this.fail(field, `expected an array of strings, got ${JSON.stringify(value)}`);
    }
    return value;
  }
}

/** Runs `ip ARGS`; rejects with CommandMissingError when ip is not installed. */
export function runIp(args: readonly string[], binary = 'ip'): Promise<string> {
  return runCommand(binary, args, { maxBuffer: 64 * 1024 * 1024 });
}
