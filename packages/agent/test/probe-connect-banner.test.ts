// TCP outcomes and banners against real listeners on 127.0.0.1 and ::1: refused (nothing
// listens), timeout (a listener whose accept queue is full drops further SYNs, so the connect
// never completes: the attempt must end at its own budget), reset, and the first line of
// SMTP, IMAP, POP3, FTP and SSH servers, right and wrong.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { connect, createServer, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { createInterface } from 'node:readline';
import { probeAddress } from '../src/probe/attempt.js';
import { targetFromUrl } from '../src/probe/targets.js';
import { FAMILIES, listen, makeCerts } from './helpers/probe-servers.js';

const urlHost = (host: string) => (host.includes(':') ? `[${host}]` : host);

/** A port on `host` that nothing listens on (bound, then released). */
async function closedPort(t: TestContext, host: '127.0.0.1' | '::1'): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  void t;
  return port;
}

/** A greeting server: writes `greeting` on connect (or resets, or closes) and waits. */
async function greeter(t: TestContext, host: '127.0.0.1' | '::1', greeting: string | 'reset' | 'close') {
  const server = createServer((socket) => {
    socket.on('error', () => undefined);
    if (greeting === 'reset') socket.resetAndDestroy();
    else if (greeting === 'close') socket.end();
    else socket.write(greeting);
  });
  return listen(t, server, host);
}

for (const { family, host } of FAMILIES) {
  test(`IPv${family}: nothing listening is refused`, async (t) => {
    const port = await closedPort(t, host);
    const attempt = await probeAddress(targetFromUrl(`tcp://${urlHost(host)}:${port}`, 'db'), family, host, { timeoutMs: 5000 });
    assert.equal(attempt.outcome, 'refused');
    assert.equal(attempt.error, 'ECONNREFUSED');
    assert.equal(attempt.connectMs, null);
  });

  test(`IPv${family}: a peer that never completes the handshake ends at the attempt's timeout`, async (t) => {
    // python3 listens with a backlog of 0 and never accepts: once its accept queue holds a
    // connection, the kernel drops further SYNs (tcp_conn_request: accept queue full).
    const python = spawn('python3', ['-c', `import socket,sys\ns=socket.socket(socket.AF_INET${family === 6 ? '6' : ''})\ns.bind(('${host}',0))\ns.listen(0)\nprint(s.getsockname()[1],flush=True)\nsys.stdin.read()`], { stdio: ['pipe', 'pipe', 'inherit'] });
    t.after(() => {
      if (python.exitCode === null && python.pid !== undefined) process.kill(python.pid, 'SIGKILL');
    });
    const [line] = await createInterface({ input: python.stdout! })[Symbol.asyncIterator]().next().then((r) => [r.value as string]);
    const port = Number(line);
    // Fill the queue: connect until a connect no longer completes on its own.
    const fillers: Socket[] = [];
    t.after(() => fillers.forEach((s) => s.destroy()));
    for (let full = false; !full; ) {
      const socket = connect({ host, port });
      socket.on('error', () => undefined);
      fillers.push(socket);
      full = !(await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), 300);
        socket.once('connect', () => {
          clearTimeout(timer);
          resolve(true);
        });
      }));
      assert.ok(fillers.length < 50, 'the accept queue never filled');
    }
    const attempt = await probeAddress(targetFromUrl(`https://${urlHost(host)}:${port}/`, 'blackhole'), family, host, { timeoutMs: 400 });
    assert.equal(attempt.outcome, 'timeout');
    assert.equal(attempt.connectMs, null);
    assert.equal(attempt.error, 'timed out');
  });

  test(`IPv${family}: a reset right after connecting is reset`, async (t) => {
    const port = await greeter(t, host, 'reset');
    const attempt = await probeAddress(targetFromUrl(`smtp://${urlHost(host)}:${port}`, 'mx'), family, host, { timeoutMs: 5000 });
    assert.equal(attempt.outcome, 'reset');
    // The RST may come before or after the connect is reported: reset either way.
    assert.equal(attempt.error, 'ECONNRESET');
  });
}

const GREETINGS: Array<[string, string, string]> = [
  ['smtp', '220 mx.example.test ESMTP Postfix (Debian/GNU)\r\n', '220 mx.example.test ESMTP Postfix (Debian/GNU)'],
  ['imap', '* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS AUTH=PLAIN] Dovecot (Debian) ready.\r\n', '* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS AUTH=PLAIN] Dovecot (Debian) ready.'],
  ['pop3', '+OK Dovecot (Debian) ready.\r\n', '+OK Dovecot (Debian) ready.'],
  ['ftp', '220 (vsFTPd 3.0.3)\r\n', '220 (vsFTPd 3.0.3)'],
  ['ssh', 'SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n', 'SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3'],
];

for (const [scheme, greeting, banner] of GREETINGS) {
  test(`${scheme}: the greeting is the banner, over both families`, async (t) => {
    for (const { family, host } of FAMILIES) {
      const port = await greeter(t, host, greeting);
      const attempt = await probeAddress(targetFromUrl(`${scheme}://${urlHost(host)}:${port}`, scheme), family, host, { timeoutMs: 5000 });
      assert.equal(attempt.outcome, 'ok', attempt.error);
      assert.equal(attempt.banner, banner);
    }
  });
}

test('a wrong first line is protocol-error; the protocol refusing is unexpected; no greeting at all is protocol-error', async (t) => {
  const cases: Array<[string, string | 'close', string, string]> = [
    ['smtp', 'SSH-2.0-OpenSSH_9.2p1\r\n', 'protocol-error', 'not a SMTP greeting'],
    ['ssh', '220 mx.example.test ESMTP\r\n', 'protocol-error', 'not a SSH greeting'],
    ['imap', '+OK Dovecot ready.\r\n', 'protocol-error', 'not an IMAP greeting'],
    ['pop3', 'HTTP/1.1 400 Bad Request\r\n', 'protocol-error', 'not a POP3 greeting'],
    ['smtp', '554 5.7.1 no service for you\r\n', 'unexpected', 'greeting 554, not 220'],
    ['imap', '* BYE too many connections\r\n', 'unexpected', 'greeting * BYE'],
    ['ftp', 'close', 'protocol-error', 'closed without a greeting'],
  ];
  for (const [scheme, greeting, outcome, error] of cases) {
    const port = await greeter(t, '127.0.0.1', greeting);
    const attempt = await probeAddress(targetFromUrl(`${scheme}://127.0.0.1:${port}`, scheme), 4, '127.0.0.1', { timeoutMs: 5000 });
    assert.equal(attempt.outcome, outcome, `${scheme} ${greeting}`);
    assert.equal(attempt.error, error, `${scheme} ${greeting}`);
  }
});

test('a server that says nothing: the banner read ends at the timeout; a banner is cut at 200 characters', async (t) => {
  const silent = await listen(t, createServer(() => undefined), '::1');
  const attempt = await probeAddress(targetFromUrl(`ssh://[::1]:${silent}`, 'ssh'), 6, '::1', { timeoutMs: 300 });
  assert.equal(attempt.outcome, 'timeout');
  assert.equal(typeof attempt.connectMs, 'number', 'connected, then waited');
  const long = await greeter(t, '127.0.0.1', `220 ${'x'.repeat(400)}\r\n`);
  const cut = await probeAddress(targetFromUrl(`smtp://127.0.0.1:${long}`, 'mx'), 4, '127.0.0.1', { timeoutMs: 5000 });
  assert.equal(cut.outcome, 'ok');
  assert.equal(cut.banner?.length, 200);
});

test('smtps: the banner is read inside TLS', async (t) => {
  const certs = makeCerts(['mx.example.test']);
  const server = createTlsServer({ key: certs.key, cert: certs.cert }, (socket) => socket.write('220 mx.example.test ESMTP\r\n'));
  server.on('tlsClientError', () => undefined);
  const port = await listen(t, server, '127.0.0.1');
  const attempt = await probeAddress(targetFromUrl(`smtps://mx.example.test:${port}`, 'mx'), 4, '127.0.0.1', { timeoutMs: 5000, ca: certs.ca });
  assert.equal(attempt.outcome, 'ok', attempt.error);
  assert.equal(attempt.tls?.subject, 'mx.example.test');
  assert.equal(attempt.banner, '220 mx.example.test ESMTP');
});
