// `dualstack-agent run` logs for journald: one pino JSON line per event on stdout. The ship
// code logs plain sentences (push prints them as they are, on stderr); here each sentence keeps
// its words as `msg` and gains a level, an `event` name and, when it is about one report, its
// `reportId`, so `journalctl -u dualstack-agent -o cat | jq 'select(.event=="spooled")'` works.
import type { Level } from 'pino';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface AgentEvent {
  level: Exclude<Level, 'fatal' | 'trace'>;
  /** delivered, spooled, rejected, dropped, retrying, waiting, running, stopping, stopped, ... */
  event: string;
  msg: string;
  reportId?: string;
  batchId?: string;
}

const EVENTS: Array<[RegExp, AgentEvent['level'], string]> = [
  [/^delivered /, 'info', 'delivered'],
  [/^spooled /, 'warn', 'spooled'],
  [/^rejected /, 'error', 'rejected'],
  [/^dropped /, 'error', 'dropped'],
  [/^retrying /, 'info', 'retrying'],
  [/ for the next (scan|probe round)/, 'info', 'waiting'],
  [/^running /, 'info', 'running'],
  [/^stopping /, 'info', 'stopping'],
  [/^stopped$/, 'info', 'stopped'],
  [/^SIG\w+ again/, 'warn', 'stopping'],
  // A tick skipped (the previous scan still running, or its time missed) is expected, counted
  // by the loop: debug. So are node-cron's own notices about it; its errors stay warnings.
  [/^skipped a (scan|probe round) .*still running$/, 'debug', 'overlap'],
  [/^skipped a (scan|probe round) .*missed so far/, 'debug', 'missed'],
  [/^scheduler notice: /, 'debug', 'scheduler'],
  [/^scheduler: /, 'warn', 'scheduler'],
  [/^\w+ failed: /, 'error', 'failed'],
  [/^(moved corrupt|removed .*partial spool write)/, 'warn', 'spool'],
  [/using the token read before$/, 'warn', 'token'],
];

/** What a ship log sentence is: its level, event name and the report it is about. */
export function classifyLine(line: string): AgentEvent {
  const reportId = /\breport (\S+) \(collected /.exec(line)?.[1];
  const batchId = /\bprobe batch (\S+) \(started /.exec(line)?.[1];
  const extra = reportId ? { reportId } : batchId ? { batchId } : {};
  if (line.startsWith('warning: ')) return { level: 'warn', event: 'warning', msg: line.slice('warning: '.length), ...extra };
  for (const [pattern, level, event] of EVENTS) if (pattern.test(line)) return { level, event, msg: line, ...extra };
  return { level: 'info', event: 'message', msg: line, ...extra };
}

/**
 * A log function for the ship code that writes pino JSON lines to stdout, synchronously (a
 * line written just before process.exit is not lost; an agent logs a few lines a minute).
 * pino is imported here, on first use, so `scan` never loads it.
 */
export async function jsonEventLog(level: LogLevel): Promise<(line: string) => void> {
  const { pino } = await import('pino');
  const logger = pino({ name: 'dualstack-agent', level }, pino.destination({ dest: 1, sync: true }));
  return (line) => {
    const { level: lineLevel, msg, ...fields } = classifyLine(line);
    logger[lineLevel](fields, msg);
  };
}
