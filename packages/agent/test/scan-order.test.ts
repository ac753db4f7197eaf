// runSources' order rules, on sources made for the test (the real ones need a live host):
// concurrent sources start first; a source whose prepare() started work elsewhere runs beside
// the following sources that have a prepare hook, and is done before the first later source
// without one, which may read its facts. And which TCP table goes to the worker thread.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runSources } from '../src/scan.js';
import { tcpTableOnWorker, WORKER_MIN_SOCKETS, type ScanOptions, type SourceDefinition } from '../src/sources.js';
import { procRoot } from '../src/proc/root.js';

const options: ScanOptions = { procRoot: procRoot('/proc'), captureDir: null };

test('a prepared source runs beside the next prepare-hook source and is done before the next plain one', { timeout: 10_000 }, async () => {
  const events: string[] = [];
  let finishWorker!: () => void;
  const worker = new Promise<void>((resolve) => (finishWorker = resolve));
  const list: SourceDefinition[] = [
    {
      name: 'big-a',
      description: 'read elsewhere',
      paths: [],
      prepare: () => worker.then(() => 'rows of a'),
      async run(_o, facts, prepared) {
        events.push(`a got ${String(await prepared)}`);
        facts.kernel = 'done';
        return { status: 'ok' };
      },
    },
    {
      name: 'big-b',
      description: 'read here meanwhile',
      paths: [],
      prepare: () => null,
      run(_o, facts) {
        events.push(`b ran, a ${facts.kernel ?? 'not yet'}`);
        // The "worker" finishes while b is being read here.
        finishWorker();
        return { status: 'ok' };
      },
    },
    {
      name: 'after',
      description: 'reads what a found',
      paths: [],
      run(_o, facts) {
        events.push(`after saw a ${facts.kernel ?? 'missing'}`);
        return { status: 'ok' };
      },
    },
  ];
  const { statuses } = await runSources(options, new Set(), list);
  assert.deepEqual(events, ['b ran, a not yet', 'a got rows of a', 'after saw a done']);
  assert.deepEqual(statuses.map((s) => s.name), ['big-a', 'big-b', 'after'], 'statuses stay in list order');
});

test('without prepared work the list runs in order, one source after the other', async () => {
  const events: string[] = [];
  const step = (name: string, prepare?: () => null): SourceDefinition => ({
    name,
    description: name,
    paths: [],
    ...(prepare ? { prepare } : {}),
    async run() {
      events.push(`${name} start`);
      await new Promise((resolve) => setImmediate(resolve));
      events.push(`${name} end`);
      return { status: 'ok' };
    },
  });
  await runSources(options, new Set(), [step('one', () => null), step('two', () => null), step('three')]);
  assert.deepEqual(events, ['one start', 'one end', 'two start', 'two end', 'three start', 'three end']);
});

test('tcpTableOnWorker: none below the threshold or unknown; else the table with less text', () => {
  const big = WORKER_MIN_SOCKETS;
  assert.equal(tcpTableOnWorker({ tcp: big - 1, tcp6: 10 * big }), null);
  assert.equal(tcpTableOnWorker({ tcp: null, tcp6: 10 * big }), null);
  assert.equal(tcpTableOnWorker({ tcp: big, tcp6: big }), 'tcp', 'equal counts: IPv6 lines are longer, tcp6 stays here');
  assert.equal(tcpTableOnWorker({ tcp: 50_000, tcp6: 50_000 }), 'tcp');
  assert.equal(tcpTableOnWorker({ tcp: 80_000, tcp6: 30_000 }), 'tcp6');
});
