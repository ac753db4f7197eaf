// Endpoints on /metrics, read from the store and evaluated at scrape time: open endpoint
// findings by rule and severity, and per endpoint, family and fresh vantage point whether the
// family answers. Label cardinality: endpoints x vantage points x 2, both declared by the
// operator (no address, URL or error text in a label); a stale or removed vantage point's
// series disappears at the next scrape.
import { Gauge, type Registry } from 'prom-client';
import { endpointRules } from '@dualstack/core';
import type { Store } from '../store.js';
import { evaluateEndpointInput, type EndpointEvaluation } from './evaluate.js';

export function registerEndpointMetrics(registry: Registry, store: Store): void {
  // Both gauges read the same evaluation: once per scrape, not per gauge.
  let cached: { at: number; evaluations: Promise<EndpointEvaluation[]> } | null = null;
  const evaluations = (): Promise<EndpointEvaluation[]> => {
    if (!cached || Date.now() - cached.at > 1000) cached = { at: Date.now(), evaluations: store.endpointInputs(new Date()).then((inputs) => inputs.map(evaluateEndpointInput)) };
    return cached.evaluations;
  };
  new Gauge({
    name: 'dualstack_endpoint_open_findings',
    help: 'Open endpoint findings, by endpoint rule and severity.',
    labelNames: ['rule', 'severity'],
    registers: [registry],
    async collect() {
      this.reset();
      // Every rule's series exists (0 when none is open), so alerts on it need no absent().
      for (const rule of endpointRules) this.set({ rule: rule.id, severity: rule.severity }, 0);
      for (const e of await evaluations()) for (const f of e.findings) this.inc({ rule: f.rule, severity: f.severity });
    },
  });
  new Gauge({
    name: 'dualstack_endpoint_answering',
    help: "1 when at least one address of the family answered the vantage point's latest probe of the endpoint (verdict works or partial), else 0; no series for a family the vantage point cannot test (no route) or a stale vantage point.",
    labelNames: ['endpoint', 'family', 'vantage'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const e of await evaluations()) {
        for (const v of e.vantages) {
          if (v.view.stale) continue;
          for (const [family, view] of [['ipv4', v.ipv4], ['ipv6', v.ipv6]] as const) {
            if (view.verdict === 'untested') continue;
            this.set({ endpoint: e.input.declared.spec.name, family, vantage: v.hostId }, view.verdict === 'works' || view.verdict === 'partial' ? 1 : 0);
          }
        }
      }
    },
  });
}
