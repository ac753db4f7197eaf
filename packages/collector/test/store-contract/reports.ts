// What the contract cases send with a report: the ingest meta, and times relative to now.
import assert from 'node:assert/strict';
import { ReportRejectedError } from '../../src/db/ingest-rows.js';
import type { IngestMeta } from '../../src/store.js';

export const meta = (receivedAt: Date = new Date()): IngestMeta => ({ receivedAt: receivedAt.toISOString(), tokenId: null, bytes: 1234 });
export const minutesAgo = (minutes: number): Date => new Date(Date.now() - minutes * 60_000);

export function rejectionOf(promise: Promise<unknown>): Promise<ReportRejectedError> {
  return promise.then(
    () => assert.fail('expected a ReportRejectedError'),
    (error: unknown) => {
      assert.ok(error instanceof ReportRejectedError, `expected ReportRejectedError, got ${String(error)}`);
      return error;
    },
  );
}
