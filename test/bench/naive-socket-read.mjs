#!/usr/bin/env node
// The reference point for the scan benchmark: a naive read-split-parse of the TCP
// socket tables, nothing else. Whole files read into strings, split into lines and fields,
// established peers counted per local endpoint. No process mapping, no V6ONLY, no routes, no
// report: a floor for "Node reading /proc/net/tcp{,6}", timed by scan.bench.mjs in the same
// namespace and run as the agent.
import { readFileSync } from 'node:fs';

const perEndpoint = new Map();
let listening = 0;
for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
  let text;
  try {
    text = readFileSync(file, 'latin1');
  } catch {
    continue; // no IPv6
  }
  const lines = text.split('\n');
  for (let i = 1; i < lines.length; i++) {
    const fields = lines[i].trim().split(/\s+/);
    if (fields.length < 10) continue;
    if (fields[3] === '0A') listening++;
    else if (fields[3] === '01') perEndpoint.set(fields[1], (perEndpoint.get(fields[1]) ?? 0) + 1);
  }
}
process.stdout.write(`${JSON.stringify({ listening, endpoints: perEndpoint.size })}\n`);
