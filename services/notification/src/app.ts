import type { Express } from 'express'
import { createHttpApp, finishHttpApp, type Logger, type Metrics, type ReadinessChecks } from '@platform/platform'
import { notificationRoutes, type HttpDeps } from './http/routes.ts'

/** Builds the notification service's express app; never listens, so tests can mount it on any port. */
export function createNotificationApp(
  deps: HttpDeps & { log: Logger },
  opts: { metrics: Metrics; readiness: ReadinessChecks; trustProxy: number },
): Express {
  const app = createHttpApp({ log: deps.log, metrics: opts.metrics, readiness: opts.readiness })
  app.set('trust proxy', opts.trustProxy)
  app.use('/notifications', notificationRoutes(deps))
  finishHttpApp(app, { log: deps.log })
  return app
}
