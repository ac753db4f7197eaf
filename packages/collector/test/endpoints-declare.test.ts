// Declaring published endpoints: the configuration's endpoints: list refused at start naming
// the bad key, the admin API (add, conflict, delete; config ones not deletable), and
// GET /api/v1/probe-targets for vantage points (role agent), over real HTTP on 127.0.0.1:0.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { ConfigError, resolveConfig } from '../src/config.js';
import { startTestCollector, type TestCollector } from './helpers/collector.js';
import { attempt, endpointProbe, probeBatch } from './helpers/probes.js';

function configError(layer: Record<string, unknown>): string {
  try {
    resolveConfig([layer], 'collector.yaml');
  } catch (error) {
    assert.ok(error instanceof ConfigError, `not a ConfigError: ${String(error)}`);
    return error.message;
  }
  assert.fail(`accepted: ${JSON.stringify(layer)}`);
}

describe('endpoints: in the configuration', () => {
  test('a good list is accepted, with probe.timeoutMs', () => {
    const config = resolveConfig([
      {
        endpoints: [
          { name: 'www', url: 'https://www.example.net', expect: { status: 200, tlsName: 'www.example.net' }, backends: ['web-1', 'web-2.example.net'] },
          { name: 'mx', url: 'smtp://mx.example.net:25' },
          { name: 'db', url: 'tcp://db.example.net:5432' },
        ],
        probe: { timeoutMs: 3000 },
      },
    ]);
    assert.equal(config.endpoints?.length, 3);
    assert.equal(config.probe?.timeoutMs, 3000);
  });

  test('every bad entry is refused naming its key', () => {
    const ok = { name: 'www', url: 'https://www.example.net' };
    const cases: Array<[string, Record<string, unknown>, string]> = [
      ['an unknown scheme', { endpoints: [ok, { name: 'b', url: 'http://b.example.net' }, { name: 'g', url: 'gopher://x' }] }, "bad key 'endpoints.2.url': url 'gopher://x' has the unknown scheme 'gopher'"],
      ['a port out of range', { endpoints: [{ name: 'db', url: 'tcp://db.example.net:70000' }] }, "bad key 'endpoints.0.url': url 'tcp://db.example.net:70000' has the port '70000', which is not 1-65535"],
      ['a host that is not a DNS name', { endpoints: [{ name: 'w', url: 'https://www_1.example.net' }] }, "bad key 'endpoints.0.url': url 'https://www_1.example.net' has the host 'www_1.example.net', which is not a DNS name"],
      ['tcp:// without a port', { endpoints: [{ name: 'db', url: 'tcp://db.example.net' }] }, "bad key 'endpoints.0.url': url 'tcp://db.example.net' needs a port"],
      ['two endpoints with one name', { endpoints: [ok, { name: 'www', url: 'http://www.example.net' }] }, "bad key 'endpoints.1.name': 'www' is used by another endpoint"],
      ['a bad name', { endpoints: [{ name: 'www example', url: 'https://www.example.net' }] }, "bad key 'endpoints.0.name': must match pattern"],
      ['an unknown key', { endpoints: [{ ...ok, backend: ['web-1'] }] }, "bad key 'endpoints.0.backend': is not a known key"],
      ['expect.status on smtp', { endpoints: [{ name: 'mx', url: 'smtp://mx.example.net', expect: { status: 200 } }] }, "bad key 'endpoints.0.expect.status': applies to http:// and https:// only"],
      ['expect.tlsName without TLS', { endpoints: [{ name: 'w', url: 'http://www.example.net', expect: { tlsName: 'www.example.net' } }] }, "bad key 'endpoints.0.expect.tlsName': needs a TLS scheme"],
      ['a probe timeout too short', { probe: { timeoutMs: 10 } }, "bad key 'probe.timeoutMs': must be >= 100"],
    ];
    for (const [what, layer, expected] of cases) {
      const message = configError(layer);
      assert.ok(message.startsWith(`collector.yaml: ${expected}`), `${what}: got "${message}"`);
    }
  });
});

describe('endpoints: the admin API and probe targets', () => {
  let c: TestCollector;
  before(async () => {
    c = await startTestCollector({ endpoints: { config: [{ name: 'www', url: 'https://www.example.net/health', expect: { status: 204 } }], probeTimeoutMs: 2500 } });
  });
  after(async () => c.close());

  async function call(method: 'GET' | 'POST' | 'DELETE', path: string, token: string | null, body?: unknown) {
    const res = await request(`${c.url}${path}`, {
      method,
      headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.body.text();
    return { status: res.statusCode, body: text ? (JSON.parse(text) as any) : null };
  }

  test('probe targets: the config endpoint with its parsed URL and the timeout, for agents only', async () => {
    assert.equal((await call('GET', '/api/v1/probe-targets', null)).status, 401);
    assert.equal((await call('GET', '/api/v1/probe-targets', c.tokens.reader)).status, 403);
    const res = await call('GET', '/api/v1/probe-targets', c.tokens.agent);
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, {
      targets: [{ name: 'www', url: 'https://www.example.net/health', scheme: 'https', tls: true, protocol: 'http', host: 'www.example.net', literal: null, port: 443, path: '/health', expect: { status: 204 } }],
      timeoutMs: 2500,
    });
  });

  test('POST adds an endpoint (201) that vantage points get; a taken name is 409; a bad field 400 naming it', async () => {
    const spec = { name: 'db', url: 'tcp://[2001:db8::5]:5432', backends: ['db-1'] };
    assert.equal((await call('POST', '/api/v1/endpoints', c.tokens.reader, spec)).status, 403);
    assert.equal((await call('POST', '/api/v1/endpoints', c.tokens.agent, spec)).status, 403);
    const created = await call('POST', '/api/v1/endpoints', c.tokens.admin, spec);
    assert.equal(created.status, 201);
    assert.equal(created.body.source, 'api');
    assert.equal(created.body.name, 'db');

    const again = await call('POST', '/api/v1/endpoints', c.tokens.admin, { ...spec, url: 'tcp://db.example.net:5432' });
    assert.equal(again.status, 409);
    assert.match(again.body.detail, /an endpoint named 'db' exists \(declared by the API\)/);
    const configName = await call('POST', '/api/v1/endpoints', c.tokens.admin, { name: 'www', url: 'http://www.example.net' });
    assert.equal(configName.status, 409);
    assert.match(configName.body.detail, /declared by the configuration/);

    const badUrl = await call('POST', '/api/v1/endpoints', c.tokens.admin, { name: 'g', url: 'gopher://x' });
    assert.equal(badUrl.status, 400);
    assert.equal(badUrl.body.field, '/url');
    assert.match(badUrl.body.detail, /url 'gopher:\/\/x' has the unknown scheme 'gopher'/);
    const badName = await call('POST', '/api/v1/endpoints', c.tokens.admin, { name: 'a b', url: 'http://x.example.net' });
    assert.equal(badName.status, 400);
    assert.equal(badName.body.field, '/name');
    const badTls = await call('POST', '/api/v1/endpoints', c.tokens.admin, { name: 'mx', url: 'smtp://mx.example.net', expect: { tlsName: 'mx.example.net' } });
    assert.equal(badTls.status, 400);
    assert.equal(badTls.body.field, '/expect/tlsName');

    const targets = await call('GET', '/api/v1/probe-targets', c.tokens.agent);
    assert.deepEqual(
      targets.body.targets.map((t: any) => [t.name, t.host, t.literal, t.port]),
      [
        ['db', '2001:db8::5', 6, 5432],
        ['www', 'www.example.net', null, 443],
      ],
    );
  });

  test('DELETE removes an API endpoint (204, then 404); a config endpoint is 409 saying so', async () => {
    await call('POST', '/api/v1/endpoints', c.tokens.admin, { name: 'gone', url: 'ssh://gone.example.net' });
    const probe = endpointProbe({ name: 'gone', url: 'ssh://gone.example.net', a: ['192.0.2.7'], aaaa: [], attempts: [attempt('192.0.2.7', 22, 'ok')] });
    assert.equal((await c.store.ingestProbeBatch(probeBatch({ hostId: 'vp', ipv4: true, ipv6: true }, [probe]), { receivedAt: new Date().toISOString(), tokenId: null })).results, 1);
    assert.equal((await call('DELETE', '/api/v1/endpoints/gone', c.tokens.reader)).status, 403);
    assert.equal((await call('DELETE', '/api/v1/endpoints/gone', c.tokens.admin)).status, 204);
    assert.equal((await call('DELETE', '/api/v1/endpoints/gone', c.tokens.admin)).status, 404);
    // Its results went with it: declared again, it has no vantage point.
    await call('POST', '/api/v1/endpoints', c.tokens.admin, { name: 'gone', url: 'ssh://gone.example.net' });
    assert.deepEqual((await c.store.endpointInputs(new Date(), 'gone'))[0]?.views, []);
    assert.equal((await call('DELETE', '/api/v1/endpoints/gone', c.tokens.admin)).status, 204);
    const config = await call('DELETE', '/api/v1/endpoints/www', c.tokens.admin);
    assert.equal(config.status, 409);
    assert.match(config.body.detail, /'www' is declared in the configuration file \(endpoints:\); remove it there/);
    const targets = await call('GET', '/api/v1/probe-targets', c.tokens.agent);
    assert.ok(targets.body.targets.some((t: any) => t.name === 'www'));
    assert.ok(!targets.body.targets.some((t: any) => t.name === 'gone'));
  });
});
