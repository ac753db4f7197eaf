// /proc/sys/net/ipv6: bindv6only and conf/{all,default,<iface>}/* — one integer per file — and
// the effective values the kernel acts on (Documentation/networking/ip-sysctl.rst).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ipv6ConfKeys, parseSysctlInteger, readIpv6Sysctls } from '../src/proc/sysctl-ipv6.js';
import { fixtureProc, fixtureProcText, parseErrorOf, tempProc } from './helpers/proc-fixtures.js';

/** conf/<name>/<key> files for a throw-away tree, the kernel defaults overridden by `values`. */
function confFiles(name: string, values: Partial<Record<(typeof ipv6ConfKeys)[number], number>> = {}): Record<string, string> {
  const defaults = { accept_ra: 1, accept_ra_defrtr: 1, autoconf: 1, forwarding: 0, disable_ipv6: 0, accept_redirects: 1, accept_source_route: 0, use_tempaddr: 0 };
  const merged = { ...defaults, ...values };
  return Object.fromEntries(ipv6ConfKeys.map((key) => [`sys/net/ipv6/conf/${name}/${key}`, `${merged[key]}\n`]));
}

test('parseSysctlInteger reads one integer, negative ones included', () => {
  assert.equal(parseSysctlInteger('0\n', 'f'), 0);
  assert.equal(parseSysctlInteger('1\n', 'f'), 1);
  assert.equal(parseSysctlInteger('2', 'f'), 2);
  assert.equal(parseSysctlInteger('-1\n', 'f'), -1);
  assert.equal(parseSysctlInteger(fixtureProcText('dual-stack-services', 'sys/net/ipv6/conf/lo/use_tempaddr'), 'f'), -1);
  for (const bad of ['', '\n', 'yes\n', '1 2\n', '0x1\n', '1.5\n']) {
    const error = parseErrorOf(() => parseSysctlInteger(bad, 'sys/net/ipv6/bindv6only'));
    assert.deepEqual([error.file, error.line, error.field, error.raw], ['sys/net/ipv6/bindv6only', 1, 'value', bad], JSON.stringify(bad));
  }
});

test('dual-stack-services: bindv6only 0; all, default, lo, veth0 in that order with raw values', () => {
  const sysctls = readIpv6Sysctls(fixtureProc('dual-stack-services'));
  assert.ok(sysctls);
  assert.equal(sysctls.bindv6only, 0);
  assert.deepEqual(sysctls.interfaces.map((i) => i.name), ['all', 'default', 'lo', 'veth0']);
  const lo = sysctls.interfaces.find((i) => i.name === 'lo');
  assert.deepEqual(lo?.raw, {
    accept_ra: 1, accept_ra_defrtr: 1, autoconf: 1, forwarding: 0, disable_ipv6: 0, accept_redirects: 1, accept_source_route: 0, use_tempaddr: -1,
  });
});

test('dual-stack-services: effective values for the interfaces, none for all and default', () => {
  const sysctls = readIpv6Sysctls(fixtureProc('dual-stack-services'));
  assert.ok(sysctls);
  const byName = new Map(sysctls.interfaces.map((i) => [i.name, i]));
  assert.equal(byName.get('all')?.effective, null);
  assert.equal(byName.get('default')?.effective, null);
  const expected = {
    acceptRa: true, acceptRaDefrtr: true, autoconf: true, forwarding: false, disableIpv6: false, acceptRedirects: true, acceptSourceRoute: 0, useTempaddr: 'off',
  };
  assert.deepEqual(byName.get('veth0')?.effective, expected);
  assert.deepEqual(byName.get('lo')?.effective, expected, 'use_tempaddr -1 is off');
});

test('bindv6only fixture: bindv6only is 1', () => {
  assert.equal(readIpv6Sysctls(fixtureProc('bindv6only'))?.bindv6only, 1);
});

test('ipv6-off (no sys/net/ipv6): null, not a failure', () => {
  assert.equal(readIpv6Sysctls(fixtureProc('ipv6-off')), null);
});

test('bindv6only-not-a-number: a ProcParseError on sys/net/ipv6/bindv6only line 1, field value, showing the raw text', () => {
  const error = parseErrorOf(() => readIpv6Sysctls(fixtureProc('broken/bindv6only-not-a-number')));
  assert.equal(error.file, 'sys/net/ipv6/bindv6only');
  assert.equal(error.line, 1);
  assert.equal(error.field, 'value');
  assert.equal(error.raw, 'yes\n');
  assert.ok(error.message.includes(JSON.stringify('yes\n')), error.message);
});

test('effective values: forwarding turns accept_ra=1 and redirects off, accept_ra=2 survives it', (t) => {
  const root = tempProc(t, {
    'sys/net/ipv6/bindv6only': '0\n',
    ...confFiles('all'),
    ...confFiles('default'),
    ...confFiles('eth0', { forwarding: 1 }),
    ...confFiles('eth1', { forwarding: 1, accept_ra: 2, accept_ra_defrtr: 0 }),
    ...confFiles('eth2', { use_tempaddr: 2, autoconf: 0 }),
  });
  const sysctls = readIpv6Sysctls(root);
  assert.ok(sysctls);
  const effective = (name: string) => sysctls.interfaces.find((i) => i.name === name)?.effective;
  assert.deepEqual(effective('eth0'), {
    acceptRa: false, acceptRaDefrtr: false, autoconf: false, forwarding: true, disableIpv6: false, acceptRedirects: false, acceptSourceRoute: 0, useTempaddr: 'off',
  });
  assert.deepEqual(
    [effective('eth1')?.acceptRa, effective('eth1')?.acceptRaDefrtr, effective('eth1')?.autoconf],
    [true, false, true],
  );
  assert.deepEqual([effective('eth2')?.autoconf, effective('eth2')?.useTempaddr], [false, 'prefer']);
});

test('effective values: all does not override accept_ra of an interface; accept_source_route is min(all, iface)', (t) => {
  const root = tempProc(t, {
    ...confFiles('all', { accept_ra: 0, accept_source_route: -1 }),
    ...confFiles('default', { accept_ra: 0 }),
    ...confFiles('eth0'),
  });
  const sysctls = readIpv6Sysctls(root);
  assert.ok(sysctls);
  const eth0 = sysctls.interfaces.find((i) => i.name === 'eth0');
  assert.equal(eth0?.effective?.acceptRa, true);
  assert.equal(eth0?.effective?.acceptSourceRoute, -1);
  assert.equal(sysctls.bindv6only, null, 'a missing bindv6only file is null');
});

test('a conf key the kernel does not have reads as null', (t) => {
  const files = { ...confFiles('all'), ...confFiles('eth0') };
  delete files['sys/net/ipv6/conf/eth0/accept_ra_defrtr'];
  const sysctls = readIpv6Sysctls(tempProc(t, files));
  const eth0 = sysctls?.interfaces.find((i) => i.name === 'eth0');
  assert.equal(eth0?.raw.accept_ra_defrtr, null);
  assert.equal(eth0?.raw.accept_ra, 1);
  assert.equal(eth0?.effective?.acceptRaDefrtr, false);
});

test('a bad conf value names its file', (t) => {
  const root = tempProc(t, { ...confFiles('all'), ...confFiles('eth0'), 'sys/net/ipv6/conf/eth0/forwarding': '1x\n' });
  const error = parseErrorOf(() => readIpv6Sysctls(root));
  assert.deepEqual([error.file, error.line, error.field], ['sys/net/ipv6/conf/eth0/forwarding', 1, 'value']);
});
