// The dashboard: the static files of src/ui (copied to dist/ui by the build), served from
// memory. GET / is the one page; its assets live under /ui/. Nothing is fetched from
// elsewhere: a strict Content-Security-Policy (self only) says so to the browser too.
//
// Caching: index.html names its assets under /ui/v-<hash>/ (the hash of every file), so a
// browser keeps them for a year (immutable) and a new build changes every URL at once.
// index.html itself and unversioned /ui/<file> URLs are revalidated each time (ETag, 304).
// Bodies are compressed once at start (brotli, gzip) and sent as the client accepts.
import fp from 'fastify-plugin';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, gzipSync, constants as zlib } from 'node:zlib';
import type { FastifyReply, FastifyRequest } from 'fastify';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "font-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

interface Asset {
  type: string;
  etag: string;
  identity: Buffer;
  br: Buffer | null;
  gzip: Buffer | null;
}

function asset(name: string, body: Buffer): Asset {
  const type = CONTENT_TYPES[extname(name)] ?? 'application/octet-stream';
  const compressible = /^(text\/|application\/json|image\/svg)/.test(type) && body.length > 512;
  return {
    type,
    etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
    identity: body,
    br: compressible ? brotliCompressSync(body, { params: { [zlib.BROTLI_PARAM_QUALITY]: 11, [zlib.BROTLI_PARAM_SIZE_HINT]: body.length } }) : null,
    gzip: compressible ? gzipSync(body, { level: 9 }) : null,
  };
}

/** The content codings a client accepts (q=0 excluded). */
function acceptedEncodings(header: string | undefined): Set<string> {
  const out = new Set<string>();
  for (const part of (header ?? '').split(',')) {
    const [name, ...params] = part.toLowerCase().split(';').map((p) => p.trim());
    const q = params.find((p) => p.startsWith('q='));
    if (name && !(q !== undefined && Number(q.slice(2)) === 0)) out.add(name);
  }
  return out;
}

/** The folder with index.html: src/ui next to src/plugins, or dist/ui next to dist/plugins. */
export function defaultUiDir(): string {
  return fileURLToPath(new URL('../ui/', import.meta.url));
}

export interface UiOptions {
  /** Where index.html and its assets are; defaults to ../ui beside this module. */
  dir?: string;
}

export const uiPlugin = fp<UiOptions>(
  async (app, opts) => {
    const dir = opts.dir ?? defaultUiDir();
    if (!existsSync(join(dir, 'index.html'))) {
      app.log.warn({ dir }, 'dashboard files not found: GET / will answer 404 (build the collector to copy src/ui to dist/ui)');
      return;
    }
    const files = new Map<string, Buffer>();
    for (const name of readdirSync(dir).sort()) {
      if (name === 'index.html' || name.startsWith('.') || !statSync(join(dir, name)).isFile()) continue;
      files.set(name, readFileSync(join(dir, name)));
    }
    const version = createHash('sha256');
    for (const [name, body] of files) version.update(name).update('\0').update(body).update('\0');
    const prefix = `v-${version.digest('hex').slice(0, 12)}`;
    const assets = new Map<string, Asset>([...files].map(([name, body]) => [name, asset(name, body)]));
    // The page names every asset by its versioned URL: /ui/<file> -> /ui/v-<hash>/<file>.
    const html = readFileSync(join(dir, 'index.html'), 'utf8').replace(/(["'])\/ui\/(?!v-)/g, `$1/ui/${prefix}/`);
    const page = asset('index.html', Buffer.from(html));

    function send(request: FastifyRequest, reply: FastifyReply, a: Asset, cacheControl: string) {
      reply.headers({ ...SECURITY_HEADERS, 'content-type': a.type, 'cache-control': cacheControl, etag: a.etag, vary: 'accept-encoding' });
      const inm = request.headers['if-none-match'];
      if (inm !== undefined && inm.split(',').some((t) => t.trim().replace(/^W\//, '') === a.etag)) return reply.code(304).send();
      const codings = acceptedEncodings(request.headers['accept-encoding']);
      if (a.br && codings.has('br')) return reply.header('content-encoding', 'br').send(a.br);
      if (a.gzip && codings.has('gzip')) return reply.header('content-encoding', 'gzip').send(a.gzip);
      return reply.send(a.identity);
    }

    const hide = { schema: { hide: true } };
    app.get('/', hide, async (request, reply) => send(request, reply, page, 'no-cache'));
    app.get('/index.html', hide, async (_request, reply) => reply.redirect('/', 301));
    app.get('/ui/*', hide, async (request, reply) => {
      const rest = (request.params as { '*': string })['*'];
      const match = /^(?:(v-[0-9a-f]{12})\/)?([A-Za-z0-9][A-Za-z0-9._-]*)$/.exec(rest);
      const a = match ? assets.get(match[2]!) : undefined;
      if (!match || !a) {
        return reply.code(404).headers(SECURITY_HEADERS).type('text/plain; charset=utf-8').send('Not found\n');
      }
      // A URL of this build's version never changes; any other (an old page asking for an old
      // version, or no version) gets the current file and must revalidate.
      return send(request, reply, a, match[1] === prefix ? 'public, max-age=31536000, immutable' : 'no-cache');
    });
  },
  { name: 'ui', fastify: '5.x' },
);
