import { Counter, Gauge, Registry, Histogram, collectDefaultMetrics } from 'prom-client'

/** One Prometheus registry per service: default process metrics plus the HTTP RED histogram. */
export type Metrics = {
  registry: Registry
  httpDuration: Histogram<'method' | 'route' | 'status'>
}

/** Builds a service's registry; `service` becomes a default label on every series. */
export function createMetrics(service: string): Metrics {
  const registry = new Registry()
  registry.setDefaultLabels({ service })
  collectDefaultMetrics({ register: registry })
  const httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  })
  return { registry, httpDuration }
}

/**
 * A counter on the service's registry, so services count domain events without depending on
 * prom-client themselves.
 *
 * @example
 * const checks = createCounter(metrics, { name: 'auth_password_checks_total', help: 'Password hash checks', labelNames: ['result'] })
 * checks.inc({ result: 'match' })
 */
export function createCounter<L extends string>(
  metrics: Metrics,
  opts: { name: string; help: string; labelNames?: readonly L[] },
): { inc(labels?: Partial<Record<L, string>>, value?: number): void } {
  const counter = new Counter<L>({ name: opts.name, help: opts.help, labelNames: opts.labelNames ?? [], registers: [metrics.registry] })
  return { inc: (labels = {}, value = 1) => counter.inc(labels, value) }
}

/** A gauge as {@link createGauge} hands it out: set a value per label set. */
export type GaugeHandle<L extends string> = { set(labels: Partial<Record<L, string>>, value: number): void }

/**
 * A gauge on the service's registry. With `collect`, the value is read when `/metrics` is scraped
 * (a queue depth, the age of the oldest row), so it is never staler than the scrape; `collect`
 * must not throw: what it cannot read it leaves as it was.
 *
 * @example
 * createGauge(metrics, { name: 'outbox_lag_seconds', help: 'Age of the oldest unpublished event', collect: async (g) => g.set({}, await lagSeconds()) })
 */
export function createGauge<L extends string>(
  metrics: Metrics,
  opts: { name: string; help: string; labelNames?: readonly L[]; collect?: (gauge: GaugeHandle<L>) => Promise<void> | void },
): GaugeHandle<L> {
  const handle: GaugeHandle<L> = { set: (labels, value) => gauge.set(labels, value) }
  const collect = opts.collect
  const gauge: Gauge<L> = new Gauge<L>({
    name: opts.name,
    help: opts.help,
    labelNames: opts.labelNames ?? [],
    registers: [metrics.registry],
    ...(collect ? { collect: () => collect(handle) } : {}),
  })
  return handle
}
