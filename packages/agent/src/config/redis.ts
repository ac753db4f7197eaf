// Redis: /etc/redis/redis.conf (Debian; RHEL keeps it there too) with its include lines. A pure
// parser of the line syntax (config.c loadServerConfigFromString(), sds.c sdssplitargs()) + a
// thin reader keeping the directives the knowledge base reads.
import type { ConfigDirective, DaemonConfig } from '@dualstack/core';
import { redisArgs, redisConfigKnowledge } from '@dualstack/core';
import { ConfigParseError } from '../config-syntax.js';
import { EtcRoot, IncludeWalker } from './etc-root.js';

export const REDIS_CONF = '/etc/redis/redis.conf';

export interface RedisParse {
  items: ConfigDirective[];
  includes: Array<{ pattern: string; at: number }>;
}

/**
 * One directive per line: the first argument is its name, `value` the rest as written. Blank and
 * `#` lines are skipped. What redis-server refuses on any line (unbalanced quotes) or on the
 * directives read here without an argument is a ConfigParseError; an unknown directive is not
 * this parser's business.
 */
export function parseRedisConf(text: string, file: string): RedisParse {
  const items: ConfigDirective[] = [];
  const includes: Array<{ pattern: string; at: number }> = [];
  text.split('\n').forEach((rawLine, index) => {
    const raw = rawLine.replace(/\r$/, '');
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const args = redisArgs(line);
    const fail = (field: string, reason: string): never => {
      throw new ConfigParseError({ file, line: index + 1, field, raw, reason });
    };
    if (args === null) fail(/^\S+/.exec(line)![0], 'Unbalanced quotes in configuration line');
    const key = args![0]!;
    const lower = key.toLowerCase();
    if (['include', 'bind', 'port'].includes(lower) && args!.length < 2) fail(key, 'wrong number of arguments');
    if (lower === 'include') {
      if (args!.length !== 2) fail(key, 'wrong number of arguments');
      includes.push({ pattern: args![1]!, at: items.length });
      return;
    }
    const value = line.slice(line.indexOf(key) + key.length).trim();
    items.push({ file, line: index + 1, key, value, raw });
  });
  return { items, includes };
}

const KEYS = new Set(redisConfigKnowledge.directives);

/** redis.conf with its includes, the directives the knowledge base reads; null when Redis has no configuration here. */
export function readRedis(etc: EtcRoot): DaemonConfig | null {
  if (!etc.exists(REDIS_CONF)) return null;
  // A relative include is opened from redis-server's working folder (/ under systemd).
  const walker = new IncludeWalker<ConfigDirective>(etc, parseRedisConf, () => '/');
  const all = walker.walk(REDIS_CONF);
  return { daemon: 'redis', files: walker.files, directives: all.filter((d) => KEYS.has(d.key.toLowerCase())) };
}
