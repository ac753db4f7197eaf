// Probing published endpoints from this host as a vantage point (issue 12).
export * from './resolve.js';
export * from './connect.js';
export * from './tls.js';
export * from './http.js';
export * from './banner.js';
export * from './attempt.js';
export * from './limit.js';
export * from './probe-endpoint.js';
export * from './round.js';
export * from './vantage.js';
export * from './render.js';
export * from './targets.js';
export * from './fetch-targets.js';
export * from './vantage-round.js';
