// TLS and HTTP attempts against real servers on 127.0.0.1 and ::1: certificates from openssl
// (a CA and a leaf for www.example.test, and a self-signed leaf), SNI and the Host header
// carrying the URL host while the connection goes to the one address, the certificate facts,
// a certificate for another name, an untrusted chain, HTTP status, server and location judged
// against `expect`, and a round's one TLS context (its CAs, its names checked per attempt, no
// session resumed through it).
import { before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import type { EndpointExpect } from '@dualstack/core';
import { probeAddress } from '../src/probe/attempt.js';
import { probeTargets } from '../src/probe/round.js';
import { systemResolver } from '../src/probe/resolve.js';
import { probeSecureContext } from '../src/probe/tls.js';
import { targetFromUrl } from '../src/probe/targets.js';
import { FAMILIES, listen, makeCerts, type Certs } from './helpers/probe-servers.js';

const NAME = 'www.example.test';
let certs: Certs;
before(() => {
  certs = makeCerts([NAME, 'example.test']);
});

interface Seen {
  servername: string | false | null;
  host: string | undefined;
  path: string | undefined;
}

/** An HTTP(S) app: / 200, /moved 301 to /new, /broken 503; every request's SNI, Host and path recorded. */
function app(seen: Seen[]) {
  return (req: IncomingMessage, res: ServerResponse) => {
    seen.push({ servername: (req.socket as TLSSocket).servername ?? null, host: req.headers.host, path: req.url });
    if (req.url === '/moved') res.writeHead(301, { location: `https://${NAME}/new`, server: 'probe-test/1.0' }).end();
    else if (req.url === '/broken') res.writeHead(503, { server: 'probe-test/1.0' }).end('down');
    else res.writeHead(200, { server: 'probe-test/1.0', 'content-type': 'text/plain' }).end('hello');
  };
}

async function httpsServer(t: TestContext, host: '127.0.0.1' | '::1', selfSigned = false) {
  const seen: Seen[] = [];
  const server = createHttpsServer({ key: selfSigned ? certs.selfKey : certs.key, cert: selfSigned ? certs.selfCert : certs.cert }, app(seen));
  const port = await listen(t, server, host);
  return { seen, port, server };
}

const target = (url: string, expect?: EndpointExpect) => targetFromUrl(url, 'web', expect);

for (const { family, host } of FAMILIES) {
  test(`https over IPv${family}: SNI and Host are the URL host, the connection goes to ${host}; TLS and HTTP facts recorded`, async (t) => {
    const { seen, port } = await httpsServer(t, host);
    const attempt = await probeAddress(target(`https://${NAME}:${port}/`), family, host, { timeoutMs: 5000, ca: certs.ca });
    assert.equal(attempt.outcome, 'ok', attempt.error);
    assert.equal(attempt.family, family);
    assert.equal(attempt.address, host);
    assert.equal(typeof attempt.connectMs, 'number');
    assert.deepEqual(seen, [{ servername: NAME, host: `${NAME}:${port}`, path: '/' }]);
    const tls = attempt.tls!;
    assert.equal(tls.authorized, true);
    assert.equal(tls.authorizationError, undefined);
    assert.equal(tls.subject, NAME);
    assert.deepEqual(tls.san, [`DNS:${NAME}`, 'DNS:example.test']);
    assert.match(tls.issuer!, /CN=dualstack test CA/);
    assert.equal(tls.fingerprint256, certs.fingerprint256);
    assert.match(tls.protocol!, /^TLSv1\.[23]$/);
    assert.ok(Date.parse(tls.validTo!) > Date.now(), tls.validTo!);
    assert.deepEqual(attempt.http, { status: 200, server: 'probe-test/1.0', location: null });
  });
}

test('a redirect is recorded, not followed; expect.status decides; a 5xx is unexpected', async (t) => {
  const { seen, port } = await httpsServer(t, '127.0.0.1');
  const options = { timeoutMs: 5000, ca: certs.ca };
  const moved = await probeAddress(target(`https://${NAME}:${port}/moved`), 4, '127.0.0.1', options);
  assert.equal(moved.outcome, 'ok', 'without expect.status any status below 500 answers');
  assert.deepEqual(moved.http, { status: 301, server: 'probe-test/1.0', location: `https://${NAME}/new` });
  assert.deepEqual(
    seen.map((s) => s.path),
    ['/moved'],
    'the redirect target was not requested',
  );
  const wanted = await probeAddress(target(`https://${NAME}:${port}/moved`, { status: 200 }), 4, '127.0.0.1', options);
  assert.equal(wanted.outcome, 'unexpected');
  assert.equal(wanted.error, 'HTTP 301, expected 200');
  const exact = await probeAddress(target(`https://${NAME}:${port}/moved`, { status: 301 }), 4, '127.0.0.1', options);
  assert.equal(exact.outcome, 'ok');
  const broken = await probeAddress(target(`https://${NAME}:${port}/broken`), 4, '127.0.0.1', options);
  assert.equal(broken.outcome, 'unexpected');
  assert.equal(broken.http?.status, 503);
});

test('plain http over both families: the Host header is the URL host and port', async (t) => {
  for (const { family, host } of FAMILIES) {
    const seen: Seen[] = [];
    const port = await listen(t, createHttpServer(app(seen)), host);
    const attempt = await probeAddress(target(`http://${NAME}:${port}/x?y=1`), family, host, { timeoutMs: 5000 });
    assert.equal(attempt.outcome, 'ok', attempt.error);
    assert.equal(attempt.tls, undefined);
    assert.deepEqual(seen, [{ servername: null, host: `${NAME}:${port}`, path: '/x?y=1' }]);
  }
});

test('a certificate not valid for expect.tlsName: unexpected, the facts still recorded', async (t) => {
  const { port } = await httpsServer(t, '::1');
  const attempt = await probeAddress(target(`https://${NAME}:${port}/`, { tlsName: 'mail.example.test' }), 6, '::1', { timeoutMs: 5000, ca: certs.ca });
  assert.equal(attempt.outcome, 'unexpected');
  assert.equal(attempt.tls?.authorized, false);
  assert.match(attempt.tls!.authorizationError!, /mail\.example\.test/);
  assert.equal(attempt.tls?.subject, NAME);
  assert.equal(attempt.http?.status, 200, 'the server answered: its answer is kept');
});

test('a self-signed certificate: tls-error with authorized false, the certificate recorded', async (t) => {
  const { port } = await httpsServer(t, '127.0.0.1', true);
  const attempt = await probeAddress(target(`https://${NAME}:${port}/`), 4, '127.0.0.1', { timeoutMs: 5000, ca: certs.ca });
  assert.equal(attempt.outcome, 'tls-error');
  assert.equal(attempt.tls?.authorized, false);
  assert.equal(attempt.tls?.authorizationError, 'DEPTH_ZERO_SELF_SIGNED_CERT');
  assert.equal(attempt.tls?.subject, NAME);
  assert.equal(typeof attempt.tls?.fingerprint256, 'string');
});

test('https to a server that does not speak TLS: tls-error; tls:// stops after the handshake', async (t) => {
  const port = await listen(t, createHttpServer(app([])), '127.0.0.1');
  const plain = await probeAddress(target(`https://${NAME}:${port}/`), 4, '127.0.0.1', { timeoutMs: 5000, ca: certs.ca });
  assert.equal(plain.outcome, 'tls-error');
  assert.equal(plain.tls, undefined);
  // SNI as the server reads it from the ClientHello (the prober may close before the server's
  // side of the handshake ends).
  const names: string[] = [];
  const tlsServer = createTlsServer(
    {
      key: certs.key,
      cert: certs.cert,
      SNICallback: (name, callback) => {
        names.push(name);
        callback(null, undefined);
      },
    },
    (socket) => socket.end(),
  );
  tlsServer.on('tlsClientError', () => undefined);
  const tlsPort = await listen(t, tlsServer, '::1');
  const raw = await probeAddress(targetFromUrl(`tls://${NAME}:${tlsPort}`, 'raw'), 6, '::1', { timeoutMs: 5000, ca: certs.ca });
  assert.equal(raw.outcome, 'ok', raw.error);
  assert.equal(raw.tls?.authorized, true);
  assert.equal(raw.http, undefined);
  assert.deepEqual(names, [NAME]);
});

test("a round's attempts share one TLS context: its CAs trust, each attempt checks its own name and makes a full handshake", async (t) => {
  const { port, server } = await httpsServer(t, '127.0.0.1');
  const reused: boolean[] = [];
  server.on('secureConnection', (socket: TLSSocket) => reused.push(socket.isSessionReused()));
  // A literal URL sends no SNI; the server's one certificate is checked against expect.tlsName.
  const url = `https://127.0.0.1:${port}/`;
  const targets = [target(url, { tlsName: NAME }), target(url, { tlsName: 'mail.example.test' }), target(url, { tlsName: NAME })];
  // One at a time, so a session from one handshake could be offered in the next.
  const round = { resolver: systemResolver(1000), timeoutMs: 5000, concurrency: 1 };
  const given = await probeTargets(targets, { ...round, secureContext: probeSecureContext(certs.ca) });
  const own = await probeTargets(targets, { ...round, ca: certs.ca });
  for (const [name, results] of [['the context given', given], ['the context made from ca', own]] as const) {
    assert.deepEqual(
      results.map((r) => [r.attempts[0]?.outcome, r.attempts[0]?.tls?.authorized]),
      [
        ['ok', true],
        ['unexpected', false],
        ['ok', true],
      ],
      `${name}: the chain trusted, the name checked per attempt`,
    );
  }
  assert.deepEqual(reused, [false, false, false, false, false, false], 'six full handshakes, none resumed');
});
