import type { Express } from 'express'
import { createHttpApp, finishHttpApp, type Logger, type Metrics, type ReadinessChecks } from '@platform/platform'
import { auditRoutes, type AuditHttpDeps } from './http/routes.ts'

/** Builds audit's express app; never listens, so tests can mount it on any port. */
export function createAuditApp(deps: AuditHttpDeps & { log: Logger }, opts: { metrics: Metrics; readiness: ReadinessChecks }): Express {
  const app = createHttpApp({ log: deps.log, metrics: opts.metrics, readiness: opts.readiness })
  app.use('/audit', auditRoutes(deps))
  finishHttpApp(app, { log: deps.log })
  return app
}
