/** A /proc file that does not read as its format says: names the file, line and field. */
export class ProcParseError extends Error {
  readonly file: string;
  readonly line: number;
  readonly field: string;
  readonly raw: string;
  constructor(opts: { file: string; line: number; field: string; raw: string; reason?: string }) {
    const reason = opts.reason ? ` (${opts.reason})` : '';
    super(`${opts.file} line ${opts.line}: bad ${opts.field}${reason}: ${JSON.stringify(opts.raw.slice(0, 200))}`);
    this.name = 'ProcParseError';
    this.file = opts.file;
    this.line = opts.line;
    this.field = opts.field;
    this.raw = opts.raw;
  }
}

/** Splits a /proc line on runs of blanks (spaces or tabs). */
export function fields(line: string): string[] {
  return line.trim().split(/[ \t]+/);
}

const HEX = /^[0-9A-Fa-f]+$/;
const DEC = /^[0-9]+$/;

export function hexField(raw: string | undefined, where: { file: string; line: number; field: string; rawLine: string }, digits?: number): number {
  if (raw === undefined) throw new ProcParseError({ ...where, raw: where.rawLine, reason: 'missing' });
  if (!HEX.test(raw) || (digits !== undefined && raw.length !== digits)) {
    throw new ProcParseError({ ...where, raw: where.rawLine, reason: `expected ${digits ?? ''} hex digits, got ${JSON.stringify(raw)}` });
  }
  return parseInt(raw, 16);
}

export function decField(raw: string | undefined, where: { file: string; line: number; field: string; rawLine: string }): number {
  if (raw === undefined) throw new ProcParseError({ ...where, raw: where.rawLine, reason: 'missing' });
  if (!DEC.test(raw)) throw new ProcParseError({ ...where, raw: where.rawLine, reason: `expected a decimal number, got ${JSON.stringify(raw)}` });
  return Number(raw);
}
