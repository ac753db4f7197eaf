// os-release(5) parsing, on the files of real distributions (as they ship them), and the
// fallback order. distro/release must come out as systeminformation's osInfo() derives them
// from the same files, so hosts keep their names when the agent reads the file itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseOsRelease, parseOsReleaseFields, readOsRelease } from '../src/os-release.js';
import { skipUnlessAvailable } from '../../../test/helpers/requirements.js';

const DEBIAN_12 = `PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
`;
const UBUNTU_2204 = `PRETTY_NAME="Ubuntu 22.04.3 LTS"
NAME="Ubuntu"
VERSION_ID="22.04"
VERSION="22.04.3 LTS (Jammy Jellyfish)"
VERSION_CODENAME=jammy
ID=ubuntu
ID_LIKE=debian
`;
const ROCKY_9 = `NAME="Rocky Linux"
VERSION="9.3 (Blue Onyx)"
ID="rocky"
ID_LIKE="rhel centos fedora"
VERSION_ID="9.3"
PLATFORM_ID="platform:el9"
PRETTY_NAME="Rocky Linux 9.3 (Blue Onyx)"
`;
const ALPINE_319 = `NAME="Alpine Linux"
ID=alpine
VERSION_ID=3.19.1
PRETTY_NAME="Alpine Linux v3.19"
HOME_URL="https://alpinelinux.org/"
`;

test('distro and release of Debian, Ubuntu, Rocky and Alpine, as systeminformation names them', () => {
  assert.deepEqual(parseOsRelease(DEBIAN_12), { distro: 'Debian GNU/Linux', release: '12' });
  assert.deepEqual(parseOsRelease(UBUNTU_2204), { distro: 'Ubuntu', release: '22.04.3 LTS' });
  assert.deepEqual(parseOsRelease(ROCKY_9), { distro: 'Rocky Linux', release: '9.3' });
  assert.deepEqual(parseOsRelease(ALPINE_319), { distro: 'Alpine Linux', release: 'v3.19' });
});

test('quotes, escapes, comments and junk lines', () => {
  const fields = parseOsReleaseFields(`# a comment\nNAME='Single Quoted'\nVARIANT="Say \\"hi\\" \\\\ \\$HOME"\nnot a field\n=novalue\nEMPTY=\n`);
  assert.equal(fields.get('NAME'), 'Single Quoted');
  assert.equal(fields.get('VARIANT'), 'Say "hi" \\ $HOME');
  assert.equal(fields.get('EMPTY'), '');
  assert.equal(fields.size, 3);
  assert.deepEqual(parseOsRelease('ID=custom\n'), { distro: 'custom', release: null }, 'no NAME: the ID');
  assert.deepEqual(parseOsRelease(''), { distro: null, release: null });
});

test('readOsRelease: /etc/os-release, else /usr/lib/os-release beside the /etc root, else null', (t) => {
  const root = mkdtempSync(join(tmpdir(), 'dualstack-osrel-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const etc = join(root, 'etc');
  mkdirSync(etc);
  mkdirSync(join(root, 'usr', 'lib'), { recursive: true });
  assert.equal(readOsRelease(etc), null);
  writeFileSync(join(root, 'usr', 'lib', 'os-release'), UBUNTU_2204);
  assert.equal(readOsRelease(etc)?.distro, 'Ubuntu');
  writeFileSync(join(etc, 'os-release'), DEBIAN_12);
  assert.equal(readOsRelease(etc)?.distro, 'Debian GNU/Linux');
});

test('this machine: the same distro and release as systeminformation reports', async (t) => {
  if (!existsSync('/etc/os-release') && !existsSync('/usr/lib/os-release')) return t.skip(skipUnlessAvailable('no /etc/os-release or /usr/lib/os-release here', 'base-files'));
  const { osInfo } = await import('systeminformation');
  const info = await osInfo();
  const mine = readOsRelease();
  assert.deepEqual(mine, { distro: info.distro, release: info.release }, readFileSync(existsSync('/etc/os-release') ? '/etc/os-release' : '/usr/lib/os-release', 'utf8'));
});
