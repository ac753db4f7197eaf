// nginx knowledge: how a listen line reads, and the address checker on nginx's bracketed
// listen syntax (the rules on real parsed files are in packages/agent/test/config-nginx).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkAddressSyntax, nginxConfigKnowledge } from '../src/knowledge/config/index.js';
import { parseListen } from '../src/knowledge/config/nginx.js';
import type { ConfigDirective } from '../src/report.js';

const listen = (value: string): ConfigDirective => ({ file: '/etc/nginx/nginx.conf', line: 3, key: 'listen', value, raw: `    listen ${value};`, context: 'http > server (listen x; /etc/nginx/nginx.conf:2)' });

test('listen: port alone, *:port and 0.0.0.0 are IPv4 wildcards; brackets are IPv6; port 80 when none is given', () => {
  assert.deepEqual(
    ['80', '*:8080', '*', '0.0.0.0:81', '192.0.2.2', '[::]:80', '[2001:db8::1]', 'localhost:8080', '2001:db8::1:80', 'unix:/run/x.sock'].map((v) => {
      const l = parseListen(`${v} ssl`);
      return [v, l.kind, l.port, l.address];
    }),
    [
      ['80', 'ipv4-any', 80, null],
      ['*:8080', 'ipv4-any', 8080, null],
      ['*', 'ipv4-any', 80, null],
      ['0.0.0.0:81', 'ipv4-any', 81, '0.0.0.0'],
      ['192.0.2.2', 'ipv4', 80, '192.0.2.2'],
      ['[::]:80', 'ipv6', 80, '::'],
      ['[2001:db8::1]', 'ipv6', 80, '2001:db8::1'],
      ['localhost:8080', 'host', 8080, 'localhost'],
      ['2001:db8::1:80', 'bare-ipv6', null, '2001:db8::1:80'],
      ['unix:/run/x.sock', 'unix', null, null],
    ],
  );
  assert.deepEqual(parseListen('[::]:443 ssl ipv6only=off').params, ['ssl', 'ipv6only=off']);
});

test('listen addresses for the checker: the bracket part only, so a correction keeps the port', () => {
  const uses = (value: string) => nginxConfigKnowledge.addresses(listen(value), []).map((u) => u.token);
  assert.deepEqual(uses('[2001:db8::1]:443 ssl'), ['[2001:db8::1]']);
  assert.deepEqual(uses('2001:db8::1:443'), ['2001:db8::1'], 'a bare address then :port: the address');
  assert.deepEqual(uses('2001:db8::1'), ['2001:db8::1'], 'no port to split off: the whole');
  assert.deepEqual(uses('80'), []);
  const zone = nginxConfigKnowledge.addresses(listen('[fe80::1%eth0]:80'), [])[0]!;
  assert.deepEqual(checkAddressSyntax(zone, [], true), { severity: 'critical', problem: 'a zone index (%interface) is not accepted here', corrected: '[fe80::1]' }, 'the brackets stay');
  const mapped = nginxConfigKnowledge.addresses(listen('[::ffff:192.0.2.2]:81'), [])[0]!;
  assert.equal(checkAddressSyntax(mapped, [], true)!.corrected, '192.0.2.2');
});
