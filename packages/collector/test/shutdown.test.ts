// A SIGTERM'd `dualstack-collector serve` exits promptly although a client holds a connection
// on which it never sent a byte (browsers keep such spare connections; Node's server.close()
// does not count them idle and waited minutes for one), and a request in flight when the
// signal arrives still completes, its report committed before the database closes. Real
// processes, real sockets, a temp SQLite file; over HTTP and over HTTPS (a TLS spare has done
// its handshake but carries no request).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect as tcpConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test, type TestContext } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { COLLECTOR_CLI as CLI, runCollectorCli } from './helpers/cli.js';
import { reportFrom } from './helpers/reports.js';

const TLS_CERT = fileURLToPath(new URL('./fixtures/test-tls.crt', import.meta.url));
const TLS_KEY = fileURLToPath(new URL('./fixtures/test-tls.key', import.meta.url));
/** A prompt exit. Without the fix the process waits for the spare until headersTimeout (60 s) expires, checked every 30 s. */
const EXIT_WITHIN_MS = 5000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Served {
  child: ChildProcess;
  port: number;
  log: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

/** `dualstack-collector serve` on 127.0.0.1:0; its port from its JSON log. */
async function serve(t: TestContext, db: string, tls: boolean): Promise<Served> {
  const args = [CLI, 'serve', '--db', db, '--listen', '127.0.0.1:0', '--log-level', 'info', ...(tls ? ['--tls-cert', TLS_CERT, '--tls-key', TLS_KEY] : [])];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, at: performance.now() })),
  );
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const log: string[] = [];
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`collector did not start: ${stderr}`)), 15_000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      log.push(line);
      const match = /Server listening at https?:\/\/127\.0\.0\.1:(\d+)/.exec(line);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.once('exit', (code) => reject(new Error(`collector exited with ${code}: ${stderr}`)));
  });
  return { child, port, log, exited };
}

/** A connection, open (TLS: handshake done) and watched for its close. */
async function open(port: number, tls: boolean): Promise<{ socket: Socket; closed: Promise<number> }> {
  const socket: Socket = tls ? tlsConnect({ port, host: '127.0.0.1', rejectUnauthorized: false }) : tcpConnect(port, '127.0.0.1');
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(performance.now())));
  socket.on('error', () => {}); // a reset when the server drops it is what is expected
  await new Promise<void>((resolve, reject) => {
    socket.once(tls ? 'secureConnect' : 'connect', () => resolve());
    socket.once('error', reject);
  });
  return { socket, closed };
}

for (const tls of [false, true]) {
  const scheme = tls ? 'HTTPS' : 'HTTP';
  test(`${scheme}: SIGTERM exits within ${EXIT_WITHIN_MS / 1000} s although a connection never sent a byte, and a request in flight completes and is stored`, async (t) => {
    assert.ok(existsSync(CLI), `${CLI} is missing: run npx turbo run build first`);
    const dir = mkdtempSync(join(tmpdir(), 'dualstack-shutdown-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const db = join(dir, 'collector.db');
    const created = await runCollectorCli(['token', 'create', '--db', db, '--name', 'agent', '--role', 'agent']);
    assert.equal(created.code, 0, created.stderr);
    const token = created.stdout.trim();
    const served = await serve(t, db, tls);

    // The spares: a connection that sent nothing (with TLS: one that finished its handshake,
    // and a bare TCP one that never started it).
    const spares = [await open(served.port, tls), ...(tls ? [await open(served.port, false)] : [])];
    // A report upload in flight: its headers and half its body are sent before the signal,
    // the rest after it.
    const report = reportFrom('dual-stack-services', { hostId: 'in-flight-1', collectedAt: new Date(Date.now() - 60_000) });
    const body = Buffer.from(JSON.stringify(report));
    const upload = await open(served.port, tls);
    let response = '';
    upload.socket.on('data', (d: Buffer) => (response += d.toString('latin1')));
    const half = Math.floor(body.length / 2);
    upload.socket.write(
      `POST /api/v1/reports HTTP/1.1\r\nHost: 127.0.0.1:${served.port}\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
    );
    upload.socket.write(body.subarray(0, half));
    await sleep(500); // the collector has accepted every connection and read the upload's headers

    const signalled = performance.now();
    served.child.kill('SIGTERM');
    await sleep(500);
    assert.equal(served.child.exitCode, null, 'the collector waits for the upload');
    upload.socket.write(body.subarray(half));

    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([served.exited, new Promise<'still running'>((resolve) => (timer = setTimeout(() => resolve('still running'), EXIT_WITHIN_MS)))]);
    clearTimeout(timer);
    assert.notEqual(outcome, 'still running', `${EXIT_WITHIN_MS} ms after SIGTERM the collector still runs: a connection that never sent a byte holds its close`);
    const exit = outcome as Awaited<Served['exited']>;
    assert.deepEqual([exit.code, exit.signal], [0, null], 'a clean exit');
    assert.ok(exit.at - signalled < EXIT_WITHIN_MS, `exited ${Math.round(exit.at - signalled)} ms after SIGTERM`);

    // The upload got its answer: stored (202) with its ack.
    await upload.closed;
    const [head, ...rest] = response.split('\r\n\r\n');
    assert.match(head!, /^HTTP\/1\.1 202 /, response.slice(0, 300));
    assert.equal((JSON.parse(rest.join('\r\n\r\n')) as { reportId: string }).reportId, report.reportId);
    // Each spare was dropped by the collector, at the start of its shutdown.
    for (const spare of spares) {
      const closedAt = await spare.closed;
      assert.ok(closedAt - signalled < 1000, `a spare closed ${Math.round(closedAt - signalled)} ms after SIGTERM`);
      assert.equal(spare.socket.bytesWritten, 0, 'the spare never sent a byte');
    }
    assert.ok(served.log.some((line) => line.includes('shutting down: finishing in-flight requests')));

    // The report was committed before the database closed.
    const check = new Database(db, { readonly: true, fileMustExist: true });
    try {
      assert.equal(check.prepare('SELECT count(*) FROM reports WHERE report_id = ?').pluck().get(report.reportId), 1);
      assert.equal(check.prepare("SELECT count(*) FROM services WHERE host_id = 'in-flight-1'").pluck().get(), report.services.length);
    } finally {
      check.close();
    }
  });
}

/** Resolves with what `socket` received once it closes, or rejects after `ms`: no step of the test can hang. */
function responseOf(socket: Socket, ms: number): Promise<string> {
  let text = '';
  socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no complete answer within ${ms} ms; received so far: ${text.slice(0, 300)}`)), ms);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(text);
    });
  });
}

test('HTTP: a request that starts while the collector drains gets 503 with Retry-After and a problem, nothing stored; the upload in flight is stored (202)', async (t) => {
  assert.ok(existsSync(CLI), `${CLI} is missing: run npx turbo run build first`);
  const dir = mkdtempSync(join(tmpdir(), 'dualstack-shutdown-503-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const db = join(dir, 'collector.db');
  const created = await runCollectorCli(['token', 'create', '--db', db, '--name', 'agent', '--role', 'agent']);
  assert.equal(created.code, 0, created.stderr);
  const token = created.stdout.trim();
  const served = await serve(t, db, false);
  try {
    const head = (token: string, body: Buffer) =>
      `POST /api/v1/reports HTTP/1.1\r\nHost: 127.0.0.1:${served.port}\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`;
    // In flight at the signal: its headers and half its body.
    const inFlight = reportFrom('dual-stack-services', { hostId: 'drain-in-flight', collectedAt: new Date(Date.now() - 60_000) });
    const inFlightBody = Buffer.from(JSON.stringify(inFlight));
    const upload = await open(served.port, false);
    const uploadAnswer = responseOf(upload.socket, 10_000);
    upload.socket.write(head(token, inFlightBody));
    upload.socket.write(inFlightBody.subarray(0, 1000));
    // Started before the signal, but only its request line: the request itself comes during the drain.
    const late = reportFrom('dual-stack-services', { hostId: 'drain-in-flight', collectedAt: new Date(Date.now() - 30_000) });
    const lateBody = Buffer.from(JSON.stringify(late));
    const lateConnection = await open(served.port, false);
    const lateAnswer = responseOf(lateConnection.socket, 10_000);
    const lateHead = head(token, lateBody);
    lateConnection.socket.write(lateHead.slice(0, 20));
    await sleep(500);

    served.child.kill('SIGTERM');
    await sleep(500);
    lateConnection.socket.write(lateHead.slice(20));
    lateConnection.socket.write(lateBody);
    const refused = await lateAnswer;
    const [refusedHead, ...refusedBody] = refused.split('\r\n\r\n');
    assert.match(refusedHead!, /^HTTP\/1\.1 503 /, refused.slice(0, 300));
    assert.match(refusedHead!, /^retry-after: 5$/im);
    assert.match(refusedHead!, /^content-type: application\/problem\+json/im);
    assert.match(refusedHead!, /^connection: close$/im);
    const problem = JSON.parse(refusedBody.join('\r\n\r\n')) as { type: string; status: number; detail: string };
    assert.equal(problem.type, 'urn:dualstack:problem:shutting-down');
    assert.match(problem.detail, /shutting down.*Send again in 5 s/);

    upload.socket.write(inFlightBody.subarray(1000));
    const stored = await uploadAnswer;
    assert.match(stored, /^HTTP\/1\.1 202 /, stored.slice(0, 300));

    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([served.exited, new Promise<'still running'>((resolve) => (timer = setTimeout(() => resolve('still running'), EXIT_WITHIN_MS)))]);
    clearTimeout(timer);
    assert.notEqual(outcome, 'still running', `${EXIT_WITHIN_MS} ms after SIGTERM the collector still runs`);
    assert.deepEqual([(outcome as Awaited<Served['exited']>).code, (outcome as Awaited<Served['exited']>).signal], [0, null]);

    const check = new Database(db, { readonly: true, fileMustExist: true });
    try {
      assert.equal(check.prepare('SELECT count(*) FROM reports WHERE report_id = ?').pluck().get(inFlight.reportId), 1, 'the acknowledged upload is stored');
      assert.equal(check.prepare('SELECT count(*) FROM reports').pluck().get(), 1, 'nothing of the refused request');
    } finally {
      check.close();
    }
  } finally {
    // Ended by its PID whatever happened above.
    if (served.child.exitCode === null && served.child.signalCode === null) process.kill(served.child.pid!, 'SIGKILL');
  }
});
