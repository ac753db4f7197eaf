export * from './report.js';
export * from './schema-id.js';
export * from './wire.js';
export * from './probe.js';
