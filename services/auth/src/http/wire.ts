import type { Request } from 'express'
import type { ErrorCode } from '@platform/contracts'
import { AppError, ValidationError } from '@platform/platform'
import type { User } from '../store/users.ts'
import { idParam } from './schemas.ts'

// Small mappings between the wire and the domain, shared by the handlers.

/** The client address as the gateway reported it (X-Forwarded-For, one trusted hop). */
export function clientIpOf(req: Request): string {
  return req.ip ?? req.socket.remoteAddress ?? 'unknown'
}

export function userAgentOf(req: Request): string | null {
  return req.header('user-agent')?.slice(0, 256) ?? null
}

/** A path id; anything but a UUID cannot name a resource, so it answers the route's 404. */
export function pathId(req: Request, notFound: ErrorCode): string {
  const parsed = idParam.safeParse(req.params.id)
  if (!parsed.success) throw new AppError(notFound)
  return parsed.data.toLowerCase()
}

/** Cursors are opaque to clients (base64url of the last id), so the paging scheme can change. */
export function encodeCursor(id: string | null): string | null {
  return id === null ? null : Buffer.from(id, 'utf8').toString('base64url')
}

export function decodeCursor(cursor: string | undefined): string | undefined {
  if (cursor === undefined) return undefined
  const parsed = idParam.safeParse(Buffer.from(cursor, 'base64url').toString('utf8'))
  if (!parsed.success) throw new ValidationError([{ path: '/cursor', message: 'not a cursor this API handed out' }])
  return parsed.data
}

/** A user as administrators see it. */
export function adminUserOf(user: User) {
  return {
    id: user.id,
    email: user.email,
    email_verified: user.emailVerified,
    roles: user.roles,
    disabled: user.disabled,
    created_at: user.createdAt.toISOString(),
  }
}
