#!/usr/bin/env node
// The agent's .deb (issue 13), built with dpkg-deb from a staging tree:
//   /usr/lib/dualstack-agent/dualstack-agent   the self-contained executable (sea.mjs), 0755
//   /usr/lib/dualstack-agent/sockdiag.node     the native sock_diag reader, 0644, when built for
//                                              the arch (packages/agent/native/README.md: the agent
//                                              loads it from beside the resolved executable)
//   /usr/bin/dualstack-agent                   a symlink to the executable
//   /usr/lib/systemd/system/dualstack-agent.service   packaged-files.mjs, from deploy/systemd
//   /etc/dualstack/agent.json                  conffile (kept on upgrade when changed)
//   /usr/share/doc/dualstack-agent/            copyright, changelog.gz, README.Debian,
//                                              examples/<the opt-in drop-ins>
//   DEBIAN/{postinst,prerm,postrm}             deploy/package/deb/
//
// dpkg-deb directly rather than a packaging library: the npm ones (node-deb,
// electron-installer-debian) package a Node.js app for a node on the host or an Electron app's
// layout, and call dpkg-deb themselves; nfpm is not installable here. Control file, conffiles
// and maintainer scripts are a few lines each.
//
//   node scripts/package/deb.mjs --arch x64 --executable FILE [--sockdiag FILE] [--version V] [--out-dir DIR]
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { DEPLOY, PACKAGE, put, stageAgentFiles } from './packaged-files.mjs';
import { agentVersion, DEFAULT_OUT_DIR, findStrip } from './sea.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export { PACKAGE };
/** Node's arch names to Debian's. */
export const DEB_ARCH = { x64: 'amd64', arm64: 'arm64' };
export const MAINTAINER = 'dualstack maintainers <dualstack@example.com>';

export const debFileName = (version, arch) => `${PACKAGE}_${version}_${DEB_ARCH[arch]}.deb`;

/** The release time the changelog carries: SOURCE_DATE_EPOCH, else HEAD's commit time (reproducible). */
export function releaseDate() {
  let seconds = Number(process.env.SOURCE_DATE_EPOCH);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    try { seconds = Number(execFileSync('git', ['-C', root, 'log', '-1', '--format=%ct'], { encoding: 'utf8' }).trim()); } catch { seconds = Math.floor(Date.now() / 1000); }
  }
  return new Date(seconds * 1000);
}

export function du(dir) { // Installed-Size: KiB, as dpkg-gencontrol counts (each file rounded up)
  let kib = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) kib += 1 + du(path);
    else if (entry.isFile()) kib += Math.ceil(statSync(path).size / 1024);
    else kib += 1;
  }
  return kib;
}

/**
 * Builds dualstack-agent_<version>_<debarch>.deb into outDir from an executable built for `arch`
 * (and its sockdiag.node, or null); returns { file, bytes, installedKiB }. compression: dpkg-deb's -Z
 * and level: dpkg-deb's -Z and -z (xz at its default for releases; a test may take gzip at 1, a few
 * seconds where xz takes a minute or more, or none, which lintian refuses).
 */
export function buildDeb({ arch, executable, sockdiag = null, version = agentVersion(), outDir = DEFAULT_OUT_DIR, compression = 'xz', level = null }) {
  if (!DEB_ARCH[arch]) throw new Error(`deb: arch must be one of ${Object.keys(DEB_ARCH).join(', ')}, not ${JSON.stringify(arch)}`);
  if (!executable) throw new Error('deb: executable (the dualstack-agent-linux-<arch> file) is required');
  const stage = mkdtempSync(join(tmpdir(), 'dualstack-deb-'));
  try {
    const doc = `usr/share/doc/${PACKAGE}`;
    stageAgentFiles(stage, { executable, sockdiag, strip: findStrip(arch), doc, what: `deb: ${arch}` });
    put(stage, `${doc}/README.Debian`, readFileSync(join(DEPLOY, 'package/deb/README.Debian')));
    put(stage, `${doc}/copyright`, copyright());
    // The one lintian error a single executable application cannot avoid: Node.js links its own
    // zlib in statically (as it does OpenSSL, ICU, libuv), which is what makes it self-contained.
    put(stage, `usr/share/lintian/overrides/${PACKAGE}`, `# Node.js, the runtime inside the single executable application, is built with its own zlib.\n${PACKAGE}: embedded-library zlib [usr/lib/${PACKAGE}/${PACKAGE}]\n`);
    const date = releaseDate().toUTCString().replace('GMT', '+0000');
    const changelog = `${PACKAGE} (${version}) unstable; urgency=medium\n\n  * Release ${version} of the dualstack agent.\n\n -- ${MAINTAINER}  ${date}\n`;
    put(stage, `${doc}/changelog.gz`, gzipSync(changelog, { level: 9 }).fill(0, 4, 8)); // mtime 0, as gzip -n
    // Directories 0755 whatever the umask (lintian: non-standard-dir-perm).
    execFileSync('find', [stage, '-type', 'd', '-exec', 'chmod', '0755', '{}', '+']);

    const control = join(stage, 'DEBIAN');
    mkdirSync(control, { mode: 0o755 });
    put(stage, 'DEBIAN/control', [
      `Package: ${PACKAGE}`,
      `Version: ${version}`,
      `Architecture: ${DEB_ARCH[arch]}`,
      `Maintainer: ${MAINTAINER}`,
      `Installed-Size: ${du(stage)}`,
      // The Node.js runtime inside links these (readelf -d); useradd/userdel are in passwd.
      'Depends: libc6 (>= 2.28), libgcc-s1, libstdc++6, passwd',
      // ss and ip: the sources the native module does not cover.
      'Recommends: iproute2',
      'Section: admin',
      'Priority: optional',
      'Description: IPv4/IPv6 dual-stack audit agent',
      ' dualstack-agent reads the kernel\'s view of this host (listening sockets,',
      ' addresses, routes, sysctls, firewall) and reports what IPv4 and IPv6 clients',
      ' can really reach to a dualstack collector, on a schedule, under a hardened',
      ' systemd unit.',
      ' .',
      ' A self-contained executable: no Node.js is needed on the host.',
      '',
    ].join('\n'));
    put(stage, 'DEBIAN/md5sums', md5sums(stage));
    put(stage, 'DEBIAN/conffiles', '/etc/dualstack/agent.json\n');
    for (const script of ['postinst', 'prerm', 'postrm']) put(stage, `DEBIAN/${script}`, { from: join(DEPLOY, 'package/deb', script) }, 0o755);

    mkdirSync(outDir, { recursive: true });
    const file = join(outDir, debFileName(version, arch));
    execFileSync('dpkg-deb', ['--root-owner-group', `-Z${compression}`, ...(level === null ? [] : [`-z${level}`]), '--build', stage, file], { stdio: ['ignore', 'ignore', 'pipe'] });
    return { file, bytes: statSync(file).size, installedKiB: du(stage) };
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

export const MIT = `Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.`;

export function md5sums(stage) { // DEBIAN/md5sums: every regular file but DEBIAN/ (dpkg --verify reads it)
  const lines = [];
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(dir, entry.name);
      // DEBIAN/ is not installed, and dpkg keeps the conffiles' sums itself (as dh_md5sums leaves them out).
      if (entry.isDirectory() && !['DEBIAN', 'etc'].includes(relative(stage, path))) walk(path);
      else if (entry.isFile()) lines.push(`${createHash('md5').update(readFileSync(path)).digest('hex')}  ${relative(stage, path)}\n`);
    }
  };
  walk(stage);
  return lines.join('');
}

function copyright() {
  // package.json's "license": "MIT"; the repository has no LICENSE file, so the text is MIT's own.
  const license = MIT;
  return ['Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/', `Upstream-Name: dualstack`, '',
    'Files: *', 'Copyright: 2025-2026 dualstack authors', 'License: MIT', '',
    'Files: usr/lib/dualstack-agent/dualstack-agent',
    'Comment: the executable carries the Node.js runtime (MIT, with the third-party licenses',
    ' of its dependencies: https://github.com/nodejs/node/blob/main/LICENSE) and the agent\'s',
    ' bundled npm dependencies, listed with their licenses in its CycloneDX SBOM', ' (dualstack-agent-linux-<arch>.cdx.json beside the package).',
    'Copyright: Node.js contributors and other contributors', 'License: MIT', '',
    'License: MIT', ...license.split('\n').map((line) => (line.trim() ? ` ${line}` : ' .')), ''].join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({ options: { arch: { type: 'string' }, executable: { type: 'string' }, sockdiag: { type: 'string' }, version: { type: 'string' }, 'out-dir': { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help || !values.arch || !values.executable) {
    process.stdout.write('Usage: node scripts/package/deb.mjs --arch x64|arm64 --executable FILE [--sockdiag FILE] [--version V] [--out-dir DIR]\n' +
      'Builds dualstack-agent_<version>_<amd64|arm64>.deb from the self-contained executable (npm run package builds both).\n');
    process.exit(values.help ? 0 : 2);
  }
  const built = buildDeb({ arch: values.arch, executable: resolve(values.executable), sockdiag: values.sockdiag ? resolve(values.sockdiag) : null, version: values.version, outDir: resolve(values['out-dir'] ?? DEFAULT_OUT_DIR) });
  process.stdout.write(`wrote ${relative(process.cwd(), built.file)}: ${built.bytes} bytes (${built.installedKiB} KiB installed)\n`);
}
