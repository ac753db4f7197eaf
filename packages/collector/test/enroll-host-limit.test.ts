// Hosts per enroll secret (issue 17, Quotas): a secret enrolls at most its --max-hosts hosts, or
// the configuration's maxHostsPerEnrollSecret; beyond it a new host is refused (403 naming the
// secret and the limit) with nothing stored, while hosts it enrolled keep working. Real HTTP
// on 127.0.0.1:0, a real SQLite file; `token create|list` as an operator runs them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { apiCall, fixtureReport, startTestCollector, type TestCollector } from './helpers/collector.js';
import { ENROLL_SECRET_PREFIX, generateToken, hashToken } from '../src/tokens.js';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

let c: TestCollector;
before(async () => {
  c = await startTestCollector({ maxHostsPerEnrollSecret: 1 });
});
after(async () => c.close());

async function enrollSecret(name: string, maxHosts: number | null): Promise<string> {
  const secret = generateToken(ENROLL_SECRET_PREFIX);
  await c.store.createToken({ name, role: 'enroll', hash: hashToken(secret), maxHosts });
  return secret;
}

const enroll = (secret: string, hostId: string) =>
  apiCall(c, 'POST', '/api/v1/enroll', secret, { hostId, hostname: `${hostId}.example`, facts: { agentVersion: '0.0.0-test', distro: 'Debian 12', kernel: '6.1.0', arch: 'x86_64' } });

const keyRows = async () => (await c.store.listHostKeys()).length;

test("a secret's --max-hosts: a new host beyond it is 403 naming the secret and the limit, nothing stored; its hosts keep writing, re-enroll after a revoke", async () => {
  const secret = await enrollSecret('rack-12', 2);
  const one = await enroll(secret, 'rack12-1');
  const two = await enroll(secret, 'rack12-2');
  assert.deepEqual([one.status, two.status], [201, 201]);

  const before = await keyRows();
  const third = await enroll(secret, 'rack12-3');
  assert.equal(third.status, 403, JSON.stringify(third.body));
  assert.equal(third.body.type, 'urn:dualstack:problem:host-limit');
  assert.match(third.body.detail, /Enroll secret 'rack-12' has enrolled its limit of 2 hosts \(its --max-hosts\)/);
  assert.equal(third.body.field, '/hostId');
  assert.equal(await keyRows(), before, 'no key stored for the refused host');

  // Hosts it enrolled are not affected: their keys write, and a second key for one of them
  // (a clone's) is a duplicate identity, not a new host.
  assert.equal((await apiCall(c, 'POST', '/api/v1/reports', two.body.key, fixtureReport('dual-stack-services', 'rack12-2'))).status, 202);
  assert.equal((await enroll(secret, 'rack12-1')).status, 202);
  // A revoked key's host leaves room, which it takes again when its agent re-enrolls.
  assert.equal((await apiCall(c, 'POST', '/api/v1/host-keys/rack12-2/revoke', c.tokens.admin)).status, 200);
  assert.equal((await enroll(secret, 'rack12-2')).status, 201);
  assert.equal((await enroll(secret, 'rack12-3')).status, 403);
});

test("the configuration's maxHostsPerEnrollSecret holds for secrets without --max-hosts; token create and list show the limit", async () => {
  const secret = await enrollSecret('fleet-default', null);
  assert.equal((await enroll(secret, 'default-1')).status, 201);
  const refused = await enroll(secret, 'default-2');
  assert.equal(refused.status, 403);
  assert.match(refused.body.detail, /'fleet-default' has enrolled its limit of 1 hosts \(the configuration's maxHostsPerEnrollSecret\)/);

  const db = join(c.dir, 'dualstack.db');
  const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args, '--db', db], { encoding: 'utf8' });
  const created = cli('token', 'create', '--name', 'rollout', '--role', 'enroll', '--max-hosts', '50');
  assert.equal(created.status, 0, created.stderr);
  assert.match(created.stderr, /at most 50 hosts/);
  const wrongRole = cli('token', 'create', '--name', 'x', '--role', 'agent', '--max-hosts', '5');
  assert.equal(wrongRole.status, 1);
  assert.match(wrongRole.stderr, /--max-hosts applies to --role enroll only/);
  assert.match(cli('token', 'create', '--name', 'y', '--role', 'enroll', '--max-hosts', '0').stderr, /--max-hosts takes a whole number of hosts from 1, not '0'/);
  const list = cli('token', 'list').stdout;
  assert.match(list, /\track-12\tenroll\t.*\tactive\thosts 2, max 2$/m);
  assert.match(list, /\trollout\tenroll\t.*\tactive\thosts 0, max 50$/m);
  // Without the collector's configuration the CLI knows no default.
  assert.match(list, /\tfleet-default\tenroll\t.*\tactive\thosts 1, no max$/m);
});
