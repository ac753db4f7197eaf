// Shared by the agent's parser tests: where the captured fixtures live, throw-away /proc trees
// for cases no capture holds, and one way to catch a ProcParseError (class checked, never
// "something threw").
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CommandOutputError } from '../../src/ip-command.js';
import { ProcParseError } from '../../src/proc/errors.js';
import { procRoot, type ProcRoot } from '../../src/proc/root.js';

/** test/fixtures at the repository root (captured by test/fixtures/make-fixtures.ts). */
export const FIXTURES = fileURLToPath(new URL('../../../../test/fixtures/', import.meta.url));

export function fixtureFile(name: string, rel: string): string {
  return join(FIXTURES, name, rel);
}

export function fixtureProc(name: string): ProcRoot {
  return procRoot(join(FIXTURES, name, 'proc'));
}

/** A fixture's /proc file as the agent reads it (latin1). */
export function fixtureProcText(name: string, rel: string): string {
  return readFileSync(join(FIXTURES, name, 'proc', rel), 'latin1');
}

/** Lines of a /proc text without the final empty piece after the last newline. */
export function linesOf(text: string): string[] {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** Runs `fn`, which must throw a ProcParseError, and returns it for the field checks. */
export function parseErrorOf(fn: () => unknown): ProcParseError {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  assert.ok(thrown !== undefined, 'expected a ProcParseError, nothing was thrown');
  assert.ok(thrown instanceof ProcParseError, `expected a ProcParseError, got ${String(thrown)}`);
  return thrown;
}

/**
 * A throw-away /proc tree: `files` maps paths under it to their text, `links` maps paths to
 * symlink targets (fd/*, exe). Removed when the test ends.
 */
export function tempProc(t: TestContext, files: Record<string, string>, links: Record<string, string> = {}): ProcRoot {
  const dir = mkdtempSync(join(tmpdir(), 'dualstack-proc-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), text, 'latin1');
  }
  for (const [rel, target] of Object.entries(links)) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    symlinkSync(target, join(dir, rel));
  }
  return procRoot(dir);
}

/** Runs `fn`, which must throw a CommandOutputError (ip's output), and returns it for the field checks. */
export function commandErrorOf(fn: () => unknown): CommandOutputError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof CommandOutputError, `expected a CommandOutputError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected a CommandOutputError, nothing was thrown');
}
