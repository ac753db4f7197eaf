// parseEndpointUrl: what a declared endpoint's url becomes (scheme, TLS, protocol, host, port,
// path) and the reason text of every refusal, which the collector prints after the key name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ENDPOINT_SCHEMES, EndpointUrlError, isDnsName, parseEndpointUrl } from '../src/endpoint-url.js';

test('every scheme gets its default port, TLS flag and protocol', () => {
  const expected: Record<string, [number | null, boolean, string]> = {
    http: [80, false, 'http'],
    https: [443, true, 'http'],
    smtp: [25, false, 'smtp'],
    smtps: [465, true, 'smtp'],
    imap: [143, false, 'imap'],
    imaps: [993, true, 'imap'],
    pop3: [110, false, 'pop3'],
    pop3s: [995, true, 'pop3'],
    ftp: [21, false, 'ftp'],
    ssh: [22, false, 'ssh'],
    tcp: [null, false, 'tcp'],
    tls: [null, true, 'tcp'],
  };
  assert.deepEqual(Object.keys(ENDPOINT_SCHEMES).sort(), Object.keys(expected).sort());
  for (const [scheme, [port, tls, protocol]] of Object.entries(expected)) {
    const url = port === null ? `${scheme}://svc.example.net:7000` : `${scheme}://svc.example.net`;
    assert.deepEqual(
      parseEndpointUrl(url),
      { scheme, tls, protocol, host: 'svc.example.net', literal: null, port: port ?? 7000, path: '/' },
      url,
    );
  }
});

test('an explicit port wins over the default; host is lower-cased, the root dot dropped, the scheme case-insensitive', () => {
  assert.deepEqual(parseEndpointUrl('SMTP://MX.Example.NET.:2525'), {
    scheme: 'smtp',
    tls: false,
    protocol: 'smtp',
    host: 'mx.example.net',
    literal: null,
    port: 2525,
    path: '/',
  });
  assert.equal(parseEndpointUrl('  https://www.example.net:65535  ').port, 65535);
  assert.equal(parseEndpointUrl('tcp://db.example.net:1').port, 1);
});

test('HTTP keeps path and query; the other schemes accept a bare trailing slash', () => {
  assert.equal(parseEndpointUrl('https://www.example.net').path, '/');
  assert.equal(parseEndpointUrl('https://www.example.net/health?full=1').path, '/health?full=1');
  assert.equal(parseEndpointUrl('http://www.example.net?x').path, '?x');
  assert.equal(parseEndpointUrl('ssh://bastion.example.net/').path, '/');
});

test('address literals: IPv4 dotted quad, IPv6 in brackets (canonical form), no DNS lookup', () => {
  assert.deepEqual(parseEndpointUrl('tcp://192.0.2.10:5432'), {
    scheme: 'tcp',
    tls: false,
    protocol: 'tcp',
    host: '192.0.2.10',
    literal: 4,
    port: 5432,
    path: '/',
  });
  const v6 = parseEndpointUrl('https://[2001:DB8:0:0::10]:8443/x');
  assert.equal(v6.host, '2001:db8::10');
  assert.equal(v6.literal, 6);
  assert.equal(v6.port, 8443);
  assert.equal(v6.path, '/x');
});

test('each refusal says what is wrong, after "url \'X\'"', () => {
  const cases: Array<[string, string]> = [
    ['www.example.net', 'is not a URL of the form scheme://host[:port]'],
    ['mailto:ops@example.net', 'is not a URL of the form scheme://host[:port]'],
    ['gopher://www.example.net', "has the unknown scheme 'gopher' (known: http, https, smtp, smtps, imap, imaps, pop3, pop3s, ftp, ssh, tcp, tls)"],
    ['https://user:secret@www.example.net', 'must not carry credentials'],
    ['tcp://[2001:db8::1:5432', 'has a malformed host:port (an IPv6 address is written in brackets: tcp://[2001:db8::1]:5432)'],
    // More than one colon outside brackets can only be an unbracketed IPv6 address.
    ['tcp://2001:db8::1', 'has an IPv6 address without brackets (write tcp://[2001:db8::1]:5432)'],
    ['tcp://2001:db8::1:5432', 'has an IPv6 address without brackets (write tcp://[2001:db8::1]:5432)'],
    // A port that is not a number is named as the port, not as a bracket problem.
    ['tcp://db.example.net:abc', "has the port 'abc', which is not 1-65535"],
    ['https://www.example.net/#top', 'must not have a fragment'],
    ['smtp://mx.example.net/relay', 'must not have a path or query: smtp:// names a host and port only'],
    ['tcp://db.example.net:5432?x=1', 'must not have a path or query: tcp:// names a host and port only'],
    ['https://www.example.net:0', "has the port '0', which is not 1-65535"],
    ['https://www.example.net:65536', "has the port '65536', which is not 1-65535"],
    ['https://www.example.net:', "has the port '', which is not 1-65535"],
    ['https://www.example.net:123456', "has the port '123456', which is not 1-65535"],
    ['tcp://db.example.net', 'needs a port: tcp:// has no default'],
    ['tls://db.example.net', 'needs a port: tls:// has no default'],
    ['https://[fe80::1%25eth0]', 'has a zone index: a published endpoint needs a global address'],
    ['https://[192.0.2.1]', "has '[192.0.2.1]', which is not an IPv6 address"],
    ['https://', 'has no host'],
    ['https://:443', 'has no host'],
    ['https://www_1.example.net', "has the host 'www_1.example.net', which is not a DNS name"],
    ['https://192.0.2', "has the host '192.0.2', which is not a DNS name"],
  ];
  for (const [url, reason] of cases) {
    assert.throws(
      () => parseEndpointUrl(url),
      (error: unknown) => {
        assert.ok(error instanceof EndpointUrlError, url);
        assert.equal(error.reason, reason, url);
        assert.equal(error.url, url);
        assert.equal(error.message, `url '${url}' ${reason}`);
        return true;
      },
    );
  }
});

test('isDnsName: labels of 1-63 letters, digits and inner hyphens, 253 in all, no numeric last label', () => {
  for (const name of ['www.example.net', 'WWW.EXAMPLE.NET.', 'a', 'xn--bcher-kva.example', `${'a'.repeat(63)}.example`, '1.example.net']) {
    assert.equal(isDnsName(name), true, name);
  }
  const long = Array.from({ length: 64 }, () => 'abc').join('.'); // 255 characters
  for (const name of ['', '.', '-www.example.net', 'www-.example.net', 'a..b', `${'a'.repeat(64)}.example`, 'host.123', 'under_score.example', 'sp ace.example', long]) {
    assert.equal(isDnsName(name), false, name);
  }
});
