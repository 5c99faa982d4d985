import type { RequestHandler } from 'express'
import { AppError } from '@platform/platform'
import { can, type Permission } from '../domain/policy.ts'
import { claimsOf } from './bearer.ts'

/**
 * Lets the request through only when the verified token's roles may perform `permission`
 * (domain/policy.ts); otherwise 403 `forbidden`. Mount after the bearer check.
 */
export function requirePermission(permission: Permission): RequestHandler {
  return (_req, res, next) => {
    if (!can({ roles: claimsOf(res).roles }, permission)) throw new AppError('forbidden', 'Your roles do not allow this action')
    next()
  }
}
