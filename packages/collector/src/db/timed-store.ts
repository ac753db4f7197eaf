// The Store with each call timed, for dualstack_db_query_seconds{backend,operation}: one wrapper
// around whichever store the collector runs on, so every method of both backends is measured the
// same way (from call to settled promise: for ingest that includes waiting for a connection or
// a batch) and no method has to remember to. The operation is the Store method's name, never the
// SQL: a bounded set of label values. Synchronous methods (counters read for /metrics) are not
// timed. Calls the store makes on itself are not counted twice: they go to the store, not here.
import type { Store } from '../store.js';
import { PostgresStore } from './postgres/store.js';
import { SqliteStore } from './sqlite-store.js';

export type StoreTiming = (operation: string, seconds: number) => void;

/** The backend label of a store: postgres, sqlite, or (a store of tests) its class name. */
export function backendOf(store: Store): string {
  if (store instanceof PostgresStore) return 'postgres';
  if (store instanceof SqliteStore) return 'sqlite';
  return store.constructor.name;
}

/** `store` with every method that returns a promise reporting its duration to `observe`. */
export function timedStore<S extends Store>(store: S, observe: StoreTiming): S {
  const wrapped = new Map<PropertyKey, unknown>();
  return new Proxy(store, {
    get(target, property) {
      const value = Reflect.get(target, property);
      if (typeof value !== 'function' || typeof property !== 'string' || property === 'constructor') return value;
      let timed = wrapped.get(property);
      if (timed === undefined) {
        timed = function (this: unknown, ...args: unknown[]) {
          const started = process.hrtime.bigint();
          const result = (value as (...a: unknown[]) => unknown).apply(target, args);
          if (!(result instanceof Promise)) return result;
          const done = () => observe(property, Number(process.hrtime.bigint() - started) / 1e9);
          result.then(done, done);
          return result;
        };
        wrapped.set(property, timed);
      }
      return timed;
    },
  });
}
