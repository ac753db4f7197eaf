export * from './report.js';
export * from './schema-id.js';
