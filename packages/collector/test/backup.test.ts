// Online backup: Store.backup in the collector's own process while it ingests, and
// `dualstack-collector backup FILE` from another process while the real collector (the built
// dist/cli.js, so `npx turbo run build` first) ingests over HTTP on 127.0.0.1. Either way a
// fresh store or collector opens the file with every host, and integrity_check says ok.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { SqliteStore } from '../src/db/sqlite-store.js';
import { reportFrom } from './helpers/reports.js';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const meta = () => ({ receivedAt: new Date().toISOString(), tokenId: null, bytes: 1000 });

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'dualstack-backup-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function fileFacts(file: string): { integrity: string; journal: string; hosts: string[] } {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return {
      integrity: (db.pragma('integrity_check') as Array<{ integrity_check: string }>).map((r) => r.integrity_check).join('; '),
      journal: db.pragma('journal_mode', { simple: true }) as string,
      hosts: (db.prepare('SELECT host_id FROM hosts ORDER BY host_id').pluck().all() as string[]),
    };
  } finally {
    db.close();
  }
}

test('Store.backup while reports keep arriving: a fresh store opens the copy with every host stored before it', async (t) => {
  const dir = tempDir(t);
  const store = new SqliteStore(join(dir, 'live.db'), { staleAfterSeconds: 900 });
  t.after(() => store.close());
  const before = Array.from({ length: 12 }, (_, i) => `host-before-${String(i).padStart(2, '0')}`);
  const at = new Date(Date.now() - 60_000);
  for (const hostId of before) await store.ingestReport(reportFrom(hostId.endsWith('1') ? 'bindv6only' : 'dual-stack-services', { hostId, collectedAt: at }), meta());

  // Ingest goes on during the copy: the backup holds the hosts stored before it began, and
  // whatever of the others its steps caught; nothing half-written.
  const during = Array.from({ length: 30 }, (_, i) => store.ingestReport(reportFrom('no-ipv6-default', { hostId: `host-during-${i}`, collectedAt: at }), meta()));
  const file = join(dir, 'backup.db');
  await Promise.all([store.backup(file), ...during]);

  const facts = fileFacts(file);
  assert.equal(facts.integrity, 'ok');
  assert.equal(facts.journal, 'delete', 'the backup is one self-contained file');
  for (const hostId of before) assert.ok(facts.hosts.includes(hostId), `${hostId} in the backup`);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.deepEqual(readdirSync(dir).filter((n) => n.includes('partial')), [], 'no partial file left');

  const fresh = new SqliteStore(file, { staleAfterSeconds: 900 });
  t.after(() => fresh.close());
  const page = await fresh.listHosts({ limit: 1000, offset: 0 }, new Date());
  for (const hostId of before) assert.ok(page.items.some((h) => h.hostId === hostId), `${hostId} listed by the fresh store`);
  const detail = await fresh.getHost('host-before-00', new Date());
  assert.ok(detail && detail.services.length > 0, 'the host keeps its service table');

  await assert.rejects(store.backup(file), /already exists/);
});

interface Collector {
  child: ChildProcess;
  base: string;
  stop(): Promise<number | null>;
}

/** `dualstack-collector serve` on 127.0.0.1:0; resolves with its URL from its JSON log. */
async function serve(t: TestContext, db: string): Promise<Collector> {
  const child = spawn(process.execPath, [CLI, 'serve', '--db', db, '--listen', '127.0.0.1:0', '--log-level', 'info'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, 'SIGKILL');
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const base = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`collector did not start: ${stderr}`)), 15_000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(line);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    child.once('exit', (code) => reject(new Error(`collector exited with ${code}: ${stderr}`)));
  });
  return {
    child,
    base,
    stop: () => {
      process.kill(child.pid!, 'SIGTERM');
      return exited;
    },
  };
}

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => process.kill(child.pid!, 'SIGKILL'), 30_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

async function post(base: string, token: string, body: unknown): Promise<number> {
  const response = await fetch(`${base}/api/v1/reports`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  await response.arrayBuffer();
  return response.status;
}

test('dualstack-collector backup FILE while the collector process ingests: a fresh collector serves every host from FILE', async (t) => {
  assert.ok(existsSync(CLI), `${CLI} is missing: run npx turbo run build first`);
  const dir = tempDir(t);
  const db = join(dir, 'collector.db');
  // One token writes every synthetic host: an admin token (an agent token is bound to the first
  // host it reports).
  const agentToken = (await cli(['token', 'create', '--db', db, '--name', 'fleet', '--role', 'admin'])).stdout.trim();
  const readerToken = (await cli(['token', 'create', '--db', db, '--name', 'dashboard', '--role', 'reader'])).stdout.trim();
  assert.ok(agentToken && readerToken);

  const collector = await serve(t, db);
  const hosts = Array.from({ length: 25 }, (_, i) => `fleet-${String(i).padStart(3, '0')}`);
  const at = new Date(Date.now() - 60_000);
  for (const hostId of hosts) assert.equal(await post(collector.base, agentToken, reportFrom('dual-stack-services', { hostId, collectedAt: at })), 202);

  // Keep ingesting (new hosts) while the backup runs in another process.
  let stop = false;
  let extra = 0;
  const ingesting = (async () => {
    while (!stop) {
      assert.equal(await post(collector.base, agentToken, reportFrom('bindv6only', { hostId: `late-${extra++}`, collectedAt: at })), 202);
    }
  })();
  const file = join(dir, 'backups', 'collector-backup.db');
  const missingDir = await cli(['backup', file, '--db', db]);
  assert.equal(missingDir.code, 1);
  assert.match(missingDir.stderr, /^dualstack-collector: backup: cannot back up to \S+: directory \S+backups does not exist\n$/);
  mkdirSync(join(dir, 'backups'));
  const backup = await cli(['backup', file, '--db', db]);
  stop = true;
  await ingesting;
  assert.equal(backup.code, 0, backup.stderr);
  assert.match(backup.stderr, /^backed up \S+collector\.db to \S+collector-backup\.db: \d+ bytes, schema version \d+, (\d+) hosts, \d+ reports; integrity_check ok\n$/);
  const reported = Number(/, (\d+) hosts,/.exec(backup.stderr)![1]);
  assert.ok(reported >= hosts.length, backup.stderr);
  assert.ok(extra > 0, 'reports were ingested during the backup');

  const again = await cli(['backup', file, '--db', db]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /already exists \(remove it, or use --force to replace it\)/);
  assert.equal((await cli(['backup', file, '--db', db, '--force'])).code, 0);
  assert.equal(await collector.stop(), 0);

  const facts = fileFacts(file);
  assert.equal(facts.integrity, 'ok');
  // A fresh collector on the copy: the tokens came along, every host is there.
  const restored = await serve(t, file);
  const response = await fetch(`${restored.base}/api/v1/hosts?limit=1000`, { headers: { authorization: `Bearer ${readerToken}` } });
  assert.equal(response.status, 200);
  const page = (await response.json()) as { total: number; items: Array<{ hostId: string }> };
  for (const hostId of hosts) assert.ok(page.items.some((h) => h.hostId === hostId), `${hostId} served from the backup`);
  assert.equal(page.total, facts.hosts.length);
  assert.equal(await restored.stop(), 0);
});
