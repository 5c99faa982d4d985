import type { Express } from 'express'
import { createHttpApp, finishHttpApp, type Metrics, type ReadinessChecks } from '@platform/platform'
import type { AuthDeps } from './domain/deps.ts'
import { captureOrigin } from './events/origin.ts'
import { authRoutes, type HttpSettings } from './http/routes.ts'

/** Builds auth's express app; never listens, so tests can mount it on any port. */
export function createAuthApp(deps: AuthDeps, opts: { metrics: Metrics; readiness: ReadinessChecks; trustProxy: number; http: HttpSettings }): Express {
  const app = createHttpApp({ log: deps.log, metrics: opts.metrics, readiness: opts.readiness, formPaths: ['/auth/introspect'] })
  app.set('trust proxy', opts.trustProxy)
  app.use(captureOrigin())
  app.use(authRoutes(deps, opts.http))
  finishHttpApp(app, { log: deps.log })
  return app
}
