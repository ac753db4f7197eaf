// The evaluation schedule: a node-cron job that never overlaps itself (noOverlap: a tick that
// comes while an evaluation still runs is skipped, not queued), so a slow evaluation on a big
// fleet cannot pile up behind itself.
import cron, { type ScheduledTask } from 'node-cron';

export function scheduleEvaluations(schedule: string, evaluate: () => Promise<unknown>): ScheduledTask {
  return cron.schedule(
    schedule,
    async () => {
      await evaluate();
    },
    { noOverlap: true, name: 'alerts' },
  );
}
