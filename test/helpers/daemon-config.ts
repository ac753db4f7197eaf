// What every daemon-config namespace test does around its daemon: scan the temp etc tree the
// daemon runs with (--etc-root), pick one finding, and apply a printed config fix the way an
// operator would (the `#   line` lines under each `# FILE, line N:` header replace line N).
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Finding, Report } from '../../packages/core/src/index.js';
import { validateReport } from '../../packages/core/src/schema.js';
import type { Netns } from './netns.js';

const CLI = fileURLToPath(new URL('../../packages/agent/dist/cli.js', import.meta.url));

/** The built agent's report of ns with its daemon configs read from `etc`; the source must be ok. */
export async function scanEtc(ns: Netns, etc: string): Promise<Report> {
  const r = await ns.exec(process.execPath, [CLI, 'scan', '--json', '--etc-root', etc], { timeoutMs: 30_000 });
  assert.equal(r.code, 0, `scan failed: ${r.stderr}`);
  const v = validateReport(JSON.parse(r.stdout) as unknown);
  assert.ok(v.ok, JSON.stringify(!v.ok && v.problems));
  const source = v.report.sources.find((s) => s.name === 'daemon-config');
  assert.equal(source?.status, 'ok', JSON.stringify(source));
  return v.report;
}

export function only(r: Report, rule: string): Finding {
  const hits = r.findings.filter((f) => f.rule === rule);
  assert.equal(hits.length, 1, `one ${rule} expected: ${r.findings.map((f) => `${f.rule} ${f.subject}`).join(', ')}`);
  return hits[0]!;
}

/** The config-* and acl-* findings, as `rule subject`. */
export const configFindings = (r: Report): string[] => r.findings.filter((f) => f.rule.startsWith('config-') || f.rule.startsWith('acl-')).map((f) => `${f.rule} ${f.subject}`);

/**
 * Applies a config fix as an operator would: the `#   ` lines under a `# FILE, line N:` header
 * (one command may hold several, newline-separated) replace line N of FILE; a fix may change
 * several lines, applied from the bottom so earlier line numbers stay right. Returns the files
 * changed, one entry per header.
 */
export function applyConfigFixes(f: Finding, etc: string): string[] {
  const edits: Array<{ file: string; line: number; replacement: string[] }> = [];
  f.fix.commands.forEach((command, i) => {
    const m = /^# (\/etc\/\S+), line (\d+):$/.exec(command);
    if (!m) return;
    const replacement = f.fix.commands[i + 1]!.split('\n').map((l) => l.replace(/^#   /, ''));
    edits.push({ file: m[1]!, line: Number(m[2]), replacement });
  });
  assert.ok(edits.length > 0, `the fix names no file and line: ${f.fix.commands.join(' | ')}`);
  for (const edit of [...edits].sort((a, b) => (a.file === b.file ? b.line - a.line : 0))) {
    const path = join(etc, edit.file.replace(/^\/etc\//, ''));
    const lines = readFileSync(path, 'utf8').split('\n');
    lines.splice(edit.line - 1, 1, ...edit.replacement);
    writeFileSync(path, lines.join('\n'));
  }
  return edits.map((e) => e.file);
}
