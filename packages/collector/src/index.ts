export { SqliteStore, ReportRejectedError, TokenNameTakenError, type SqliteStoreOptions, type SqliteStoreStats } from './db/sqlite-store.js';
export { SchemaTooNewError, SCHEMA_VERSION } from './db/migrations.js';
