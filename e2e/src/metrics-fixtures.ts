/**
 * One series of a Prometheus text exposition: the value of `name` whose labels include every
 * pair of `labels` (other labels, like `service`, may be there too); undefined when absent.
 * Label values are compared as the exposition writes them (our values need no escaping).
 */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (!match || match[1] !== name) continue
    const present = new Map([...(match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]))
    if (Object.entries(labels).every(([key, value]) => present.get(key) === value)) return Number(match[3])
  }
  return undefined
}

/** GET `<serviceUrl>/metrics` (a service's own port, never the gateway) as text. */
export async function scrape(serviceUrl: string): Promise<string> {
  const res = await fetch(`${serviceUrl}/metrics`, { signal: AbortSignal.timeout(10_000) })
  if (!res.ok) throw new Error(`GET ${serviceUrl}/metrics answered ${res.status}`)
  return res.text()
}

/** The value of one series on a service's live `/metrics`; 0 when the series does not exist yet. */
export async function serviceMetric(serviceUrl: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  return metricValue(await scrape(serviceUrl), name, labels) ?? 0
}
