// The runtime-light entry: pure helpers and the report's types. The TypeBox schema values and
// the validator live in '@dualstack/core/schema' so the agent never loads TypeBox.
export type * from './report.js';
export type * from './wire.js';
export type * from './probe.js';
export * from './endpoint-url.js';
export * from './rules/endpoint-rule.js';
export * from './rules/endpoint-rules.js';
export * from './rules/endpoint-verdicts.js';
export * from './schema-id.js';
export * from './ip.js';
export * from './analyze/services.js';
export * from './analyze/routes.js';
export * from './analyze/sysctl.js';
export * from './analyze/socket-units.js';
export * from './knowledge/socket-units/listen.js';
export { socketUnitKnowledge, dropInCommands } from './knowledge/socket-units/drop-in.js';
export * from './rules/index.js';
export * from './rules/namespace-rules.js';
export * from './knowledge/daemons/index.js';
export * from './knowledge/kernels.js';
export * from './firewall/model.js';
export * from './firewall/values.js';
export * from './firewall/evaluate.js';
export * from './firewall/services.js';
export * from './knowledge/config/index.js';
