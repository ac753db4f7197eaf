// Shipping reports to the collector: push, spool, backoff, delivery, the `run` loop.
export * from './backoff.js';
export * from './push.js';
export * from './spool.js';
export * from './deliver.js';
export * from './config.js';
export * from './loop.js';
export * from './payload.js';
export * from './enroll.js';
