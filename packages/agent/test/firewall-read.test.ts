// The firewall reader when nft is not there: it says so, reads nothing it cannot vouch for, and
// the verdicts built on it are unknown with that reason (never "accepted" by default).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serviceFirewall, unreadServiceFirewall, type Service } from '@dualstack/core';
import { readFirewall } from '../src/firewall/read.js';
import { procRoot } from '../src/proc/root.js';

const service: Service = {
  proto: 'tcp', port: 22, process: 'sshd', pid: 1, exe: null, unit: null, uid: 0, sharedWith: [],
  bindings: [{ family: 4, address: '0.0.0.0', v6only: null, v6onlySource: 'not-applicable', inode: 1 }],
  ipv4: 'any', ipv6: 'none', mode: 'ipv4-only', connections: { ipv4: 0, ipv6: 0, mapped: 0 },
};

test('nft missing: not read, the problem names the binary and its Debian package, no rule set; verdicts unknown saying why', async () => {
  const read = await readFirewall(procRoot(), { nftBinary: '/nonexistent/bin/nft' });
  assert.equal(read.read, false);
  assert.ok(read.problems.some((p) => /\/nonexistent\/bin\/nft \(nftables\) is not installed/.test(p)), read.problems.join('; '));
  assert.deepEqual(read.rulesets.filter((r) => r.backend === 'nftables'), []);
  const why = read.problems.join('; ');
  const fw = unreadServiceFirewall(service, why);
  assert.equal(fw.ipv4?.verdict, 'unknown');
  assert.equal(fw.ipv4?.unmodelled, why);
  assert.equal(fw.ipv6, null, 'a family the service does not listen for gets no verdict');
  // What the evaluator alone would say with no rule set at all: accepted. The reader must not let that happen.
  assert.equal(serviceFirewall([], service, [{ family: 4, address: '192.0.2.2', prefixLength: 24, interface: 'eth0', scope: 'global', flags: [] }]).ipv4?.verdict, 'accepted');
});
