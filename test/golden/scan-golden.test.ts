// Golden end-to-end test of `dualstack-agent scan`: replay each captured fixture, drop the
// volatile fields, diff against the stored report. UPDATE_GOLDEN=1 rewrites them on purpose.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { validateReport } from '@dualstack/core/schema';

const here = dirname(fileURLToPath(import.meta.url));
const cli = join(here, '../../packages/agent/dist/cli.js');
const fixtures = join(here, '../fixtures');
const update = process.env.UPDATE_GOLDEN === '1';

function scan(fixture: string, ...args: string[]): string {
  return execFileSync(process.execPath, [cli, 'scan', '--proc-root', join(fixtures, fixture, 'proc'), ...args], { encoding: 'utf8' });
}

function stable(report: Record<string, unknown>): unknown {
  const { reportId: _id, collectedAt: _at, ...rest } = report;
  const sources = (rest.sources as Array<Record<string, unknown>>).map(({ durationMs: _d, ...s }) => s);
  return { ...rest, sources };
}

function compare(actual: string, goldenFile: string): void {
  const path = join(here, goldenFile);
  if (update || !existsSync(path)) {
    writeFileSync(path, actual);
    if (!update) assert.fail(`${goldenFile} did not exist and was written: check it and commit it`);
    return;
  }
  assert.equal(actual, readFileSync(path, 'utf8'), `${goldenFile} differs (UPDATE_GOLDEN=1 rewrites it after a deliberate change)`);
}

for (const fixture of ['dual-stack-services', 'bindv6only', 'no-ipv6-default', 'ipv6-off', 'broken/tcp-bad-hex']) {
  test(`scan --json replays ${fixture} as stored`, () => {
    const report = JSON.parse(scan(fixture, '--json'));
    const validation = validateReport(report);
    assert.ok(validation.ok, JSON.stringify(!validation.ok && validation.problems));
    compare(`${JSON.stringify(stable(report), null, 2)}\n`, `${fixture.replace('/', '-')}.json`);
  });
}

test('the terminal report of dual-stack-services is stable', () => {
  compare(scan('dual-stack-services'), 'dual-stack-services.txt');
});
