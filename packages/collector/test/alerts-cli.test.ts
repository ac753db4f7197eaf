// `dualstack-collector alerts test --receiver NAME` (the built dist/cli.js) against receivers
// on 127.0.0.1: a test notification in the receiver's format, retries, exit codes, and the
// attempts recorded in the database.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { Compile } from 'typebox/compile';
import { SlackBody, WebhookBody } from '../src/alerts/api.js';
import { SqliteAlertStore } from '../src/db/sqlite-alert-store.js';
import { SqliteStore } from '../src/db/sqlite-store.js';
import { collectorCli, startReceiver, stopProcess } from './helpers/alerts.js';

function run(t: TestContext, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [collectorCli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => stopProcess(child));
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

test('alerts test --receiver sends a test notification in the receiver format; failures retry and exit 1; every attempt is recorded', async (t) => {
  const ok = await startReceiver(t);
  const failing = await startReceiver(t);
  failing.respond = (_req, res) => res.writeHead(500, { 'content-type': 'text/plain' }).end('down for maintenance');
  const dir = mkdtempSync(join(tmpdir(), 'dualstack-alerts-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const db = join(dir, 'c.db');
  const config = join(dir, 'collector.json');
  writeFileSync(
    config,
    JSON.stringify({
      db,
      alerts: {
        receivers: [
          { name: 'ops', type: 'webhook', url: `${ok.url}/hook`, headers: { authorization: 'Bearer hook-secret' } },
          { name: 'chat', type: 'slack', url: `${ok.url}/slack` },
          { name: 'broken', type: 'webhook', url: `${failing.url}/hook`, retry: { initialMs: 50, maxMs: 100 } },
        ],
      },
    }),
  );

  const sent = await run(t, ['alerts', 'test', '--receiver', 'ops', '--config', config]);
  assert.equal(sent.code, 0, sent.stderr);
  assert.equal(sent.stdout, `test notification to 'ops' (webhook, ${ok.url}/hook): delivered\n`);
  assert.match(sent.stderr, /^attempt 1: HTTP 200 in \d+ ms\n$/);
  const body = ok.received[0]!.body as WebhookBody;
  assert.ok(Compile(WebhookBody).Check(body));
  assert.equal(body.kind, 'test');
  assert.equal(body.receiver, 'ops');
  assert.equal(ok.received[0]!.headers.authorization, 'Bearer hook-secret', 'the configured headers are sent');
  assert.equal(ok.received[0]!.headers['user-agent'], 'dualstack-collector');
  assert.equal(ok.received[0]!.headers['content-type'], 'application/json');

  const slack = await run(t, ['alerts', 'test', '--receiver', 'chat', '--config', config]);
  assert.equal(slack.code, 0, slack.stderr);
  assert.equal(ok.received[1]!.path, '/slack');
  assert.ok(Compile(SlackBody).Check(ok.received[1]!.body));

  const broken = await run(t, ['alerts', 'test', '--receiver', 'broken', '--config', config]);
  assert.equal(broken.code, 1);
  assert.equal(failing.received.length, 3, 'three attempts');
  assert.match(broken.stderr, /attempt 1: HTTP 500 \(HTTP 500: down for maintenance\) in \d+ ms\nattempt 2: .*\nattempt 3: .*\n/);
  assert.match(broken.stdout, /: NOT delivered\n$/);

  const unknown = await run(t, ['alerts', 'test', '--receiver', 'pager', '--config', config]);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /alerts test: no receiver named 'pager' in .*collector\.json \(receivers: ops, chat, broken\)/);

  const store = new SqliteStore(db, { staleAfterSeconds: 900 });
  t.after(() => store.close());
  const attempts = (await new SqliteAlertStore(store.database).deliveries({ limit: 10, offset: 0 })).items.reverse();
  assert.deepEqual(
    attempts.map((a) => [a.receiver, a.kind, a.attempt, a.statusCode, a.outcome]),
    [
      ['ops', 'test', 1, 200, 'delivered'],
      ['chat', 'test', 1, 200, 'delivered'],
      ['broken', 'test', 1, 500, 'retry'],
      ['broken', 'test', 2, 500, 'retry'],
      ['broken', 'test', 3, 500, 'failed'],
    ],
  );
});
