// host-clock-skew: a finding only the collector can make, comparing the agent's collectedAt
// with the collector's own receive time. Core's rules judge what the agent read on the host;
// the agent cannot see that its own clock is wrong, so this rule lives here and its finding is
// stored with the report's findings at ingest (db/ingest-rows.ts), where the host API, the
// findings API and the `finding` alerts read it like any other.
import type { Finding } from '@dualstack/core';

export const HOST_CLOCK_SKEW_RULE = 'host-clock-skew';
/** The default of the collector's `maxClockSkewSeconds`. */
export const DEFAULT_MAX_CLOCK_SKEW_SECONDS = 300;

/** "23 h 59 min", "6 min", "40 s": minutes at most, so a report's finding text (and hash) does not change with each second of transit. */
function duration(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  if (minutes === 0) return `${Math.round(ms / 1000)} s`;
  const hours = Math.floor(minutes / 60);
  const days = Math.floor(hours / 24);
  if (days > 0) return `${days} d ${hours % 24} h ${minutes % 60} min`;
  return hours > 0 ? `${hours} h ${minutes % 60} min` : `${minutes} min`;
}

/** The clocks compared for one report, in ms since the epoch. */
export interface ClockReadings {
  /** The report's collectedAt (host clock, when the scan ran). */
  collectedMs: number;
  /** The request's Date header (host clock, when it was sent), when the agent sent one. */
  sentMs: number | null;
  /** When the collector received it (collector clock). */
  receivedMs: number;
}

/**
 * The finding for a report, or null when the host's clock looks right within `maxSkewMs`.
 * A collectedAt ahead of the receive time is always a wrong clock (nothing is collected in the
 * future). Behind is not: a report spooled while the collector was down arrives hours after
 * it was collected. So a clock behind is judged from the request's Date header (agents send
 * one: the time of sending), and not at all for an agent that sends none.
 */
export function hostClockSkew(readings: ClockReadings, maxSkewMs: number): Finding | null {
  const { collectedMs, sentMs, receivedMs } = readings;
  let offset: number;
  let source: string;
  if (collectedMs - receivedMs > maxSkewMs) {
    offset = collectedMs - receivedMs;
    source = `collectedAt (host clock) ${new Date(collectedMs).toISOString()}`;
  } else if (sentMs !== null && Math.abs(sentMs - receivedMs) > maxSkewMs) {
    offset = sentMs - receivedMs;
    source = `request Date header (host clock, when sent) ${new Date(sentMs).toISOString()}`;
  } else {
    return null;
  }
  const way = offset > 0 ? 'ahead of' : 'behind';
  const amount = duration(Math.abs(offset));
  return {
    rule: HOST_CLOCK_SKEW_RULE,
    severity: 'warning',
    subject: 'host',
    message: `The host's clock is ${amount} ${way} the collector's: its reports carry a wrong collectedAt (the collector orders them by receive time, so they are applied all the same).`,
    evidence: [
      source,
      `received by the collector ${new Date(receivedMs).toISOString()}`,
      `offset ${offset > 0 ? '+' : '-'}${amount} (allowed: ${duration(maxSkewMs)}, collector setting maxClockSkewSeconds)`,
    ],
    fix: {
      summary: 'Synchronise the host clock with NTP: chrony, or systemd-timesyncd where chrony is not installed.',
      commands: [
        'timedatectl status    # "System clock synchronized: no" confirms it',
        'apt-get install -y chrony || dnf install -y chrony',
        'systemctl enable --now chrony || systemctl enable --now chronyd',
        'chronyc makestep    # step the clock now instead of slewing for hours',
        '# or, without chrony: timedatectl set-ntp true && systemctl restart systemd-timesyncd',
      ],
    },
  };
}
