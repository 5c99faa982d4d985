import { Counter } from 'prom-client'
import { createMetrics, type Metrics } from '@platform/platform'

/** The gateway's registry: the shared HTTP metrics plus its own decisions. */
export type GatewayMetrics = Metrics & {
  tokenChecks: Counter<'outcome'>
  rateLimited: Counter<'policy'>
  rateLimitFailOpen: Counter<never>
}

export function createGatewayMetrics(): GatewayMetrics {
  const base = createMetrics('gateway')
  return {
    ...base,
    tokenChecks: new Counter({ name: 'gateway_token_checks_total', help: 'Bearer token checks by outcome', labelNames: ['outcome'] as const, registers: [base.registry] }),
    rateLimited: new Counter({ name: 'gateway_rate_limited_total', help: 'Requests refused by a rate-limit policy', labelNames: ['policy'] as const, registers: [base.registry] }),
    rateLimitFailOpen: new Counter({
      name: 'gateway_rate_limit_fail_open_total',
      help: 'Anonymous requests served without the general limit because the store was unreachable',
      registers: [base.registry],
    }),
  }
}
