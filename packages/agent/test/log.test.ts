// run's JSON event lines: what each ship sentence becomes (level, event, reportId).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyLine } from '../src/log.js';

test('ship sentences get a level, an event name and the report they are about', () => {
  const id = '4f1c2d3e-0000-4000-8000-000000000001';
  assert.deepEqual(classifyLine(`delivered report ${id} (collected 2026-01-01T00:00:00.000Z): 202 stored; 2 findings open`), {
    level: 'info',
    event: 'delivered',
    msg: `delivered report ${id} (collected 2026-01-01T00:00:00.000Z): 202 stored; 2 findings open`,
    reportId: id,
  });
  assert.equal(classifyLine(`delivered spooled report ${id} (collected x): 202 stored`).reportId, id);
  assert.deepEqual(
    [`spooled report ${id} (collected x; collector unavailable)`, `rejected report ${id} (collected x): 400`, `dropped spooled report ${id} (collected x, 1 kB): spool full`].map((l) => {
      const { level, event } = classifyLine(l);
      return [level, event];
    }),
    [
      ['warn', 'spooled'],
      ['error', 'rejected'],
      ['error', 'dropped'],
    ],
  );
  assert.deepEqual(classifyLine('warning: token file /x is readable by others'), { level: 'warn', event: 'warning', msg: 'token file /x is readable by others' });
  assert.equal(classifyLine('retrying 2 reports in 5s (attempt 1)').event, 'retrying');
  assert.equal(classifyLine('scan failed: boom').level, 'error');
  assert.equal(classifyLine('stopped').event, 'stopped');
  // Skipped ticks are expected (a slow scan, a suspended host) and counted: debug, not warnings.
  assert.deepEqual(classifyLine('skipped a scan (2 so far): the previous one is still running'), { level: 'debug', event: 'overlap', msg: 'skipped a scan (2 so far): the previous one is still running' });
  assert.equal(classifyLine('skipped a scan (1 missed so far): its time, 2026-01-01T00:00:00.000Z, passed while the process was blocked or suspended').event, 'missed');
  assert.equal(classifyLine('scheduler notice: task still running, new execution blocked by overlap prevention!').level, 'debug');
  assert.equal(classifyLine('scheduler: Task failed with error!: boom').level, 'warn');
  assert.deepEqual(classifyLine('something new'), { level: 'info', event: 'message', msg: 'something new' });
});
