// What to do about a duplicate identity (a machine enrolled with a host id that already has a
// live key, most likely a clone carrying the same /etc/machine-id): one text for the pending
// key's 403, the admin and host APIs, the dashboard and the duplicate-identity alert.

/** The clone's new machine id (systemd's own tool writes a fresh random one). */
export const DUPLICATE_IDENTITY_FIX = 'rm /etc/machine-id && systemd-machine-id-setup';

/**
 * The clone's steps in full. Its pending key must go too: the agent sends the host key it holds
 * whatever host id its report carries, and a pending key is refused (403) for every host id, so
 * a new machine id alone changes nothing. So must its spooled reports: they carry the old host
 * id, which no key of the clone may write, and the spool is sent oldest first
 * (test/e2e/enrollment.test.ts shows both).
 */
export const CLONE_STEPS = `${DUPLICATE_IDENTITY_FIX}; rm -f /var/lib/dualstack/host.key /var/lib/dualstack/spool/*.json (its pending key and the reports waiting under the old id; the agent's --state-dir and --spool); systemctl restart dualstack-agent: with its enroll secret the agent enrolls under the new id`;

/** The way out of a duplicate identity, naming the pending keys an admin may revoke or accept. */
export function duplicateIdentityFix(hostId: string, pending: ReadonlyArray<{ id: string }>): string | null {
  if (pending.length === 0) return null;
  const keys = pending.map((k) => k.id).join('|');
  return (
    `${pending.length} other machine(s) enrolled with host id ${hostId}, most likely clones (same /etc/machine-id). On each clone: ${CLONE_STEPS}. ` +
    `Then drop its pending key: dualstack-collector host revoke ${hostId} ${keys}. ` +
    `If one replaces the host: dualstack-collector host accept ${hostId} ${keys}.`
  );
}
