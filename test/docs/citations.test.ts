// The repository stands alone: what it cites, a reader of the repository can open.
// Over every file git tracks (text only; package-lock.json and the captured trees under
// test/fixtures/<capture>/ are data, not prose), this fails on
//  (a) a citation of a repository path that does not exist: markdown links `[text](path)` in
//      .md files, and bare mentions of a .md file name or of paths under a top-level folder
//      (docs/..., packages/..., test/...), resolved against the citing file's folder, every
//      folder above it up to the repository root and each workspace package (a markdown link
//      only against its file's folder, as GitHub does); an `#anchor` on a .md file must match
//      one of its headings (GitHub's slugs);
//  (b) an absolute path of a development machine (under /work, /Users, a user's folder in /home,
//      or /root), which no reader has. File paths of a deployed host (/etc, /proc, /usr, /var/lib)
//      are of course fine; ALLOWED lists the few machine paths and other packages' file names that are data, with the reason.
// Placeholders like {md} in the made-up cases below keep this file from citing what it tests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

interface Problem {
  file: string;
  line: number;
  citation: string;
  reason: string;
}

/** Machine paths that are data, not citations: file (exact) and the text allowed in it. */
const ALLOWED: Array<{ file: string; text: string; why: string }> = [
  {
    file: 'test/golden/bindv6only.json',
    text: '/' + 'root/.pyenv/', // split so that this line is no machine path itself
    why: 'the executable of a process on the captured host, replayed from test/fixtures/bindv6only',
  },
  {
    file: 'scripts/package/collector-bundle.mjs',
    text: 'LICENSE' + '.md',
    why: "a file of the npm package bindings, copied into the collector package: not a file of this repository",
  },
];

/** Whether `citation` in `file` is data listed in ALLOWED (a machine path, another package's file). */
const isAllowed = (file: string, citation: string): boolean => ALLOWED.some((a) => a.file === file && citation.startsWith(a.text));

/** Files that are data rather than prose: not scanned (they still count as existing). */
function isData(path: string): boolean {
  return posix.basename(path) === 'package-lock.json' || /^test\/fixtures\/[^/]+\//.test(path);
}

// ------------------------------------------------------------------ the checker

interface Repo {
  files: Set<string>;
  dirs: Set<string>;
  /** A bare file name (no folder) -> a tracked file of that name. */
  byName: Map<string, string>;
  topDirs: string[];
  /** Workspace package folders (packages/<name>): paths in them are often package-relative. */
  packageDirs: string[];
  /** Tracked files without one or more extensions (`test/netns/findings` of findings.test.ts). */
  stems: Set<string>;
  /** Slugs of a tracked .md file's headings. */
  anchorsOf(path: string): Set<string>;
}

function makeRepo(paths: Iterable<string>, read: (path: string) => string): Repo {
  const files = new Set(paths);
  const dirs = new Set<string>(['.']);
  const byName = new Map<string, string>();
  const stems = new Set<string>();
  for (const f of files) {
    if (!byName.has(posix.basename(f))) byName.set(posix.basename(f), f);
    for (let i = f.indexOf('.', f.lastIndexOf('/') + 2); i > 0; i = f.indexOf('.', i + 1)) stems.add(f.slice(0, i));
    for (let d = posix.dirname(f); d !== '.' && !dirs.has(d); d = posix.dirname(d)) dirs.add(d);
  }
  const topDirs = [...dirs].filter((d) => d !== '.' && !d.includes('/') && !d.startsWith('.'));
  const packageDirs = [...dirs].filter((d) => /^packages\/[^/]+$/.test(d));
  const cache = new Map<string, Set<string>>();
  return {
    files,
    dirs,
    byName,
    topDirs,
    packageDirs,
    stems,
    anchorsOf(path) {
      let anchors = cache.get(path);
      if (!anchors) cache.set(path, (anchors = headingSlugs(read(path))));
      return anchors;
    },
  };
}

/** GitHub's heading anchor: lower case, punctuation dropped, each space a hyphen. */
function slug(heading: string): string {
  return heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/<[^>]+>/g, '')
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

function headingSlugs(markdown: string): Set<string> {
  const slugs = new Set<string>();
  const seen = new Map<string, number>();
  const add = (text: string) => {
    const base = slug(text);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    slugs.add(n === 0 ? base : `${base}-${n}`);
  };
  let fence: string | null = null;
  let previous = '';
  for (const line of markdown.split('\n')) {
    const f = /^ {0,3}(`{3,}|~{3,})/.exec(line);
    if (f) {
      if (fence === null) fence = f[1]![0]!;
      else if (f[1]![0] === fence) fence = null;
      previous = '';
      continue;
    }
    if (fence !== null) continue;
    const atx = /^ {0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$/.exec(line);
    if (atx) add(atx[1]!);
    else if (/^ {0,3}(=+|-+)\s*$/.test(line) && previous.trim() !== '' && !/^\s*[|>*#-]/.test(previous)) add(previous);
    previous = line;
  }
  return slugs;
}

const URL_RE = /\b(?!file:)[a-z][a-z0-9+.-]*:\/\/[^\s)>\]"'`]*/gi;
const MD_LINK_RE = /\[(?:[^\]]|\][^(])*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g;
const MD_REF_RE = /^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/;
const MACHINE_RE = /(?<![\w.~$})-])\/(?:work\/|root\/|Users\/[\w.-]+|home\/[\w.-]+)[^\s'"`(),;]*/g;

const blank = (text: string) => ' '.repeat(text.length);

/**
 * Where a repository path resolves, or null. `from` is the citing file's folder; a markdown
 * link resolves from there only (as GitHub does), a mention also from every enclosing folder
 * and from each workspace package (package-relative paths such as test/helpers/reports.ts).
 */
function resolve(repo: Repo, from: string, path: string, bases: 'file' | 'enclosing'): string | null {
  const candidates: string[] = [];
  if (path.startsWith('/')) candidates.push(path.slice(1));
  else {
    for (let dir = from; ; dir = posix.dirname(dir)) {
      candidates.push(posix.join(dir, path));
      if (bases === 'file' || dir === '.') break;
    }
    if (bases === 'enclosing') for (const pkg of repo.packageDirs) candidates.push(posix.join(pkg, path));
  }
  for (const c of candidates) {
    const p = posix.normalize(c).replace(/\/$/, '') || '.';
    if (p.startsWith('..')) continue;
    if (repo.files.has(p) || repo.dirs.has(p)) return p;
    if (bases === 'enclosing' && repo.stems.has(p)) return p; // a file named without its extension
    // TypeScript imports name the emitted .js; packages/*/dist is built from packages/*/src.
    const source = p.replace(/(^|\/)dist(\/|$)/, '$1src$2');
    for (const q of new Set([p, source])) {
      if (repo.dirs.has(q)) return q;
      for (const ext of ['.ts', '.tsx', '.mts', '.d.ts']) {
        const swapped = q.replace(/\.(?:m?js|d\.ts)$/, ext);
        if (swapped !== q && repo.files.has(swapped)) return swapped;
      }
    }
  }
  return null;
}

/** Problems of one file's text. `file` is its repository path. */
function checkText(repo: Repo, file: string, text: string): Problem[] {
  const problems: Problem[] = [];
  const from = posix.dirname(file);
  const isMarkdown = file.endsWith('.md');
  const report = (line: number, citation: string, reason: string) => problems.push({ file, line, citation, reason });

  let ownAnchors: Set<string> | null = null;
  const checkTarget = (lineNo: number, citation: string, target: string, bases: 'file' | 'enclosing') => {
    const hash = target.indexOf('#');
    let path = hash < 0 ? target : target.slice(0, hash);
    try {
      path = decodeURIComponent(path);
    } catch {
      /* keep it as written */
    }
    const anchor = hash < 0 ? null : target.slice(hash + 1).toLowerCase();
    if (path === '') {
      if (anchor !== null && isMarkdown && !(ownAnchors ??= headingSlugs(text)).has(anchor)) {
        report(lineNo, citation, `no heading #${anchor} in this file`);
      }
      return;
    }
    const bare = bases === 'enclosing' && !path.includes('/');
    const resolved = bare ? repo.byName.get(path) ?? null : resolve(repo, from, path, bases);
    if (resolved === null) return isAllowed(file, citation) ? undefined : report(lineNo, citation, 'no such file in the repository');
    if (anchor !== null && resolved.endsWith('.md') && repo.files.has(resolved) && !repo.anchorsOf(resolved).has(anchor)) {
      report(lineNo, citation, `no heading #${anchor} in ${resolved}`);
    }
  };

  const top = repo.topDirs.map((d) => d.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|');
  const pathRe = new RegExp(
    String.raw`(?<![\w.\/@:$~-])((?:\.{1,2}\/)*(?:(?:${top || '(?!)'})\/[\w.@\/-]*|(?:[\w.-]+\/)*[\w.-]*\w\.md\b)(?:#[\w-]+)?)`,
    'g',
  );

  let fence: string | null = null;
  text.split('\n').forEach((raw, index) => {
    const lineNo = index + 1;
    let line = raw.replace(URL_RE, blank);

    for (const m of line.matchAll(MACHINE_RE)) {
      if (!isAllowed(file, m[0])) {
        report(lineNo, m[0].replace(/[.:]+$/, ''), 'absolute path of a development machine');
      }
    }

    if (isMarkdown) {
      const f = /^ {0,3}(`{3,}|~{3,})/.exec(line);
      if (f) fence = fence === null ? f[1]![0]! : f[1]![0] === fence ? null : fence;
      else if (fence === null) {
        const prose = line.replace(/`[^`]*`/g, blank);
        const links = [...prose.matchAll(MD_LINK_RE)];
        const ref = MD_REF_RE.exec(prose);
        for (const m of links) {
          const target = m[1]!;
          if (!/^[a-z][a-z0-9+.-]*:|^\/\//i.test(target)) checkTarget(lineNo, target, target, 'file');
          line = line.slice(0, m.index) + blank(m[0]) + line.slice(m.index + m[0].length);
        }
        if (ref && !/^[a-z][a-z0-9+.-]*:|^\/\//i.test(ref[1]!)) {
          checkTarget(lineNo, ref[1]!, ref[1]!, 'file');
          line = blank(line);
        }
      }
    }

    for (const m of line.matchAll(pathRe)) {
      let token = m[1]!;
      const next = line[m.index + token.length];
      if (next !== undefined && '*{<$['.includes(next)) continue; // a glob or a template, not a path
      if (/node_modules/.test(token)) continue;
      token = token.replace(/[.-]+$/, '');
      checkTarget(lineNo, token, token, 'enclosing');
    }
  });
  return problems;
}

function format(problems: Problem[]): string {
  return problems.map((p) => `${p.file}:${p.line}: ${p.citation} (${p.reason})`).join('\n');
}

// ------------------------------------------------------------------ the checker on made-up text

/** Placeholders keep the made-up citations below from being citations of this file. */
const fill = (text: string) =>
  text.replaceAll('{md}', '.md').replaceAll('{ts}', '.ts').replaceAll('{/}', '/').replaceAll('{work}', '/work').replaceAll('{home}', '/home');

test('the checker finds missing documents, missing anchors and machine paths in made-up text', () => {
  const docs: Record<string, string> = {
    [fill('docs/guide{md}')]: '# Guide\n\n## Who reaches what\n\n```sh\n# not a heading\n```\n\n## Who reaches what\n',
    'packages/core/src/ip.ts': '',
    'test/docs/docs-fresh.test.ts': '',
  };
  const repo = makeRepo(Object.keys(docs), (p) => docs[p]!);
  const source = fill(
    [
      '// the table is in NOTES{md}', // 1: bad
      '// docs/guide{md}#who-reaches-what and docs/guide{md}#who-reaches-what-1 and guide{md}', // 2: fine
      '// docs/guide{md}#not-a-heading', // 3: bad anchor (inside a code block there)
      "import { x } from '../../packages/core/src/ip.js'; // packages/core/dist/ip.js, test/docs", // 4: fine
      '// packages/core/src/route{ts}, test/nowhere{/}.', // 5: two bad
      '// {work}/shared/table.txt and {home}/alice/x', // 6: two machine paths
      '// /proc/net/tcp6, /etc/ssh/sshd_config, /var/lib/dualstack/spool, /usr/share/doc/x/README{md}', // 7: fine
      '// https://example.org/NOTES{md} and packages/*/test/**/*.ts and test/golden/${name}.json', // 8: fine
    ].join('\n'),
  );
  const problems = checkText(repo, fill('packages/core/src/x{ts}'), source);
  assert.deepEqual(
    problems.map((p) => [p.line, p.citation, p.reason]),
    [
      [1, fill('NOTES{md}'), 'no such file in the repository'],
      [3, fill('docs/guide{md}#not-a-heading'), fill('no heading #not-a-heading in docs/guide{md}')],
      [5, fill('packages/core/src/route{ts}'), 'no such file in the repository'],
      [5, fill('test/nowhere{/}'), 'no such file in the repository'],
      [6, fill('{work}/shared/table.txt'), 'absolute path of a development machine'],
      [6, fill('{home}/alice/x'), 'absolute path of a development machine'],
    ],
  );
  assert.ok(
    format(problems).startsWith(fill('packages/core/src/x{ts}:1: NOTES{md} (no such file in the repository)\n')),
    format(problems),
  );

  const markdown = fill(
    [
      '# Title', // 1
      'See [the guide](guide{md}#who-reaches-what), [a part](#title) and [home](../README{md}).', // 2: README missing
      '[broken](#nowhere) and [away](https://example.org/x{md}) and `[code](nowhere{md})`', // 3: #nowhere bad
      '```', // 4
      '[inside a fence](nowhere{md})', // 5: not a link
      '```', // 6
      '[ref]: ./gone{md}', // 7: bad
    ].join('\n'),
  );
  assert.deepEqual(
    checkText(repo, fill('docs/other{md}'), markdown).map((p) => [p.line, p.citation]),
    [
      [2, fill('../README{md}')],
      [3, '#nowhere'],
      [3, fill('nowhere{md}')], // in code, not a link, but still a mention of a missing document
      [5, fill('nowhere{md}')],
      [7, fill('./gone{md}')],
    ],
  );
});

test('slugs follow GitHub: punctuation dropped, spaces to hyphens, repeats numbered', () => {
  assert.equal(slug('How `all`, `default` and the interface combine'), 'how-all-default-and-the-interface-combine');
  assert.equal(slug("The kernel's answer: UDP connect()"), 'the-kernels-answer-udp-connect');
  assert.equal(slug('IPv6 addresses (if_inet6)'), 'ipv6-addresses-if_inet6');
  assert.deepEqual([...headingSlugs('# A\n## A\nB\n---\n| x |\n|---|\n')], ['a', 'a-1', 'b']);
});

// ------------------------------------------------------------------ the repository

test('every file cites only what the repository holds, and no development machine path', (t) => {
  let listing: string;
  try {
    listing = execFileSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20 });
  } catch (error) {
    t.skip(`not a git checkout (git ls-files failed: ${(error as Error).message.split('\n')[0]})`);
    return;
  }
  const tracked = listing.split('\0').filter(Boolean);
  const repo = makeRepo(tracked, (p) => readFileSync(posix.join(root, p), 'utf8'));
  const problems: Problem[] = [];
  let scanned = 0;
  for (const file of tracked) {
    if (isData(file)) continue;
    const path = posix.join(root, file);
    if (!existsSync(path)) continue; // deleted in the work tree, not yet in the index
    const bytes = readFileSync(path);
    if (bytes.includes(0)) continue; // binary
    scanned++;
    problems.push(...checkText(repo, file, bytes.toString('utf8')));
  }
  assert.ok(scanned > 50, `only ${scanned} files scanned: is the listing right?`);
  assert.equal(problems.length, 0, `citations a reader of the repository cannot follow:\n${format(problems)}`);
});
