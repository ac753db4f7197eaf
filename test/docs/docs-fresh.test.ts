// docs/ is generated from the source and rule declarations; a stale file fails here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
// @ts-expect-error plain ES module script without types
import { renderDocs } from '../../scripts/gen-docs.mjs';

const root = fileURLToPath(new URL('../..', import.meta.url));

test('generated docs are up to date (npm run docs rewrites them)', async () => {
  const docs = (await renderDocs()) as Record<string, string>;
  assert.ok(Object.keys(docs).length > 0);
  for (const [file, text] of Object.entries(docs)) {
    assert.equal(readFileSync(join(root, file), 'utf8'), text, `${file} is stale: run npm run docs`);
  }
});
