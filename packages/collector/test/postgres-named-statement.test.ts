// Statements sent by name (db/postgres/named-statement.ts): PostgreSQL runs a prepared name's
// first text for every later call on the connection, so a name must never stand for two texts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { named } from '../src/db/postgres/named-statement.js';

test('a name keeps its one text; the same text again is the same statement, another text under it is refused', () => {
  assert.deepEqual(named('test-lookup', 'SELECT 1 WHERE $1::int > 0', [1]), { name: 'test-lookup', text: 'SELECT 1 WHERE $1::int > 0', values: [1] });
  assert.deepEqual(named('test-lookup', 'SELECT 1 WHERE $1::int > 0'), { name: 'test-lookup', text: 'SELECT 1 WHERE $1::int > 0' });
  assert.throws(() => named('test-lookup', 'SELECT 2 WHERE $1::int > 0', [1]), /statement name 'test-lookup' is already used for another text/);
});
