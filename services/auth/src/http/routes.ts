import { Router, type RequestHandler } from 'express'
import type { AuthDeps } from '../domain/deps.ts'
import { adminHandlers } from './admin-handlers.ts'
import { api, type OperationId, type RouteSpec } from './api.ts'
import { requirePermission } from './authorize.ts'
import { bearerFor } from './bearer.ts'
import { sessionHandlers } from './session-handlers.ts'
import { tokenHandlers, type HttpSettings } from './token-handlers.ts'

export type { HttpSettings }

/**
 * Every route of the auth service: the table in `api.ts` says path, method and who may call;
 * this mounts each with its guards and handler. A route without a handler does not compile.
 */
export function authRoutes(deps: AuthDeps, settings: HttpSettings): Router {
  const handlers: Record<OperationId, RequestHandler> = {
    ...tokenHandlers(deps, settings),
    ...sessionHandlers(deps),
    ...adminHandlers(deps),
  }
  const bearer = bearerFor(deps)
  const guards = (spec: RouteSpec): RequestHandler[] => {
    if (spec.access.kind === 'bearer') return [bearer]
    if (spec.access.kind === 'permission') return [bearer, requirePermission(spec.access.permission)]
    return []
  }
  const router = Router()
  for (const [id, spec] of Object.entries(api) as [OperationId, RouteSpec][]) {
    router[spec.method](expressPath(spec.path), ...guards(spec), handlers[id])
  }
  return router
}

/** `/auth/sessions/{id}` → `/auth/sessions/:id`. */
function expressPath(path: string): string {
  return path.replace(/\{(\w+)\}/g, ':$1')
}
