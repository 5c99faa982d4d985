import type { Express, RequestHandler } from 'express'
import { createHttpApp, finishHttpApp, type Metrics, type ReadinessChecks } from '@platform/platform'
import type { LicenseDeps } from './domain/deps.ts'
import { licenseRoutes } from './http/routes.ts'

/** Builds the license service's express app; never listens, so tests can mount it on any port. */
export function createLicenseApp(deps: LicenseDeps, opts: { metrics: Metrics; readiness: ReadinessChecks; trustProxy: number; bearer: RequestHandler; publicUrl: string }): Express {
  const app = createHttpApp({ log: deps.log, metrics: opts.metrics, readiness: opts.readiness })
  app.set('trust proxy', opts.trustProxy)
  app.use('/licenses', licenseRoutes(deps, { bearer: opts.bearer, publicUrl: opts.publicUrl }))
  finishHttpApp(app, { log: deps.log })
  return app
}
