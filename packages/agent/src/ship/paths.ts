// Where the agent keeps its state unless told otherwise (the unit's StateDirectory=dualstack).
// A module of its own, with no imports: main.ts's --help names the spool's directory, and
// importing spool.ts for it loaded node:crypto into every start-up, --version's too.
export const DEFAULT_STATE_DIR = '/var/lib/dualstack';
export const DEFAULT_SPOOL_DIR = `${DEFAULT_STATE_DIR}/spool`;
