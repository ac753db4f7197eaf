export const AGENT_FACING_VERSION = '0.1.0';
