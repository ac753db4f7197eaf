// RFC 9457 problem details for every 4xx/5xx the collector sends.
import type { FastifyReply } from 'fastify';
import type { Problem } from './api.js';

export function problem(status: number, kind: string, title: string, detail: string, extra: Partial<Problem> = {}): Problem {
  return { type: `urn:dualstack:problem:${kind}`, title, status, detail, ...extra };
}

export function sendProblem(reply: FastifyReply, body: Problem): FastifyReply {
  return reply.code(body.status).type('application/problem+json').send(body);
}
