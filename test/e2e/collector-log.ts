// What a real collector process says it answered: its request log (Fastify's pino JSON lines
// on stdout, kept by harness.ts's Proc), read back as one entry per POST /api/v1/reports.
import type { Collector, Proc } from './harness.js';

/** One POST /api/v1/reports as the collector logged it: which process, and the status it answered (null: none logged). */
interface LoggedPost {
  incarnation: number;
  reqId: string;
  status: number | null;
}

/** Every POST /api/v1/reports in the collector's request log (Fastify's pino lines), all incarnations, in order. */
export function collectorPosts(collector: Collector): LoggedPost[] {
  const posts: LoggedPost[] = [];
  collector.incarnations.forEach((proc: Proc, i) => {
    const byReq = new Map<string, LoggedPost>();
    for (const line of proc.stdout.split('\n')) {
      if (!line.startsWith('{')) continue;
      let entry: { reqId?: string; msg?: string; req?: { method?: string; url?: string }; res?: { statusCode?: number } };
      try {
        entry = JSON.parse(line);
      } catch {
        continue;
      }
      if (entry.reqId === undefined) continue;
      if (entry.msg === 'incoming request' && entry.req?.method === 'POST' && entry.req.url === '/api/v1/reports') {
        const post: LoggedPost = { incarnation: i + 1, reqId: entry.reqId, status: null };
        byReq.set(entry.reqId, post);
        posts.push(post);
      } else if (entry.msg === 'request completed') {
        const post = byReq.get(entry.reqId);
        if (post) post.status = entry.res?.statusCode ?? null;
      }
    }
  });
  return posts;
}
