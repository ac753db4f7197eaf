export * from './report.js';
export * from './ip.js';
export * from './analyze/services.js';
export * from './analyze/routes.js';
export * from './analyze/sysctl.js';
