// /docs (swagger-ui) is served with a Content-Security-Policy (issue 17) that still lets the page
// load: its inline scripts are allowed by hash, its other scripts come from the collector itself.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { request } from 'undici';
import { startTestCollector } from './helpers/collector.js';
import { chromiumMissing, launchBrowser } from './helpers/ui-browser.js';

test('/docs pages carry a CSP that allows exactly the page\'s own scripts and works over plain HTTP', async (t) => {
  const c = await startTestCollector();
  t.after(() => c.close());
  const page = await request(`${c.url}/docs`);
  const html = await page.body.text();
  assert.equal(page.statusCode, 200);
  const csp = String(page.headers['content-security-policy'] ?? '');
  assert.match(csp, /default-src 'self'/);
  assert.match(csp, /object-src 'none'/);
  const scriptSrc = / script-src ([^;]*);/.exec(csp)?.[1] ?? '';
  assert.doesNotMatch(scriptSrc, /unsafe-inline|unsafe-eval|\*/, 'no blanket script permission');
  // Every script of the page is allowed: inline ones by their hash, external ones same-origin.
  const scripts = [...html.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
  assert.ok(scripts.length > 0);
  for (const [, attrs, body] of scripts) {
    const src = /src="([^"]+)"/.exec(attrs!)?.[1];
    if (src) assert.ok(!/^[a-z]+:|^\/\//i.test(src), `external script ${src} is same-origin`);
    else assert.ok(scriptSrc.includes(`'sha256-${createHash('sha256').update(body!).digest('base64')}'`), `inline script allowed by hash: ${body!.slice(0, 60)}`);
  }
  // The collector often serves plain HTTP: upgrade-insecure-requests would send the page's
  // scripts to https:// and leave it blank.
  assert.doesNotMatch(csp, /upgrade-insecure-requests/);
  for (const path of ['/docs/static/swagger-initializer.js', '/docs/json']) {
    const res = await request(`${c.url}${path}`);
    await res.body.dump();
    assert.equal(res.statusCode, 200, path);
    assert.equal(res.headers['content-security-policy'], page.headers['content-security-policy'], path);
  }
});

test('/docs still renders in Chromium under its CSP, with no violation', { skip: chromiumMissing() ?? false }, async (t) => {
  const c = await startTestCollector();
  t.after(() => c.close());
  const browser = await launchBrowser();
  t.after(() => browser.close());
  const page = await browser.context.newPage();
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  const res = await page.goto(`${c.url}/docs`);
  assert.ok(res?.headers()['content-security-policy']);
  await page.locator('.swagger-ui .info .title', { hasText: 'dualstack collector' }).waitFor();
  await page.locator('.opblock-summary-path', { hasText: '/api/v1/reports' }).first().waitFor();
  assert.deepEqual(errors.filter((e) => /content security policy/i.test(e)), []);
});
